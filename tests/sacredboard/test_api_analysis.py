"""/api/groups, /api/groups/metric, /api/points and /api/varying over the board's
test stores (file and SQLite): 4 completed runs (lr 0.1, 0.05, 0.2, 0.3) and one
failed run (lr 5.0)."""

from __future__ import annotations

import json
import math


def test_groups_shape(client):
    answer = client.get("/api/groups", params={"by": "epochs", "metrics": "loss:min,accuracy"})
    assert answer.status_code == 200
    data = answer.json()
    assert data["total_runs"] == 5
    assert [g["key"] for g in data["groups"]] == [{"config.epochs": 10}, {"config.epochs": 20}]
    ten, twenty = data["groups"]
    assert ten["count"] == 1 and twenty["count"] == 4
    assert set(twenty["stats"]) == {"result", "metrics.loss.min", "metrics.accuracy.last"}
    assert set(twenty["stats"]["result"]) == {"mean", "std", "min", "max", "n"}
    assert twenty["stats"]["result"]["n"] == 3  # the failed run has no result
    assert len(twenty["ids_sample"]) == 4


def test_groups_filter_and_sort(client):
    data = client.get(
        "/api/groups",
        params={"by": "model.hidden", "filter": "config.lr < 1", "sort": "-result.mean"},
    ).json()
    means = [g["stats"]["result"]["mean"] for g in data["groups"]]
    assert means == sorted(means, reverse=True) and len(means) == 4


def test_group_metric_band(client):
    key = json.dumps({"config.epochs": 20})
    data = client.get(
        "/api/groups/metric", params={"by": "epochs", "key": key, "name": "loss"}
    ).json()
    assert len(data["runs"]) == 3 and len(data["missing"]) == 1  # the failed run
    assert data["steps"] == list(range(20))
    assert data["n"][0] == 3
    assert all(
        low <= mean <= high for low, mean, high in zip(data["min"], data["mean"], data["max"])
    )


def test_points_and_parallel_coordinates(client):
    data = client.get("/api/points", params={"x": "lr", "y": "result", "color": "epochs"}).json()
    assert sorted(data["x"]) == [0.05, 0.1, 0.2, 0.3]
    assert data["missing"] == 1
    assert sorted(data["color"]) == [10, 20, 20, 20]
    assert all(math.isfinite(y) for y in data["y"])
    axes = client.get("/api/points", params={"paths": "lr,model.hidden,metrics.loss.min"}).json()
    assert axes["paths"] == ["config.lr", "config.model.hidden", "metrics.loss.min"]
    assert axes["kinds"]["config.lr"] == "number"
    assert len(axes["ids"]) == 4 and axes["missing"] == 1  # the failed run logged nothing


def test_varying(client):
    data = client.get("/api/varying").json()
    paths = {k["path"] for k in data["keys"]}
    assert {"config.lr", "config.model.hidden", "config.epochs", "config.seed"} <= paths
    assert "config.model.activation" not in paths


def test_analysis_errors_are_400(client):
    assert "by= is required" in client.get("/api/groups").json()["error"]
    assert client.get("/api/points", params={"x": "lr"}).status_code == 400
    bad_key = client.get("/api/groups/metric", params={"by": "lr", "key": "{", "name": "loss"})
    assert bad_key.status_code == 400
    assert client.get("/api/groups", params={"by": "lr", "filter": "lr <"}).status_code == 400


def test_points_binary_reply_decodes_to_the_json_one(client):
    """The scatter page's typed arrays (?format=binary) hold what API users get as
    JSON: the same runs in the same order, numbers, and colours (numbers, strings)."""
    from sacredboard.pointbytes import decode

    for color in (None, "epochs", "model.activation", "lr"):
        params = {"x": "lr", "y": "result", "filter": "config.lr < 1"}
        if color:
            params["color"] = color
        as_json = client.get("/api/points", params=params).json()
        answer = client.get("/api/points", params={**params, "format": "binary"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/octet-stream"
        assert decode(answer.content) == as_json
        assert len(as_json["ids"]) == 4 and as_json["missing"] == 0
    # Accept: application/octet-stream alone asks for it too; an unknown format is a 400.
    binary = client.get(
        "/api/points",
        params={"x": "lr", "y": "result"},
        headers={"Accept": "application/octet-stream"},
    )
    assert decode(binary.content)["missing"] == 1
    wrong = client.get("/api/points", params={"x": "lr", "y": "result", "format": "xml"})
    assert wrong.status_code == 400
