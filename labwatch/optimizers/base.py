"""The optimizer interface: ``update`` with every trial, then ``suggest_configuration``.

labwatch makes a fresh optimizer for every suggestion, seeded with the run's root
seed, and tells it every trial of the study that the store holds; the optimizer
keeps no state of its own between suggestions, so any number of processes on any
number of machines can suggest from the same study.
"""

from __future__ import annotations

import random
from typing import Any

from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, TrialStatus
from sacred.randomness import derive_seed

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of optimizers (the paper's adapter interface).

    ``update(configs, costs, runs)`` receives every trial of the study: ``configs``
    (dicts of the active hyperparameters by dotted name), ``costs`` (the minimized
    objective for COMPLETED trials, None for the others) and ``runs``
    (:class:`labwatch.trials.Trial`, whose ``status`` is COMPLETED, FAILED, PENDING
    or DEAD and whose ``run`` is the stored run). ``suggest_configuration()`` returns
    one configuration of the same shape. ``self.state`` (JSON) is stored with the
    suggestion and comes back as ``runs[i].state``.
    """

    def __init__(self, search_space: SearchSpace, seed: int | None = None) -> None:
        self.search_space = search_space
        self.seed = seed
        # Engines get a hash of the root seed: run seeds may be consecutive numbers
        # (seed=1, 2, 3, ...), and the first draws of numpy generators seeded with
        # consecutive numbers are correlated enough to cripple TPE.
        self.engine_seed = None if seed is None else derive_seed(seed, "labwatch")
        self.rng = random.Random(self.engine_seed)
        self.state: dict = {}
        self.configs: list[dict] = []
        self.costs: list[float | None] = []
        self.runs: list[Trial] = []

    def update(self, configs: list[dict], costs: list[float | None], runs: list[Any]) -> None:
        self.configs = list(configs)
        self.costs = list(costs)
        self.runs = list(runs)

    def suggest_configuration(self) -> dict:
        raise NotImplementedError

    # -- helpers for subclasses -------------------------------------------------------

    def _status(self, i: int) -> str:
        run = self.runs[i] if i < len(self.runs) else None
        if run is None:
            return TrialStatus.COMPLETED if self.costs[i] is not None else TrialStatus.FAILED
        return getattr(run, "status", TrialStatus.COMPLETED)

    def completed(self) -> list[tuple[dict, float]]:
        return [(c, y) for c, y in zip(self.configs, self.costs) if y is not None]

    def failed(self) -> list[dict]:
        return [
            c
            for i, (c, y) in enumerate(zip(self.configs, self.costs))
            if y is None and self._status(i) in (TrialStatus.FAILED, TrialStatus.DEAD)
        ]

    def pending(self) -> list[dict]:
        return [
            c
            for i, (c, y) in enumerate(zip(self.configs, self.costs))
            if y is None and self._status(i) == TrialStatus.PENDING
        ]
