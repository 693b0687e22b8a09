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

    # Continue the sampler's random streams from the state the latest trial stored
    # (instead of a fresh stream per suggestion seeded from the run's seed).
    carries_random_state = False

    def make_sampler(self, optuna: Any) -> Any:
        raise NotImplementedError

    def suggest_configuration(self) -> dict:
        optuna = _optuna()
        space = self.search_space
        searched = [n for n in space.order if not isinstance(space.parameters[n], Constant)]
        sampler = self.make_sampler(optuna)
        if self.carries_random_state:
            _restore_streams(sampler, self._latest_streams())
        study = optuna.create_study(storage=None, sampler=sampler, direction="minimize")
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
        state: dict = {}
        if attrs:
            state["optuna_system_attrs"] = _jsonable(attrs)
        if self.carries_random_state:
            streams = _save_streams(sampler)
            if streams:
                state["random_streams"] = streams
        if state:
            self.state = state
        return config

    def _latest_streams(self) -> dict | None:
        """The random streams stored by the most recent trial that has them."""
        for run in reversed(self.runs):
            streams = (getattr(run, "state", None) or {}).get("random_streams")
            if streams:
                return streams
        return None


# The numpy RandomStates an Optuna sampler draws from: its own and its startup
# sampler's (TPESampler: ``_rng`` and ``_random_sampler._rng``, LazyRandomState). These
# are Optuna internals; where they are missing (another Optuna release), nothing is
# carried and each suggestion starts a stream from the run's seed, as before.
def _streams(sampler: Any) -> dict[str, Any]:
    holders = {"sampler": sampler, "startup": getattr(sampler, "_random_sampler", None)}
    found = {}
    for name, holder in holders.items():
        lazy = getattr(holder, "_rng", None)
        rng = getattr(lazy, "rng", None)
        if rng is not None and hasattr(rng, "get_state"):
            found[name] = rng
    return found


def _save_streams(sampler: Any) -> dict:
    import base64

    out = {}
    for name, rng in _streams(sampler).items():
        kind, keys, pos, has_gauss, gauss = rng.get_state()
        out[name] = {
            "kind": kind,
            "keys": base64.b64encode(keys.astype("<u4").tobytes()).decode("ascii"),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        }
    return out


def _restore_streams(sampler: Any, saved: dict | None) -> None:
    import base64

    import numpy as np

    if not saved:
        return
    for name, rng in _streams(sampler).items():
        entry = saved.get(name)
        if not entry:
            continue
        keys = np.frombuffer(base64.b64decode(entry["keys"]), dtype="<u4").astype(np.uint32)
        state = (entry["kind"], keys, entry["pos"], entry["has_gauss"], entry["gauss"])
        rng.set_state(state)


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


def _quiet_sampler(factory: Any, optuna: Any, **options: Any) -> Any:
    import warnings

    # multivariate/group/with_margin are marked experimental by Optuna; the warning
    # would reach the user's log on every suggestion.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factory(**options)


class TPE(OptunaOptimizer):
    """Tree-structured Parzen estimators (optuna.samplers.TPESampler), multivariate
    and, in conditional spaces, per group of hyperparameters that occur together;
    pending trials are handled with the constant-liar strategy, so parallel workers
    spread out."""

    n_startup_trials = 10
    multivariate = True
    # One random stream for the whole study, as in Optuna's own loop: a study run
    # trial after trial gives exactly the suggestions Optuna's study.optimize gives with
    # the first trial's seed (tests/labwatch/test_engines.py).
    carries_random_state = True
    # Conditional entries are otherwise left to the univariate estimator; on the
    # bench's conditional space (60 seeds x 50) group=True gives 0.84x the regret.
    group = True

    def make_sampler(self, optuna: Any) -> Any:
        return _quiet_sampler(
            optuna.samplers.TPESampler,
            optuna,
            seed=self.engine_seed,
            n_startup_trials=self.n_startup_trials,
            multivariate=self.multivariate,
            group=self.group,
            constant_liar=True,
        )


class CMAES(OptunaOptimizer):
    """CMA-ES (optuna.samplers.CmaEsSampler, needs the ``cmaes`` package) over the
    numeric hyperparameters present in every trial, started at the best of
    ``n_startup_trials`` random trials; categorical and conditional entries come
    from a TPE sampler."""

    n_startup_trials = 10
    with_margin = True
    popsize: int | None = None
    warm_start = True

    def make_sampler(self, optuna: Any) -> Any:
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:
            raise OptimizerError("CMAES needs the cmaes package: pip install cmaes")
        seed = self.engine_seed
        independent = _quiet_sampler(
            optuna.samplers.TPESampler,
            optuna,
            seed=None if seed is None else (seed + 1) % 2**32,
            multivariate=True,
            group=True,
            constant_liar=True,
        )
        return _quiet_sampler(
            optuna.samplers.CmaEsSampler,
            optuna,
            source_trials=self._source_trials(optuna) if self.warm_start else None,
            n_startup_trials=self.n_startup_trials,
            independent_sampler=independent,
            with_margin=self.with_margin,
            popsize=self.popsize,
            seed=seed,
            warn_independent_sampling=False,
        )

    def _source_trials(self, optuna: Any) -> list | None:
        """The first completed trials, restricted to the numbers every completed trial
        has (the space CMA-ES searches): its initial distribution is estimated from the
        best of them (WS-CMA-ES), i.e. centred on the best random trial with a step of
        0.1 of the unit cube rather than on the centre of the space.

        The sampler uses them only until CMA-ES has told its first generation, so they
        must not change meanwhile: the first trials, not the best so far."""
        first = self.completed()[: self.n_startup_trials]
        # WS-CMA-ES estimates from the best tenth: it needs ten trials at least.
        if len(first) < max(10, self.n_startup_trials):
            return None
        space = self.search_space
        completed = [config for config, _ in self.completed()]
        numbers = [
            name
            for name in space.order
            if not isinstance(space.parameters[name], (Categorical, Constant))
            and all(name in config for config in completed)
        ]
        if not numbers:
            return None
        trials = []
        for config, cost in first:
            hp = {name: space.parameters[name] for name in numbers}
            trials.append(
                optuna.trial.create_trial(
                    params={name: _encode(hp[name], config[name]) for name in numbers},
                    distributions={name: _distribution(optuna, hp[name]) for name in numbers},
                    value=cost,
                )
            )
        return trials
