"""The JSON API over stores written by real runs (file store and SQLite)."""

from __future__ import annotations

import pytest

from tests.sacredboard.conftest import PNG


def test_health_names_the_kind_of_store(client, store_location):
    body = client.get("/api/health").json()
    assert body["ok"] is True
    assert body["store"] == ("sql" if store_location.startswith("sqlite") else "file")


def test_runs_lists_every_run_newest_first(client):
    body = client.get("/api/runs").json()
    assert body["total"] == 5
    assert body["next"] is None
    rows = body["runs"]
    assert [r["status"] for r in rows] == ["FAILED"] + ["COMPLETED"] * 4
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids, reverse=True)
    first = rows[-1]
    assert first["experiment"] == "board_demo"
    assert first["command"] == "train"
    assert first["config"]["model"]["hidden"] == 8
    assert first["host"]
    assert first["start_time"].endswith("+00:00")
    assert isinstance(first["result"], float)


@pytest.mark.slow
def test_filter_uses_the_query_language(client):
    body = client.get("/api/runs", params={"filter": "config.model.hidden >= 32"}).json()
    assert body["total"] == 2
    assert sorted(r["config"]["model"]["hidden"] for r in body["runs"]) == [32, 64]


def test_a_bad_filter_is_a_400_with_the_query_error(client):
    response = client.get("/api/runs", params={"filter": "config.lr >="})
    assert response.status_code == 400
    assert "Expected a value" in response.json()["error"]
    response = client.get("/api/runs", params={"filter": "confg.lr == 1"})
    assert response.status_code == 400
    assert 'Did you mean "config"' in response.json()["error"]


@pytest.mark.parametrize(
    "sort",
    [
        "config.lr",
        "-config.lr",
        "result",
        "-result",
        "start_time",
        "-heartbeat",
        "status",
        "config.model.hidden,-id",
        "-experiment.name",
        "host.hostname",
        "metrics.loss.min",
        "-metrics.accuracy.last",
    ],
)
def test_keyset_pages_walk_the_whole_sorted_list(client, sort):
    everything = client.get("/api/runs", params={"sort": sort, "limit": 100}).json()["runs"]
    seen, cursor = [], None
    for _ in range(10):
        params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/runs", params=params).json()
        assert len(body["runs"]) <= 2
        seen.extend(r["id"] for r in body["runs"])
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in everything]
    assert len(seen) == 5


def test_sort_orders_rows_on_the_server(client):
    rows = client.get("/api/runs", params={"sort": "-config.lr"}).json()["runs"]
    assert [r["config"]["lr"] for r in rows] == [5.0, 0.3, 0.2, 0.1, 0.05]


def test_paging_with_a_filter_and_a_bad_cursor(client):
    params = {"filter": 'status == "COMPLETED"', "sort": "result", "limit": 3}
    body = client.get("/api/runs", params=params).json()
    assert body["total"] == 4 and len(body["runs"]) == 3 and body["next"]
    rest = client.get("/api/runs", params={**params, "cursor": body["next"]}).json()
    assert len(rest["runs"]) == 1 and rest["next"] is None
    results = [r["result"] for r in body["runs"] + rest["runs"]]
    assert results == sorted(results)
    bad = client.get("/api/runs", params={**params, "cursor": "nonsense"})
    assert bad.status_code == 400
    assert "Invalid cursor" in bad.json()["error"]


def test_limit_must_be_sensible(client):
    response = client.get("/api/runs", params={"limit": "0"})
    assert response.status_code == 400
    assert "limit must be between 1 and 1000" in response.json()["error"]


def test_run_detail_is_the_whole_record(client):
    run_id = client.get("/api/runs", params={"filter": 'status == "FAILED"'}).json()["runs"][0][
        "id"
    ]
    record = client.get(f"/api/runs/{run_id}").json()
    assert record["status"] == "FAILED"
    assert "ValueError: diverged with lr=5.0" in "".join(record["fail_trace"])
    ok = client.get("/api/runs", params={"sort": "id", "limit": 1}).json()["runs"][0]["id"]
    record = client.get(f"/api/runs/{ok}").json()
    assert "trained with lr=0.1" in record["captured_out"]
    assert record["info"]["my_dict"]["my_key"] == 16
    assert sorted(record["metrics"]) == ["accuracy", "loss"]
    assert sorted(record["artifacts"]) == ["notes.txt", "plot.png"]
    assert record["experiment"]["name"] == "board_demo"
    assert record["host"]["hostname"]


def test_config_comments_come_from_the_stored_sources(client):
    docs = client.get("/api/runs/1/config_docs").json()
    assert docs == {"lr": "learning rate", "epochs": "how many passes over the data"}
    assert client.get("/api/runs/999/config_docs").status_code == 404


def test_missing_run_is_a_404_naming_it(client):
    response = client.get("/api/runs/999")
    assert response.status_code == 404
    assert "999" in response.json()["error"]


def test_metric_names_and_points(client):
    run_id = client.get("/api/runs", params={"sort": "id", "limit": 1}).json()["runs"][0]["id"]
    assert sorted(client.get(f"/api/runs/{run_id}/metrics").json()) == ["accuracy", "loss"]
    data = client.get(f"/api/runs/{run_id}/metrics/loss").json()
    assert data["steps"] == list(range(20))
    assert data["values"][0] == pytest.approx(1.05)
    assert len(data["timestamps"]) == 20 and data["timestamps"][0] > 1.6e9
    assert data["downsampled"] is False
    window = client.get(f"/api/runs/{run_id}/metrics/loss", params={"min_step": 5, "max_step": 9})
    # One point beyond each edge so the zoomed line reaches the borders.
    assert window.json()["steps"] == [4, 5, 6, 7, 8, 9, 10]
    few = client.get(f"/api/runs/{run_id}/metrics/loss", params={"max_points": 6}).json()
    assert len(few["steps"]) <= 6 and few["downsampled"] is True
    assert few["steps"][0] == 0 and few["steps"][-1] == 19
    missing = client.get(f"/api/runs/{run_id}/metrics/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


def test_overlay_of_several_runs(client):
    ids = [r["id"] for r in client.get("/api/runs", params={"sort": "id"}).json()["runs"]]
    body = client.get("/api/metrics/loss", params={"runs": ",".join(map(str, ids))}).json()
    assert sorted(body["runs"]) == sorted(str(i) for i in ids[:4])
    assert body["missing"] == [str(ids[4])]  # the failed run logged nothing
    assert len(body["runs"][str(ids[3])]["steps"]) == 10


@pytest.mark.slow
def test_artifacts_are_served_with_their_type(client):
    run_id = client.get("/api/runs", params={"sort": "id", "limit": 1}).json()["runs"][0]["id"]
    image = client.get(f"/api/runs/{run_id}/artifacts/plot.png")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content == PNG
    text = client.get(f"/api/runs/{run_id}/artifacts/notes.txt", params={"download": 1})
    assert text.text == "hidden=8\n"
    assert text.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    assert "sandbox" in text.headers["content-security-policy"]
    missing = client.get(f"/api/runs/{run_id}/artifacts/other.bin")
    assert missing.status_code == 404
    assert "plot.png" in missing.json()["error"]


def test_changes_token_moves_when_a_run_is_added(client, store_location, tmp_path):
    from sacred.observers import FileStorageObserver, SqlObserver
    from tests.sacredboard.conftest import make_experiment

    first = client.get("/api/changes").json()
    assert client.get("/api/changes", params={"since": first["token"]}).json()["changed"] is False
    ex = make_experiment(tmp_path)
    if store_location.startswith("sqlite"):
        ex.observers.append(SqlObserver(store_location))
    else:
        ex.observers.append(FileStorageObserver(store_location))
    ex.run(options={"--loglevel": "WARNING"})
    client.app.state.board._token = None  # skip the 0.3 s cache instead of waiting
    after = client.get("/api/changes", params={"since": first["token"]}).json()
    assert after["changed"] is True
    assert client.get("/api/runs").json()["total"] == 6


def test_unknown_endpoint_is_a_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert "docs/sacredboard.md" in response.json()["error"]


def test_index_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "<title>Sacredboard</title>" in page.text
    assert client.get("/run/1").status_code == 200


def test_metric_summary_columns(client):
    rows = client.get("/api/runs", params={"sort": "id", "metrics": "loss,nope"}).json()["runs"]
    first = rows[0]["metrics"]
    assert list(first) == ["loss"]
    assert first["loss"]["points"] == 20
    assert first["loss"]["min"] <= first["loss"]["last"] <= first["loss"]["max"]
    assert rows[4]["metrics"] == {}  # the failed run logged nothing


def test_rows_sort_by_a_metric_summary(client):
    params = {"sort": "-metrics.loss.min", "metrics": "loss"}
    rows = client.get("/api/runs", params=params).json()["runs"]
    assert [row["id"] for row in rows] == [2, 1, 4, 3, 5]  # the failed run has no loss
    mins = [row["metrics"]["loss"]["min"] for row in rows[:4]]
    assert mins == sorted(mins, reverse=True)
    response = client.get("/api/runs", params={"sort": "metrics.loss"})
    assert response.status_code == 400
    assert "write metrics.<name>.last, .min or .max" in response.json()["error"]
    found = client.get("/api/runs", params={"filter": "metrics.loss.min < 0.1"}).json()
    assert sorted(row["id"] for row in found["runs"]) == [3, 4] and found["total"] == 2


def test_path_columns_carry_any_record_value(client):
    params = {"sort": "id", "columns": "config.model.hidden,info.my_dict.my_key,host.hostname"}
    rows = client.get("/api/runs", params=params).json()["runs"]
    assert [r["columns"]["config.model.hidden"] for r in rows] == [8, 16, 32, 64, 8]
    # The failed run stopped before recording info: no value, not an error.
    assert [r["columns"]["info.my_dict.my_key"] for r in rows] == [16, 32, 64, 128, None]
    assert rows[0]["columns"]["host.hostname"] == rows[0]["host"]
    rows = client.get("/api/runs", params={"sort": "id", "columns": "id"}).json()["runs"]
    assert [r["columns"]["id"] for r in rows] == [r["id"] for r in rows]
    # A column is sortable like any path.
    params["sort"] = "-config.model.hidden"
    rows = client.get("/api/runs", params=params).json()["runs"]
    assert [r["id"] for r in rows] == [4, 3, 2, 1, 5]


def test_a_bad_column_is_a_400_naming_it(client):
    response = client.get("/api/runs", params={"columns": "confg.lr"})
    assert response.status_code == 400
    assert "confg.lr" in response.json()["error"] and "config" in response.json()["error"]
    response = client.get("/api/runs", params={"columns": "-config.lr"})
    assert response.status_code == 400 and "-config.lr" in response.json()["error"]


def test_export_the_current_view_as_csv_and_json(client):
    import csv
    import io

    params = {"filter": "config.lr < 1", "sort": "config.lr", "format": "csv"}
    response = client.get("/api/export", params=params)
    assert response.headers["content-disposition"] == 'attachment; filename="runs.csv"'
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["config.lr"] for row in table] == ["0.05", "0.1", "0.2", "0.3"]
    assert table[0]["status"] == "COMPLETED" and table[0]["config.model.hidden"] == "16"
    rows = client.get("/api/export", params={**params, "format": "json"}).json()
    assert [r["config"]["lr"] for r in rows] == [0.05, 0.1, 0.2, 0.3]
    assert client.get("/api/export", params={"format": "xml"}).status_code == 400


def test_export_has_the_views_path_and_metric_columns(client):
    import csv
    import io

    params = {"sort": "id", "format": "csv", "columns": "info.my_dict.my_key", "metrics": "loss"}
    table = list(csv.DictReader(io.StringIO(client.get("/api/export", params=params).text)))
    assert [row["info.my_dict.my_key"] for row in table] == ["16", "32", "64", "128", ""]
    assert float(table[0]["loss (min)"]) <= float(table[0]["loss (last)"])
    assert float(table[0]["loss (last)"]) <= float(table[0]["loss (max)"])
    assert table[4]["loss (last)"] == ""  # the failed run logged nothing
    rows = client.get("/api/export", params={**params, "format": "json"}).json()
    assert rows[1]["columns"] == {"info.my_dict.my_key": 32}
    assert rows[1]["metrics"]["loss"]["points"] == 20


@pytest.mark.slow
def test_count_and_pages_without_total(client):
    assert client.get("/api/count").json() == {"total": 5}
    assert client.get("/api/count", params={"filter": "config.lr < 0.15"}).json() == {"total": 2}
    body = client.get("/api/runs", params={"total": 0, "limit": 2}).json()
    assert body["total"] is None and len(body["runs"]) == 2 and body["next"]
    bad = client.get("/api/count", params={"filter": "config.lr <"})
    assert bad.status_code == 400


def test_keys_for_autocompletion(client):
    keys = client.get("/api/keys", params={"prefix": "config"}).json()
    assert {"config.lr", "config.epochs", "config.model.hidden", "config.seed"} <= set(keys)
    assert "config.model" not in keys  # only leaves
    info = client.get("/api/keys", params={"prefix": "info"}).json()
    assert info == ["info.my_dict.my_key"]
    assert client.get("/api/keys", params={"prefix": "nope"}).status_code == 400


def test_tensorboard_logdirs_are_in_the_row(tmp_path):
    from starlette.testclient import TestClient

    from sacred import Experiment
    from sacred.observers import FileStorageObserver
    from sacredboard import create_app

    ex = Experiment("tf", save_git_info=False)

    @ex.main
    def main(_run):
        _run.info["tensorflow"] = {"logdirs": ["/tmp/logs/a", "/tmp/logs/b"]}

    ex.observers.append(FileStorageObserver(str(tmp_path / "runs")))
    ex.run(options={"--loglevel": "WARNING"})
    with TestClient(create_app(str(tmp_path / "runs")), base_url="http://127.0.0.1") as client:
        row = client.get("/api/runs").json()["runs"][0]
        assert row["tensorboard"] == ["/tmp/logs/a", "/tmp/logs/b"]


def test_filter_by_captured_output(client):
    params = {"output": r"lr=0\.[12]\b", "sort": "config.lr"}
    body = client.get("/api/runs", params=params).json()
    assert [r["config"]["lr"] for r in body["runs"]] == [0.1, 0.2]
    assert body["total"] == 2
    both = {**params, "filter": "config.lr > 0.15"}
    assert [r["config"]["lr"] for r in client.get("/api/runs", params=both).json()["runs"]] == [0.2]
    negated = client.get("/api/runs", params={**params, "output_not": "1"}).json()
    assert negated["total"] == 3  # the failed run printed nothing
    first = client.get("/api/runs", params={**params, "limit": 1}).json()
    assert len(first["runs"]) == 1 and first["next"]
    rest = client.get("/api/runs", params={**params, "limit": 1, "cursor": first["next"]}).json()
    assert [r["config"]["lr"] for r in rest["runs"]] == [0.2]
    assert client.get("/api/count", params={"output": "trained"}).json() == {"total": 4}
    bad = client.get("/api/runs", params={"output": "("})
    assert bad.status_code == 400 and "captured_out" in bad.json()["error"]


def test_the_count_follows_new_runs_and_edits(tmp_path):
    """The board remembers a count while the store is unchanged, never past a change."""
    from starlette.testclient import TestClient

    from sacred.observers import SqlObserver
    from sacredboard import create_app
    from tests.sacredboard.conftest import make_experiment

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    ex = make_experiment(tmp_path)
    ex.observers.append(SqlObserver(url))
    quiet = {"--loglevel": "WARNING"}
    ex.run(config_updates={"lr": 0.2}, options=quiet)
    client = TestClient(create_app(url), base_url="http://127.0.0.1")
    query = {"filter": "config.lr >= 0.2"}
    assert client.get("/api/count", params=query).json() == {"total": 1}
    assert client.get("/api/count", params=query).json() == {"total": 1}
    ex.run(config_updates={"lr": 0.3}, options=quiet)
    assert client.get("/api/count", params=query).json() == {"total": 2}
    assert client.get("/api/runs", params=query).json()["total"] == 2
    ids = [row["id"] for row in client.get("/api/runs").json()["runs"]]
    deleted = client.post("/api/edit/delete", json={"ids": ids[:1]}, headers={"X-Sacredboard": "1"})
    assert deleted.status_code == 200
    assert client.get("/api/count", params=query).json() == {"total": 1}
