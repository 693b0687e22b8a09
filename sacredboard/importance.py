"""Hyperparameter importance of a Labwatch study, for its page:
``GET /api/studies/<study>/importance`` (docs/sacredboard.md, *Labwatch studies*).

Optuna's mean-decrease-impurity evaluator (a random forest over the completed
trials), as ``labwatch importance --evaluator mdi`` computes it. Not fANOVA, the
CLI's default: it took 100 s for a 1,000-trial study on a loaded 2-core machine,
where MDI takes about 1 s.

A page must not stall the board, so the computation runs in a worker thread, outside
the board's reader lock (scikit-learn fits its trees without the GIL), one at a time,
on at most the newest MAX_TRIALS completed trials; its result is kept while the
study's token (sacred.store.studies.study_token: the completed trials and the space)
stays, so the heartbeats of running trials and the page's reloads cost one read of
the trials, not a new forest.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import weakref
from collections import OrderedDict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sacredboard.http import board_of, locked
from sacredboard.jsonout import JSON

__all__ = ["ROUTES", "study_importance", "MAX_TRIALS", "EVALUATOR"]

#: The newest completed trials the forest is fitted on.
MAX_TRIALS = 2000
#: What the response's ``evaluator`` says.
EVALUATOR = "mean decrease impurity (Optuna)"
#: Results kept per board (study, token).
CACHE_SIZE = 16

_CHOICE_TYPES = (str, int, float, bool, type(None))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _choice(value: Any) -> Any:
    """A value Optuna's CategoricalDistribution accepts (lists and dicts as JSON text)."""
    return value if isinstance(value, _CHOICE_TYPES) else json.dumps(value, sort_keys=True)


def _distribution(optuna: Any, spec: Any, values: list) -> tuple[Any, list] | None:
    """(distribution, encoded values) of one hyperparameter, or None for a constant.

    Bounds come from the stored space widened to the values seen, so a trial
    enqueued outside the space (labwatch enqueue) still fits."""
    spec = spec if isinstance(spec, dict) else {}
    kind = spec.get("kind")
    if kind == "constant":
        return None
    d = optuna.distributions
    if kind == "categorical" or not all(_number(v) for v in values):
        declared = spec.get("choices") if isinstance(spec.get("choices"), list) else []
        encoded = [_choice(v) for v in values]
        choices = list(dict.fromkeys([*(_choice(c) for c in declared), *encoded]))
        return d.CategoricalDistribution(choices), encoded
    low, high = min(values), max(values)
    for bound in ("lower", "upper"):
        if _number(spec.get(bound)):
            low, high = min(low, spec[bound]), max(high, spec[bound])
    log = bool(spec.get("log_scale")) and kind == "uniform"
    if (
        kind == "uniform"
        and spec.get("type") == "int"
        and all(float(v).is_integer() for v in values)
    ):
        low, high = math.floor(low), math.ceil(high)
        return d.IntDistribution(low, high, log=log and low >= 1), [int(v) for v in values]
    return d.FloatDistribution(low, high, log=log and low > 0), [float(v) for v in values]


def study_importance(study: dict) -> dict:
    """``{"study", "evaluator", "completed", "used", "importance": [{"name", "value"}],
    "message"}`` of a study as sacred.store.studies.study_trials gives it; the
    importances sum to 1, largest first. ``message`` (importance then empty) says why
    there is none: fewer than 2 completed trials, no hyperparameter that varies, or
    Optuna/scikit-learn not installed."""
    done = [t for t in study["trials"] if t["state"] == "COMPLETED" and t["cost"] is not None]
    out: dict[str, Any] = {
        "study": study["study"],
        "evaluator": EVALUATOR,
        "completed": len(done),
        "used": 0,
        "importance": [],
        "message": None,
    }
    if len(done) < 2:
        out["message"] = (
            f"Hyperparameter importance needs at least 2 completed trials; "
            f"this study has {len(done)}."
        )
        return out
    missing = [m for m in ("optuna", "sklearn") if importlib.util.find_spec(m) is None]
    if missing:
        out["message"] = (
            "Hyperparameter importance needs Optuna and scikit-learn on the board's "
            "Python: pip install 'sacred[optim]'."
        )
        return out
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    done = done[-MAX_TRIALS:]
    stored = study.get("space_def")
    space: dict = stored if isinstance(stored, dict) else {}
    names = sorted(space) or sorted({n for t in done for n in t["config"]})
    columns: dict[str, tuple[Any, list]] = {}
    for name in names:
        # Trials lacking a conditional hyperparameter are left out of its column;
        # Optuna only weighs the hyperparameters every trial has.
        values = [t["config"][name] for t in done if name in t["config"]]
        found = _distribution(optuna, space.get(name), values) if values else None
        if found is not None:
            columns[name] = found
    positions = {name: 0 for name in columns}
    trials = []
    for t in done:
        params, distributions = {}, {}
        for name, (distribution, encoded) in columns.items():
            if name in t["config"]:
                params[name] = encoded[positions[name]]
                distributions[name] = distribution
                positions[name] += 1
        trials.append(
            optuna.trial.create_trial(params=params, distributions=distributions, value=t["cost"])
        )
    holder = optuna.create_study(direction="minimize")
    holder.add_trials(trials)
    out["used"] = len(trials)
    varying = [n for n, (d, _) in columns.items() if not d.single()]
    if not varying:
        out["message"] = "No hyperparameter varies among the completed trials."
        return out
    evaluator = optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0)
    try:
        result = optuna.importance.get_param_importances(holder, evaluator=evaluator)
    except (ValueError, RuntimeError) as exc:
        # e.g. no hyperparameter shared by every completed trial
        out["message"] = f"Optuna could not compute the importance: {exc}"
        return out
    out["importance"] = [{"name": n, "value": float(v)} for n, v in result.items()]
    return out


class _Cache:
    """The importances computed for one board, and the lock that lets one forest be
    fitted at a time (waiting requests wait on the event loop, not in a thread)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.results: OrderedDict[tuple[str, str], dict] = OrderedDict()

    def get(self, key: tuple[str, str]) -> dict | None:
        if key in self.results:
            self.results.move_to_end(key)
        return self.results.get(key)

    def put(self, key: tuple[str, str], value: dict) -> None:
        self.results[key] = value
        while len(self.results) > CACHE_SIZE:
            self.results.popitem(last=False)


_CACHES: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()


async def importance(request: Request) -> Response:
    """The study's hyperparameter importance (see study_importance)."""
    from sacred.exceptions import StoreError
    from sacred.store.studies import study_token, study_trials

    board = board_of(request)
    name = request.path_params["study"]
    found = await locked(request, study_trials, board.store, name)
    if found is None:
        raise StoreError(f"No Labwatch study {name!r} in this store; see /api/studies.")
    cache = _CACHES.setdefault(board, _Cache())
    key = (name, study_token(found))
    result = cache.get(key)
    if result is None:
        async with cache.lock:
            result = cache.get(key)  # computed while this request waited
            if result is None:
                result = await run_in_threadpool(study_importance, found)
                cache.put(key, result)
    return JSON(result)


ROUTES = [Route("/api/studies/{study:path}/importance", importance)]
