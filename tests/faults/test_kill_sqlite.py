"""An SQLite run killed with SIGKILL at 50 random moments (seeded) leaves a sound
database: ``PRAGMA integrity_check`` says ok, and sacred.store lists the run with
everything it committed up to the kill."""

from __future__ import annotations

import sqlite3

import pytest

SEED = "sqlite-kills-1"
TRIALS = 50
# The fast tier (-m "not slow") runs the first FAST_TRIALS kills; the rest are slow.
FAST_TRIALS = 3
KILL_TRIALS = [
    pytest.param(t, marks=[pytest.mark.slow] if t >= FAST_TRIALS else []) for t in range(TRIALS)
]


def database_of(directory) -> str:
    return f"sqlite:///{directory / 'runs.db'}"


@pytest.mark.parametrize("trial", KILL_TRIALS)
def test_a_killed_run_leaves_a_sound_database(trial, killer, artifact_content, tmp_path):
    pytest.importorskip("sqlalchemy")
    outcome = killer.kill(tmp_path, "SqlObserver", database_of, SEED, trial)

    with sqlite3.connect(tmp_path / "runs.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ((status,),) = conn.execute("SELECT status FROM runs").fetchall()
    assert status in ("RUNNING", "COMPLETED"), (status, outcome)
    if not outcome["killed"]:
        assert status == "COMPLETED"

    from sacred.store import open_store

    with open_store(database_of(tmp_path)) as store:
        (run,) = store.find()
        assert run.id == 1
        expected = ("RUNNING", "PROBABLY_DEAD") if status == "RUNNING" else ("COMPLETED",)
        assert run.status in expected
        assert run.config["iterations"] == 300 and run.config["lr"] == 0.125
        for metric in run.metrics:
            steps = list(run.metrics.raw(metric)["steps"])
            assert steps == list(range(len(steps))), metric  # complete and in order
        for name in run.artifacts:  # listed only once stored in whole
            index = int(name.removeprefix("artifact").removesuffix(".txt"))
            assert run.artifacts[name].read().decode() == artifact_content(index)
        lines = [line for line in run.captured_out.splitlines(keepends=True) if line]
        assert all(line == f"line {10 * i} héllo ✓\n" for i, line in enumerate(lines[:-1]))
        if status == "COMPLETED":
            assert run.result == 300
            assert len(run.metrics["x"]) == 300
            assert len(lines) == 30 and lines[-1] == "line 290 héllo ✓\n"

    if status == "RUNNING":  # its last heartbeat is readable: old enough, it reads dead
        with open_store(database_of(tmp_path), dead_after=0) as store:
            assert store.get(1).status == "PROBABLY_DEAD"
