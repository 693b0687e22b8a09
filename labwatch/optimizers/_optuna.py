"""Optuna as a pure engine: a study rebuilt in memory from the store's trials.

An in-memory Optuna study (``storage=None``) follows our study trial by trial
(see :class:`OptunaOptimizer`); one ``ask()`` gives each new configuration.
Nothing of the sampler is stored with our trials: its state (TPE's random stream,
CMA-ES's generation) lives in the process, as it does in Optuna's own workers.
Gaussian hyperparameters are searched in their CDF space (Optuna has no normal
prior).
"""

from __future__ import annotations

import math
from typing import Any

from labwatch.exceptions import OptimizerError
from labwatch.hyperparameters import (
    Categorical,
    Constant,
    Gaussian,
    Hyperparameter,
    UniformNumber,
)
from labwatch.optimizers.base import Optimizer
from labwatch.trials import Trial, TrialStatus

__all__ = ["OptunaOptimizer", "TPE", "CMAES", "NSGAII"]

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
    assert isinstance(hp, UniformNumber)  # the one kind left: Constants never get here
    if hp.type is int:
        return d.IntDistribution(hp.lower, hp.upper, log=hp.log_scale)
    return d.FloatDistribution(hp.lower, hp.upper, log=hp.log_scale)


def _encode(hp: Hyperparameter, value: Any) -> Any:
    if isinstance(hp, Gaussian):
        return min(max(hp.to_unit(value), _UNIT[0]), _UNIT[1])
    if isinstance(hp, Categorical):
        return value
    assert isinstance(hp, UniformNumber)  # the one kind left: Constants never get here
    if hp.type is int:
        return int(round(value))
    return float(value)


def _decode(hp: Hyperparameter, value: Any) -> Any:
    return hp.from_unit(value) if isinstance(hp, Gaussian) else value


class OptunaOptimizer(Optimizer):
    """Base of the Optuna engines: subclasses say which sampler.

    One in-memory Optuna study per optimizer (so per study and process) follows our
    study: ``update`` adds the trials it has not seen (completed with their cost,
    failed or dead as FAIL, pending as RUNNING) and finishes those it held as
    running, and each suggestion is one ``ask()``. The sampler, and its random
    stream, live as long as the optimizer, as in Optuna's own loop: a study run trial
    after trial in one process gets exactly the suggestions ``study.optimize`` gives
    with the first trial's seed."""

    def __init__(self, search_space: Any, seed: int | None = None) -> None:
        super().__init__(search_space, seed)
        self._study: Any = None
        self._optuna_ids: dict[int, int] = {}  # our trial number -> Optuna's trial id
        self._next: int | None = None

    def make_sampler(self, optuna: Any) -> Any:
        raise NotImplementedError

    def _searched(self) -> list[str]:
        space = self.search_space
        return [n for n in space.order if not isinstance(space.parameters[n], Constant)]

    def _ensure_study(self) -> Any:
        optuna = _optuna()
        if self._study is None:
            sampler = self.make_sampler(optuna)
            self._study = optuna.create_study(
                storage=None, sampler=sampler, directions=["minimize"] * self.n_objectives
            )
        return optuna

    def update(self, trials: Any, costs: Any = None, runs: Any = None) -> None:
        super().update(trials, costs, runs)
        if costs is not None:  # the paper's form: the whole study again
            self._study = None
            self._optuna_ids = {}
            trials = self.trials
        optuna = self._ensure_study()
        for trial in trials:
            self._tell(optuna, trial)

    def _tell(self, optuna: Any, trial: Trial) -> None:
        states = optuna.trial.TrialState
        intermediate: dict = {}
        value: float | list[float] | None
        if trial.status == TrialStatus.PRUNED:
            # as Optuna's own pruned trials: no value, the last intermediate one
            state, value = states.PRUNED, None
            intermediate = {int(trial.reported.get("step") or 0): trial.cost}
        elif trial.costs is not None:
            state, value = states.COMPLETE, list(trial.costs)
        elif trial.cost is not None:
            state, value = states.COMPLETE, trial.cost
        elif trial.status == TrialStatus.PENDING:
            state, value = states.RUNNING, None
        else:
            state, value = states.FAIL, None
        space = self.search_space
        params, distributions = {}, {}
        for name in self._searched():
            config = trial.config
            if name in config and space.parameters[name].contains(config[name]):
                hp = space.parameters[name]
                params[name] = _encode(hp, config[name])
                distributions[name] = _distribution(optuna, hp)
        attrs = {}
        if trial.violations is not None:
            attrs[_CONSTRAINTS_KEY] = list(trial.violations)
        known = self._optuna_ids.get(trial.number)
        if known is not None:
            storage = self._study._storage
            asked = storage.get_trial(known)
            if asked.state.is_finished():
                return
            if asked.params == params:
                if state != states.RUNNING:
                    for key, attr in attrs.items():
                        storage.set_trial_system_attr(known, key, attr)
                    for step, reported in intermediate.items():
                        storage.set_trial_intermediate_value(known, step, reported)
                    values = value if isinstance(value, list) or value is None else [value]
                    storage.set_trial_state_values(known, state, values)
                return
            # The run fixed some values itself (``with x=...``, run_config): the
            # trial Optuna asked for was not run; the one that was is told instead.
            storage.set_trial_state_values(known, states.FAIL, None)
            del self._optuna_ids[trial.number]
        self._study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=value if not isinstance(value, list) else None,
                values=value if isinstance(value, list) else None,
                state=state,
                intermediate_values=intermediate,
                system_attrs=attrs,
            )
        )
        self._optuna_ids[trial.number] = self._study._storage.get_all_trials(
            self._study._study_id, deepcopy=False
        )[-1]._trial_id

    def before_trial(self, number: int, seed: int | None) -> None:
        # The sampler keeps its stream: only the first suggestion's seed starts it.
        if self._study is None:
            self._reseed(seed)
        self._next = number

    def suggest_configuration(self) -> dict:
        optuna = self._ensure_study()
        space = self.search_space
        trial = self._study.ask()
        if self._next is not None:
            self._optuna_ids[self._next] = trial._trial_id
            self._next = None
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
        return config


# Where Optuna's samplers read a trial's constraint values (Optuna 5 reads them from
# the trial for TPE and NSGA-II; ``constraints_func`` is deprecated there).
_CONSTRAINTS_KEY = "constraints"


def _quiet_sampler(factory: Any, optuna: Any, **options: Any) -> Any:
    import warnings

    # multivariate/group/with_margin are marked experimental by Optuna; the warning
    # would reach the user's log on every suggestion.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factory(**options)


class NSGAII(OptunaOptimizer):
    """NSGA-II for several objectives (optuna.samplers.NSGAIISampler)."""

    multi_objective = True
    population_size = 50

    def make_sampler(self, optuna: Any) -> Any:
        return optuna.samplers.NSGAIISampler(
            seed=self.engine_seed,
            population_size=self.population_size,
        )


# The Optuna releases whose TPE FittedOnceTPESampler was checked against, trial for
# trial (tests/labwatch/test_tpe_sampler.py): it follows private rules of Optuna's
# TPESampler, which a later release may change behind the same names.
_FITTED_ONCE_CHECKED = ("5.1.",)


def _tpe_sampler(optuna: Any, **options: Any) -> Any:
    """Optuna's TPE sampler, as :class:`FittedOnceTPESampler` (the same suggestions at
    a cost that hardly grows with the study) on the Optuna releases it was checked
    against; Optuna's own ``TPESampler`` on any other."""
    if optuna.__version__.startswith(_FITTED_ONCE_CHECKED):
        from labwatch.optimizers._tpe_sampler import FittedOnceTPESampler

        return _quiet_sampler(FittedOnceTPESampler, optuna, **options)
    return _quiet_sampler(optuna.samplers.TPESampler, optuna, **options)


class TPE(OptunaOptimizer):
    """Tree-structured Parzen estimators (optuna.samplers.TPESampler's suggestions, at
    a cost that hardly grows with the study: labwatch.optimizers._tpe_sampler),
    multivariate and, in conditional spaces, per group of hyperparameters that occur
    together; pending trials are handled with the constant-liar strategy, so
    parallel workers spread out."""

    multi_objective = True  # Optuna's TPE handles several objectives (MOTPE)
    n_startup_trials = 10
    multivariate = True
    # Conditional entries are otherwise left to the univariate estimator; on the
    # bench's conditional space (60 seeds x 50) group=True gives 0.84x the regret.
    group = True

    def make_sampler(self, optuna: Any) -> Any:
        return _tpe_sampler(
            optuna,
            seed=self.engine_seed,
            n_startup_trials=self.n_startup_trials,
            multivariate=self.multivariate,
            group=self.group,
            constant_liar=True,
        )


class CMAES(OptunaOptimizer):
    """CMA-ES (optuna.samplers.CmaEsSampler with margin, needs the ``cmaes`` package)
    over the numeric hyperparameters present in every trial; categorical and
    conditional entries come from a TPE sampler.

    Sized for studies of a few dozen trials: the ``n_startup_trials`` (20) first
    trials are TPE's (``tpe_startup``; random ones for its first
    ``random_startup_trials``, then multivariate TPE), CMA-ES then starts at the best
    of them with a step of 0.1 of the unit cube (``warm_start``, WS-CMA-ES) and
    generations of at most ``max_popsize`` (5) samples unless ``popsize`` is given,
    so that the remaining trials make several generations."""

    n_startup_trials = 20
    with_margin = True
    popsize: int | None = None
    warm_start = True
    tpe_startup = True
    random_startup_trials = 10
    # CMA-ES's default population is 4 + 3 ln(dimensions): 9 in six dimensions, so
    # three generations after 20 start-up trials of a 50-trial study.
    max_popsize: int | None = 5

    def make_sampler(self, optuna: Any) -> Any:
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:
            raise OptimizerError("CMAES needs the cmaes package: pip install cmaes")
        seed = self.engine_seed
        tpe = _tpe_sampler(
            optuna,
            seed=None if seed is None else (seed + 1) % 2**32,
            n_startup_trials=self.random_startup_trials if self.tpe_startup else 10,
            multivariate=True,
            group=True,
            constant_liar=True,
        )
        cma = _quiet_sampler(
            _cma_sampler(optuna),
            optuna,
            source_trials=self._source_trials(optuna) if self.warm_start else None,
            n_startup_trials=self.n_startup_trials,
            independent_sampler=tpe,
            with_margin=self.with_margin,
            popsize=self.popsize,
            seed=seed,
            warn_independent_sampling=False,
        )
        cma.max_popsize = self.max_popsize
        if not self.tpe_startup:
            return cma  # the start-up trials are the independent sampler's: TPE's random ones
        return _staged(optuna)(tpe, cma, self.n_startup_trials)

    _warm = False

    def update(self, trials: Any, costs: Any = None, runs: Any = None) -> None:
        super().update(trials, costs, runs)
        # The warm start needs the first n_startup_trials completed ones; once they are
        # there, the sampler is made afresh with them (once per process).
        if self.warm_start and not self._warm and self._study is not None:
            if len(self.completed()) >= max(10, self.n_startup_trials):
                self._study, self._optuna_ids = None, {}
                optuna = self._ensure_study()
                for trial in self.trials:
                    self._tell(optuna, trial)

    def _source_trials(self, optuna: Any) -> list | None:
        """The best ten of the start-up trials, their numbers only (CMA-ES searches
        those every trial has, see _cma_sampler): WS-CMA-ES estimates the initial
        distribution from the best tenth of them, so it is centred on the best
        start-up trial with a step of 0.1 of the unit cube (its prior) rather than
        on the centre of the space. (From all twenty it centres on the middle of the
        best two: on 100 held-out seeds of the bench's five cheap problems, the
        median ratio to Optuna's TPE, the SVM's counted at 1, was 0.96 so, 0.92 from
        the best.)

        The sampler uses them only until CMA-ES has told its first generation, so they
        must not change meanwhile: the first trials, not the best so far."""
        first = self.completed()[: self.n_startup_trials]
        # WS-CMA-ES estimates from the best tenth: it needs ten trials at least.
        if len(first) < max(10, self.n_startup_trials):
            return None
        first = sorted(first, key=lambda pair: pair[1])[:10]
        space = self.search_space
        completed = [config for config, _ in self.completed()]
        # Every number a first trial has: the sampler keeps those of the space it
        # searches when it starts (_cma_sampler), which may be smaller by then.
        numbers = [
            name
            for name in space.order
            if not isinstance(space.parameters[name], (Categorical, Constant))
            and any(name in config for config in completed)
        ]
        if not numbers:
            return None
        self._warm = True
        trials = []
        for config, cost in first:
            hp = {name: space.parameters[name] for name in numbers if name in config}
            trials.append(
                optuna.trial.create_trial(
                    params={name: _encode(h, config[name]) for name, h in hp.items()},
                    distributions={name: _distribution(optuna, h) for name, h in hp.items()},
                    value=cost,
                )
            )
        return trials


_STAGED: Any = None


def _staged(optuna: Any) -> Any:
    """The class of a sampler that is ``first`` (relative and independent sampling)
    until ``n`` trials are complete, then ``then`` (made on first use: Optuna is
    imported only when a suggestion is made)."""
    global _STAGED
    if _STAGED is not None:
        return _STAGED
    states = optuna.trial.TrialState

    class Staged(optuna.samplers.BaseSampler):
        def __init__(self, first: Any, then: Any, n: int) -> None:
            self.first, self.then, self.n = first, then, n

        def _current(self, study: Any) -> Any:
            done = study._get_trials(deepcopy=False, states=(states.COMPLETE,), use_cache=True)
            return self.first if len(done) < self.n else self.then

        def reseed_rng(self) -> None:
            self.first.reseed_rng()
            self.then.reseed_rng()

        def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
            return self._current(study).infer_relative_search_space(study, trial)

        def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
            return self._current(study).sample_relative(study, trial, search_space)

        def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
            return self._current(study).sample_independent(study, trial, name, dist)

        def before_trial(self, study: Any, trial: Any) -> None:
            self.then.before_trial(study, trial)  # it forwards to its independent sampler

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            self.then.after_trial(study, trial, state, values)

    _STAGED = Staged
    return Staged


_CMA: Any = None


def _cma_sampler(optuna: Any) -> Any:
    """CmaEsSampler for conditional spaces, where a new active set may shrink the space
    CMA-ES searches (the numbers every trial has) after it started: the warm start
    keeps, of each source trial, the numbers of the space searched when CMA-ES starts
    (Optuna's own sampler raises "No compatible source_trials"), and a generation's
    trials asked in the larger space are left out of the smaller one's generation
    (Optuna's own sampler fails to tell it)."""
    global _CMA
    if _CMA is not None:
        return _CMA

    class CmaEs(optuna.samplers.CmaEsSampler):
        _dim = 0
        max_popsize: int | None = None

        def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
            self._dim = len(search_space)
            return super().sample_relative(study, trial, search_space)

        def _get_solution_trials(self, trials: Any, generation: int) -> Any:
            # A generation's trials asked in a larger space (before a new active set
            # shrank it, so by an optimizer now discarded) are not its solutions.
            return [
                t
                for t in super()._get_solution_trials(trials, generation)
                if len(t.system_attrs.get("x_for_tell", ())) in (0, self._dim)
            ]

        def _init_optimizer(self, trans: Any, direction: Any) -> Any:
            sampler: Any = self  # Optuna's private attributes: untyped for mypy
            if sampler._source_trials is not None:
                keys = list(trans._search_space)
                restricted = [
                    optuna.trial.create_trial(
                        params={k: t.params[k] for k in keys},
                        distributions={k: t.distributions[k] for k in keys},
                        value=t.value,
                    )
                    for t in sampler._source_trials
                    if all(k in t.params for k in keys)
                ]
                # WS-CMA-ES keeps the best tenth: fewer than ten, no warm start.
                sampler._source_trials = restricted if len(restricted) >= 10 else None
            if sampler._popsize is None and self.max_popsize is not None:
                default = 4 + math.floor(3 * math.log(len(trans.bounds)))
                sampler._popsize = min(default, self.max_popsize)
            return super()._init_optimizer(trans, direction)

    _CMA = CmaEs
    return CmaEs
