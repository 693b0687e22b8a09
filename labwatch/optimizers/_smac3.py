"""SMAC3 (the ``smac`` package) as a pure ask/tell engine.

For each suggestion SMAC3's hyperparameter-optimization facade is built afresh,
told every trial of our study (completed with their cost, failed as CRASHED at the
worst cost seen, pending as running trials) and asked once: the store stays the
only record of the study, and SMAC3's output directory is a temporary one that is
removed afterwards. The first ``n_initial`` suggestions are drawn from the priors,
because SMAC3's own initial design is a Sobol sequence that only spreads out when
one facade asks for all of it.

Suggestions are reproducible from the seed within a Python process, and across
processes only with the same ``PYTHONHASHSEED``: SMAC3's local search orders its
start points through a set of configurations.
"""

from __future__ import annotations

import importlib.util
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
from labwatch.trials import TrialStatus

__all__ = ["SMAC3", "smac3_available"]


def smac3_available() -> bool:
    """Whether the ``smac`` package (SMAC3) can be imported here."""
    return importlib.util.find_spec("smac") is not None


def _require() -> None:
    if not smac3_available():
        raise OptimizerError("SMAC3 needs the smac package: pip install 'sacred[smac]'")


class SMAC3(Optimizer):
    """SMAC3's ``HyperparameterOptimizationFacade`` (random forest, log-scaled
    expected improvement, local and random search for its maximum, one suggestion
    in five at random), rebuilt from the store's trials for every suggestion."""

    n_initial = 10

    def suggest_configuration(self) -> dict:
        _require()
        if len(self.completed()) < self.n_initial:
            return self.search_space.sample(self.rng)
        import logging
        import tempfile
        import warnings
        from pathlib import Path

        from smac import HyperparameterOptimizationFacade as Facade
        from smac import Scenario
        from smac.runhistory import StatusType, TrialInfo, TrialValue

        seed = 0 if self.engine_seed is None else self.engine_seed % (2**31 - 1)
        configspace = self._configspace(seed)
        costs = [cost for _, cost in self.completed()]
        worst = max(costs)
        # SMAC3 logs every facade it builds at INFO; one facade per suggestion would
        # flood the user's log.
        smac_logger = logging.getLogger("smac")
        level = smac_logger.level
        smac_logger.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="labwatch-") as tmp:
                # SMAC3's local search averages an empty list in its debug statistics
                # when a neighbourhood is exhausted (conditional spaces).
                warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
                warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
                scenario = Scenario(
                    configspace,
                    deterministic=True,
                    crash_cost=worst,
                    n_trials=len(self.configs) + 100,
                    seed=seed,
                    output_directory=Path(tmp),
                )
                facade = Facade(
                    scenario,
                    target_function=_never_called,
                    model=_model(scenario),
                    # Our random draws above are the initial design.
                    initial_design=Facade.get_initial_design(scenario, n_configs=0),
                    intensifier=Facade.get_intensifier(scenario, max_config_calls=1),
                    logging_level=False,
                    overwrite=True,
                )
                for trial in self.trials:
                    config, cost = trial.config, trial.cost
                    smac_config = self._to_smac(configspace, config)
                    if smac_config is None:
                        continue
                    info = TrialInfo(smac_config, seed=0)
                    if cost is not None:
                        facade.tell(info, TrialValue(cost=cost), save=False)
                    elif trial.status == TrialStatus.PENDING:
                        facade.runhistory.add_running_trial(info)
                    else:
                        value = TrialValue(cost=worst, status=StatusType.CRASHED)
                        facade.tell(info, value, save=False)
                suggestion = facade.ask().config
        finally:
            smac_logger.setLevel(level)
        return self._from_smac(dict(suggestion))

    # -- the space in ConfigSpace's terms --------------------------------------------

    def _configspace(self, seed: int) -> Any:
        from ConfigSpace import Categorical as CSCategorical
        from ConfigSpace import ConfigurationSpace, Float, InCondition, Integer

        space = self.search_space
        configspace = ConfigurationSpace(seed=seed)
        made: dict[str, Any] = {}
        for name in space.order:
            hp = space.parameters[name]
            if isinstance(hp, Constant):
                continue
            if isinstance(hp, Categorical):
                # Indices, not the choices: ConfigSpace compares and hashes values,
                # and choices may mix None, booleans and numbers.
                made[name] = CSCategorical(name, [str(i) for i in range(len(hp.choices))])
            elif isinstance(hp, Gaussian):
                # searched in its CDF space, as the Optuna engines do
                made[name] = Float(name, (1e-9, 1 - 1e-9))
            else:
                assert isinstance(hp, UniformNumber)  # the one kind left: Constants never get here
                if hp.type is int:
                    made[name] = Integer(name, (hp.lower, hp.upper), log=hp.log_scale)
                else:
                    made[name] = Float(name, (hp.lower, hp.upper), log=hp.log_scale)
        configspace.add(list(made.values()))
        conditions = []
        for name, made_hp in made.items():
            condition = space.parameters[name].condition
            if condition is None:
                continue
            parent = space.parameters[condition.parent_name]
            if condition.parent not in made or not isinstance(parent, Categorical):
                raise OptimizerError(
                    f"SMAC3: {name}'s condition needs the categorical {condition.parent}"
                )
            values = [str(parent.index(v)) for v in condition.values if v in parent.choices]
            conditions.append(InCondition(made_hp, made[condition.parent_name], values))
        if conditions:
            configspace.add(conditions)
        return configspace

    def _to_smac(self, configspace: Any, config: dict) -> Any:
        from ConfigSpace import Configuration

        space = self.search_space
        values: dict[str, Any] = {}
        for name, value in config.items():
            hp = space.parameters.get(name)
            if hp is None or isinstance(hp, Constant):
                continue
            if not hp.contains(value):
                return None  # a trial from an earlier version of the space
            values[name] = _encode(hp, value)
        try:
            return Configuration(configspace, values=values)
        except (ValueError, KeyError):
            return None

    def _from_smac(self, values: dict) -> dict:
        space = self.search_space
        config: dict = {}
        for name in space.order:
            if not space.is_active(name, config):
                continue
            hp = space.parameters[name]
            config[name] = hp.value if isinstance(hp, Constant) else _decode(hp, values[name])
        return config


def _encode(hp: Hyperparameter, value: Any) -> Any:
    if isinstance(hp, Categorical):
        return str(hp.index(value))
    if isinstance(hp, Gaussian):
        return min(max(hp.to_unit(value), 1e-9), 1 - 1e-9)
    assert isinstance(hp, UniformNumber)  # the one kind left: Constants never get here
    return int(value) if hp.type is int else float(value)


def _decode(hp: Hyperparameter, value: Any) -> Any:
    if isinstance(hp, Categorical):
        return hp.choices[int(value)]
    if isinstance(hp, Gaussian):
        return hp.from_unit(float(value))
    assert isinstance(hp, UniformNumber)  # the one kind left: Constants never get here
    return int(value) if hp.type is int else float(value)


def _model(scenario: Any) -> Any:
    from smac.model.random_forest import RandomForest

    # The facade's own forest (the defaults of its get_model) on one thread: its thread pool
    # costs more than the ten small trees, and the machine's cores belong to the
    # trials being optimized. No leaf limit rather than its 2**20: the same trees for
    # any study of a realistic size, but scikit-learn's best-first builder that a
    # limit selects takes a third of a second per tree.
    return RandomForest(
        configspace=scenario.configspace,
        log_y=True,
        n_trees=10,
        bootstrapping=True,
        ratio_features=1.0,
        min_samples_split=2,
        min_samples_leaf=1,
        max_depth=2**20,
        # smac annotates an int; scikit-learn, which gets it, reads None as "no limit"
        max_leaf_nodes=None,  # type: ignore[arg-type]
        seed=scenario.seed,
        n_jobs=1,
    )


def _never_called(config: Any, seed: int = 0) -> float:
    raise AssertionError("labwatch runs the trials; SMAC3 only suggests")
