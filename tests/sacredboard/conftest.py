"""Stores filled by real experiment runs, and the board's test client over them."""

from __future__ import annotations

import base64
import math

import pytest

from sacred import Experiment
from sacred.observers import FileStorageObserver, SqlObserver

# A 1x1 red PNG, as a run's image artifact.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def make_experiment(tmp_path) -> Experiment:
    ex = Experiment("board_demo", save_git_info=False)

    @ex.config
    def config():
        lr = 0.1  # learning rate
        # how many passes over the data
        epochs = 20
        model = {"hidden": 8, "activation": "tanh"}

    @ex.main
    def train(lr, epochs, model, _run):
        if lr > 1:
            raise ValueError(f"diverged with lr={lr}")
        loss = 1.0
        for step in range(epochs):
            loss = math.exp(-lr * step) + (0.05 if step % 5 == 0 else 0.0)
            _run.log_scalar("loss", loss, step)
            _run.log_scalar("accuracy", 1 - loss / 2, step)
        _run.info["my_dict"] = {"my_key": model["hidden"] * 2}
        image = tmp_path / "plot.png"
        image.write_bytes(PNG)
        _run.add_artifact(str(image), name="plot.png")
        text = tmp_path / "notes.txt"
        text.write_text(f"hidden={model['hidden']}\n")
        _run.add_artifact(str(text), name="notes.txt")
        print(f"trained with lr={lr}")
        return loss

    return ex


RUNS = [
    {"lr": 0.1, "model": {"hidden": 8}},
    {"lr": 0.05, "model": {"hidden": 16}},
    {"lr": 0.2, "model": {"hidden": 32}},
    {"lr": 0.3, "model": {"hidden": 64}, "epochs": 10},
]


def fill(ex: Experiment) -> None:
    quiet = {"--loglevel": "WARNING"}
    for updates in RUNS:
        ex.run(config_updates=updates, options=quiet)
    with pytest.raises(ValueError):
        ex.run(config_updates={"lr": 5.0}, options=quiet)


@pytest.fixture(params=["file", "sqlite"])
def store_location(request, tmp_path) -> str:
    """A store (file store or SQLite) with 4 completed runs and 1 failed run."""
    ex = make_experiment(tmp_path)
    if request.param == "file":
        location = str(tmp_path / "runs")
        ex.observers.append(FileStorageObserver(location))
    else:
        location = f"sqlite:///{tmp_path / 'runs.db'}"
        ex.observers.append(SqlObserver(location))
    fill(ex)
    return location


@pytest.fixture
def sqlite_location(tmp_path) -> str:
    ex = make_experiment(tmp_path)
    location = f"sqlite:///{tmp_path / 'runs.db'}"
    ex.observers.append(SqlObserver(location))
    fill(ex)
    return location


@pytest.fixture
def client(store_location):
    from starlette.testclient import TestClient

    from sacredboard import create_app

    with TestClient(create_app(store_location), base_url="http://127.0.0.1") as test_client:
        yield test_client
