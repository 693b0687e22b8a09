"""labwatch's errors::

LabwatchError (a sacred.exceptions.SacredError: the command line prints it in one line)
├── SearchSpaceError     a search space or hyperparameter is malformed
├── OptimizerError       an optimizer is unusable (unknown, or its package is missing)
└── BudgetExhausted      the study already has its number of trials

TrialPruned (a sacred.exceptions.SacredInterrupt, not an error): raised by the
main function when LabAssistant.report() says to stop; the run ends COMPLETED.
"""

from __future__ import annotations

from sacred.exceptions import SacredError, SacredInterrupt

__all__ = [
    "LabwatchError",
    "SearchSpaceError",
    "OptimizerError",
    "BudgetExhausted",
    "TrialPruned",
]


class LabwatchError(SacredError):
    """Base class of labwatch's errors."""


class SearchSpaceError(LabwatchError, ValueError):
    """A search space or a hyperparameter is malformed."""


class OptimizerError(LabwatchError):
    """An optimizer cannot be used."""


class BudgetExhausted(LabwatchError):
    """Every trial of the budget is claimed. ``pending`` counts those still running
    (one of them may die and be retried, so a worker waits for them)."""

    def __init__(self, message: str, pending: int = 0) -> None:
        super().__init__(message)
        self.pending = pending


class TrialPruned(SacredInterrupt):
    """Raise it from the main function when ``LabAssistant.report`` answers True.

    The run ends with status COMPLETED (it was not a failure); its trial reads as
    PRUNED (``info.labwatch.state``) with the last reported value."""

    STATUS = "COMPLETED"
