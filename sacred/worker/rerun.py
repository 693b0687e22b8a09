"""``sacred rerun``: run a stored run again from its stored sources and compare.

The rerun gets the stored command, final configuration (seed included), named
configs and config updates, and is recorded as a new run with ``meta.rerun_of``
(and ``meta.rerun_from``, the store it came from). Result and metrics are then
compared with the original's, exactly or within a relative tolerance.

Before anything runs, what would run is checked against the record (issue 22):

* every source's md5 (the stored copy, or the file in ``--workdir``) against the
  digest in ``experiment.sources``;
* every input the run consumed (``meta.inputs``, ``use_run``): the run still exists
  and each artifact it read has the recorded md5.

A difference refuses the rerun (``RerunError``), or with ``allow_modified`` becomes a
warning. The rerun reads the same inputs: they are pinned for its ``use_run`` calls
(``sacred.lineage.PINNED_INPUTS_ENV``), so a query finds the run it found then. A
QUEUED run never ran: there is nothing to compare a rerun with, and it is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any

from sacred.exceptions import SacredError
from sacred.worker.compare import differences
from sacred.worker.dependencies import dependency_problems
from sacred.worker.restore import RestoreError, child_argv, restore_sources
from sacred.worker.takeover import CLAIM_TOKEN_ENV, WORKER_META_ENV

__all__ = ["RerunReport", "rerun", "RerunError"]


class RerunError(SacredError):
    """A stored run cannot be run again here (sources or packages missing)."""


@dataclass
class RerunReport:
    original_id: Any
    new_id: Any
    status: str | None
    differences: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    """One line per input the rerun read again, as verified before it ran."""

    @property
    def matches(self) -> bool:
        return self.status == "COMPLETED" and not self.differences


def _values(run: Any) -> dict:
    metrics = {}
    for name in run.metrics:
        metrics[name] = list(run.metrics.raw(name)["values"])
    return {"result": run.result, "metrics": metrics}


def rerun(
    store: str,
    run_id: Any,
    into: str | None = None,
    rtol: float = 0.0,
    ignore_versions: bool = False,
    workdir: str | None = None,
    python: str = sys.executable,
    allow_modified: bool = False,
) -> RerunReport:
    """Run the stored run ``run_id`` of ``store`` again, record it in ``into`` (default:
    the same store) and compare it with the original. ``allow_modified``: run even
    when a source or an input differs from the record (each difference is a warning)."""
    import json

    from sacred.lineage import PINNED_INPUTS_ENV
    from sacred.store import open_store
    from sacred.store.lineage import inputs_of
    from sacred.worker.claims import open_claimer

    target = into or store
    with open_store(store) as source_store:
        original = source_store.get(run_id)
        if original.status == "QUEUED":
            raise RerunError(
                f"Run {run_id} is QUEUED and never ran: there is no result or metric a "
                f"rerun could be compared with. Start it with a worker: sacred worker {store}"
            )
        experiment = original.experiment
        missing, different = dependency_problems(experiment.get("dependencies") or [])
        if missing or (different and not ignore_versions):
            raise RerunError(
                f"Run {run_id} cannot be reproduced here: "
                + "; ".join(missing + different)
                + ("." if not different else ". Pass --ignore-versions to run it anyway.")
            )
        sources = {name: original.sources[name].read() for name in original.sources}
        modified = _source_problems(experiment.get("sources") or [], sources, workdir)
        modified += _input_problems(original, source_store)
        if modified and not allow_modified:
            raise RerunError(
                f"Run {run_id} cannot be rerun as recorded: "
                + "; ".join(modified)
                + ". Pass --allow-modified to run it anyway."
            )
        inputs = inputs_of(original)
        meta = dict(original.meta)
        config, command = original.config, original.command
        expected = _values(original)
        original_id = original.id
    mark = uuid.uuid4().hex
    kept = {k: meta[k] for k in ("config_updates", "named_configs", "priority") if k in meta}
    kept.update(rerun_of=original_id, rerun_from=str(store), rerun_mark=mark)
    scratch = tempfile.mkdtemp(prefix="sacred-rerun-")
    try:
        mainfile = experiment.get("mainfile") or ""
        if workdir:
            main, cwd = os.path.join(os.path.abspath(workdir), mainfile), workdir
            if not os.path.isfile(main):
                raise RerunError(f"--workdir {workdir} holds no {mainfile!r}")
        else:
            try:
                main = restore_sources(sources, mainfile, os.path.join(scratch, "src"))
            except RestoreError as exc:
                raise RerunError(str(exc)) from None
            cwd = os.path.dirname(main)
        claimer = open_claimer(target)
        try:
            observer = claimer.observer_args()
        finally:
            claimer.close()
        argv = child_argv(
            main, command, config, meta, None, observer, os.path.join(scratch, "config.json")
        )
        env = dict(os.environ)
        env[WORKER_META_ENV] = json.dumps(kept, default=str)
        env.pop(CLAIM_TOKEN_ENV, None)  # a new record: take nothing over
        env[PINNED_INPUTS_ENV] = json.dumps(inputs, default=str)
        subprocess.call(argv, cwd=cwd, env=env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with open_store(target) as target_store:
        found = [r for r in target_store.find() if r.meta.get("rerun_mark") == mark]
        if not found:
            raise RerunError(f"The rerun of run {run_id} was not recorded in {target}.")
        new = found[0]
        report = RerunReport(original_id, new.id, new.status)
        if new.status == "COMPLETED":
            report.differences = differences(expected, _values(new), rtol)
        else:
            report.differences = [f"the rerun ended {new.status}"]
        report.differences += _inputs_differences(inputs, inputs_of(new))
    report.warnings = list(different) + modified
    report.inputs = [_describe_input(entry, modified) for entry in inputs]
    return report


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data).hexdigest()


_MD5 = re.compile(r"[0-9a-f]{32}")
_MD5_IN_NAME = re.compile(r"_([0-9a-f]{32})(?:\.[^/\\]*)?$")


def _recorded_md5(value: Any) -> str | None:
    """The md5 a record keeps for a source: the value itself (SQL, TinyDB), or the
    digest in the stored copy's name (file store: ``_sources/exp_<md5>.py``)."""
    if not isinstance(value, str):
        return None
    if _MD5.fullmatch(value):
        return value
    found = _MD5_IN_NAME.search(value)
    return found.group(1) if found else None


def _source_problems(recorded: list, sources: dict[str, bytes], workdir: str | None) -> list[str]:
    """Sources whose content is not the one the record's md5 names."""
    problems = []
    for pair in recorded:
        if not (isinstance(pair, (list, tuple)) and len(pair) >= 2):
            continue
        name, md5 = pair[0], _recorded_md5(pair[1])
        if md5 is None:
            continue  # the layout keeps no digest here (MongoDB: a GridFS id)
        if workdir:
            path = os.path.join(workdir, name)
            if not os.path.isfile(path):
                problems.append(f"source {name!r} is not in --workdir {workdir}")
                continue
            with open(path, "rb") as f:
                now, where = _digest(f.read()), f"in --workdir {workdir}"
        elif name in sources:
            now, where = _digest(sources[name]), "as stored"
        else:
            continue  # not stored: restore_sources says so for the main file
        if now != md5:
            problems.append(f"source {name!r} {where} has md5 {now}, the record says {md5}")
    return problems


def _input_problems(original: Any, store: Any) -> list[str]:
    from sacred.store.lineage import StoreOpener, input_problems

    opener = StoreOpener(store)
    try:
        return input_problems(original, opener, _digest)
    finally:
        opener.close()


def _describe_input(entry: dict, problems: list[str]) -> str:
    names = ", ".join(sorted(entry["artifacts"])) or "no artifact"
    who = f"input run {entry['run_id']}"
    if any(p.startswith(who + ":") or p.startswith(who + " ") for p in problems):
        return f"{who} ({names}): changed, see the warnings"
    return f"{who} ({names}): as recorded (md5 verified)"


def _inputs_differences(expected: list[dict], got: list[dict]) -> list[str]:
    """The rerun must have read the runs and artifacts the original read."""

    def key(entry: dict) -> tuple:
        return (str(entry["run_id"]), entry["store"])

    read = {key(e): e for e in got}
    out = []
    for entry in expected:
        again = read.get(key(entry))
        if again is None:
            out.append(f"input run {entry['run_id']}: not read by the rerun")
        elif again["artifacts"] != entry["artifacts"]:
            out.append(
                f"input run {entry['run_id']}: the rerun read {sorted(again['artifacts'].items())}"
                f", the original {sorted(entry['artifacts'].items())}"
            )
    return out
