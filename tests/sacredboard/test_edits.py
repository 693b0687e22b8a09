"""Tags, notes and deletion through the API: CSRF header, read-only, running runs."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from sacredboard import create_app

EDIT = {"X-Sacredboard": "1"}


def ids(client) -> list:
    return [r["id"] for r in client.get("/api/runs", params={"sort": "id"}).json()["runs"]]


@pytest.mark.slow
def test_bulk_tags_are_added_and_removed(client):
    first, second = ids(client)[:2]
    body = {"ids": [first, second], "add": ["paper", "best"]}
    response = client.post("/api/edit/tags", json=body, headers=EDIT)
    assert response.json()["tags"] == {
        str(first): ["paper", "best"],
        str(second): ["paper", "best"],
    }
    client.post("/api/edit/tags", json={"ids": [first], "remove": ["best"]}, headers=EDIT)
    rows = client.get("/api/runs", params={"filter": 'tags == "paper"', "sort": "id"}).json()
    assert [(r["id"], r["tags"]) for r in rows["runs"]] == [
        (first, ["paper"]),
        (second, ["paper", "best"]),
    ]


def test_note_is_saved(client):
    run_id = ids(client)[0]
    response = client.put(f"/api/runs/{run_id}/note", json={"note": "baseline"}, headers=EDIT)
    assert response.status_code == 200
    assert client.get(f"/api/runs/{run_id}").json()["note"] == "baseline"


def test_delete_checks_every_id_first(client):
    first, second = ids(client)[:2]
    response = client.post("/api/edit/delete", json={"ids": [first, 999]}, headers=EDIT)
    assert response.status_code == 404 and "999" in response.json()["error"]
    assert len(ids(client)) == 5
    response = client.post("/api/edit/delete", json={"ids": [first, second]}, headers=EDIT)
    assert response.json() == {"deleted": [first, second]}
    assert len(ids(client)) == 3


def test_edits_need_the_csrf_header_and_same_origin(client):
    run_id = ids(client)[0]
    response = client.post("/api/edit/tags", json={"ids": [run_id], "add": ["x"]})
    assert response.status_code == 403
    assert "X-Sacredboard: 1" in response.json()["error"]
    evil = {**EDIT, "Origin": "http://evil.example"}
    response = client.post("/api/edit/delete", json={"ids": [run_id]}, headers=evil)
    assert response.status_code == 403 and "evil.example" in response.json()["error"]
    assert len(ids(client)) == 5


def test_bad_bodies_are_400s(client):
    response = client.post("/api/edit/tags", content=b"not json", headers=EDIT)
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    response = client.post("/api/edit/tags", json={"ids": [], "add": ["x"]}, headers=EDIT)
    assert response.status_code == 400 and "'ids'" in response.json()["error"]


@pytest.mark.slow
def test_read_only_board_refuses_edits(store_location):
    app = create_app(store_location, read_only=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/health").json()["read_only"] is True
        run_id = ids(client)[0]
        response = client.post("/api/edit/delete", json={"ids": [run_id]}, headers=EDIT)
        assert response.status_code == 403 and "read-only" in response.json()["error"]
        assert len(ids(client)) == 5


def test_running_runs_are_not_deleted(tmp_path):
    from sacred.observers import FileStorageObserver
    from tests.sacredboard.conftest import make_experiment

    location = str(tmp_path / "runs")
    ex = make_experiment(tmp_path)
    ex.observers.append(FileStorageObserver(location))
    ex.run(options={"--loglevel": "WARNING"})
    # A run that is still going: recorded as RUNNING with a fresh heartbeat.
    from sacred.store import open_store

    store = open_store(location)
    running_id = store.find()[0].id
    run_json = tmp_path / "runs" / str(running_id) / "run.json"
    run_json.write_text(run_json.read_text().replace('"COMPLETED"', '"RUNNING"'))
    with TestClient(create_app(location), base_url="http://127.0.0.1") as client:
        # Heartbeat is the completion time, recent enough not to read PROBABLY_DEAD.
        assert client.get(f"/api/runs/{running_id}").json()["status"] == "RUNNING"
        response = client.post("/api/edit/delete", json={"ids": [running_id]}, headers=EDIT)
        assert response.status_code == 409
        assert "still running" in response.json()["error"]
        assert client.get(f"/api/runs/{running_id}").status_code == 200


@pytest.mark.parametrize(
    "header, allowed",
    [
        ("Bearer s3cret", True),
        ("Basic " + base64.b64encode(b"anyone:s3cret").decode(), True),  # curl -u anyone:s3cret
        ("Basic " + base64.b64encode(b":s3cret").decode(), True),
        ("Basic " + base64.b64encode(b"s3cret:wrong").decode(), False),
        ("Basic not-base64!", False),
        ("Bearer wrong", False),
        (None, False),
    ],
)
def test_token_guards_the_api(store_location, header, allowed):
    app = create_app(store_location, token="s3cret")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        headers = {"Authorization": header} if header else {}
        response = client.get("/api/runs", headers=headers)
        assert response.status_code == (200 if allowed else 401)
        if not allowed:
            # a browser asks for the token (as the password) instead of showing an error
            assert response.headers["www-authenticate"].startswith('Basic realm="sacredboard"')
