"""The TinyDB store written by this package, compared with sacred 0.8.7's (fixture
``tinydb_store/``): the same metadata.json layout and hashfs, and each store
readable by the other's reader."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import copy_experiment, fixture_path, localized, run_fixture_commands, same

pytest.importorskip("tinydb")
pytest.importorskip("hashfs")

FAIL_LINE = "RuntimeError: deliberate failure for the compat test\n"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    original = fixture_path("tinydb_store")
    directory = copy_experiment(tmp_path_factory.mktemp("compat") / "experiment")
    run_fixture_commands(directory, ["-t", "tinydb_store"])
    return original, directory / "tinydb_store", directory


def documents(store):
    raw = json.loads((store / "metadata.json").read_text())
    return raw, list(raw["runs"].values())


def test_the_runs_table_and_its_documents(stores):
    original, ours, _ = stores
    raw, runs = documents(ours)
    original_raw, original_runs = documents(original)
    assert list(original_raw) == ["runs"]
    assert list(raw) == ["runs", "metrics"]  # documented addition: metrics
    # As the original: queued_event raises for a queued run, which stores nothing.
    assert list(raw["runs"]) == list(original_raw["runs"]) == ["1", "2", "3"]
    assert [r["status"] for r in runs] == ["COMPLETED", "FAILED", "TIMEOUT"]
    for ours_doc, original_doc in zip(runs, original_runs):
        assert list(ours_doc) == list(original_doc)


def test_the_metadata_file_is_encoded_alike(stores):
    original, ours, _ = stores
    text = (ours / "metadata.json").read_text()
    original_text = (original / "metadata.json").read_text()
    assert text.startswith('{"runs": {"1": {"experiment": {"name": "compat_exp", "base_dir": ')
    assert original_text.startswith(
        '{"runs": {"1": {"experiment": {"name": "compat_exp", "base_dir": '
    )
    assert ', "np_array": "{TinyArray}:[0, 1, 2]", "np_float": 1.5' in text
    assert ', "np_array": "{TinyArray}:[0, 1, 2]", "np_float": 1.5' in original_text
    assert '"start_time": "{TinyDate}:' in text


def test_fields_of_the_started_runs(stores):
    original, ours, directory = stores
    _, runs = documents(ours)
    _, original_runs = documents(original)
    for doc, original_doc in zip(runs, original_runs):
        assert doc["format"].startswith("TinyDbObserver-")  # the version differs
        for key in ("command", "result", "artifacts", "resources"):
            assert same(doc[key], localized(original_doc[key], directory)), key
        experiment, original_experiment = doc["experiment"], original_doc["experiment"]
        for key in ("name", "mainfile", "sources", "repositories"):
            assert experiment[key] == original_experiment[key], key
        assert experiment["base_dir"] == str(directory)
        assert same(doc["info"], original_doc["info"])
        config = dict(doc["config"], seed=original_doc["config"]["seed"])
        assert config == original_doc["config"]
        assert len(doc["_id"]) == len(original_doc["_id"]) == 32
    assert runs[1]["fail_trace"][-1] == original_runs[1]["fail_trace"][-1] == FAIL_LINE
    assert runs[0]["status"] == original_runs[0]["status"]
    assert runs[1]["status"] == original_runs[1]["status"]


def test_the_timeout_status(stores):
    original, ours, _ = stores
    assert documents(ours)[1][2]["status"] == documents(original)[1][2]["status"]


def test_meta(stores):
    original, ours, _ = stores
    _, runs = documents(ours)
    _, original_runs = documents(original)
    for doc, original_doc in zip(runs, original_runs):
        assert list(doc["meta"]) == list(original_doc["meta"])
        for key in ("command", "config_updates", "named_configs"):
            assert doc["meta"][key] == original_doc["meta"][key], key


def test_the_same_files_in_the_hashfs(stores):
    original, ours, _ = stores

    def files(store):
        root = store / "hashfs"
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    assert files(ours) == files(original)


def test_each_store_is_read_by_the_readers(stores, tmp_path):
    from sacred.observers import TinyDbReader

    original, ours, _ = stores
    shutil.copytree(original, tmp_path / "original")
    for store, statuses in (
        (tmp_path / "original", ["COMPLETED", "FAILED", "TIMEOUT"]),
        (ours, ["COMPLETED", "FAILED", "TIMEOUT"]),
    ):
        reader = TinyDbReader(store)
        runs = reader.fetch_metadata()
        assert [r["status"] for r in runs][:3] == statuses[:3]
        assert runs[0]["info"]["np_array"].tolist() == [0, 1, 2]
        files = reader.fetch_files(indices=0)[0]
        assert files["artifacts"]["plot.png"].read().startswith(b"\x89PNG")
        assert "Experiment: compat_exp" in reader.fetch_report(indices=0)[0]
