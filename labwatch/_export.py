"""Writing a study as an Optuna study, through Optuna's own API, so Optuna's plots,
importance evaluators and optuna-dashboard work on it.

Hyperparameters map to Optuna's distributions: a uniform float to
``FloatDistribution(lower, upper, log=log_scale)``, a uniform integer to
``IntDistribution`` (step 1), a categorical to ``CategoricalDistribution``. Optuna has
no normal distribution: a Gaussian becomes a ``FloatDistribution`` over
mu ± 6 sigma (of the logarithm, on a log scale), widened to hold every value the
trials took. Constants are not parameters. Trial states: completed (and imported)
-> COMPLETE with the objective(s) as the runs reported them, pruned -> PRUNED,
failed and dead -> FAIL; trials still pending are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labwatch.exceptions import LabwatchError
from labwatch.hyperparameters import (
    Categorical,
    Constant,
    Gaussian,
    Hyperparameter,
    UniformNumber,
)
from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, TrialStatus

__all__ = ["ExportReport", "export_study"]


@dataclass
class ExportReport:
    study_name: str
    written: int
    pending: int

    def line(self, storage: str) -> str:
        text = (
            f"exported {self.written} trial(s) to the Optuna study {self.study_name!r} in {storage}"
        )
        if self.pending:
            text += f" ({self.pending} still pending left out)"
        return text


def _distribution(optuna: Any, hp: Hyperparameter, seen: list) -> Any:
    d = optuna.distributions
    if isinstance(hp, Categorical):
        return d.CategoricalDistribution(hp.choices)
    if isinstance(hp, Gaussian):
        low, high = hp.mu - 6 * hp.sigma, hp.mu + 6 * hp.sigma
        if hp.log_scale:
            low, high = math.exp(low), math.exp(high)
        low, high = min([low, *seen]), max([high, *seen])
        if hp.type is int:
            return d.IntDistribution(int(math.floor(low)), int(math.ceil(high)), log=hp.log_scale)
        return d.FloatDistribution(low, high, log=hp.log_scale)
    if not isinstance(hp, UniformNumber):
        raise LabwatchError(f"{type(hp).__name__} has no Optuna distribution")
    if hp.type is int:
        return d.IntDistribution(int(hp.lower), int(hp.upper), log=hp.log_scale)
    return d.FloatDistribution(float(hp.lower), float(hp.upper), log=hp.log_scale)


def _param(hp: Hyperparameter, value: Any) -> Any:
    if isinstance(hp, Categorical):
        return value
    return int(round(value)) if getattr(hp, "type", float) is int else float(value)


def _run_id(value: Any) -> Any:
    return value if isinstance(value, (int, str)) else str(value)


def export_study(
    store: Any,
    space: SearchSpace,
    trials: list[Trial],
    directions: list[str],
    objective_values: Any,
    storage: str,
    study_name: str,
    constraint_names: list[str] | None = None,
) -> ExportReport:
    """Write ``trials`` as a new Optuna study ``study_name`` in ``storage``.
    ``objective_values(trial)``: the trial's objective(s) as reported (a list)."""
    from labwatch.optimizers._optuna import _optuna

    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        existing = optuna.study.get_all_study_names(storage)
    except Exception as exc:  # a URL Optuna cannot open: say which, in one line
        raise LabwatchError(f"Optuna cannot open the storage {storage}: {exc}") from None
    if study_name in existing:
        raise LabwatchError(
            f"The Optuna storage {storage} already has a study named {study_name!r}: "
            "choose another one with --study-name, or delete it first "
            f"(optuna delete-study --storage {storage} --study-name '{study_name}')."
        )
    names = [n for n in space.order if not isinstance(space.parameters[n], Constant)]
    seen = {n: [t.config[n] for t in trials if n in t.config] for n in names}
    distributions = {n: _distribution(optuna, space.parameters[n], seen[n]) for n in names}
    states = optuna.trial.TrialState
    frozen = []
    pending = 0
    for trial in trials:
        if trial.status == TrialStatus.PENDING:
            pending += 1
            continue
        params = {
            n: _param(space.parameters[n], trial.config[n]) for n in names if n in trial.config
        }
        user_attrs = {"sacred_run_id": _run_id(trial.id), "labwatch_trial": trial.number}
        if trial.imported is not None:
            user_attrs["imported_from"] = _run_id(trial.imported)
        state, values = states.FAIL, None
        if trial.status == TrialStatus.COMPLETED:
            state, values = states.COMPLETE, objective_values(trial)
        elif trial.status == TrialStatus.PRUNED:
            state = states.PRUNED
        constraints = None
        if constraint_names and trial.violations is not None:
            constraints = dict(zip(constraint_names, trial.violations))
        frozen.append(
            optuna.trial.create_trial(
                state=state,
                values=values,
                params=params,
                distributions={n: distributions[n] for n in params},
                user_attrs=user_attrs,
                intermediate_values=_curve(store, trial),
                constraints=constraints,
            )
        )
    study = optuna.create_study(storage=storage, study_name=study_name, directions=directions)
    study.add_trials(frozen)
    return ExportReport(study_name, len(frozen), pending)


def _curve(store: Any, trial: Trial) -> dict[int, float]:
    """The values the trial reported (``LabAssistant.report``), by step, as logged."""
    metric = trial.reported.get("metric")
    if not metric:
        return {}
    source = trial.imported if trial.imported is not None else trial.id
    curve = store.backend.metrics(source, [metric]).get(metric) or {}
    out = {}
    for step, value in zip(curve.get("steps", []), curve.get("values", [])):
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[int(step)] = number
    return out
