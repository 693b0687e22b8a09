"""Everyday polish, server side: bare names in the query box, the keys the store
has (with labels), the records that could not be read."""

from __future__ import annotations

import os

import pytest
from starlette.testclient import TestClient

from sacredboard import create_app


def test_a_bare_name_in_the_query_is_a_config_entry(client):
    answer = client.get("/api/runs", params={"filter": "lr > 0.1 and lr < 1"})
    assert answer.status_code == 200
    assert sorted(r["config"]["lr"] for r in answer.json()["runs"]) == [0.2, 0.3]
    groups = client.get("/api/groups", params={"by": "epochs", "filter": "lr < 1"}).json()
    assert groups["total_runs"] == 4


def test_an_unknown_name_suggests_the_nearest(client):
    answer = client.get("/api/runs", params={"filter": "lrr > 0.1"})
    assert answer.status_code == 400
    assert 'Did you mean "config.lr"?' in answer.json()["error"]


def test_fields_list_the_keys_with_labels(client):
    data = client.get("/api/fields").json()
    by_path = {f["path"]: f for f in data["fields"]}
    lr = by_path["config.lr"]
    assert lr["label"] == "lr" and lr["group"] == "config" and lr["kind"] == "number"
    assert lr["doc"] == "learning rate"  # the config comment
    assert by_path["config.model.hidden"]["label"] == "model.hidden"
    assert by_path["info.my_dict.my_key"]["label"] == ".info.my_dict.my_key"
    assert by_path["host.hostname"]["kind"] == "text"
    assert not any(p.startswith("experiment.sources") for p in by_path)
    assert data["metrics"] == ["accuracy", "loss"]


@pytest.fixture
def file_location(tmp_path) -> str:
    from sacred.observers import FileStorageObserver
    from tests.sacredboard.conftest import fill, make_experiment

    ex = make_experiment(tmp_path)
    location = str(tmp_path / "runs")
    ex.observers.append(FileStorageObserver(location))
    fill(ex)
    return location


def test_damaged_records_are_counted_and_listed(file_location):
    with TestClient(create_app(file_location), base_url="http://127.0.0.1") as client:
        assert client.get("/api/damaged").json() == {"count": 0, "runs": []}
        path = os.path.join(file_location, "2", "run.json")
        with open(path, "w") as handle:
            handle.write('{"status": "COMPL')  # cut off mid-write
        client.app.state.board._damaged = None  # as COUNT_MAX_AGE seconds later
        data = client.get("/api/damaged").json()
        assert data["count"] == 1
        (damaged,) = data["runs"]
        assert str(damaged["id"]) == "2" and damaged["file"].endswith("run.json")
        assert damaged["problem"]
        assert len(client.get("/api/runs").json()["runs"]) == 4  # left out of the table
