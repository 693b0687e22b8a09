"""Claim fencing: a run re-queued away from an attempt (its worker looked dead) never
takes a write of that attempt again — heartbeat, metrics, artifacts, its end — on
every backend that claims; the fenced attempt says why in one line and stops; every
attempt stays in ``meta.attempts``."""

from __future__ import annotations

import time

import pytest

from sacred._metrics import MetricsBuffer
from sacred._time import utc_now
from sacred.observers.claiming import CLAIM_TOKEN_ENV

BACKENDS = ["file", "sqlite", "postgresql", "mysql", "mongomock", "tinydb"]
FENCED = "no longer holds this process's claim"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, queue_runs):
    """(claimer, queue() -> run id, make_observer(), read(id) -> record dict)."""
    from sacred.worker.claims import open_claimer

    kind = request.param
    if kind == "mongomock":
        mongomock = pytest.importorskip("mongomock")
        from mongomock.gridfs import enable_gridfs_integration

        from sacred.observers.mongo.observer import MongoObserver

        enable_gridfs_integration()
        client = mongomock.MongoClient()
        claimer = open_claimer("mongomock://sacred", client=client)

        def make_observer():
            return MongoObserver(client=client, db_name="sacred")

        def read(run_id):
            doc = dict(client["sacred"]["runs"].find_one({"_id": run_id}))
            metric = client["sacred"]["metrics"].find_one({"run_id": run_id, "name": "k"})
            doc["k"] = list(metric["steps"]) if metric else []
            doc["artifact_names"] = [a["name"] for a in doc.get("artifacts") or []]
            return doc

        yield (
            claimer,
            lambda: queue_runs({}, 1, observers=(make_observer(),))[0],
            make_observer,
            read,
        )
        return
    if kind == "tinydb":
        pytest.importorskip("tinydb")
        from sacred.observers.tinydb_hashfs.observer import QueueingTinyDbObserver

        location = f"tinydb://{tmp_path / 'runs_db'}"
        # -t refuses to queue runs, as the original does: runs are queued (as Labwatch
        # queues its trials) through the queueing observer
        queuing = QueueingTinyDbObserver(tmp_path / "runs_db")
        flag = {}
    elif kind == "file":
        location = str(tmp_path / "runs")
        flag = {"--file_storage": location}
    elif kind == "sqlite":
        location = f"sqlite:///{tmp_path / 'runs.db'}"
        flag = {"--sql": location}
    else:
        location = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mysql_url")
        flag = {"--sql": location}

    from sacred.observers._registry import backend_for_url
    from sacred.store import open_store

    def make_observer():
        return backend_for_url(location).observer_for(location)

    def read(run_id):
        with open_store(location) as s:
            run = s.get(run_id)
            record = dict(run._record)
            k = run.metrics.raw("k") if "k" in run.metrics else None
            record["k"] = list(k["steps"]) if k else []
            record["artifact_names"] = list(run.artifacts)
            record["captured_out"] = run.captured_out
            return record

    claimer = open_claimer(location)
    if kind == "tinydb":
        yield claimer, lambda: queue_runs({}, 1, observers=(queuing,))[0], make_observer, read
    else:
        yield claimer, lambda: queue_runs(flag, 1)[0], make_observer, read
    claimer.close()


def _batch(*steps: int) -> dict:
    buffer = MetricsBuffer()
    for step in steps:
        buffer.append(("k", float(step), step, int(time.time() * 1000)))
    return buffer.drain()


def _start(make_observer, claimed, monkeypatch, ex_info):
    """What the process a worker starts for ``claimed`` does first: take the record
    over under the claim's token."""
    monkeypatch.setenv(CLAIM_TOKEN_ENV, claimed.token)
    observer = make_observer()
    meta = {k: v for k, v in claimed.meta.items() if k not in ("command", "options")}
    observer.started_event(
        ex_info=ex_info,
        command=claimed.command,
        host_info={},
        start_time=utc_now(),
        config=claimed.config,
        meta_info=meta,
        _id=claimed.run_id,
    )
    return observer


def test_a_requeued_attempt_writes_nothing_more(
    store, monkeypatch, capsys, fresh_experiment, tmp_path
):
    claimer, queue, make_observer, read = store
    ex_info = fresh_experiment().get_experiment_info()
    run_id = queue()
    artifact = tmp_path / "late.txt"
    artifact.write_text("written by the frozen attempt")

    first = claimer.claim("worker-a:1")
    a = _start(make_observer, first, monkeypatch, ex_info)
    a.log_metrics(_batch(0, 1), {})
    a.heartbeat_event(info={}, captured_out="a\n", beat_time=utc_now(), result=None)
    # worker a freezes; its heartbeat goes stale and another worker takes the run
    time.sleep(0.05)
    assert claimer.requeue_stale(0.0, max_retries=5) == [(first.run_id, "QUEUED")]
    second = claimer.claim("worker-b:2")
    assert second.run_id == first.run_id and second.token != first.token
    b = _start(make_observer, second, monkeypatch, ex_info)

    # worker a wakes up: everything it writes now is fenced off
    a.log_metrics(_batch(2, 3), {})
    a.heartbeat_event(info={"by": "a"}, captured_out="a\nlate\n", beat_time=utc_now(), result=1)
    a.artifact_event("late.txt", str(artifact))
    a.completed_event(stop_time=utc_now(), result="from a")
    said = capsys.readouterr().err
    assert said.count(FENCED) == 1, said
    assert f"run {run_id}" in said

    b.log_metrics(_batch(2, 3), {})
    b.heartbeat_event(info={"by": "b"}, captured_out="b\n", beat_time=utc_now(), result=None)
    b.completed_event(stop_time=utc_now(), result="from b")

    record = read(run_id)
    assert record["status"] == "COMPLETED"
    assert record["result"] == "from b"
    assert record["info"] == {"by": "b"}
    assert record["k"] == [0, 1, 2, 3]  # no step twice
    assert "late.txt" not in record["artifact_names"]
    assert "late" not in record["captured_out"]
    attempts = record["meta"]["attempts"]
    assert [x["worker"] for x in attempts] == ["worker-a:1", "worker-b:2"]
    assert attempts[0]["outcome"].startswith("worker lost")
    assert record["meta"]["claim"]["attempt"] == 2


def test_a_released_run_is_not_touched_by_the_attempt_that_lost_it(
    store, monkeypatch, fresh_experiment
):
    """The worker of a fenced attempt ends it with release(): a no-op, as the claim is
    not the run's any more."""
    claimer, queue, make_observer, read = store
    ex_info = fresh_experiment().get_experiment_info()
    run_id = queue()
    first = claimer.claim("worker-a:1")
    _start(make_observer, first, monkeypatch, ex_info)
    time.sleep(0.05)
    claimer.requeue_stale(0.0, max_retries=5)
    second = claimer.claim("worker-b:2")
    assert claimer.release(first, "FAILED", "the run's process exited with code 1") is False
    assert read(run_id)["status"] == "RUNNING"
    assert claimer.release(second, "FAILED", "gone") is True
    assert read(run_id)["status"] == "FAILED"
