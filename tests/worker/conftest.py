"""Fixtures for the worker tests: an experiment file, queued runs, worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.experiment_files import import_experiment

EXPERIMENT = '''\
"""A queued experiment for the worker tests."""
import os
import time

from sacred import Experiment

ex = Experiment("worker_test")


@ex.config
def cfg():
    idx = 0
    marker_dir = ""
    hang = False


@ex.automain
def main(idx, marker_dir, hang, _rnd, _run):
    _run.log_scalar("attempt", 1)  # a run continued by another worker counts on
    print(f"attempt of {idx}")
    hung = os.path.join(marker_dir, f"hung-{idx}")
    if hang and not os.path.exists(hung):
        open(hung, "w").close()
        time.sleep(600)  # the test kills this run's worker now
    for step in range(3):
        _run.log_scalar("loss", idx + step)
    with open(os.path.join(marker_dir, "done.log"), "a") as f:
        f.write(f"{idx}\\n")
    return [idx, _rnd.random()]
'''

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def experiment_file(tmp_path: Path) -> Path:
    """The experiment's main file, in its own directory (its stored source)."""
    directory = tmp_path / "experiment"
    directory.mkdir()
    path = directory / "exp_worker.py"
    path.write_text(EXPERIMENT)
    (tmp_path / "markers").mkdir()
    return path


def load_experiment(path: Path):
    """Import the experiment file in this process (queueing is faster than a shell)."""
    return import_experiment(path, "exp_worker")


@pytest.fixture
def queue_runs(experiment_file: Path, tmp_path: Path) -> Callable[..., list]:
    """queue_runs(options, n, hang=()) queues n runs (idx 0..n-1) with the observer
    given by ``options`` (e.g. {"--sql": url}); idx in ``hang`` blocks on its first
    attempt. Returns the queued ids."""
    ex = load_experiment(experiment_file)
    markers = str(tmp_path / "markers")

    def queue(options: dict, n: int, hang: tuple = (), observers: tuple = ()) -> list:
        ex.observers[:] = list(observers)
        ids = []
        for idx in range(n):
            run = ex.run(
                config_updates={"idx": idx, "marker_dir": markers, "hang": idx in hang},
                options={"--queue": True, **options},
            )
            ids.append(run._id)
        return ids

    return queue


def worker_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.fixture
def start_workers() -> Iterator[Callable[..., list[subprocess.Popen]]]:
    """start_workers(store, n, *args) starts n ``sacred worker`` processes, each in its
    own process group (killed at the end of the test if still alive)."""
    started: list[subprocess.Popen] = []

    def start(store: str, n: int, *args: str) -> list[subprocess.Popen]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "sacred.store.cli", "worker", store, *args],
                env=worker_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            for _ in range(n)
        ]
        started.extend(procs)
        return procs

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """wait_for(predicate, what): wait until predicate() holds (a state, not a
    duration); fail naming ``what`` when it never does."""
    return _wait_for


@pytest.fixture
def fresh_experiment(experiment_file: Path) -> Callable[[], object]:
    """fresh_experiment() imports the experiment file anew: its own Experiment object."""
    return lambda: load_experiment(experiment_file)
