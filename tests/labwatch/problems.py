"""Problems and a study loop shared by the engine tests."""

from __future__ import annotations

import math
from collections.abc import Callable

from labwatch.hyperparameters import Categorical, Condition, UniformFloat
from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, TrialStatus


def conditional_space() -> SearchSpace:
    return SearchSpace(
        "conditional",
        {
            "branch": Categorical(["quad", "sine"]),
            "a": UniformFloat(-5, 5, condition=Condition("branch", "quad")),
            "b": UniformFloat(0, 10, condition=Condition("branch", "sine")),
            "c": UniformFloat(0, 1),
        },
    )


def conditional_cost(c: dict) -> float:
    shared = (c["c"] - 0.3) ** 2
    if c["branch"] == "quad":
        return (c["a"] - 1) ** 2 + 0.5 + shared
    return math.sin(c["b"]) + 1 + shared


def run_study(engine, space: SearchSpace, objective: Callable, seed: int, n: int) -> list[Trial]:
    """A study of n trials as a worker runs it: one optimizer, told each trial as it
    completes; every trial has its own run seed."""
    optimizer = engine(space, seed=seed * 1000)
    trials: list[Trial] = []
    for i in range(n):
        optimizer.before_trial(i, seed * 1000 + i)
        config = optimizer.suggest_configuration()
        trial = Trial(i, i, TrialStatus.COMPLETED, config, objective(config), None)
        optimizer.update([trial])
        optimizer.after_trial(trial)
        trials.append(trial)
    return trials


def best_of_run(engine, space: SearchSpace, objective: Callable, seed: int, n: int) -> float:
    """The best cost of a study of n trials (see run_study)."""
    return min(t.cost for t in run_study(engine, space, objective, seed, n))
