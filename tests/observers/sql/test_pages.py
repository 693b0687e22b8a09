"""Pages the SQL reader reads from indexes (pages.py): sorted by the board's columns
(status, host, experiment, command, times), walked with keyset cursors, they give
the Python reference's order on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime

import pytest

from sacred._time import utc_now
from sacred.observers import SqlObserver
from sacred.store import open_store
from sacred.store.paging import count, find_page, sort_keys
from tests.store.ordering import reference_order, walk_pages

# (experiment, hostname, command, how it ends); "dead": RUNNING, silent for hours
RUNS = [
    ("beta", "node-b", "train", "COMPLETED"),
    ("alpha", "node-a", "train", "FAILED"),
    ("beta", "node-a", "evaluate", "COMPLETED"),
    ("alpha", "Node-c", "train", "dead"),
    ("gamma", "node-b", "train", "RUNNING"),
    ("alpha", "node-a", "evaluate", "INTERRUPTED"),
    ("beta", "node-b", "train", "COMPLETED"),
    ("gamma", "node-a", "evaluate", "FAILED"),
]
SORTS = [
    "status", "-status", "host.hostname", "-host.hostname", "experiment.name",
    "-experiment.name", "command", "-command", "heartbeat", "-heartbeat",
    "stop_time", "-stop_time",
]  # fmt: skip


def _record(url: str) -> None:
    now = utc_now()
    for i, (name, hostname, command, end) in enumerate(RUNS):
        observer = SqlObserver(url)
        started = now - datetime.timedelta(hours=3 if end == "dead" else 0, minutes=60 - i)
        if end == "RUNNING":  # alive: a heartbeat just now
            started = now
        observer.started_event(
            ex_info={"name": name, "base_dir": "/tmp", "sources": [], "dependencies": []},
            command=command,
            host_info={"hostname": hostname},
            start_time=started,
            config={"i": i},
            meta_info={},
            _id=None,
        )
        beat = started + datetime.timedelta(seconds=(i * 7) % 5)  # ties between runs
        observer.heartbeat_event(info={}, captured_out="", beat_time=beat, result=i)
        stopped = started + datetime.timedelta(minutes=(i * 3) % 4)
        if end == "COMPLETED":
            observer.completed_event(stop_time=stopped, result=i)
        elif end == "FAILED":
            observer.failed_event(fail_time=stopped, fail_trace=["boom"])
        elif end == "INTERRUPTED":
            observer.interrupted_event(interrupt_time=stopped, status="INTERRUPTED")


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        url = request.getfixturevalue(
            f"{'postgres' if request.param == 'postgresql' else 'mysql'}_url"
        )
    _record(url)
    with open_store(url) as opened:
        yield opened


@pytest.mark.slow
def test_pages_sorted_by_a_column_follow_the_store_order(store):
    for sort in SORTS:
        expected = reference_order(store, None, sort)
        assert len(expected) == len(RUNS)
        # read by the SQL reader's pages, not by the generic query it falls back to
        assert store.backend.find_sorted(None, sort_keys(sort), 50, store.dead_after) is not None
        for limit in (1, 3):
            assert walk_pages(store, None, sort, limit) == expected, (sort, limit)
        query = 'command == "train" or status == "FAILED"'
        assert walk_pages(store, query, sort, 2) == reference_order(store, query, sort), sort
    assert count(store, 'command == "train" or status == "FAILED"') == 6


def test_the_effective_status_orders_the_pages(store):
    statuses = [run.status for run in find_page(store, sort="status", limit=50).runs]
    assert statuses == sorted(statuses)
    assert "PROBABLY_DEAD" in statuses and "RUNNING" in statuses
    hosts = [run.host["hostname"] for run in find_page(store, sort="-host.hostname").runs]
    assert hosts == ["node-b"] * 3 + ["node-a"] * 4 + ["Node-c"]  # by code point
