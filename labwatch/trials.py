"""Trials: the runs of a study, read from the store, with their cost and state.

A trial is a sacred run whose ``meta.labwatch`` holds::

    {"study", "space", "space_hash", "optimizer", "sampler_seed", "direction",
     "space_def", "trial", "claimed_at", "seen_trials", "retry_of"?, "state"?}

and whose ``config`` holds the suggested values. Its size does not grow with the
study: ``seen_trials`` is the number of trials the claim knew of. The store is the
only record: nothing about a study lives anywhere else.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

from labwatch.searchspace import SearchSpace

__all__ = ["Trial", "TrialStatus", "read_trials", "trial_of_run", "objective_of", "study_query"]


class TrialStatus:
    """How the optimizer sees a trial (from the run's effective status)."""

    COMPLETED = "COMPLETED"  # finished with a cost
    FAILED = "FAILED"  # failed, interrupted, timed out, or its result had no usable cost
    PENDING = "PENDING"  # QUEUED (claimed) or RUNNING with a live heartbeat
    DEAD = "DEAD"  # its worker died (PROBABLY_DEAD), or it was claimed and never started
    PRUNED = "PRUNED"  # stopped early by the pruner; its cost is the last reported value


@dataclass
class Trial:
    """One trial of a study. ``config``: its values for the space's active
    hyperparameters, by dotted name; ``cost``: minimized objective, None unless
    COMPLETED."""

    id: Any
    number: int
    status: str
    config: dict
    cost: float | None
    run: Any = field(repr=False)
    labwatch: dict = field(default_factory=dict, repr=False)
    #: the minimized costs of a study with several objectives (None otherwise)
    costs: tuple | None = field(default=None, repr=False)
    #: per constraint, <= 0 when it holds (None: no constraints, or not completed)
    violations: list | None = field(default=None, repr=False)

    @property
    def feasible(self) -> bool:
        """False for a completed trial that breaks one of the study's constraints."""
        return self.violations is None or all(v <= 0 for v in self.violations)

    @property
    def retry_of(self) -> Any:
        return self.labwatch.get("retry_of")

    @property
    def imported(self) -> Any:
        """The id of the run this trial was imported from (LabAssistant.import_runs)."""
        return self.labwatch.get("imported")

    @property
    def enqueued(self) -> bool:
        """A configuration waiting in the study's queue (LabAssistant.enqueue)."""
        return bool(self.labwatch.get("enqueued")) and self.status == TrialStatus.PENDING

    @property
    def final(self) -> bool:
        """COMPLETED, PRUNED and FAILED trials never change again; PENDING and DEAD may."""
        return self.status in (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.PRUNED)

    @property
    def reported(self) -> dict:
        """What ``LabAssistant.report`` recorded in ``info.labwatch``: the metric name,
        the last step and value, and ``state`` ("PRUNED" for a pruned trial)."""
        info = getattr(self.run, "info", None) or {}
        entry = info.get("labwatch") if isinstance(info, dict) else None
        return entry if isinstance(entry, dict) else {}

    @property
    def state(self) -> dict:
        """What the optimizer stored with the suggestion (e.g. Optuna's system attrs)."""
        return self.labwatch.get("state") or {}


def study_query(study: str) -> str:
    escaped = study.replace("\\", "\\\\").replace('"', '\\"')
    return f'meta.labwatch.study == "{escaped}"'


def objective_of(result: Any) -> float | None:
    """The run's result if it is a number, else ``result["optimization_target"]``."""
    if isinstance(result, dict):
        result = result.get("optimization_target")
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        return None
    value = float(result)
    return None if math.isnan(value) else value


def _flat_config(space: SearchSpace, config: dict) -> dict:
    return space.active(space.flatten(config))


def _claimed_at(meta: dict) -> datetime.datetime | None:
    queued = meta.get("claimed_at")
    if isinstance(queued, str):
        try:
            queued = datetime.datetime.fromisoformat(queued)
        except ValueError:
            return None
    if not isinstance(queued, datetime.datetime):
        return None
    if queued.tzinfo is not None:
        queued = queued.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return queued


def trial_of_run(
    run: Any,
    space: SearchSpace,
    direction: Any,
    stale_after: float,
    now: datetime.datetime,
    number: int = 0,
) -> Trial:
    """The trial a stored run is. A QUEUED trial claimed more than ``stale_after``
    seconds before ``now`` was claimed by a process that never started it: DEAD."""
    meta = (run.meta or {}).get("labwatch") or {}
    status = run.status
    cost = None
    costs = None
    violations = None
    if status == "COMPLETED" and not isinstance(direction, str):
        # an Objectives (labwatch._objectives): targets by path, one or several
        costs = direction.costs(run)
        kind = TrialStatus.COMPLETED if costs is not None else TrialStatus.FAILED
        if direction.constraints is not None:
            violations = direction.constraints.violations(run._record)
        if costs is not None and not direction.multi:
            cost, costs = costs[0], None
        reported = (run.info or {}).get("labwatch") if isinstance(run.info, dict) else None
        if costs is None and cost is None and isinstance(reported, dict):
            value = objective_of(reported.get("value"))
            if reported.get("state") == "PRUNED" and value is not None and not direction.multi:
                kind = TrialStatus.PRUNED
                cost = value if direction.directions[0] == "minimize" else -value
    elif status == "COMPLETED":
        objective = objective_of(run.result)
        reported = (run.info or {}).get("labwatch") if isinstance(run.info, dict) else None
        if objective is None and isinstance(reported, dict) and reported.get("state") == "PRUNED":
            value = objective_of(reported.get("value"))
            kind = TrialStatus.PRUNED if value is not None else TrialStatus.FAILED
            if value is not None:
                cost = value if direction == "minimize" else -value
        elif objective is None:
            kind = TrialStatus.FAILED
        else:
            kind = TrialStatus.COMPLETED
            cost = objective if direction == "minimize" else -objective
    elif status == "RUNNING":
        kind = TrialStatus.PENDING
    elif status == "QUEUED":
        # labwatch writes its claim time itself: readers differ in where (and
        # whether) they report the observer's queue_time.
        queued = _claimed_at(meta)
        fresh = (
            queued is None
            or bool(meta.get("enqueued"))  # waits for a claim, however long
            or (now - queued).total_seconds() <= stale_after
        )
        kind = TrialStatus.PENDING if fresh else TrialStatus.DEAD
    elif status == "PROBABLY_DEAD" or (status == "FAILED" and _fenced_off(run.meta)):
        kind = TrialStatus.DEAD
    else:
        kind = TrialStatus.FAILED
    return Trial(
        id=run.id,
        number=int(meta.get("trial", number)),
        status=kind,
        config=_flat_config(space, run.config or {}),
        cost=cost,
        run=run,
        labwatch=meta,
        costs=costs,
        violations=violations,
    )


def _fenced_off(meta: Any) -> bool:
    """A run failed because its worker was presumed dead (its claim taken away by
    ``lost_run``, the last attempt saying why): the trial died, it did not fail."""
    if not isinstance(meta, dict) or "claim" in meta:
        return False
    attempts = meta.get("attempts") or []
    last = attempts[-1] if attempts and isinstance(attempts[-1], dict) else {}
    return str(last.get("outcome", "")).startswith("worker lost")


def read_trials(
    store: Any,
    study: str,
    space: SearchSpace,
    direction: str = "minimize",
    stale_after: float | None = None,
) -> list[Trial]:
    """Every trial of ``study`` in the store, oldest first.

    A QUEUED trial older than ``stale_after`` seconds (default: the store's
    ``dead_after``) was claimed by a process that never started it: it reads DEAD.
    """
    from sacred._time import utc_now

    stale_after = store.dead_after if stale_after is None else stale_after
    now = utc_now()
    trials = [
        trial_of_run(run, space, direction, stale_after, now, number=i)
        for i, run in enumerate(store.find(study_query(study), sort="id"))
    ]
    # Claim order: trial numbers are given out under the study's lock. Run ids do
    # not follow it in every store (TinyDB's are random uuids).
    trials.sort(key=lambda t: t.number)
    return trials
