"""SqlObserver opens its database at the first event, as the other observers do
(docs/observers.md): it can be made while the database is down, and commands that
record nothing never need it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("sqlalchemy")

from sacred.observers import QueueObserver, SqlObserver  # noqa: E402
from sacred.store import open_store  # noqa: E402

DOWN = "postgresql+psycopg://nobody@127.0.0.1:9/x"

EXPERIMENT = """\
from sacred import Experiment

ex = Experiment("lazy")


@ex.config
def cfg():
    lr = 0.5


@ex.automain
def main(lr):
    return lr
"""


def test_an_observer_of_a_database_that_is_down_can_be_made_and_queued():
    pytest.importorskip("psycopg")
    observer = SqlObserver(DOWN)
    queue = QueueObserver(observer)
    assert queue.observer is observer
    assert observer.url == "postgresql+psycopg://nobody@127.0.0.1:9/x"


def test_making_an_observer_creates_no_sqlite_file(tmp_path):
    path = tmp_path / "runs.db"
    observer = SqlObserver(f"sqlite:///{path}")
    assert not path.exists()
    from sacred import Experiment

    ex = Experiment("lazy", save_git_info=False)
    ex.main(lambda: 3)
    ex.observers.append(observer)
    ex.run(options={"--loglevel": "ERROR"})
    with open_store(f"sqlite:///{path}") as store:
        assert [r.result for r in store.find()] == [3]


@pytest.mark.slow
def test_print_config_with_a_database_that_is_down_needs_no_database(tmp_path):
    pytest.importorskip("psycopg")
    (tmp_path / "exp.py").write_text(EXPERIMENT)
    done = subprocess.run(
        [sys.executable, "exp.py", "-s", DOWN, "print_config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "lr = 0.5" in done.stdout


@pytest.mark.slow
def test_a_run_with_a_database_that_is_down_fails_in_one_line(tmp_path):
    pytest.importorskip("psycopg")
    (tmp_path / "exp.py").write_text(EXPERIMENT)
    done = subprocess.run(
        [sys.executable, "exp.py", "-s", DOWN], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "SqlObserver could not open the database" in done.stderr
