"""The trash and saved views through the board's API: deletion moves runs to the
trash, which lists and restores them; views are saved in the store for every board
on it; read-only boards and foreign origins change nothing."""

from __future__ import annotations

from starlette.testclient import TestClient

from sacredboard import create_app

EDIT = {"X-Sacredboard": "1"}


def ids(client, **params) -> list:
    return [
        r["id"] for r in client.get("/api/runs", params={"sort": "id", **params}).json()["runs"]
    ]


def test_deleted_runs_go_to_the_trash_and_come_back(client):
    first, second, *_ = ids(client)
    assert client.get("/api/trash").json() == {"runs": [], "read_only": False}
    response = client.post("/api/edit/delete", json={"ids": [first, second]}, headers=EDIT)
    assert response.json() == {"deleted": [first, second]}
    assert first not in ids(client) and client.get("/api/count").json()["total"] == 3
    assert client.get(f"/api/runs/{first}").status_code == 404
    trash = client.get("/api/trash").json()["runs"]
    assert [(t["id"], t["experiment"]) for t in trash] == [
        (second, "board_demo"),
        (first, "board_demo"),
    ]
    assert trash[0]["trashed_at"] >= trash[1]["trashed_at"]

    response = client.post("/api/edit/restore", json={"ids": [first, 999]}, headers=EDIT)
    assert response.status_code == 404 and "999" in response.json()["error"]
    assert len(client.get("/api/trash").json()["runs"]) == 2  # nothing restored
    response = client.post("/api/edit/restore", json={"ids": [first]}, headers=EDIT)
    assert response.json() == {"restored": [first]}
    assert first in ids(client) and second not in ids(client)
    assert client.get(f"/api/runs/{first}/metrics/loss").status_code == 200


def test_restore_needs_the_csrf_header_and_same_origin(client):
    run_id = ids(client)[0]
    client.post("/api/edit/delete", json={"ids": [run_id]}, headers=EDIT)
    response = client.post("/api/edit/restore", json={"ids": [run_id]})
    assert response.status_code == 403
    evil = {**EDIT, "Origin": "http://evil.example"}
    response = client.post("/api/edit/restore", json={"ids": [run_id]}, headers=evil)
    assert response.status_code == 403 and "evil.example" in response.json()["error"]
    assert run_id not in ids(client)


def test_views_are_saved_for_every_board_on_the_store(client, store_location):
    state = {"path": "/", "params": {"q": "config.lr > 0.1", "sort": "-result"}}
    assert client.get("/api/views").json() == {"views": {}, "read_only": False}
    response = client.put("/api/views/good lr", json={"state": state}, headers=EDIT)
    assert response.status_code == 200 and response.json()["name"] == "good lr"
    with TestClient(create_app(store_location), base_url="http://127.0.0.1") as other:
        assert other.get("/api/views").json()["views"] == {"good lr": state}
    response = client.put("/api/views/a%2Fb", json={"state": state}, headers=EDIT)
    assert response.status_code == 400 and "character" in response.json()["error"]
    response = client.put("/api/views/big", json={"state": {"q": "x" * 20000}}, headers=EDIT)
    assert response.status_code == 400 and "at most" in response.json()["error"]
    response = client.put("/api/views/x", json={"params": {}}, headers=EDIT)
    assert response.status_code == 400 and '{"state"' in response.json()["error"]
    evil = {**EDIT, "Origin": "http://evil.example"}
    assert client.delete("/api/views/good lr", headers=evil).status_code == 403
    assert client.delete("/api/views/good lr", headers=EDIT).json() == {"deleted": "good lr"}
    assert client.get("/api/views").json()["views"] == {}
    assert client.delete("/api/views/good lr", headers=EDIT).status_code == 404


def test_a_read_only_board_lists_the_trash_and_views_but_changes_nothing(store_location):
    with TestClient(create_app(store_location), base_url="http://127.0.0.1") as client:
        run_id = ids(client)[0]
        client.post("/api/edit/delete", json={"ids": [run_id]}, headers=EDIT)
        client.put("/api/views/mine", json={"state": {"params": {}}}, headers=EDIT)
    app = create_app(store_location, read_only=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        trash = client.get("/api/trash").json()
        assert trash["read_only"] is True and [t["id"] for t in trash["runs"]] == [run_id]
        response = client.post("/api/edit/restore", json={"ids": [run_id]}, headers=EDIT)
        assert response.status_code == 403 and "read-only" in response.json()["error"]
        assert client.get("/api/views").json() == {
            "views": {"mine": {"params": {}}},
            "read_only": True,
        }
        response = client.put("/api/views/other", json={"state": {}}, headers=EDIT)
        assert response.status_code == 403
        assert response.json()["error"] == (
            "This board is read-only (started with --read-only): views cannot be saved or deleted."
        )
        assert client.delete("/api/views/mine", headers=EDIT).status_code == 403
        assert run_id not in ids(client)
