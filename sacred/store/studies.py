"""Labwatch studies read from any store: the runs whose ``meta.labwatch`` marks them
as trials (the layout is Labwatch's, docs/labwatch.md *Studies and trials*; this
module only reads it, so the board shows studies without importing Labwatch).

A trial's ``state``, from the run's effective status and its record:

=========== =====================================================================
COMPLETED   completed with a numeric objective (``result``, or
            ``result["optimization_target"]``)
PRUNED      stopped early by a pruner (``meta.labwatch.state == "PRUNED"``)
FAILED      failed, interrupted, timed out, or completed without a usable objective
RUNNING     running with a live heartbeat
QUEUED      claimed by a worker and not started yet
DEAD        its worker died (``PROBABLY_DEAD``), or claimed and never started
            within the store's ``dead_after``
=========== =====================================================================

``cost`` is the minimized objective (the objective, negated for a study that
maximizes), as Labwatch's optimizers see it; ``objective`` the value itself.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from typing import Any

from sacred.store.query import MISSING
from sacred.store.values import read_values

__all__ = ["list_studies", "study_trials", "study_token", "STATES"]

STATES = ("COMPLETED", "PRUNED", "FAILED", "RUNNING", "QUEUED", "DEAD")

_LABWATCH = ("meta", "labwatch")
_FIELDS = (
    "study",
    "space",
    "optimizer",
    "direction",
    "trial",
    "claimed_at",
    "state",
    "retry_of",
    "space_def",
)
_PATHS = [
    *[(*_LABWATCH, name) for name in _FIELDS],
    ("status",),
    ("result",),
    ("config",),
    ("experiment", "name"),
    ("start_time",),
    ("stop_time",),
]


def _objective(result: Any) -> float | None:
    if isinstance(result, dict):
        result = result.get("optimization_target")
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        return None
    value = float(result)
    return value if math.isfinite(value) else None


def _time(value: Any) -> datetime.datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value if isinstance(value, datetime.datetime) else None


def _dotted(config: Any, name: str) -> Any:
    current = config
    for part in name.split("."):
        if not isinstance(current, dict) or part not in current:
            return MISSING
        current = current[part]
    return current


def _state(status: Any, meta: dict, objective: float | None, now: Any, stale: float) -> str:
    marked = meta.get("state")
    if isinstance(marked, str) and marked.upper() == "PRUNED":
        return "PRUNED"
    if status == "COMPLETED":
        return "COMPLETED" if objective is not None else "FAILED"
    if status == "RUNNING":
        return "RUNNING"
    if status == "PROBABLY_DEAD":
        return "DEAD"
    if status == "QUEUED":
        claimed = _time(meta.get("claimed_at"))
        if claimed is not None and (now - claimed).total_seconds() > stale:
            return "DEAD"
        return "QUEUED"
    return "FAILED"


def _trials(store: Any, study: str | None) -> list[dict]:
    from sacred._time import utc_now

    if study is None:
        query = "meta.labwatch.study exists"
    else:
        escaped = study.replace("\\", "\\\\").replace('"', '\\"')
        query = f'meta.labwatch.study == "{escaped}"'
    now = utc_now()
    out = []
    for run_id, values in read_values(store, query, _PATHS):
        meta = {n: v for n, v in zip(_FIELDS, values) if v is not MISSING}
        status, result, config, experiment, start, stop = values[len(_FIELDS) :]
        direction = meta.get("direction") or "minimize"
        objective = _objective(None if result is MISSING else result)
        state = _state(status, meta, objective, now, store.dead_after)
        cost = None
        if state in ("COMPLETED", "PRUNED") and objective is not None:
            cost = -objective if direction == "maximize" else objective
        space_def = meta.get("space_def")
        names = sorted(space_def) if isinstance(space_def, dict) else None
        config = config if isinstance(config, dict) else {}
        if names is not None:
            picked = {name: _dotted(config, name) for name in names}
            config = {k: v for k, v in picked.items() if v is not MISSING}
        out.append(
            {
                "id": run_id,
                "number": meta.get("trial"),
                "state": state,
                "status": status,
                "config": config,
                "cost": cost,
                "objective": objective,
                "retry_of": meta.get("retry_of"),
                "start_time": None if start is MISSING else start,
                "stop_time": None if stop is MISSING else stop,
                "_meta": meta,
                "_experiment": None if experiment is MISSING else experiment,
            }
        )
    out.sort(
        key=lambda t: (t["number"] if isinstance(t["number"], int) else math.inf, str(t["id"]))
    )
    return out


def _best(trials: list[dict]) -> dict | None:
    done = [t for t in trials if t["state"] == "COMPLETED" and t["cost"] is not None]
    if not done:
        return None
    best = min(done, key=lambda t: t["cost"])
    return {
        "id": best["id"],
        "cost": best["cost"],
        "objective": best["objective"],
        "config": best["config"],
    }


def _summary(study: str, trials: list[dict]) -> dict:
    meta = trials[-1]["_meta"]
    counts = {state.lower(): 0 for state in STATES}
    for trial in trials:
        counts[trial["state"].lower()] += 1
    return {
        "study": study,
        "space": meta.get("space"),
        "experiment": trials[-1]["_experiment"],
        "optimizer": meta.get("optimizer"),
        "direction": meta.get("direction") or "minimize",
        "trials": len(trials),
        "completed": counts["completed"],
        "failed": counts["failed"],
        "running": counts["running"] + counts["queued"],
        "pruned": counts["pruned"],
        "dead": counts["dead"],
        "best": _best(trials),
    }


def _public(trial: dict) -> dict:
    return {k: v for k, v in trial.items() if not k.startswith("_")}


def list_studies(store: Any) -> list[dict]:
    """``[{"study", "space", "experiment", "optimizer", "direction", "trials",
    "completed", "failed", "running", "pruned", "dead", "best": {"id", "cost",
    "objective", "config"} | None}]``, by study name. ``running`` counts the queued
    (claimed) trials too."""
    by_study: dict[str, list[dict]] = {}
    for trial in _trials(store, None):
        by_study.setdefault(str(trial["_meta"].get("study")), []).append(trial)
    return [_summary(study, trials) for study, trials in sorted(by_study.items())]


def study_trials(store: Any, study: str) -> dict | None:
    """The study's summary (as list_studies gives it) plus ``space_def`` (the
    hyperparameters, as Labwatch records them) and ``trials``: ``[{"id", "number",
    "state", "status", "config", "cost", "objective", "retry_of", "start_time",
    "stop_time"}]`` in claim order; None when no run belongs to the study."""
    trials = _trials(store, study)
    if not trials:
        return None
    out = _summary(study, trials)
    out["space_def"] = trials[-1]["_meta"].get("space_def")
    out["trials"] = [_public(t) for t in trials]
    return out


def study_token(study: dict) -> str:
    """A token of what a study's derived views (hyperparameter importance) depend on:
    the space and the completed trials' ids, costs and configurations. Unlike the
    store's change token it stays while running trials beat or fail."""
    done = [
        (str(t["id"]), t["cost"], t["config"])
        for t in study["trials"]
        if t["state"] == "COMPLETED" and t["cost"] is not None
    ]
    text = json.dumps([study.get("space_def"), done], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
