"""The model-based engines: valid suggestions in mixed and conditional spaces,
reproducible from the seed, and better than random on a smooth problem."""

from __future__ import annotations

import math
import random

import pytest

from labwatch.hyperparameters import Categorical, Condition, Gaussian, UniformFloat, UniformInt
from labwatch.optimizers import CMAES, SMAC, TPE, BayesianOptimization, RandomSearch
from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, TrialStatus
from tests.labwatch.problems import best_of_run, conditional_cost, conditional_space

pytest.importorskip("optuna")
pytest.importorskip("sklearn")
pytest.importorskip("cmaes")

ENGINES = [TPE, BayesianOptimization, SMAC, CMAES]


def mixed_space() -> SearchSpace:
    return SearchSpace(
        "mixed",
        {
            "kind": Categorical(["a", "b"]),
            "x": UniformFloat(1e-3, 1.0, log_scale=True),
            "n": UniformInt(1, 8),
            "g": Gaussian(0.0, 1.0, condition=Condition("kind", "b")),
        },
    )


def history(space, n, seed=0, objective=None):
    rng = random.Random(seed)
    trials = []
    for i in range(n):
        config = space.sample(rng)
        failed = i % 7 == 3
        cost = None if failed else (objective or (lambda c: c["x"] + c["n"]))(config)
        status = TrialStatus.FAILED if failed else TrialStatus.COMPLETED
        trials.append(Trial(i + 1, i, status, config, cost, run=None))
    trials.append(Trial(n + 1, n, TrialStatus.PENDING, space.sample(rng), None, run=None))
    return trials


def suggest(engine, space, trials, seed):
    """A fresh optimizer (a new process) told the study, then asked."""
    optimizer = engine(space, seed=seed)
    optimizer.update(trials)
    optimizer.before_trial(len(trials), seed)
    return optimizer.suggest_configuration()


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.__name__)
def test_suggestions_are_valid_and_reproducible(engine):
    space = mixed_space()
    trials = history(space, 14)
    first = suggest(engine, space, trials, seed=5)
    assert suggest(engine, space, trials, seed=5) == first
    assert space.active(first) == first
    for name, value in first.items():
        assert space.parameters[name].contains(value), (name, value)
    assert ("g" in first) == (first["kind"] == "b")


def branin(c):
    x, y = c["x"], c["y"]
    a, b, r, s, t = 1, 5.1 / (4 * math.pi**2), 5 / math.pi, 10, 1 / (8 * math.pi)
    return a * (y - b * x**2 + r * x - 6) ** 2 + s * (1 - t) * math.cos(x) + s


@pytest.mark.slow
def test_gaussian_process_beats_random_search_on_branin():
    engine = BayesianOptimization
    space = SearchSpace("branin", {"x": UniformFloat(-5, 10), "y": UniformFloat(0, 15)})

    def best_after(engine, seed, n=25):
        trials = []
        for i in range(n):
            config = suggest(engine, space, trials, seed=seed * 1000 + i)
            trials.append(Trial(i, i, TrialStatus.COMPLETED, config, branin(config), run=None))
        return min(t.cost for t in trials)

    seeds = range(3)
    model = sorted(best_after(engine, s) for s in seeds)[1]
    rand = sorted(best_after(RandomSearch, s) for s in seeds)[1]
    assert model < rand


def test_cmaes_keeps_its_state_between_suggestions():
    space = SearchSpace("q", {"x": UniformFloat(-5, 5), "y": UniformFloat(-5, 5)})
    # 20 start-up trials (TPE's), then generations of 5 (CMA-ES's population in two
    # dimensions is 6, capped at max_popsize)
    optimizer = CMAES(space, seed=0)
    run_study_with(optimizer, lambda c: c["x"] ** 2 + c["y"] ** 2, CMAES.n_startup_trials + 14)
    generations = {
        value
        for t in optimizer._study.trials
        for key, value in t.system_attrs.items()
        if key.endswith(":generation")
    }
    assert len(generations) >= 2  # the CMA-ES optimizer was told results and moved on


def run_study_with(optimizer, objective, n):
    trials = []
    for i in range(n):
        optimizer.before_trial(i, 1000 + i)  # a new run seed per trial, as in the store
        config = optimizer.suggest_configuration()
        trial = Trial(i, i, TrialStatus.COMPLETED, config, objective(config), None)
        optimizer.update([trial])
        trials.append(trial)
    return trials


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_tpe_suggests_what_optuna_itself_would():
    import optuna

    space = SearchSpace("branin", {"x": UniformFloat(-5, 10), "y": UniformFloat(0, 15)})
    trials = history(space, 15, objective=branin)[:-1]
    ours = TPE(space, seed=11)
    ours.update(trials)
    ours.before_trial(len(trials), 12)
    suggestion = ours.suggest_configuration()

    sampler = optuna.samplers.TPESampler(
        seed=ours.engine_seed, multivariate=True, group=True, constant_liar=True
    )
    study = optuna.create_study(sampler=sampler)
    dists = {
        "x": optuna.distributions.FloatDistribution(-5, 10),
        "y": optuna.distributions.FloatDistribution(0, 15),
    }
    for t in trials:
        state = (
            optuna.trial.TrialState.COMPLETE if t.cost is not None else optuna.trial.TrialState.FAIL
        )
        study.add_trial(
            optuna.trial.create_trial(
                params=t.config, distributions=dists, value=t.cost, state=state
            )
        )
    assert study.ask(dists).params == suggestion


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_tpe_study_run_trial_by_trial_is_optunas_own_study():
    """A worker keeps one optimizer per study, told each trial as it completes: the
    25 configurations, the 10 random start-up ones included, are those of Optuna's
    study.optimize with the first trial's seed (one random stream for the study)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = SearchSpace("branin", {"x": UniformFloat(-5, 10), "y": UniformFloat(0, 15)})
    optimizer = TPE(space, seed=1000)
    trials = run_study_with(optimizer, branin, 25)
    first_seed = optimizer.engine_seed

    sampler = optuna.samplers.TPESampler(
        seed=first_seed, multivariate=True, group=True, constant_liar=True
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(
        lambda t: branin({"x": t.suggest_float("x", -5, 10), "y": t.suggest_float("y", 0, 15)}),
        n_trials=25,
    )
    assert [t.config for t in trials] == [t.params for t in study.trials]


@pytest.mark.slow
def test_cmaes_beats_random_search_in_a_conditional_space():
    # CMA-ES searches only the numbers every trial has; the branch and the entries
    # that depend on it come from TPE rather than at random.
    space = conditional_space()
    seeds = range(5)
    cmaes = sorted(best_of_run(CMAES, space, conditional_cost, s, 40) for s in seeds)
    rand = sorted(best_of_run(RandomSearch, space, conditional_cost, s, 40) for s in seeds)
    assert cmaes[2] < rand[2]


def test_cmaes_handles_integers_and_gaussians():
    space = SearchSpace(
        "ints",
        {
            "n": UniformInt(1, 8),
            "m": UniformInt(1, 1000, log_scale=True),
            "g": Gaussian(0.0, 1.0),
        },
    )

    def cost(c):
        return (c["n"] - 3) ** 2 + (math.log(c["m"]) - 3) ** 2 + c["g"] ** 2

    trials = []
    for i in range(30):
        config = suggest(CMAES, space, trials, seed=i)
        for name, value in config.items():
            assert space.parameters[name].contains(value), (name, value)
        assert isinstance(config["n"], int) and isinstance(config["m"], int)
        trials.append(Trial(i, i, TrialStatus.COMPLETED, config, cost(config), run=None))


def _parallel_study(space, objective, n=40, in_flight=3):
    """A TPE study of n trials with in_flight trials running at once, finishing out of
    order (some failed, some pruned): the suggestions in the order they were made."""
    optimizer = TPE(space, seed=7)
    rng = random.Random(3)
    running: list[Trial] = []
    suggestions = []
    for i in range(n):
        optimizer.before_trial(i, 100 + i)
        config = optimizer.suggest_configuration()
        suggestions.append(config)
        running.append(Trial(i, i, TrialStatus.PENDING, config, None, None))
        optimizer.update([running[-1]])
        if len(running) == in_flight:
            done = running.pop(rng.randrange(in_flight))
            kind = rng.random()
            status = TrialStatus.COMPLETED
            if kind < 0.2:
                status = TrialStatus.FAILED if kind < 0.1 else TrialStatus.PRUNED
            cost = None if status == TrialStatus.FAILED else objective(done.config)
            optimizer.update([Trial(done.id, done.number, status, done.config, cost, None)])
    return optimizer, suggestions


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_tpe_suggests_as_optunas_own_sampler_in_a_parallel_conditional_study(monkeypatch):
    """TPE's sampler keeps what each finished trial gives it from the suggestion it is
    first seen at (labwatch.optimizers._tpe_sampler); Optuna's own sampler, in its
    place, makes the same suggestions in a conditional space whose trials finish out
    of order."""
    import optuna

    from labwatch.optimizers import _optuna
    from labwatch.optimizers._tpe_sampler import FittedOnceTPESampler

    assert optuna.__version__.startswith(_optuna._FITTED_ONCE_CHECKED), (
        f"Optuna {optuna.__version__} is not among the releases FittedOnceTPESampler was "
        "checked against: run tests/labwatch/test_tpe_sampler.py with it, then add it to "
        "_FITTED_ONCE_CHECKED (labwatch/optimizers/_optuna.py)"
    )
    ours, suggested = _parallel_study(conditional_space(), conditional_cost)
    assert type(ours._study.sampler) is FittedOnceTPESampler

    # any other release gets Optuna's own sampler
    monkeypatch.setattr(_optuna, "_FITTED_ONCE_CHECKED", ("0.0.",))
    theirs, optunas = _parallel_study(conditional_space(), conditional_cost)
    assert type(theirs._study.sampler) is optuna.samplers.TPESampler
    assert suggested == optunas
    assert {c["branch"] for c in suggested} == {"quad", "sine"}


def test_cmaes_suggestions_are_reproducible_once_cma_es_runs():
    # Past the start-up trials: a fresh optimizer (a new process) told the same study
    # with the same seed suggests the same configuration, a valid one.
    space = mixed_space()
    trials = history(space, CMAES.n_startup_trials + 12)
    first = suggest(CMAES, space, trials, seed=5)
    assert suggest(CMAES, space, trials, seed=5) == first
    assert space.active(first) == first
    assert ("g" in first) == (first["kind"] == "b")


def test_cmaes_generations_are_capped_at_max_popsize():
    space = SearchSpace("h", {f"x{i}": UniformFloat(0, 1) for i in range(6)})
    optimizer = CMAES(space, seed=1)
    run_study_with(optimizer, lambda c: sum((v - 0.3) ** 2 for v in c.values()), 40)
    sizes: dict = {}
    for t in optimizer._study.trials:
        for key, value in t.system_attrs.items():
            if key.endswith(":generation"):
                sizes[value] = sizes.get(value, 0) + 1
    # 4 + 3 ln 6 = 9 by default: capped, the 20 trials after the start-up make 4.
    assert len(sizes) == 4 and max(sizes.values()) == CMAES.max_popsize


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_cmaes_start_up_trials_are_tpe_ones():
    # Before CMA-ES starts, the suggestions are those of Optuna's multivariate TPE
    # (random for its first random_startup_trials), seeded after the engine's seed.
    import optuna

    space = SearchSpace("branin", {"x": UniformFloat(-5, 10), "y": UniformFloat(0, 15)})
    ours = CMAES(space, seed=11)
    trials = run_study_with(ours, branin, CMAES.n_startup_trials)

    sampler = optuna.samplers.TPESampler(
        seed=(ours.engine_seed + 1) % 2**32,
        n_startup_trials=CMAES.random_startup_trials,
        multivariate=True,
        group=True,
        constant_liar=True,
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(
        lambda t: branin({"x": t.suggest_float("x", -5, 10), "y": t.suggest_float("y", 0, 15)}),
        n_trials=CMAES.n_startup_trials,
    )
    assert [t.config for t in trials] == [t.params for t in study.trials]


def test_cmaes_copes_with_a_new_active_set_after_it_started():
    # Every start-up trial took one branch, so CMA-ES starts on (a, c); then a trial
    # of the other branch (its values fixed by the run) leaves only c every trial has.
    space = conditional_space()
    rng = random.Random(0)
    trials = []
    for i in range(CMAES.n_startup_trials):
        config = {"branch": "quad", "a": rng.uniform(-5, 5), "c": rng.random()}
        trials.append(Trial(i, i, TrialStatus.COMPLETED, config, conditional_cost(config), None))
    optimizer = CMAES(space, seed=0)
    optimizer.update(trials)
    for i in range(len(trials), len(trials) + 15):
        optimizer.before_trial(i, i)
        config = optimizer.suggest_configuration()
        assert space.active(config) == config
        if i == CMAES.n_startup_trials + 1:
            config = {"branch": "sine", "b": 4.7, "c": 0.3}
        trial = Trial(i, i, TrialStatus.COMPLETED, config, conditional_cost(config), None)
        optimizer.update([trial])
        trials.append(trial)
    # A new process, told the whole study at once, starts CMA-ES on c alone.
    config = suggest(CMAES, space, trials, seed=7)
    assert space.active(config) == config
