"""The API's answers over the other stores: PostgreSQL, MariaDB, mongomock, TinyDB.

The tests of test_api.py that need only a client run here again, over stores
filled by the same real runs through each backend's observer (the SQL servers'
fixtures skip when the server is down, and fail under CI=true).
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sacredboard import create_app
from tests.sacredboard.conftest import fill, make_experiment
from tests.sacredboard.test_api import (  # noqa: F401 - collected here with this client
    test_artifacts_are_served_with_their_type,
    test_count_and_pages_without_total,
    test_export_the_current_view_as_csv_and_json,
    test_filter_by_captured_output,
    test_filter_uses_the_query_language,
    test_keyset_pages_walk_the_whole_sorted_list,
    test_metric_names_and_points,
    test_metric_summary_columns,
    test_overlay_of_several_runs,
    test_paging_with_a_filter_and_a_bad_cursor,
    test_run_detail_is_the_whole_record,
    test_runs_lists_every_run_newest_first,
    test_sort_orders_rows_on_the_server,
)
from tests.sacredboard.test_edits import (  # noqa: F401
    test_bulk_tags_are_added_and_removed,
    test_delete_checks_every_id_first,
)


def _observer(kind: str, tmp_path, request):
    """(observer, store) for a kind of backend."""
    from sacred.store import open_store

    if kind == "mongomock":
        mongomock = pytest.importorskip("mongomock")
        from mongomock.gridfs import enable_gridfs_integration

        from sacred.observers import MongoObserver

        enable_gridfs_integration()
        client = mongomock.MongoClient()
        observer = MongoObserver(client=client, db_name="sacred")
        return observer, lambda: open_store("mongomock://sacred", client=client)
    if kind == "tinydb":
        pytest.importorskip("tinydb")
        from sacred.observers import TinyDbObserver

        location = str(tmp_path / "runs_db")
        return TinyDbObserver(location), lambda: open_store(location)
    from sacred.observers import SqlObserver

    url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mysql_url")
    return SqlObserver(url), lambda: open_store(url)


# The servers fill a fresh database per test: the whole suite only (tests/store
# checks sacred.store itself on them in the fast tier too).
SERVER_SLOW = pytest.mark.slow


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=SERVER_SLOW),
        pytest.param("mysql", marks=SERVER_SLOW),
        "mongomock",
    ]
)
def client(request, tmp_path):
    observer, opener = _observer(request.param, tmp_path, request)
    ex = make_experiment(tmp_path)
    ex.observers.append(observer)
    fill(ex)
    store = opener()
    with TestClient(create_app(store), base_url="http://127.0.0.1") as test_client:
        yield test_client
    store.close()


def test_tinydb_store_pages_and_plots(tmp_path, request):
    """TinyDB ids are random hex strings, so the order of creation is not the id's."""
    observer, opener = _observer("tinydb", tmp_path, request)
    ex = make_experiment(tmp_path)
    ex.observers.append(observer)
    fill(ex)
    with TestClient(create_app(opener()), base_url="http://127.0.0.1") as client:
        assert client.get("/api/health").json()["store"] == "tinydb"
        seen, cursor = [], None
        for _ in range(5):
            params = {"sort": "-config.lr", "limit": 2, **({"cursor": cursor} if cursor else {})}
            body = client.get("/api/runs", params=params).json()
            seen += [r["config"]["lr"] for r in body["runs"]]
            if not (cursor := body["next"]):
                break
        assert seen == [5.0, 0.3, 0.2, 0.1, 0.05]
        run = client.get("/api/runs", params={"filter": "config.lr == 0.1"}).json()["runs"][0]
        data = client.get(f"/api/runs/{run['id']}/metrics/loss").json()
        assert data["steps"] == list(range(20))
        image = client.get(f"/api/runs/{run['id']}/artifacts/plot.png")
        assert image.headers["content-type"] == "image/png"
