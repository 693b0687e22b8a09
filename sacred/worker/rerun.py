"""``sacred rerun``: run a stored run again from its stored sources and compare.

The rerun gets the stored command, final configuration (seed included), named
configs and config updates, and is recorded as a new run with ``meta.rerun_of``
(and ``meta.rerun_from``, the store it came from). Result and metrics are then
compared with the original's, exactly or within a relative tolerance.
"""

from __future__ import annotations

import os
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
) -> RerunReport:
    """Run the stored run ``run_id`` of ``store`` again, record it in ``into`` (default:
    the same store) and compare it with the original."""
    import json

    from sacred.store import open_store
    from sacred.worker.claims import open_claimer

    target = into or store
    with open_store(store) as source_store:
        original = source_store.get(run_id)
        experiment = original.experiment
        missing, different = dependency_problems(experiment.get("dependencies") or [])
        if missing or (different and not ignore_versions):
            raise RerunError(
                f"Run {run_id} cannot be reproduced here: "
                + "; ".join(missing + different)
                + ("." if not different else ". Pass --ignore-versions to run it anyway.")
            )
        sources = {name: original.sources[name].read() for name in original.sources}
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
    if different:
        report.warnings = different
    return report
