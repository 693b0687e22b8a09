"""The board's structure as a client sees it: one column specification, and one
status code per error type."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sacred.store.base import DamagedRunError, MissingExtraError
from sacredboard import create_app
from sacredboard.columns import COLUMNS


@pytest.fixture
def sqlite_client(sqlite_location):
    with TestClient(create_app(sqlite_location), base_url="http://127.0.0.1") as client:
        yield client


def test_the_table_columns_are_served_and_are_the_rows_fields(sqlite_client):
    spec = sqlite_client.get("/api/columns").json()["columns"]
    assert [c["field"] for c in spec] == [
        "id",
        "experiment",
        "command",
        "start_time",
        "heartbeat",
        "host",
        "result",
        "status",
    ]
    assert spec[1] == {"field": "experiment", "label": "Experiment", "sort": "experiment.name"}
    row = sqlite_client.get("/api/runs").json()["runs"][0]
    assert all(c["field"] in row for c in spec)
    # every sort key is one the API accepts
    for column in spec:
        assert sqlite_client.get("/api/runs", params={"sort": column["sort"]}).status_code == 200
    assert len(COLUMNS) == len(spec)


@pytest.mark.parametrize(
    "raised, status, fragment",
    [
        (MissingExtraError("x needs pandas: pip install 'sacred[store]'"), 501, "pip install"),
        (DamagedRunError("run 3: run.json: not JSON", run_id=3), 422, "not JSON"),
    ],
)
def test_each_error_type_has_its_status(sqlite_client, monkeypatch, raised, status, fragment):
    store = sqlite_client.app.state.board.store

    def fail(run_id):
        raise raised

    monkeypatch.setattr(store, "get", fail)
    answer = sqlite_client.get("/api/runs/1")
    assert answer.status_code == status
    assert fragment in answer.json()["error"]


def test_unknown_run_is_404_and_bad_query_400(sqlite_client):
    assert sqlite_client.get("/api/runs/999").status_code == 404
    assert "No run with id" in sqlite_client.get("/api/runs/999").json()["error"]
    assert sqlite_client.get("/api/runs", params={"filter": "config.lr <"}).status_code == 400
    assert sqlite_client.get("/api/nothing").status_code == 404
