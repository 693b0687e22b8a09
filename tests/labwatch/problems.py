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


def best_of_run(engine, space: SearchSpace, objective: Callable, seed: int, n: int) -> float:
    """The best cost of a study of n trials, each suggested by a fresh optimizer told
    the earlier trials (with their stored state), as a worker does."""
    trials: list[Trial] = []
    for i in range(n):
        optimizer = engine(space, seed=seed * 1000 + i)
        optimizer.update([t.config for t in trials], [t.cost for t in trials], trials)
        config = optimizer.suggest_configuration()
        labwatch = {"state": optimizer.state} if optimizer.state else {}
        trials.append(Trial(i, i, TrialStatus.COMPLETED, config, objective(config), None, labwatch))
    return min(t.cost for t in trials)
