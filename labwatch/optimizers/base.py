"""The optimizer interface (Optuna's ``BaseSampler`` is the model).

A LabAssistant keeps one optimizer per study in each process and drives it so:

1. ``update(trials)`` with the trials that are new or changed since the previous
   call (every trial of the study the first time): whole
   :class:`~labwatch.trials.Trial` objects, whose ``status`` is COMPLETED, FAILED,
   PENDING or DEAD, ``config`` the values by dotted name and ``cost`` the minimized
   objective (None unless COMPLETED);
2. ``before_trial(number, seed)`` (hook) when trial ``number`` is about to be
   suggested with the run's root seed;
3. ``suggest_configuration()`` (abstract) returns one configuration of the same
   shape (the active hyperparameters by dotted name);
4. ``after_trial(trial)`` (hook) once per trial that reached a final state
   (COMPLETED or FAILED), after ``update`` told it.

The optimizer sees every trial of the study whoever claimed it, so any number of
processes on any number of machines share one study; what an optimizer keeps in
memory (a fitted model, a sampler's random stream) stays in its process.

The paper's adapter, ``update(self, configs, costs, runs)`` with three parallel
lists of every trial, is still accepted: an optimizer whose ``update`` takes those
three parameters is told the whole study at every suggestion.
"""

from __future__ import annotations

import inspect
import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, cast

from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, TrialStatus
from sacred.randomness import derive_seed

__all__ = ["Optimizer", "takes_whole_trials"]


class Optimizer(ABC):
    """Base class of optimizers: see the module docstring for the protocol.

    ``multi_objective``: True when the optimizer handles studies with several
    objectives (it then reads ``trial.costs``, a tuple, and ``self.n_objectives``)."""

    multi_objective = False
    n_objectives = 1
    #: the study's constraints (a trial's ``violations``: <= 0 when one holds)
    n_constraints = 0

    def __init__(self, search_space: SearchSpace, seed: int | None = None) -> None:
        self.search_space = search_space
        self._reseed(seed)
        self.state: dict = {}
        self._trials: dict[int, Trial] = {}

    def _reseed(self, seed: int | None) -> None:
        self.seed = seed
        # Engines get a hash of the root seed: run seeds may be consecutive numbers
        # (seed=1, 2, 3, ...), and the first draws of numpy generators seeded with
        # consecutive numbers are correlated enough to cripple TPE.
        self.engine_seed = None if seed is None else derive_seed(seed, "labwatch")
        self.rng = random.Random(self.engine_seed)

    # -- the protocol ---------------------------------------------------------------------

    def update(
        self,
        trials: Sequence[Trial] | Sequence[dict],
        costs: Sequence[float | None] | None = None,
        runs: Sequence[Any] | None = None,
    ) -> None:
        """Take the new and changed trials into account.

        ``update(configs, costs, runs)`` (the paper's form, three parallel lists of
        every trial) replaces what the optimizer knew."""
        if costs is not None:
            self._trials = {}
            runs = list(runs or [])
            configs = cast(Sequence[dict], trials)  # the paper's form: configurations
            for i, (config, cost) in enumerate(zip(configs, costs)):
                run = runs[i] if i < len(runs) else None
                if not isinstance(run, Trial):
                    status = TrialStatus.COMPLETED if cost is not None else TrialStatus.FAILED
                    run = Trial(i, i, status, dict(config), cost, run)
                self._trials[i] = run
            return
        for trial in trials:
            assert isinstance(trial, Trial)
            self._trials[trial.number] = trial

    def before_trial(self, number: int, seed: int | None) -> None:
        """Trial ``number`` is about to be suggested for a run with root ``seed``.

        The default draws this suggestion's random numbers from a stream of that seed,
        so a run given ``seed=...`` gets the same suggestion from the same trials."""
        self._reseed(seed)

    @abstractmethod
    def suggest_configuration(self) -> dict:
        """One configuration: the active hyperparameters by dotted name."""

    def after_trial(self, trial: Trial) -> None:  # noqa: B027 - an optional hook
        """``trial`` reached a final state (COMPLETED or FAILED)."""

    # -- what subclasses read ---------------------------------------------------------------

    @property
    def trials(self) -> list[Trial]:
        """Every trial told so far, in claim order."""
        return [self._trials[n] for n in sorted(self._trials)]

    @property
    def configs(self) -> list[dict]:
        return [t.config for t in self.trials]

    @property
    def costs(self) -> list[float | None]:
        return [t.cost for t in self.trials]

    @property
    def runs(self) -> list[Trial]:
        return self.trials

    def completed(self) -> list[tuple[dict, float]]:
        return [(t.config, t.cost) for t in self.trials if t.cost is not None]

    def failed(self) -> list[dict]:
        return [
            t.config
            for t in self.trials
            if t.cost is None and t.status in (TrialStatus.FAILED, TrialStatus.DEAD)
        ]

    def pending(self) -> list[dict]:
        return [t.config for t in self.trials if t.status == TrialStatus.PENDING]


def takes_whole_trials(optimizer: Any) -> bool:
    """False for an optimizer written to the paper's ``update(configs, costs, runs)``."""
    update = getattr(optimizer, "update", None)
    if update is None or update is Optimizer.update:
        return True
    try:
        parameters = [
            p
            for p in inspect.signature(update).parameters.values()
            if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return True
    required = [p for p in parameters if p.default is p.empty]
    return len(required) < 3
