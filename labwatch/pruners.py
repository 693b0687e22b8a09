"""Pruners: stop unpromising trials early, from their intermediate values.

    from labwatch.pruners import MedianPruner
    a = LabAssistant(ex, optimizer=TPE, pruner=MedianPruner(n_startup_trials=5))

    @ex.automain
    def main(epochs, _run):
        for epoch in range(epochs):
            loss = train_one_epoch()
            if a.report(_run, loss, epoch):
                raise labwatch.TrialPruned()

Optuna's pruners are the engines (``optuna.pruners``), with their parameter names:
each class here takes exactly the arguments of the Optuna pruner of the same name.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Pruner", "MedianPruner", "SuccessiveHalvingPruner", "HyperbandPruner", "NopPruner"]


class Pruner:
    """An Optuna pruner, made when first used (Optuna is imported then)."""

    optuna_name = "NopPruner"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self._engine: Any = None
        self.engine()  # wrong arguments fail here, with Optuna's message

    def engine(self) -> Any:
        if self._engine is None:
            from labwatch.optimizers._optuna import _optuna

            optuna = _optuna()
            self._engine = getattr(optuna.pruners, self.optuna_name)(*self.args, **self.kwargs)
        return self._engine

    def __repr__(self) -> str:
        args = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{type(self).__name__}({', '.join(args)})"


class NopPruner(Pruner):
    """Never prunes."""

    optuna_name = "NopPruner"


class MedianPruner(Pruner):
    """Prunes a trial whose value at a step is worse than the median of the
    completed trials' values at that step (``optuna.pruners.MedianPruner``)."""

    optuna_name = "MedianPruner"


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving (``optuna.pruners.SuccessiveHalvingPruner``)."""

    optuna_name = "SuccessiveHalvingPruner"


class HyperbandPruner(Pruner):
    """Hyperband (``optuna.pruners.HyperbandPruner``)."""

    optuna_name = "HyperbandPruner"
