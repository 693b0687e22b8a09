"""examples/labwatch_mnist.py (the paper's example) runs with its search space."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sacred.store import open_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "labwatch_mnist.py"


@pytest.mark.slow
def test_paper_example_runs_a_suggested_configuration(sqlite_location):
    pytest.importorskip("sklearn")
    env = {**os.environ, "LABWATCH_STORE": sqlite_location}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "with", "search_space", "nr_epochs=3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (run,) = open_store(sqlite_location).find()
    assert run.status == "COMPLETED"
    assert 0.001 <= run.config["learning_rate"] <= 1.0
    assert 32 <= run.config["hidden_units"] <= 512
    assert run.config["log_dir"] == f"log/NN{run.config['hidden_units']}"
    assert run.config["optimizer"] == "sgd"
    assert 0.0 <= run.result <= 1.0
    assert f"test accuracy {run.result:.4f}" in result.stdout
    assert list(run.metrics) == ["train.cross_entropy"]
