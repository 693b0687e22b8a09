"""Fixtures for the framework integrations: each test trains for a few steps in a
real run observed by a file store or SQLite, then reads the record back through
sacred.store."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from sacred import Experiment

# No model hub is reachable here; a test that tried to download would hang, not fail.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture(params=["file", "sqlite"])
def store_location(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where the run is stored: a file-store directory or an SQLite URL."""
    if request.param == "file":
        return str(tmp_path / "runs")
    pytest.importorskip("sqlalchemy")
    return f"sqlite:///{tmp_path / 'runs.db'}"


def add_observer(ex: Experiment, location: str) -> None:
    """Attach the observer that writes to location."""
    if location.startswith("sqlite:"):
        from sacred.observers import SqlObserver

        ex.observers.append(SqlObserver(location))
    else:
        from sacred.observers import FileStorageObserver

        ex.observers.append(FileStorageObserver(location))


@pytest.fixture
def run_experiment(store_location: str, tmp_path) -> Callable:
    """run_experiment(main, name=..., config=...) runs main as an experiment's main
    function (in tmp_path) observed by the store, and returns the StoredRun."""
    from sacred.store import open_store

    opened = []

    def run(main: Callable, name: str = "integration", config: dict | None = None, **kw):
        ex = Experiment(name, save_git_info=False)
        if config:
            ex.add_config(config)
        ex.main(main)
        add_observer(ex, store_location)
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            run = ex.run(options={"--loglevel": "ERROR"}, **kw)
        finally:
            os.chdir(cwd)
        store = open_store(store_location)
        opened.append(store)
        return store.get(run._id)

    yield run
    for store in opened:
        store.close()
