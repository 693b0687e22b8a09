"""The claim primitive, the same contract on every backend: priority order, the
experiment filter, exclusivity, and lost runs re-queued then failed."""

from __future__ import annotations

import pytest

from sacred.worker.claims import open_claimer

BACKENDS = ["file", "sqlite", "postgresql", "mysql", "mongomock", "tinydb"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, queue_runs):
    """(claimer, queue(n, **options) -> ids, read(id) -> (status, meta, fail_trace))."""
    kind = request.param
    if kind == "mongomock":
        mongomock = pytest.importorskip("mongomock")
        from mongomock.gridfs import enable_gridfs_integration

        from sacred.observers.mongo.observer import MongoObserver

        enable_gridfs_integration()
        client = mongomock.MongoClient()
        claimer = open_claimer("mongomock://sacred", client=client)

        def queue(n, **options):
            observer = MongoObserver(client=client, db_name="sacred")
            return queue_runs(options, n, observers=(observer,))

        def read(run_id):
            doc = client["sacred"]["runs"].find_one({"_id": run_id})
            return doc["status"], doc["meta"], doc.get("fail_trace")

        yield claimer, queue, read
        return
    if kind == "tinydb":
        pytest.importorskip("tinydb")
        from sacred.observers.tinydb_hashfs.observer import QueueingTinyDbObserver

        location = f"tinydb://{tmp_path / 'runs_db'}"

        def queue(n, **options):
            # -t refuses to queue runs (as the original): the queueing observer does
            observer = QueueingTinyDbObserver(tmp_path / "runs_db")
            return queue_runs(options, n, observers=(observer,))

    elif kind == "file":
        location = str(tmp_path / "runs")
        flag = {"--file_storage": location}
    elif kind == "sqlite":
        location = f"sqlite:///{tmp_path / 'runs.db'}"
        flag = {"--sql": location}
    else:
        location = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mysql_url")
        flag = {"--sql": location}

    if kind != "tinydb":

        def queue(n, **options):
            return queue_runs({**flag, **options}, n)

    def read(run_id):
        from sacred.store import open_store

        with open_store(location) as s:
            run = s.get(run_id)
            return run.status, run.meta, run.fail_trace

    claimer = open_claimer(location)
    yield claimer, queue, read
    claimer.close()


def test_highest_priority_first_then_oldest_and_each_run_once(backend):
    claimer, queue, read = backend
    low = queue(2)
    high = queue(1, **{"--priority": 5})
    claimed = [claimer.claim("w:1") for _ in range(4)]
    assert [c.run_id if c else None for c in claimed] == [high[0], low[0], low[1], None]
    first = claimed[0]
    status, meta, _ = read(first.run_id)
    assert status == "RUNNING"
    assert meta["claim"]["worker"] == "w:1"
    assert meta["claim"]["token"] == first.token
    assert [a["worker"] for a in meta["attempts"]] == ["w:1"]
    assert first.config["idx"] == 0  # everything needed to start it elsewhere
    assert first.experiment["name"] == "worker_test"
    assert first.experiment["mainfile"] == "exp_worker.py"
    assert "exp_worker.py" in claimer.sources(first)


@pytest.mark.slow
def test_only_runs_of_the_named_experiment(backend):
    claimer, queue, read = backend
    queue(1, **{"--name": "other"})
    mine = queue(1)
    assert claimer.claim("w:1", experiment="worker_test").run_id == mine[0]
    assert claimer.claim("w:1", experiment="worker_test") is None


def test_a_lost_run_is_requeued_then_failed_after_the_retries(backend):
    claimer, queue, read = backend
    (run_id,) = queue(1)
    claimer.claim("dead:1")
    assert claimer.requeue_stale(3600, max_retries=1) == []  # its heartbeat is fresh

    assert claimer.requeue_stale(0, max_retries=1) == [(run_id, "QUEUED")]
    status, meta, _ = read(run_id)
    assert status == "QUEUED"
    assert "worker lost" in meta["attempts"][0]["outcome"]
    assert "claim" not in meta

    assert claimer.claim("dead:2").run_id == run_id
    assert claimer.requeue_stale(0, max_retries=1) == [(run_id, "FAILED")]
    status, meta, fail_trace = read(run_id)
    assert status == "FAILED"
    assert [a["worker"] for a in meta["attempts"]] == ["dead:1", "dead:2"]
    assert "gave up after 2 attempts" in fail_trace[0]
    assert claimer.claim("w:3") is None


def test_release_ends_only_a_run_still_held_by_that_claim(backend):
    claimer, queue, read = backend
    (run_id,) = queue(1)
    run = claimer.claim("w:1")
    held = run.token
    run.token = "someone else's"
    assert claimer.release(run, "FAILED", "exit code 1") is False
    assert read(run_id)[0] == "RUNNING"
    run.token = held
    assert claimer.release(run, "FAILED", "the run's process exited with code 1") is True
    status, _, fail_trace = read(run_id)
    assert status == "FAILED"
    assert fail_trace == ["the run's process exited with code 1"]


def test_requeue_stale_can_judge_one_run_only(backend):
    """Labwatch retries one dead trial: the other stale runs stay their workers'."""
    claimer, queue, read = backend
    first, second = queue(2)
    claimer.claim("w:1")
    claimer.claim("w:1")
    assert claimer.requeue_stale(0, max_retries=1, only=second) == [(second, "QUEUED")]
    assert read(first)[0] == "RUNNING"
    assert claimer.requeue_stale(0, max_retries=1) == [(first, "QUEUED")]
