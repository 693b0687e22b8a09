"""Several worker processes share one queue: every run completes exactly once, also
when a worker is killed in the middle of a run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from sacred.store import open_store

STALE = "4"  # seconds: a killed worker's run is re-queued after this
# Idle workers stay long enough to take the killed worker's run back once it is stale
# (a worker that lost the race for a run idles from the moment the queue is empty).
WORKER_ARGS = (
    "--idle-exit",
    "9",
    "--stale-after",
    STALE,
    "--beat-interval",
    "0.5",
    "--poll",
    "0.2",
)


def _location(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, dict]:
    if kind == "file":
        path = str(tmp_path / "runs")
        return path, {"--file_storage": path}
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mysql_url")
    return url, {"--sql": url}


def _claiming_worker(store: str, run_id) -> int:
    with open_store(store) as s:
        worker = s.get(run_id).meta["claim"]["worker"]
    return int(worker.rsplit(":", 1)[1])


def _beat_once(store: str, run_id) -> bool:
    """The run's first heartbeat is stored: its metric and its output."""
    with open_store(store) as s:
        run = s.get(run_id)
        return "attempt" in run.metrics and "attempt of" in run.captured_out


def _pool(kind, n_runs, tmp_path, request, queue_runs, start_workers, wait_for) -> None:
    store, options = _location(kind, tmp_path, request)
    ids = queue_runs(options, n_runs, hang=(0,))
    markers = tmp_path / "markers"
    workers = start_workers(store, 4, *WORKER_ARGS)

    # Run 0 blocks on its first attempt: kill the worker that holds it, like a crash.
    wait_for(lambda: (markers / "hung-0").exists(), "run 0 to start")
    wait_for(lambda: _beat_once(store, ids[0]), "run 0's first heartbeat")
    victim = _claiming_worker(store, ids[0])
    assert victim in [w.pid for w in workers]
    os.killpg(victim, signal.SIGKILL)

    for w in workers:
        w.wait(timeout=600)
    errors = [w.stderr.read() for w in workers if w.returncode not in (0, -signal.SIGKILL)]
    assert not errors, errors

    with open_store(store) as s:
        runs = s.find()
        assert sorted(r.status for r in runs) == ["COMPLETED"] * n_runs
        assert sorted(r.result[0] for r in runs) == list(range(n_runs))
        killed = s.get(ids[0])
        attempts = killed.meta["attempts"]
        assert len(attempts) == 2
        assert "worker lost" in attempts[0]["outcome"]
        assert attempts[0]["worker"].endswith(f":{victim}")
        assert list(killed.metrics["loss"].values) == [0, 1, 2]
        # the second attempt continued the record of the first
        assert list(killed.metrics.raw("attempt")["steps"]) == [0, 1]
        assert killed.captured_out.count("attempt of 0") == 2
    # each run's side effect happened once: the killed attempt never got that far
    done = sorted(int(line) for line in (markers / "done.log").read_text().split())
    assert done == list(range(n_runs))


BACKENDS = ["file", "sqlite", "postgresql", "mysql"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", BACKENDS)
def test_four_workers_thirty_runs_one_killed(
    kind, tmp_path, request, queue_runs, start_workers, wait_for
):
    _pool(kind, 30, tmp_path, request, queue_runs, start_workers, wait_for)
