"""sacred.store.paging walks exactly the order of Store.find, on every SQL dialect
and the file store, including runs without a value for the sort key (queued)."""

from __future__ import annotations

import pytest

from sacred.observers import FileStorageObserver, SqlObserver
from sacred.store import open_store
from sacred.store.paging import count, find_page
from tests.sacredboard.conftest import fill, make_experiment

SORTS = ["start_time", "-start_time", "-heartbeat", "command", "-id", "id", "-config.lr"]


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "file"])
def store(request, tmp_path):
    if request.param != "file":
        location = {
            "sqlite": lambda: f"sqlite:///{tmp_path / 'runs.db'}",
            "postgresql": lambda: request.getfixturevalue("postgres_url"),
            "mysql": lambda: request.getfixturevalue("mysql_url"),
        }[request.param]()
        observer = SqlObserver(location)
    else:
        location = str(tmp_path / "runs")
        observer = FileStorageObserver(location)
    ex = make_experiment(tmp_path)
    ex.observers.append(observer)
    fill(ex)
    quiet = {"--loglevel": "WARNING"}
    ex.run(config_updates={"lr": 0.7}, options={**quiet, "--queue": True})
    ex.run(config_updates={"lr": 0.8}, options={**quiet, "--queue": True})
    with open_store(location) as opened:
        yield opened


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("query", [None, "config.lr < 1"])
def test_pages_follow_the_store_order(store, sort, query):
    expected = [run.id for run in store.find(query, sort=[sort, "id"])]
    walked, cursor = [], None
    for _ in range(20):
        page = find_page(store, query, sort=sort, limit=2, cursor=cursor)
        walked += [run.id for run in page.runs]
        if (cursor := page.next) is None:
            break
    assert walked == expected
    assert count(store, query) == len(expected)
    assert len(expected) == (7 if query is None else 6)
