"""TPE's sampler (labwatch.optimizers._tpe_sampler) against Optuna's own TPESampler:
the same suggestions, step for step, in studies with everything TPE's split reads
(ties, pruned, failed, infeasible, running and waiting trials, conditional and
categorical parameters), and the same log densities to the bit."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import (  # noqa: E402 - after the importorskip
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers._tpe.parzen_estimator import (  # noqa: E402
    _ParzenEstimator,
    _ParzenEstimatorParameters,
)
from optuna.samplers._tpe.sampler import default_weights  # noqa: E402
from optuna.search_space.group_decomposed import _GroupDecomposedSearchSpace  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from labwatch.optimizers import _tpe_sampler  # noqa: E402
from labwatch.optimizers._tpe_sampler import FittedOnceTPESampler  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
optuna.logging.set_verbosity(optuna.logging.WARNING)

OPTIONS = {"n_startup_trials": 5, "multivariate": True, "group": True, "constant_liar": True}


def _suggest(trial: optuna.Trial, rng_choice: str) -> dict:
    """A conditional space with every kind of distribution TPE handles."""
    params = {"x": trial.suggest_float("x", -5, 10)}
    params["lr"] = trial.suggest_float("lr", 1e-5, 1.0, log=True)
    params["kind"] = trial.suggest_categorical("kind", ["a", "b", "c"])
    if params["kind"] == "a":
        params["n"] = trial.suggest_int("n", 1, 8)
    elif params["kind"] == "b":
        params["m"] = trial.suggest_int("m", 1, 1000, log=True)
        params["q"] = trial.suggest_float("q", 0.0, 1.0, step=0.25)
    if rng_choice == "extra":  # a parameter only some trials have, sampled independently
        params["extra"] = trial.suggest_float("extra", 0, 1)
    return params


def _cost(params: dict) -> float:
    cost = (params["x"] - 2) ** 2 + abs(math.log10(params["lr"]) + 2)
    cost += {"a": 0.0, "b": 1.0, "c": 2.0}[params["kind"]] + params.get("n", 0) * 0.1
    return round(cost, 1)  # ties in the split


class _Lockstep:
    """Two studies given the same trials, one sampled by ours, one by Optuna's."""

    def __init__(self, seed: int, directions: list[str] | None = None, **options) -> None:
        options = {**OPTIONS, **options}
        self.ours = optuna.create_study(
            sampler=FittedOnceTPESampler(seed=seed, **options), directions=directions
        )
        self.theirs = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=seed, **options), directions=directions
        )

    def ask(self, extra: str) -> tuple[optuna.Trial, optuna.Trial]:
        mine, others = self.ours.ask(), self.theirs.ask()
        assert _suggest(mine, extra) == _suggest(others, extra)
        return mine, others

    def each(self, trial_pair, call) -> None:
        for study, trial in zip((self.ours, self.theirs), trial_pair):
            call(study, trial)


def _run(lockstep: _Lockstep, steps: int, seed: int, mix=(0.1, 0.15, 0.15), ties=1) -> None:
    """Asks ``steps`` times with up to three trials running, finishing one at random:
    failed, pruned (with or without intermediate values) or complete and infeasible
    in the shares ``mix``, else complete; costs rounded to ``ties`` decimals."""
    rng = random.Random(seed)
    failed, pruned, infeasible = mix
    running: list = []
    for step in range(steps):
        if rng.random() < 0.05:
            params = {"x": rng.uniform(-5, 10), "lr": 0.01, "kind": "c"}
            for study in (lockstep.ours, lockstep.theirs):
                study.enqueue_trial(params)
        pair = lockstep.ask("extra" if rng.random() < 0.2 else "")
        running.append(pair)
        if len(running) < 3 and step < steps - 1:
            continue
        done = running.pop(rng.randrange(len(running)))
        kind = rng.random()
        value = round(_cost(done[0].params), ties)
        if kind < failed:
            lockstep.each(done, lambda s, t: s.tell(t, state=TrialState.FAIL))
        elif kind < failed + pruned:
            reports = [(0, value + rng.choice([0, 1]))] if rng.random() < 0.8 else []
            if rng.random() < 0.5:
                reports.append((rng.choice([2, 3]), value + rng.choice([0.5, 1])))

            def prune(study, trial, reports=reports):
                for step_, reported in reports:
                    trial.report(reported, step_)
                study.tell(trial, state=TrialState.PRUNED)

            lockstep.each(done, prune)
        else:
            violation = None  # or a constraint value: positive (infeasible) or not
            if kind < failed + pruned + infeasible:
                violation = [rng.choice([0.5, 1.0, 2.0, 3.5])]
            elif rng.random() < 0.2:
                violation = [rng.choice([0.0, -1.0])]

            def complete(study, trial, value=value, violation=violation):
                if violation is not None:
                    study._storage.set_trial_system_attr(trial._trial_id, "constraints", violation)
                study.tell(trial, value)

            lockstep.each(done, complete)


@pytest.mark.parametrize(
    "mix, ties",
    [
        ((0.1, 0.15, 0.15), 1),
        ((0.05, 0.1, 0.05), 0),  # many equal costs: ties broken by trial number
        ((0.05, 0.8, 0.05), 1),  # the good side is mostly pruned trials
        ((0.05, 0.0, 0.9), 1),  # ... mostly infeasible ones
    ],
)
def test_suggestions_are_optunas_step_for_step(mix, ties, monkeypatch):
    lockstep = _Lockstep(seed=3)
    fitted = {"ours": 0}
    plain = FittedOnceTPESampler._observations

    def counted(self, *args):
        observed = plain(self, *args)
        fitted["ours"] += observed is not None
        return observed

    monkeypatch.setattr(FittedOnceTPESampler, "_observations", counted)
    _run(lockstep, 160, seed=1, mix=mix, ties=ties)
    assert fitted["ours"] > 100  # the estimators were fitted by ours, not Optuna's path
    states = {t.state for t in lockstep.ours.trials}
    assert {TrialState.COMPLETE, TrialState.FAIL} <= states
    assert (TrialState.PRUNED in states) == (mix[1] > 0)
    assert any(t.system_attrs.get("constraints", [0])[0] > 0 for t in lockstep.ours.trials)


@pytest.mark.parametrize("seed", [0, 7])
def test_suggestions_are_optunas_with_other_options(seed):
    lockstep = _Lockstep(seed=seed, group=False, n_startup_trials=3)
    _run(lockstep, 60, seed=seed)


def test_a_nan_value_or_several_objectives_take_optunas_own_path():
    # Optuna's tell fails a NaN value; its storage takes one (Python sorts it anyhow).
    nan_study = _Lockstep(seed=2)
    for i in range(30):
        pair = nan_study.ask("")
        value = math.nan if i % 7 == 3 else _cost(pair[0].params)
        nan_study.each(
            pair,
            lambda s, t, value=value: s._storage.set_trial_state_values(
                t._trial_id, TrialState.COMPLETE, [value]
            ),
        )
    assert any(t.value is not None and math.isnan(t.value) for t in nan_study.ours.trials)

    two = _Lockstep(seed=4, directions=["minimize", "maximize"])
    for _ in range(20):
        pair = two.ask("")
        cost = _cost(pair[0].params)
        two.each(pair, lambda s, t, cost=cost: s.tell(t, [cost, -cost]))


def test_one_sampler_for_two_studies_keeps_them_apart():
    # (Optuna's groups serve one study: its own sampler mixes two studies' groups.)
    options = {**OPTIONS, "group": False}
    ours = FittedOnceTPESampler(seed=5, **options)
    theirs = optuna.samplers.TPESampler(seed=5, **options)
    studies = [
        (optuna.create_study(sampler=ours), optuna.create_study(sampler=theirs)) for _ in range(2)
    ]
    for i in range(40):
        mine, others = studies[i % 2]
        a, b = mine.ask(), others.ask()
        assert _suggest(a, "") == _suggest(b, "")
        mine.tell(a, _cost(a.params) + i % 2)
        others.tell(b, _cost(b.params) + i % 2)


def test_groups_are_optunas_groups_at_every_step():
    """Trials over random subsets of six parameters, started and finished out of order
    (complete, pruned, failed): after every step the groups, in their order, are those
    of Optuna's own decomposition, which adds every finished trial again."""
    rng = random.Random(5)
    names = [f"p{i}" for i in range(6)]
    study = optuna.create_study()
    storage = study._storage
    ours = FittedOnceTPESampler(group=True, multivariate=True)._group_decomposed_search_space
    theirs = _GroupDecomposedSearchSpace(True)
    running: list[int] = []
    changed, before = 0, None
    for _ in range(60):
        chosen = rng.sample(names, rng.randint(1, 4))
        trial = optuna.trial.create_trial(
            params={n: rng.random() for n in chosen},
            distributions={n: FloatDistribution(0, 1) for n in chosen},
            state=TrialState.RUNNING,
        )
        study.add_trial(trial)
        running.append(storage.get_all_trials(study._study_id, deepcopy=False)[-1]._trial_id)
        if len(running) > 3:
            done = running.pop(rng.randrange(len(running)))
            state = rng.choice([TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED])
            state = rng.choice([state, TrialState.FAIL])
            values = [1.0] if state == TrialState.COMPLETE else None
            storage.set_trial_state_values(done, state, values)
        expected = theirs.calculate(study).search_spaces
        assert ours.calculate(study).search_spaces == expected
        changed += expected != before
        before = expected
    assert changed > 5  # the groups did change along the way


SPACES = {
    "float": {"x": FloatDistribution(-5, 10)},
    "log": {"lr": FloatDistribution(1e-5, 1.0, log=True)},
    "int": {"n": IntDistribution(1, 8)},
    "int-log": {"m": IntDistribution(1, 1000, log=True)},
    "step": {"q": FloatDistribution(0.0, 1.0, step=0.25)},
    "categorical": {"c": CategoricalDistribution(["a", "b", "c"])},
    "mixed": {
        "x": FloatDistribution(-5, 10),
        "c": CategoricalDistribution(["a", "b"]),
        "n": IntDistribution(1, 8),
        "lr": FloatDistribution(1e-5, 1.0, log=True),
    },
    "seven": {f"x{i}": FloatDistribution(0, i + 1) for i in range(7)},
    "nine": {f"x{i}": FloatDistribution(-i, 1) for i in range(9)},  # numpy sums these pairwise
}


@pytest.mark.parametrize("space", sorted(SPACES))
@pytest.mark.parametrize("n", [0, 1, 30, 400])
def test_log_densities_are_optunas_to_the_bit(space, n):
    search_space = SPACES[space]
    rng = np.random.RandomState(n)
    observations = {}
    for name, dist in search_space.items():
        if isinstance(dist, CategoricalDistribution):
            observations[name] = rng.randint(len(dist.choices), size=n)
        elif dist.log:
            values = np.exp(rng.uniform(np.log(dist.low), np.log(dist.high), size=n))
            observations[name] = np.round(values) if isinstance(dist, IntDistribution) else values
        else:
            values = rng.uniform(dist.low, dist.high, size=n)
            step = dist.step or 0
            observations[name] = np.round(values / step) * step if step else values
    for multivariate in (True, False):
        parameters = _ParzenEstimatorParameters(1.0, True, False, default_weights, multivariate)
        estimator = _ParzenEstimator(observations, search_space, parameters)
        samples = estimator.sample(rng, 24)
        # the bounds themselves, and points beyond them (no density there)
        for name, dist in search_space.items():
            if not isinstance(dist, CategoricalDistribution):
                low, high = dist.low, dist.high
                beyond = [low / 2, high * 2] if dist.log else [low - 1, high + 1]
                samples[name][:4] = [low, high, *beyond]
        mixture, x = estimator._mixture_distribution, estimator._transform(samples)
        with np.errstate(divide="ignore"):  # log(0) beyond an integer's log-scale bound
            expected = mixture.log_pdf(x)
        for _ in range(2):  # again, in the work arrays the first call left
            with np.errstate(divide="ignore"):
                got = _tpe_sampler._mixture_log_pdf(mixture, x)
            assert got.dtype == expected.dtype
            assert np.array_equal(got, expected, equal_nan=True)
            assert np.array_equal(np.signbit(got), np.signbit(expected))
