"""Optuna as a pure engine: a study rebuilt in memory from the store's trials.

For each suggestion an in-memory Optuna study (``storage=None``) receives every
trial of our study (completed with their cost, failed as FAIL, pending as RUNNING)
and one ``ask()`` with a sampler seeded by the run's root seed gives the new
configuration. The sampler's per-trial system attributes (CMA-ES keeps its
optimizer state there) are stored with our trial and handed back next time.
Gaussian hyperparameters are searched in their CDF space (Optuna has no normal
prior).
"""

from __future__ import annotations

from typing import Any

from labwatch.exceptions import OptimizerError
from labwatch.hyperparameters import Categorical, Constant, Gaussian, Hyperparameter
from labwatch.optimizers.base import Optimizer
from labwatch.trials import TrialStatus

__all__ = ["OptunaOptimizer", "TPE", "CMAES"]

_UNIT = (1e-9, 1 - 1e-9)


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise OptimizerError(
            "This optimizer needs Optuna: pip install 'sacred[optim]' (or pip install optuna)"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _distribution(optuna: Any, hp: Hyperparameter) -> Any:
    d = optuna.distributions
    if isinstance(hp, Categorical):
        return d.CategoricalDistribution(hp.choices)
    if isinstance(hp, Gaussian):
        return d.FloatDistribution(*_UNIT)
    if hp.type is int:
        return d.IntDistribution(hp.lower, hp.upper, log=hp.log_scale)
    return d.FloatDistribution(hp.lower, hp.upper, log=hp.log_scale)


def _encode(hp: Hyperparameter, value: Any) -> Any:
    if isinstance(hp, Gaussian):
        return min(max(hp.to_unit(value), _UNIT[0]), _UNIT[1])
    if isinstance(hp, Categorical):
        return value
    if hp.type is int:
        return int(round(value))
    return float(value)


def _decode(hp: Hyperparameter, value: Any) -> Any:
    return hp.from_unit(value) if isinstance(hp, Gaussian) else value


class OptunaOptimizer(Optimizer):
    """Base of the Optuna engines: subclasses say which sampler."""

    def make_sampler(self, optuna: Any) -> Any:
        raise NotImplementedError

    def suggest_configuration(self) -> dict:
        optuna = _optuna()
        space = self.search_space
        searched = [n for n in space.order if not isinstance(space.parameters[n], Constant)]
        study = optuna.create_study(
            storage=None, sampler=self.make_sampler(optuna), direction="minimize"
        )
        states = optuna.trial.TrialState
        for i, (config, cost) in enumerate(zip(self.configs, self.costs)):
            params, distributions = {}, {}
            for name in searched:
                if name in config and space.parameters[name].contains(config[name]):
                    hp = space.parameters[name]
                    params[name] = _encode(hp, config[name])
                    distributions[name] = _distribution(optuna, hp)
            status = self._status(i)
            if cost is not None:
                state = states.COMPLETE
            elif status == TrialStatus.PENDING:
                state = states.RUNNING
            else:
                state = states.FAIL
            run = self.runs[i] if i < len(self.runs) else None
            system_attrs = dict(getattr(run, "state", {}).get("optuna_system_attrs") or {})
            study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions=distributions,
                    value=cost if state == states.COMPLETE else None,
                    state=state,
                    system_attrs=system_attrs,
                )
            )
        trial = study.ask()
        config: dict = {}
        for name in space.order:
            hp = space.parameters[name]
            if not space.is_active(name, config):
                continue
            if isinstance(hp, Constant):
                config[name] = hp.value
                continue
            dist = _distribution(optuna, hp)
            if isinstance(hp, Categorical):
                value = trial.suggest_categorical(name, hp.choices)
            elif isinstance(dist, optuna.distributions.IntDistribution):
                value = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
            else:
                value = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
            config[name] = _decode(hp, value)
        attrs = study._storage.get_trial(trial._trial_id).system_attrs
        if attrs:
            self.state = {"optuna_system_attrs": _jsonable(attrs)}
        return config


def _jsonable(attrs: dict) -> dict:
    import json

    out = {}
    for key, value in attrs.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        out[key] = value
    return out


class TPE(OptunaOptimizer):
    """Tree-structured Parzen estimators (optuna.samplers.TPESampler); pending trials
    are handled with the constant-liar strategy, so parallel workers spread out."""

    def make_sampler(self, optuna: Any) -> Any:
        return optuna.samplers.TPESampler(seed=self.engine_seed, constant_liar=True)


class CMAES(OptunaOptimizer):
    """CMA-ES (optuna.samplers.CmaEsSampler, needs the ``cmaes`` package); categorical
    hyperparameters are drawn at random."""

    def make_sampler(self, optuna: Any) -> Any:
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:
            raise OptimizerError("CMAES needs the cmaes package: pip install cmaes")
        return optuna.samplers.CmaEsSampler(seed=self.engine_seed, warn_independent_sampling=False)
