"""Claim fencing with real worker processes: a worker frozen (SIGSTOP) past
--stale-after finds, when it wakes up, its run re-queued and finished by another
worker; it stops without writing, says why, and the run is recorded once. And a
lost run is re-queued by a worker that is busy with a run of its own."""

from __future__ import annotations

import os
import signal

import pytest

from sacred.store import open_store
from tests.worker.test_worker_pool import _beat_once, _claiming_worker
from tests.worker.test_worker_pool import _location as _sql_or_file_location

FROZEN_ARGS = ("--max-runs", "1", "--stale-after", "3", "--beat-interval", "0.3", "--poll", "0.2")
BACKENDS = ["file", "sqlite", "postgresql", "mysql", "tinydb"]


def _location(kind, tmp_path, request):
    """(store, options for queue_runs): a TinyDB store is queued into through the
    queueing observer (-t refuses to queue runs, as the original does)."""
    if kind != "tinydb":
        return _sql_or_file_location(kind, tmp_path, request)
    pytest.importorskip("tinydb")
    from sacred.observers.tinydb_hashfs.observer import QueueingTinyDbObserver

    path = tmp_path / "runs_db"
    return f"tinydb://{path}", {"observers": (QueueingTinyDbObserver(path),)}


def _queue(queue_runs, options, n, hang):
    extra = dict(options)
    observers = extra.pop("observers", ())
    return queue_runs(extra, n, hang=hang, observers=observers)


def _waiting(wait_for, *workers):
    """wait_for that gives up at once, with the worker's own words, when a worker
    it depends on has exited."""

    def wait(predicate, what):
        def ready():
            for worker in workers:
                if worker.poll() is not None and not predicate():
                    pytest.fail(f"a worker exited before {what}: {worker.stderr.read()}")
            return predicate()

        wait_for(ready, what)

    return wait


def _status(store: str, run_id) -> str:
    with open_store(store) as s:
        return s.get(run_id).status


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_frozen_worker_wakes_up_fenced_off(
    kind, tmp_path, request, queue_runs, start_workers, wait_for
):
    store, options = _location(kind, tmp_path, request)
    (run_id,) = _queue(queue_runs, options, 1, hang=(0,))  # the first attempt blocks
    markers = tmp_path / "markers"
    (frozen,) = start_workers(store, 1, *FROZEN_ARGS)
    wait = _waiting(wait_for, frozen)
    wait(lambda: (markers / "hung-0").exists(), "the first attempt to start")
    wait(lambda: _beat_once(store, run_id), "the first attempt's heartbeat")
    assert _claiming_worker(store, run_id) == frozen.pid
    os.killpg(frozen.pid, signal.SIGSTOP)  # the worker and its run freeze
    try:
        (other,) = start_workers(store, 1, *FROZEN_ARGS)
        assert other.wait(timeout=300) == 0, other.stderr.read()
        with open_store(store) as s:
            assert s.get(run_id).status == "COMPLETED"
            first_result = s.get(run_id).result
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    assert frozen.wait(timeout=300) == 0
    said = frozen.stderr.read()
    assert "no longer holds this process's claim" in said, said
    assert said.count("no longer holds this process's claim") == 1

    with open_store(store) as s:
        run = s.get(run_id)
        assert run.status == "COMPLETED"
        assert run.result == first_result  # the frozen attempt wrote nothing
        attempts = run.meta["attempts"]
        assert len(attempts) == 2
        assert attempts[0]["worker"].endswith(f":{frozen.pid}")
        assert attempts[1]["worker"].endswith(f":{other.pid}")
        assert "worker lost" in attempts[0]["outcome"]
        assert list(run.metrics.raw("loss")["steps"]) == [0, 1, 2]
        assert list(run.metrics.raw("attempt")["steps"]) == [0, 1]
    # the run's work happened once: the frozen attempt stopped in its sleep
    assert (markers / "done.log").read_text().split() == ["0"]


@pytest.mark.parametrize("kind", ["file", "sqlite", "tinydb"])
@pytest.mark.slow
def test_a_busy_worker_requeues_a_lost_run(
    kind, tmp_path, request, queue_runs, start_workers, wait_for
):
    store, options = _location(kind, tmp_path, request)
    lost, busy = _queue(queue_runs, options, 2, hang=(0, 1))  # both block on their first attempt
    markers = tmp_path / "markers"
    args = ("--stale-after", "3", "--beat-interval", "0.3", "--poll", "0.2", "--max-runs", "1")
    (first,) = start_workers(store, 1, *args)
    _waiting(wait_for, first)(lambda: (markers / "hung-0").exists(), "run 0 to start")
    wait_for(lambda: _beat_once(store, lost), "run 0's heartbeat")
    (second,) = start_workers(store, 1, *args)
    _waiting(wait_for, second)(lambda: (markers / "hung-1").exists(), "run 1 to start")
    os.killpg(first.pid, signal.SIGKILL)  # run 0 loses its worker

    # the only other worker is busy with run 1 (it sleeps), and still re-queues run 0
    _waiting(wait_for, second)(lambda: _status(store, lost) == "QUEUED", "run 0's re-queue")
    assert _status(store, busy) == "RUNNING"
    assert _claiming_worker(store, busy) == second.pid
    os.killpg(second.pid, signal.SIGKILL)
