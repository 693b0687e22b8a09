"""The original Labwatch's examples (Branin, BO on Branin, the MLP with scikit-learn in
place of Keras) run as scripts with only the store changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sacred.store import open_store

pytestmark = pytest.mark.slow  # whole optimizations; the fast tier has labwatch's own tests

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, store: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABWATCH_STORE": store}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("name", ["branin.py", "branin_bo.py"])
def test_branin_examples_record_trials_of_the_tuple_space(name, sqlite_location):
    if name == "branin_bo.py":
        pytest.importorskip("sklearn")
    for _ in range(3):
        run_example(name, sqlite_location, "with", "search_space", "--loglevel", "ERROR")
    runs = open_store(sqlite_location).find(sort="id")
    assert [r.status for r in runs] == ["COMPLETED"] * 3
    for run in runs:
        x1, x2 = run.config["x"]
        assert -5 <= x1 <= 10 and 0 <= x2 <= 15
        assert run.result > 0.39  # Branin's minimum is 0.397887
        assert run.meta["labwatch"]["trial"] in (0, 1, 2)


def test_the_mlp_example_with_scikit_learn(sqlite_location):
    pytest.importorskip("sklearn")
    result = run_example("labwatch_mlp.py", sqlite_location, "with", "search_space", "num_epochs=3")
    (run,) = open_store(sqlite_location).find()
    assert run.status == "COMPLETED"
    assert 16 <= run.config["num_units_first_layer"] <= 256
    assert 1e-4 <= run.config["learning_rate"] <= 1e-1
    assert 0.0 <= run.result <= 1.0
    assert f"validation error {run.result:.4f}" in result.stdout
    assert list(run.metrics) == ["train.loss"]
