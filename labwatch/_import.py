"""Importing runs of the experiment that were not started through a search space.

A completed run whose configuration fits the space (every active hyperparameter
present and inside its domain) becomes a trial. The run itself is left as it was
recorded: the trial is a new COMPLETED record holding the run's config, result and
info, with ``meta.labwatch.imported`` naming the run (stores offer no generic way
to add an entry to a recorded run's meta, and a study's trials are found by
``meta.labwatch.study``). A run that already has a trial is not imported again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from labwatch.hyperparameters import Categorical, Constant, Hyperparameter, UniformNumber
from labwatch.searchspace import SearchSpace

__all__ = ["ImportReport", "misfit", "record_imported"]


@dataclass
class ImportReport:
    """What ``LabAssistant.import_runs`` did: the ids of the new trials' records,
    the runs imported before (left alone), and the runs that do not fit with the
    first reason."""

    imported: list = field(default_factory=list)
    already: int = 0
    skipped: int = 0
    first_reason: str | None = None

    def skip(self, run_id: Any, reason: str) -> None:
        self.skipped += 1
        if self.first_reason is None:
            self.first_reason = f"run {run_id}: {reason}"

    def line(self) -> str:
        """One line for the command (and the log)."""
        text = f"imported {len(self.imported)} run(s)"
        if self.already:
            text += f", {self.already} imported before"
        if self.skipped:
            text += f", {self.skipped} do not fit the space (first: {self.first_reason})"
        return text


def _domain(hp: Hyperparameter) -> str:
    if isinstance(hp, UniformNumber):
        kind = "integers in" if hp.type is int else ""
        return f"{kind} [{hp.lower!r}, {hp.upper!r}]".strip()
    if isinstance(hp, Categorical):
        return f"the choices {hp.choices!r}"
    if isinstance(hp, Constant):
        return f"the constant {hp.value!r}"
    return "its domain"


def misfit(space: SearchSpace, config: dict) -> str | None:
    """Why ``config`` (a run's nested configuration) is not a point of the space, or
    None when it is: an active hyperparameter it lacks or holds outside its domain.
    Entries whose condition does not hold may hold anything (they are inactive)."""
    values = space.flatten(config)
    for name in space.order:
        if not space.is_active(name, values):
            continue
        hp = space.parameters[name]
        if name not in values:
            return f"its config has no {name}"
        value = values[name]
        integral = not (
            isinstance(hp, UniformNumber)
            and hp.type is int
            and isinstance(value, float)
            and not value.is_integer()
        )
        if not hp.contains(value) or not integral:
            return f"{name}={value!r} is outside {_domain(hp)}"
    return None


def record_imported(observer: Any, ex_info: dict, run: Any, meta: dict, now: Any) -> Any:
    """Write the trial of an imported run through a fresh observer of the store (a
    started, then completed run holding the run's config, info and result); returns
    its id."""
    command = run.command or "main"
    run_id = observer.started_event(
        ex_info=ex_info,
        command=command,
        host_info=dict(run.host),
        start_time=run.start_time or now,
        config=copy.deepcopy(run.config),
        meta_info={"command": command, "labwatch": meta},
        _id=None,
    )
    observer.heartbeat_event(
        info=copy.deepcopy(run.info), captured_out="", beat_time=now, result=run.result
    )
    observer.completed_event(stop_time=run.stop_time or now, result=copy.deepcopy(run.result))
    return run_id
