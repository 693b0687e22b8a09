"""labwatch: hyperparameter optimization for sacred experiments, through the run store.

    import labwatch
    from labwatch.optimizers import RandomSearch
    from labwatch.hyperparameters import UniformFloat, UniformInt

    la = labwatch.LabAssistant(ex, optimizer=RandomSearch)

See docs/labwatch.md.
"""

from __future__ import annotations

from labwatch.assistant import LabAssistant
from labwatch.exceptions import (
    BudgetExhausted,
    LabwatchError,
    OptimizerError,
    SearchSpaceError,
    TrialPruned,
)
from labwatch.searchspace import SearchSpace

__all__ = [
    "LabAssistant",
    "SearchSpace",
    "LabwatchError",
    "SearchSpaceError",
    "OptimizerError",
    "BudgetExhausted",
    "TrialPruned",
]
