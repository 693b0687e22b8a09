"""The ``sacred`` console command: recorded runs from the shell, over sacred.store.

    sacred runs STORE [--filter QUERY] [--sort KEY] [--limit N] [--json]
    sacred show STORE ID [--json]
    sacred compare STORE ID ID... [--json]
    sacred metrics STORE ID NAME [--plot] [--json]
    sacred delete STORE ID... [--yes] [--purge]
    sacred restore STORE ID...
    sacred trash STORE [--json]
    sacred empty-trash STORE [--older-than AGE] [--yes]
    sacred lineage STORE ID [--depth N] [--json]
    sacred tag STORE ID TAG... [--remove]
    sacred note STORE ID TEXT
    sacred replay DUMP URL [--new-id]
    sacred migrate URL [--to URL2] [--drop-legacy]
    sacred import-tensorboard STORE ID LOGDIR [--prefix P]

Tables are drawn with rich (imported only here); ``--json`` prints machine-readable
output. Mistakes (unknown store, bad query, missing run) print one message and exit
with status 2 (usage) or 1 (not found), without a traceback.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import warnings
from typing import Any

from sacred._extras import one_line_for_missing_extras
from sacred.exceptions import QueryError, StoreError
from sacred.store.base import DamagedRunWarning, MissingExtraError

__all__ = ["main"]


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy arrays and scalars decoded from the record
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_json_default, sort_keys=True))


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _console():
    MissingExtraError.check("rich", "Tables and formatted output (use --json without it)")
    from rich.console import Console

    return Console()


def _plain_table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> str:
    """A table in plain text, for installs without rich."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]

    def line(cells) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return "\n".join([title, line(columns), line("-" * w for w in widths), *map(line, rows)])


def _short(value: Any, width: int = 40) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = (
            json.dumps(value, default=_json_default)
            if isinstance(value, (dict, list))
            else str(value)
        )
    return text if len(text) <= width else text[: width - 1] + "…"


_STATUS_STYLE = {
    "COMPLETED": "green",
    "FAILED": "red",
    "RUNNING": "cyan",
    "INTERRUPTED": "yellow",
    "TIMEOUT": "yellow",
    "TIMED_OUT": "yellow",
    "QUEUED": "blue",
    "PROBABLY_DEAD": "magenta",
}


def _flat(prefix: str, value: Any, out: dict) -> dict:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), sub, out)
    else:
        out[prefix] = value
    return out


def cmd_runs(store, args) -> int:
    from sacred.store.resolve import resolve_query

    # a bare name is a configuration entry (lr > 0.1), as in the board's query box
    query = resolve_query(store, args.filter)
    runs = store.find(query, sort=args.sort, limit=args.limit)
    if args.json:
        _print_json([run.to_dict() for run in runs])
        return 0
    title = f"{len(runs)} run(s) in {store.location}"
    columns = ("id", "experiment", "command", "status", "started", "duration", "result", "tags")
    rows = []
    for run in runs:
        duration = ""
        if run.start_time and run.stop_time:
            duration = str(run.stop_time - run.start_time).split(".")[0]
        rows.append(
            [
                str(run.id),
                _short(run.experiment.get("name")),
                _short(run.command),
                str(run.status),
                run.start_time.strftime("%m-%d %H:%M") if run.start_time else "",
                duration,
                _short(run.result, 24),
                ", ".join(run.tags),
            ]
        )
    if not _has_rich():
        print(_plain_table(title, columns, rows))
        return 0
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(
            column, no_wrap=column in ("id", "status", "started", "duration"), overflow="ellipsis"
        )
    for row in rows:
        style = _STATUS_STYLE.get(row[3], "")
        row[3] = f"[{style}]{row[3]}[/]" if style else row[3]
        table.add_row(*row)
    _console().print(table)
    return 0


def cmd_show(store, args) -> int:
    run = store.get(args.id)
    record = run.to_dict()
    # The store's figures (sacred.store.metric_summary), those a sort by metrics uses.
    metrics = store.backend.metric_summaries([run.id], list(run.metrics))[run.id]
    if args.json:
        record["metrics"] = metrics
        _print_json(record)
        return 0
    from rich.pretty import Pretty
    from rich.table import Table

    console = _console()
    console.rule(f"run {run.id}: {run.experiment.get('name')} ({run.status})")
    summary = Table(show_header=False, box=None)
    for key in (
        "command",
        "status",
        "start_time",
        "stop_time",
        "heartbeat",
        "result",
        "tags",
        "note",
    ):
        summary.add_row(key, _short(record.get(key), 80))
    summary.add_row("host", _short(run.host.get("hostname")))
    console.print(summary)
    for section in ("config", "info", "meta"):
        if record.get(section):
            console.print(f"[bold]{section}[/]")
            console.print(Pretty(record[section]))
    if metrics:
        table = Table(title="metrics")
        for column in ("name", "points", "last", "min", "max"):
            table.add_column(column)
        for name, m in sorted(metrics.items()):
            table.add_row(
                name, str(m["points"]), _short(m["last"]), _short(m["min"]), _short(m["max"])
            )
        console.print(table)
    if record.get("artifacts"):
        console.print("[bold]artifacts[/]: " + ", ".join(map(str, record["artifacts"])))
    if record.get("fail_trace"):
        console.print("[bold red]fail trace[/]")
        console.print("".join(record["fail_trace"]), markup=False, highlight=False)
    if record.get("captured_out"):
        console.print("[bold]captured output[/] (last 20 lines)")
        console.print(
            "\n".join(record["captured_out"].splitlines()[-20:]), markup=False, highlight=False
        )
    return 0


def cmd_compare(store, args) -> int:
    runs = [store.get(run_id) for run_id in args.ids]
    configs = [_flat("", run.config, {}) for run in runs]
    keys = sorted(set().union(*configs))
    differing = [k for k in keys if len({json.dumps(c.get(k), default=str) for c in configs}) > 1]
    if args.json:
        _print_json(
            {
                "ids": [run.id for run in runs],
                "config_differences": {k: [c.get(k) for c in configs] for k in differing},
                "results": [run.result for run in runs],
                "status": [run.status for run in runs],
            }
        )
        return 0
    from rich.table import Table

    table = Table(title=f"{len(differing)} differing config entries (of {len(keys)})")
    table.add_column("")
    for run in runs:
        table.add_column(f"run {run.id}")
    for key in differing:
        table.add_row(f"config.{key}", *[_short(c.get(key)) for c in configs])
    table.add_row("[bold]status[/]", *[str(run.status) for run in runs])
    table.add_row("[bold]result[/]", *[_short(run.result) for run in runs])
    _console().print(table)
    return 0


def _sparkline(values: list[float], width: int = 60) -> str:
    bars = "▁▂▃▄▅▆▇█"
    numbers = [v for v in values if isinstance(v, (int, float))]
    if not numbers:
        return ""
    if len(numbers) > width:  # average into width buckets
        size = len(numbers) / width
        numbers = [
            sum(numbers[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)])
            / max(1, len(numbers[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]))
            for i in range(width)
        ]
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    return "".join(bars[min(7, int((v - low) / span * 7.999))] for v in numbers)


def cmd_metrics(store, args) -> int:
    run = store.get(args.id)
    if args.name not in run.metrics:
        names = ", ".join(sorted(run.metrics)) or "none"
        raise StoreError(f"Run {run.id} has no metric {args.name!r} (metrics: {names}).")
    raw = run.metrics.raw(args.name)
    if args.json:
        _print_json(raw)
        return 0
    console = _console()
    values = raw["values"]
    numbers = [v for v in values if isinstance(v, (int, float))]
    console.print(
        f"[bold]{args.name}[/] of run {run.id}: {len(values)} points"
        + (
            f", min {min(numbers):.6g}, max {max(numbers):.6g}, last {values[-1]:.6g}"
            if numbers
            else ""
        )
    )
    if args.plot or len(values) > 40:
        console.print(_sparkline(values))
    if not args.plot:
        from rich.table import Table

        table = Table()
        table.add_column("step", justify="right")
        table.add_column("value", justify="right")
        table.add_column("timestamp")
        shown = list(zip(raw["steps"], values, raw["timestamps"]))
        if len(shown) > 40:
            shown = shown[:20] + [("…", "…", "…")] + shown[-20:]
        for step, value, stamp in shown:
            table.add_row(str(step), _short(value), _short(stamp))
        console.print(table)
    return 0


def cmd_delete(store, args) -> int:
    from sacred.store.lineage import delete_blockers, describe_blockers

    for run_id in args.ids:
        store.get(run_id)
    # Runs that others consumed (use_run): named, and never deleted unasked.
    blockers = delete_blockers(store, args.ids)
    consumed = describe_blockers(blockers) if blockers else ""
    if consumed and args.yes:
        print(f"sacred: warning: {consumed}.", file=sys.stderr)
    elif consumed and not sys.stdin.isatty():
        raise StoreError(f"{consumed}. Pass --yes to delete anyway; nothing was deleted.")
    elif consumed:
        print(f"{consumed}.")
    # The trash gives a run back, so only a consumed run or --purge is confirmed.
    if not args.yes and sys.stdin.isatty() and (consumed or args.purge):
        if args.purge:
            question = f"Delete {len(args.ids)} run(s) for good, with their metrics and files?"
        else:
            question = f"Move {len(args.ids)} run(s) to the trash anyway?"
        answer = input(f"{question} [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    for run_id in args.ids:
        store.delete(run_id, purge=args.purge)
        if args.purge:
            print(f"deleted run {run_id}")
        else:
            print(
                f"moved run {run_id} to the trash "
                f"(sacred restore {_quoted(args.store)} {run_id} brings it back)"
            )
    return 0


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def cmd_restore(store, args) -> int:
    for run_id in args.ids:  # all checked first: none is restored when one is missing
        if not any(str(e["id"]) == str(run_id) for e in store.trash()):
            store.restore(run_id)  # raises the error that says why
    for run_id in args.ids:
        store.restore(run_id)
        print(f"restored run {run_id}")
    return 0


def cmd_trash(store, args) -> int:
    entries = store.trash()
    if args.json:
        _print_json(entries)
        return 0
    if not entries:
        print(f"The trash of {args.store} is empty.")
        return 0
    for entry in entries:
        when = entry["trashed_at"]
        when = when.strftime("%Y-%m-%d %H:%M:%S UTC") if when is not None else "unknown time"
        print(f"{entry['id']:>8}  {entry['experiment'] or '?':<30}  trashed {when}")
    print(f"{len(entries)} run(s) in the trash (sacred empty-trash {_quoted(args.store)})")
    return 0


def cmd_empty_trash(store, args) -> int:
    from sacred.store.trash import as_age

    age = as_age(args.older_than)
    entries = store.trash()
    if not entries:
        print("The trash is empty; nothing deleted.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise StoreError(
                f"Emptying the trash deletes its runs for good ({len(entries)} there); "
                "pass --yes to do it."
            )
        which = f" trashed more than {args.older_than} ago" if age is not None else ""
        answer = input(f"Delete the runs in the trash{which} for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    purged = store.empty_trash(older_than=age)
    for run_id in purged:
        print(f"deleted run {run_id}")
    left = len(entries) - len(purged)
    print(
        f"{len(purged)} run(s) deleted for good" + (f", {left} left in the trash" if left else "")
    )
    return 0


def cmd_lineage(store, args) -> int:
    from sacred.store.lineage import format_lineage, lineage

    if args.depth is not None and args.depth < 1:
        raise QueryError(f"--depth must be a whole number >= 1, not {args.depth}")
    tree = lineage(store, args.id, depth=args.depth)
    if args.json:
        _print_json(tree)
    else:
        print(format_lineage(tree))
    return 0


def cmd_tag(store, args) -> int:
    tags = store.untag(args.id, *args.tags) if args.remove else store.tag(args.id, *args.tags)
    print(f"run {args.id}: tags {', '.join(tags) if tags else '(none)'}")
    return 0


def cmd_note(store, args) -> int:
    store.set_note(args.id, args.text)
    print(f"run {args.id}: note saved")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sacred", description="Query and edit recorded sacred runs in any store."
    )
    from sacred import __version__

    parser.add_argument("--version", action="version", version=f"sacred {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "store", metavar="STORE", help="a file-storage or TinyDB directory, or a database URL"
        )
        p.add_argument(
            "--dead-after",
            type=float,
            default=None,
            metavar="SECONDS",
            help="a RUNNING run without a heartbeat for this long reads PROBABLY_DEAD "
            "(default 120)",
        )
        p.set_defaults(func=func)
        return p

    p = add("runs", cmd_runs, "list runs as a table")
    p.add_argument("--filter", "-f", help="a query, e.g. 'status == \"COMPLETED\"'")
    p.add_argument("--sort", "-s", help="field path, '-' prefix for descending")
    p.add_argument("--limit", "-n", type=int)
    p.add_argument("--json", action="store_true", help="print a JSON list of records")
    p = add("show", cmd_show, "show one run: the whole record and a metrics summary")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p = add("compare", cmd_compare, "config differences and results side by side")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--json", action="store_true")
    p = add("metrics", cmd_metrics, "the values of one metric (a table or a plot)")
    p.add_argument("id")
    p.add_argument("name")
    p.add_argument("--plot", action="store_true", help="draw the values in the terminal")
    p.add_argument("--json", action="store_true")
    p = add("delete", cmd_delete, "move runs to the trash (--purge: delete them for good)")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument("--purge", action="store_true", help="delete for good, with metrics and files")
    p = add("restore", cmd_restore, "bring runs back from the trash")
    p.add_argument("ids", nargs="+", metavar="ID")
    p = add("trash", cmd_trash, "list the runs in the trash")
    p.add_argument("--json", action="store_true")
    p = add("empty-trash", cmd_empty_trash, "delete the runs in the trash for good")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument(
        "--older-than",
        metavar="AGE",
        help="only runs trashed longer ago than AGE (30d, 12h, 45m, 90s)",
    )
    p = add("lineage", cmd_lineage, "what a run consumed (use_run) and what consumed it")
    p.add_argument("id")
    p.add_argument("--depth", type=int, metavar="N", help="follow at most N links each way")
    p.add_argument("--json", action="store_true")
    p = add("tag", cmd_tag, "add (or --remove) tags of a run")
    p.add_argument("id")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--remove", action="store_true")
    p = add("note", cmd_note, "set the note of a run")
    p.add_argument("id")
    p.add_argument("text")
    # Not a query: delivers a QueueObserver dump into a store (sacred/observers/_replay.py).
    text = "store a run that a QueueObserver left in a dump (DUMP) in a store (URL)"
    p = sub.add_parser("replay", help=text, description=text)
    p.add_argument("dump", metavar="DUMP", help="the dump file the run's log names")
    p.add_argument("store", metavar="URL", help="a database URL, mongodb://host/db, or a directory")
    p.add_argument("--new-id", action="store_true", help="give the run a new id there")
    # `sacred migrate` works on a database, not on an opened store: see
    # sacred/observers/sql/migrate.py.
    migrate_help = "convert an SQL database to sacred's current layout (also the original's)"
    p = sub.add_parser("migrate", help=migrate_help, description=migrate_help)
    from sacred.observers.sql.migrate import add_arguments as add_migrate_arguments

    add_migrate_arguments(p)
    from sacred.worker.cli import add_worker_parsers  # worker, rerun: run machinery

    add_worker_parsers(sub)
    from sacred.integrations.tensorboard import add_parser as add_import_tensorboard

    add_import_tensorboard(sub)  # docs/integrations.md
    return parser


def _join_sort_values(argv: list[str]) -> list[str]:
    """``--sort -result`` means descending result: argparse alone would take
    '-result' for an option."""
    out: list[str] = []
    items = iter(argv)
    for item in items:
        if item in ("--sort", "-s"):
            value = next(items, None)
            out.append(item if value is None else f"--sort={value}")
        else:
            out.append(item)
    return out


def _driver_error(exc: Exception) -> bool:
    """An error of a database driver or file format (the store cannot be read),
    rather than a bug of this program."""
    module = type(exc).__module__ or ""
    return isinstance(exc, (OSError, ValueError)) or module.split(".")[0] in (
        "sqlalchemy",
        "pymongo",
        "bson",
        "gridfs",
        "sqlite3",
        "tinydb",
        "psycopg",
        "pymysql",
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, QueryError):
        return text  # the query and a caret below the message
    first = text.splitlines()[0]
    return first if isinstance(exc, StoreError) else f"{type(exc).__name__}: {first}"


@one_line_for_missing_extras("sacred")
def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(_join_sort_values(sys.argv[1:] if argv is None else list(argv)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DamagedRunWarning)
        try:
            return _run(args)
        finally:
            _print_warnings(caught)


def _print_warnings(caught: list) -> None:
    """Damaged runs, one line each on stderr (other warnings are shown as usual)."""
    seen = set()
    for item in caught:
        if not issubclass(item.category, DamagedRunWarning):
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
            continue
        text = str(item.message)
        if text not in seen:
            seen.add(text)
            print(f"sacred: warning: {text}", file=sys.stderr)


def _run(args) -> int:
    if args.command == "replay":
        from sacred.observers._replay import main_replay

        return main_replay(args)
    if args.command == "migrate":
        from sacred.observers.sql.migrate import run_cli

        return run_cli(args)
    if getattr(args, "opens_store", True) is False:  # worker/rerun open what they need
        return args.func(args)
    from sacred.store import open_store

    options = {} if args.dead_after is None else {"dead_after": args.dead_after}
    try:
        store = open_store(args.store, **options)
    except StoreError as exc:
        print(f"sacred: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not _driver_error(exc):
            raise
        print(f"sacred: error: cannot open {args.store!r}: {_one_line(exc)}", file=sys.stderr)
        return 2
    try:
        if args.command in ("show", "compare", "metrics") and not args.json:
            _console()  # says which extra to install when rich is missing
        return args.func(store, args)
    except QueryError as exc:
        print(f"sacred: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"sacred: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not _driver_error(exc):
            raise
        print(f"sacred: error: reading {args.store!r}: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        try:
            store.close()
        except Exception:
            pass  # the error that matters was printed


if __name__ == "__main__":
    sys.exit(main())
