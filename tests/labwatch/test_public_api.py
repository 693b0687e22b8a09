"""The import paths the paper names, and that importing labwatch stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PATHS = [
    ("labwatch", "LabAssistant"),
    ("labwatch.assistant", "LabAssistant"),
    ("labwatch.optimizers", "RandomSearch"),
    ("labwatch.optimizers", "BayesianOptimization"),
    ("labwatch.optimizers", "SMAC"),
    ("labwatch.optimizers", "TPE"),
    ("labwatch.optimizers", "CMAES"),
    ("labwatch.optimizers", "Optimizer"),
    ("labwatch.optimizers", "NSGAII"),
    ("labwatch.hyperparameters", "UniformFloat"),
    ("labwatch.hyperparameters", "UniformInt"),
    ("labwatch.hyperparameters", "UniformNumber"),
    ("labwatch.hyperparameters", "Gaussian"),
    ("labwatch.hyperparameters", "Categorical"),
    ("labwatch.hyperparameters", "Constant"),
    ("labwatch.hyperparameters", "Condition"),
    ("labwatch", "TrialPruned"),
    ("labwatch.pruners", "MedianPruner"),
    ("labwatch.pruners", "SuccessiveHalvingPruner"),
    ("labwatch.pruners", "HyperbandPruner"),
    ("sacred.store.locking", "store_lock"),
]


@pytest.mark.parametrize("module, name", PATHS)
def test_documented_import_paths(module, name):
    assert hasattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module", ["labwatch", "labwatch.optimizers", "labwatch.hyperparameters"])
def test_all_lists_what_the_module_has(module):
    mod = importlib.import_module(module)
    assert all(hasattr(mod, name) for name in mod.__all__)


def test_import_is_light():
    code = (
        "import sys, labwatch, labwatch.optimizers, labwatch.hyperparameters; "
        "print(sorted(m for m in ('optuna', 'sklearn', 'numpy', 'scipy', 'pymongo') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
