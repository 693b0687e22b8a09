"""The MongoDB records written by this package (into mongomock), compared with
sacred 0.8.7's (fixture ``mongo.bson``): runs, metrics and GridFS files."""

from __future__ import annotations

import pytest

from tests.experiment_files import import_experiment

from .conftest import COMMANDS, copy_experiment, fixture_path, localized, same

mongomock = pytest.importorskip("mongomock")
bson = pytest.importorskip("bson")

FAIL_LINE = "RuntimeError: deliberate failure for the compat test\n"


def load_experiment(path):
    return import_experiment(path, "compat")


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    from mongomock.gridfs import enable_gridfs_integration

    from sacred.observers import MongoObserver

    enable_gridfs_integration()
    original: dict[str, list] = {}
    with open(fixture_path("mongo.bson"), "rb") as f:
        for item in bson.decode_file_iter(f):
            original.setdefault(item["coll"], []).append(item["doc"])
    directory = copy_experiment(tmp_path_factory.mktemp("compat") / "experiment")
    client = mongomock.MongoClient()
    for script, *rest in COMMANDS:  # the README's command lines, run in this process
        ex = load_experiment(directory / script)
        ex.observers.append(MongoObserver(client=client))
        try:
            ex.run_commandline([script, *rest])
        except SystemExit as exit:
            assert exit.code == 1  # the failing and the timed-out run
    db = client["sacred"]
    ours = {name: list(db[name].find(sort=[("_id", 1)])) for name in db.list_collection_names()}
    ours["runs"].sort(key=lambda doc: doc["_id"])
    return original, ours, directory


def test_the_same_collections(stores):
    original, ours, _ = stores
    assert sorted(ours) == sorted(original)


def test_the_run_documents_have_the_originals_fields_in_order(stores):
    original, ours, _ = stores
    assert [r["_id"] for r in ours["runs"]] == [r["_id"] for r in original["runs"]]
    for doc, original_doc in zip(ours["runs"], original["runs"]):
        assert list(doc) == list(original_doc)


def _file(ours, file_id):
    return next(f for f in ours["fs.files"] if f["_id"] == file_id)


def test_fields_of_the_started_runs(stores):
    original, ours, directory = stores
    for doc, original_doc in zip(ours["runs"], original["runs"]):
        if original_doc["status"] == "QUEUED":
            continue
        for key in ("format", "command", "result", "resources"):
            assert same(doc[key], localized(original_doc[key], directory)), key
        experiment, original_experiment = doc["experiment"], original_doc["experiment"]
        for key in ("name", "mainfile", "repositories"):
            assert experiment[key] == original_experiment[key], key
        assert experiment["base_dir"] == str(directory)
        assert [s[0] for s in experiment["sources"]] == [
            s[0] for s in original_experiment["sources"]
        ]
        for name, file_id in experiment["sources"]:
            assert _file(ours, file_id)["filename"] == str(directory / name)
        info = {k: v for k, v in doc["info"].items() if k != "metrics"}
        original_info = {k: v for k, v in original_doc["info"].items() if k != "metrics"}
        assert same(info, original_info)
        assert sorted(m["name"] for m in doc["info"].get("metrics", [])) == sorted(
            m["name"] for m in original_doc["info"].get("metrics", [])
        )
        config = dict(doc["config"], seed=original_doc["config"]["seed"])
        assert config == original_doc["config"]
    assert ours["runs"][1]["fail_trace"][-1] == FAIL_LINE
    assert original["runs"][1]["fail_trace"][-1] == FAIL_LINE


def test_artifacts_in_gridfs(stores):
    original, ours, _ = stores
    for doc, original_doc in zip(ours["runs"][:2], original["runs"][:2]):
        assert [a["name"] for a in doc["artifacts"]] == [
            a["name"] for a in original_doc["artifacts"]
        ]
        for artifact, original_artifact in zip(doc["artifacts"], original_doc["artifacts"]):
            stored = _file(ours, artifact["file_id"])
            original_stored = _file(original, original_artifact["file_id"])
            for key in ("filename", "metadata", "contentType", "length"):
                assert stored[key] == original_stored[key], key


def _by_run_and_name(metrics):
    return sorted(metrics, key=lambda m: (m["run_id"], m["name"]))


def test_metrics(stores):
    original, ours, _ = stores
    assert len(ours["metrics"]) == len(original["metrics"])
    pairs = zip(_by_run_and_name(ours["metrics"]), _by_run_and_name(original["metrics"]))
    for metric, original_metric in pairs:
        assert set(metric) == set(original_metric)
        for key in ("run_id", "name", "steps"):
            assert metric[key] == original_metric[key]
        assert same(metric["values"], original_metric["values"])
        assert len(metric["timestamps"]) == len(original_metric["timestamps"])


def test_the_queued_run(stores):
    original, ours, directory = stores
    doc, original_doc = ours["runs"][2], original["runs"][2]
    assert doc["status"] == original_doc["status"] == "QUEUED"
    assert "queue_time" not in doc  # in meta only, as the original
    assert isinstance(doc["meta"]["queue_time"], type(original_doc["meta"]["queue_time"]))
    assert same(dict(doc["config"], seed=0), dict(original_doc["config"], seed=0))


def test_metrics_in_the_order_first_logged(stores):
    original, ours, _ = stores
    assert [(m["run_id"], m["name"]) for m in ours["metrics"]] == [
        (m["run_id"], m["name"]) for m in original["metrics"]
    ]


@pytest.mark.parametrize("index", [0, 1])
def test_status(stores, index):
    original, ours, _ = stores
    assert ours["runs"][index]["status"] == original["runs"][index]["status"]


def test_the_timeout_status(stores):
    original, ours, _ = stores
    assert ours["runs"][3]["status"] == original["runs"][3]["status"]


def test_meta(stores):
    original, ours, _ = stores
    for doc, original_doc in zip(ours["runs"], original["runs"]):
        assert [k for k in doc["meta"] if k != "queue_time"] == [
            k for k in original_doc["meta"] if k != "queue_time"
        ]
        for key in ("command", "config_updates", "named_configs"):
            assert doc["meta"][key] == original_doc["meta"][key], key
