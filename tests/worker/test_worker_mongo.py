"""Workers on MongoDB (mongomock, in-process: workers are threads here)."""

from __future__ import annotations

import threading

import pytest

mongomock = pytest.importorskip("mongomock")
pytest.importorskip("gridfs")

from mongomock.gridfs import enable_gridfs_integration  # noqa: E402

from sacred.observers.mongo.claim import MongoClaimer  # noqa: E402
from sacred.observers.mongo.observer import MongoObserver  # noqa: E402
from sacred.worker.loop import Worker  # noqa: E402


class _SerialClaims:
    """mongomock, unlike a MongoDB server, does not apply find_one_and_update
    atomically across threads: the claims are serialized here instead."""

    def __init__(self, claimer: MongoClaimer) -> None:
        self._claimer = claimer
        self._lock = threading.Lock()

    def __getattr__(self, name):
        method = getattr(self._claimer, name)

        def locked(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return locked


def test_threads_claim_each_queued_run_once_and_requeue_a_lost_one(
    fresh_experiment, queue_runs, tmp_path
):
    enable_gridfs_integration()
    client = mongomock.MongoClient()
    db = client["sacred"]
    observer = MongoObserver(client=client, db_name="sacred")
    ids = queue_runs({}, 12, observers=(observer,))
    claimer = _SerialClaims(MongoClaimer("mongomock://sacred", client=client))

    # A worker that claims run 1 and dies before starting it.
    lost = claimer.claim("gone:1")
    assert lost.run_id == ids[0]

    sources_seen = []

    def execute(run, env):
        sources_seen.append(sorted(claimer.sources(run)))
        ex = fresh_experiment()
        ex.observers.append(
            MongoObserver.create_from(
                db["runs"], observer.fs, overwrite=run.run_id, metrics_collection=db["metrics"]
            )
        )
        kept = {k: v for k, v in run.meta.items() if k not in ("command", "options")}
        ex.run(
            run.command,
            config_updates=run.config,
            meta_info=kept,
            options={"--id": run.run_id, "--capture": "no"},
        )
        return 0

    workers = [
        Worker(
            claimer,
            idle_exit=4,
            stale_after=1.5,
            poll_interval=0.1,
            executor=execute,
            log=lambda text: None,
            name=f"thread:{i}",
        )
        for i in range(4)
    ]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sources_seen == [["exp_worker.py"]] * 12  # stored in GridFS, read back
    runs = list(db["runs"].find())
    assert sorted(r["status"] for r in runs) == ["COMPLETED"] * 12
    assert sorted(r["result"][0] for r in runs) == list(range(12))
    done = sorted(int(x) for x in (tmp_path / "markers" / "done.log").read_text().split())
    assert done == list(range(12))
    first = db["runs"].find_one({"_id": ids[0]})
    assert [a["worker"] for a in first["meta"]["attempts"]][0] == "gone:1"
    assert "worker lost" in first["meta"]["attempts"][0]["outcome"]
    assert len(first["meta"]["attempts"]) == 2
