"""Fixtures for linked runs: the train/evaluate example through a store of each kind."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.experiment_files import import_experiment
from tests.store.backends import observer_and_location

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_eval"


@pytest.fixture(autouse=True)
def _artifact_cache(tmp_path, monkeypatch):
    """Artifacts of used runs are copied here, not into the user's cache."""
    monkeypatch.setenv("SACRED_ARTIFACT_CACHE", str(tmp_path / "artifact-cache"))
    monkeypatch.delenv("SACRED_PINNED_INPUTS", raising=False)


@pytest.fixture
def scripts(tmp_path) -> Path:
    """The example's train.py and evaluate.py, copied into their own directory (the
    sources the runs store)."""
    directory = tmp_path / "experiment"
    directory.mkdir()
    for name in ("train.py", "evaluate.py"):
        shutil.copy(EXAMPLE / name, directory / name)
    return directory


class Lab:
    """Runs train.py and evaluate.py in this process with one observer."""

    def __init__(self, scripts: Path, observer, location: str, options: dict) -> None:
        self.scripts = scripts
        self.observer = observer
        self.location = location
        self.options = options

    def _run(self, name: str, updates: dict, **options):
        ex = import_experiment(self.scripts / name, name.split(".")[0])
        ex.observers.append(self.observer)
        return ex.run(config_updates=updates, options={"--capture": "no", **options})

    def train(self, **updates):
        return self._run("train.py", updates)

    def evaluate(self, train_run, **options):
        return self._run("evaluate.py", {"train_run": train_run}, **options)

    def store(self):
        from sacred.store import open_store

        return open_store(self.location, **self.options)


@pytest.fixture
def lab(request, tmp_path, scripts) -> Lab:
    """lab(kind): runs recorded through that kind of store."""

    def make(kind: str) -> Lab:
        observer, location, options = observer_and_location(kind, tmp_path, request)
        return Lab(scripts, observer, location, options)

    return make


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
