"""Optimizers behind one interface (:class:`Optimizer`): ``update(trials)`` with the
new or changed trials, then ``suggest_configuration()`` (labwatch.optimizers.base).

``RandomSearch`` needs nothing; ``BayesianOptimization`` (Gaussian process) and
``SMAC`` (random forest) need scikit-learn; ``TPE`` and ``CMAES`` use Optuna as an
engine (CMA-ES also needs ``cmaes``). All are in ``pip install 'sacred[optim]'``;
``SMAC3`` needs the ``smac`` package (``pip install 'sacred[smac]'``). The packages
are imported only when a suggestion is made.
"""

from __future__ import annotations

from labwatch.optimizers._model_based import SMAC, BayesianOptimization
from labwatch.optimizers._optuna import CMAES, NSGAII, TPE
from labwatch.optimizers._smac3 import SMAC3, smac3_available
from labwatch.optimizers.base import Optimizer
from labwatch.optimizers.random_search import RandomSearch

__all__ = [
    "Optimizer",
    "RandomSearch",
    "BayesianOptimization",
    "SMAC",
    "SMAC3",
    "TPE",
    "CMAES",
    "NSGAII",
    "smac3_available",
]
