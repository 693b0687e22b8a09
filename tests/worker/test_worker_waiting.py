"""An idle ``sacred worker`` says, once, that it waits and for what."""

from __future__ import annotations

import subprocess
import sys


def _worker(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "sacred", "worker", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_idle_worker_says_once_what_it_waits_for(tmp_path):
    (tmp_path / "runs").mkdir()

    done = _worker("runs", "--idle-exit", "1.5", "--poll", "0.2", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "sacred worker: waiting for queued runs (looking every 0.2 s)",
        "sacred worker: 0 run(s) done",
    ]


def test_it_names_the_experiment_it_waits_for(tmp_path):
    (tmp_path / "runs").mkdir()

    done = _worker(
        "runs", "--experiment", "train", "--idle-exit", "0.5", "--poll", "0.1", cwd=tmp_path
    )

    assert (
        "waiting for queued runs of the experiment 'train' (looking every 0.1 s)"
        in (done.stderr.splitlines()[0])
    )
