"""RandomSearch: configurations drawn from the priors, seeded by the run's root seed."""

from __future__ import annotations

from labwatch.optimizers.base import Optimizer

__all__ = ["RandomSearch"]


class RandomSearch(Optimizer):
    """Draws every hyperparameter from its prior; past trials do not matter."""

    multi_objective = True

    def suggest_configuration(self) -> dict:
        return self.search_space.sample(self.rng)
