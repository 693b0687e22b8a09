#!/usr/bin/env python
"""The original Labwatch's Branin example: random search over a tuple of two
hyperparameters, with only the store changed (the embedded SQLite store
``runs.db`` next to this file; set LABWATCH_STORE to use another one).

    python examples/branin.py with search_space           # one suggested trial
    python examples/branin.py                              # the configured point
    labwatch worker examples/branin.py search_space --n-trials 30
    labwatch trials sqlite:///examples/runs.db search_space
"""

import os

import numpy as np

from labwatch.assistant import LabAssistant
from labwatch.hyperparameters import UniformFloat
from labwatch.optimizers.random_search import RandomSearch
from sacred import Experiment

ex = Experiment("branin", save_git_info=False)
a = LabAssistant(ex, store=os.environ.get("LABWATCH_STORE"), optimizer=RandomSearch)


@ex.config
def cfg():
    x = (0.0, 5.0)


@a.search_space
def search_space():
    x = (UniformFloat(-5, 10), UniformFloat(0, 15))


@ex.automain
def branin(x):
    x1, x2 = x
    print(f"{x1:.5f} {x2:.5f}")
    y = (
        (x2 - (5.1 / (4 * np.pi**2)) * x1**2 + 5 * x1 / np.pi - 6) ** 2
        + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1)
        + 10
    )
    print(y)
    return float(y)
