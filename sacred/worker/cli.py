"""``sacred worker`` and ``sacred rerun``: the subcommands of the ``sacred`` command."""

from __future__ import annotations

import argparse
import sys

from sacred.worker.claims import DEFAULT_MAX_RETRIES

__all__ = ["add_worker_parsers", "cmd_worker", "cmd_rerun"]


def add_worker_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``worker`` (and ``rerun``) subcommands to the ``sacred`` parser."""
    from sacred.worker.loop import DEFAULT_STALE_AFTER

    text = "claim queued runs of a store and run them, one at a time"
    p = sub.add_parser("worker", help=text, description=text)
    p.add_argument("store", metavar="STORE", help="a file-storage directory or a database URL")
    p.add_argument("--experiment", metavar="NAME", help="only runs of this experiment")
    p.add_argument("--max-runs", type=int, metavar="N", help="stop after N runs")
    p.add_argument(
        "--idle-exit", type=float, metavar="S", help="stop after S seconds with nothing queued"
    )
    p.add_argument(
        "--workdir", metavar="DIR", help="run from this working tree, not the stored sources"
    )
    p.add_argument(
        "--stale-after",
        type=float,
        default=DEFAULT_STALE_AFTER,
        metavar="S",
        help="a RUNNING run without heartbeat for S seconds lost its worker and is re-queued "
        f"(default {DEFAULT_STALE_AFTER:g})",
    )
    p.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        metavar="N",
        help=f"re-queue a lost run at most N times, then mark it FAILED "
        f"(default {DEFAULT_MAX_RETRIES})",
    )
    p.add_argument(
        "--beat-interval", type=float, metavar="S", help="heartbeat interval of the runs"
    )
    p.add_argument("--poll", type=float, default=0.5, metavar="S", help="poll interval (0.5)")
    p.add_argument(
        "--spawn",
        action="store_true",
        help="start each run in a new Python interpreter instead of a forked copy of the "
        "worker (slower; for code that must not inherit the worker's process)",
    )
    p.set_defaults(func=cmd_worker, opens_store=False)

    text = "run a stored run again from its stored sources and compare the outcome"
    p = sub.add_parser("rerun", help=text, description=text)
    p.add_argument("store", metavar="STORE", help="the store holding the run")
    p.add_argument("id", metavar="ID", help="the id of the run to reproduce")
    p.add_argument("--into", metavar="STORE2", help="record the rerun there (default: STORE)")
    p.add_argument(
        "--rtol",
        type=float,
        default=0.0,
        metavar="X",
        help="numbers may differ by this relative tolerance (default 0: exactly)",
    )
    p.add_argument(
        "--ignore-versions",
        action="store_true",
        help="run even when installed package versions differ from the recorded ones",
    )
    p.add_argument(
        "--workdir", metavar="DIR", help="run from this working tree, not the stored sources"
    )
    p.add_argument(
        "--allow-modified",
        action="store_true",
        help="run even when a source or a consumed input (use_run) no longer has the "
        "recorded md5 (each difference is printed as a warning)",
    )
    p.set_defaults(func=cmd_rerun, opens_store=False)


def cmd_worker(args: argparse.Namespace) -> int:
    from sacred.exceptions import StoreError
    from sacred.worker.claims import open_claimer
    from sacred.worker.loop import Worker

    try:
        claimer = open_claimer(args.store)
    except StoreError as exc:
        print(f"sacred: error: {exc}", file=sys.stderr)
        return 2
    try:
        worker = Worker(
            claimer,
            experiment=args.experiment,
            max_runs=args.max_runs,
            idle_exit=args.idle_exit,
            workdir=args.workdir,
            stale_after=args.stale_after,
            max_retries=args.max_retries,
            beat_interval=args.beat_interval,
            poll_interval=args.poll,
            fork=False if args.spawn else None,
        )
        done = worker.run()
    except KeyboardInterrupt:
        return 130
    finally:
        claimer.close()
    print(f"sacred worker: {done} run(s) done", file=sys.stderr)
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    from sacred.exceptions import SacredError
    from sacred.worker.rerun import rerun

    run_id = int(args.id) if args.id.isdigit() else args.id
    try:
        report = rerun(
            args.store,
            run_id,
            into=args.into,
            rtol=args.rtol,
            ignore_versions=args.ignore_versions,
            workdir=args.workdir,
            allow_modified=args.allow_modified,
        )
    except SacredError as exc:
        print(f"sacred: error: {exc}", file=sys.stderr)
        return 2
    for warning in report.warnings:
        print(f"warning: {warning}")
    for line in report.inputs:
        print(line)
    print(f"rerun of run {report.original_id} recorded as run {report.new_id} ({report.status})")
    if report.matches:
        how = "exactly" if not args.rtol else f"within rtol {args.rtol:g}"
        print(f"result and metrics match the original {how}")
        return 0
    for line in report.differences:
        print(f"differs: {line}")
    return 1
