"""The TinyDB claimer's own cases (the contract shared with the other stores is in
tests/worker/test_claims.py and test_fencing.py)."""

from __future__ import annotations

import json

import pytest

from sacred._time import utc_now
from sacred.observers.claiming import CLAIM_TOKEN_ENV

pytest.importorskip("tinydb")

from sacred.observers.tinydb_hashfs.claim import TinyDbClaimer  # noqa: E402
from sacred.observers.tinydb_hashfs.observer import (  # noqa: E402
    QueueingTinyDbObserver,
    TinyDbObserver,
)
from sacred.store import open_store  # noqa: E402

EX_INFO = {"name": "tiny", "base_dir": "", "sources": [], "dependencies": [], "mainfile": ""}


def _queue(path) -> str:
    return QueueingTinyDbObserver(path).queued_event(
        ex_info=EX_INFO,
        command="main",
        host_info={},
        queue_time=utc_now(),
        config={"lr": 0.1},
        meta_info={},
        _id=None,
    )


def test_a_store_not_made_yet_has_nothing_to_claim_and_is_not_created(tmp_path):
    claimer = TinyDbClaimer(tmp_path / "runs_db")
    assert claimer.claim("w:1") is None
    assert claimer.requeue_stale(0.0, max_retries=1) == []
    assert not (tmp_path / "runs_db").exists()


def test_a_run_started_from_a_workers_json_meta_keeps_its_queue_time_a_date(tmp_path, monkeypatch):
    """A worker hands the stored meta to its run as JSON (times become text); the
    record the run writes must still read as a sound run."""
    path = tmp_path / "runs_db"
    run_id = _queue(path)
    claimed = TinyDbClaimer(path).claim("w:1")
    assert claimed is not None and claimed.run_id == run_id
    handed = json.loads(json.dumps(claimed.meta, default=str))
    assert isinstance(handed["queue_time"], str)
    monkeypatch.setenv(CLAIM_TOKEN_ENV, claimed.token)
    observer = TinyDbObserver(path)
    observer.started_event(EX_INFO, "main", {}, utc_now(), {"lr": 0.1}, handed, run_id)
    observer.completed_event(utc_now(), 1)

    with open_store(f"tinydb://{path}") as store:
        run = store.get(run_id)  # a damaged record would raise here
        assert run.status == "COMPLETED"
        assert run.meta["claim"]["token"] == claimed.token
        assert run.queue_time is not None and run.queue_time.year >= 2024


def test_a_claimed_record_is_taken_over_only_under_its_token(tmp_path, monkeypatch):
    path = tmp_path / "runs_db"
    run_id = _queue(path)
    claimed = TinyDbClaimer(path).claim("w:1")
    assert claimed is not None
    monkeypatch.setenv(CLAIM_TOKEN_ENV, "not-the-claim")
    from sacred.exceptions import ObserverError

    with pytest.raises(ObserverError, match="already holds a run"):
        TinyDbObserver(path).started_event(EX_INFO, "main", {}, utc_now(), {}, {}, run_id)
