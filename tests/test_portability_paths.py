"""Stores written on Windows read on any platform: records whose paths have
backslashes and drive letters (the original writes ``os.path`` results as they are),
and store locations given the Windows way."""

from __future__ import annotations

import json
import shutil

import pytest

from sacred.store import open_store
from tests.fixtures import SACRED_087

EXPERIMENT = SACRED_087 / "experiment"
BASE = "C:\\Users\\me\\compat"


def _windows_record(record: dict) -> dict:
    """A run.json as sacred 0.8.7 writes it on Windows for the fixture's runs."""
    experiment = record["experiment"]
    experiment["base_dir"] = BASE
    experiment["sources"] = [
        [entry[0].replace("/", "\\"), entry[1].replace("/", "\\")]
        if isinstance(entry, list)
        else entry  # a queued run's {"py/tuple": [name, md5]}: no path
        for entry in experiment["sources"]
    ]
    record["resources"] = [
        [BASE + "\\" + path.rsplit("/", 1)[-1], stored.replace("/", "\\")]
        for path, stored in record.get("resources") or []
    ]
    return record


@pytest.fixture
def windows_store(tmp_path):
    store = tmp_path / "file_store"
    shutil.copytree(SACRED_087 / "file_store", store)
    for run_json in store.glob("*/run.json"):
        record = json.loads(run_json.read_text())
        run_json.write_text(json.dumps(_windows_record(record), indent=2))
    # a source in a sub-directory, as the original names it on Windows
    helper = "_sources\\helper_e4deabeba58d9b413475bb541d310768.py"
    record = json.loads((store / "1" / "run.json").read_text())
    record["experiment"]["sources"].append(["lib\\helper.py", helper])
    (store / "1" / "run.json").write_text(json.dumps(record, indent=2))
    return store


def test_sources_stored_under_backslash_paths_are_read(windows_store):
    with open_store(windows_store) as store:
        run = store.get(1)
        assert run.experiment["base_dir"] == BASE
        assert run.sources["compat_exp.py"].read() == (EXPERIMENT / "compat_exp.py").read_bytes()
        assert run.sources["helper.py"].read() == (EXPERIMENT / "helper.py").read_bytes()
        assert run.sources["lib\\helper.py"].read() == (EXPERIMENT / "helper.py").read_bytes()


def test_resources_with_drive_letters_are_read_from_the_store(windows_store):
    with open_store(windows_store) as store:
        run = store.get(1)
        name = BASE + "\\resource.csv"
        assert list(run.resources) == [name]
        assert run.resources[name].read() == (EXPERIMENT / "resource.csv").read_bytes()


def test_artifacts_and_queries_work_on_a_windows_store(windows_store):
    with open_store(windows_store) as store:
        assert [
            r.id for r in store.find('experiment.base_dir == "C:\\\\Users\\\\me\\\\compat"')
        ] == [
            1,
            2,
            3,
            4,
        ]
        assert store.get(1).artifacts["notes.txt"].read() == (EXPERIMENT / "notes.txt").read_bytes()


def test_a_stored_path_never_leads_out_of_the_store(windows_store):
    record = json.loads((windows_store / "1" / "run.json").read_text())
    record["experiment"]["sources"] = [["evil.py", "..\\..\\outside.py"]]
    (windows_store / "1" / "run.json").write_text(json.dumps(record))
    (windows_store.parent.parent / "outside.py").write_text("secret")
    from sacred.exceptions import StoreError

    with open_store(windows_store) as store:
        with pytest.raises(StoreError, match="outside the store"):
            store.get(1).sources["evil.py"].read()


def test_a_file_url_with_a_drive_letter_names_that_directory(windows_store, tmp_path, monkeypatch):
    # "file:///C:/runs" is C:\\runs on Windows; here "C:" is a directory in the cwd
    drive = tmp_path / "C:"
    drive.mkdir()
    shutil.copytree(windows_store, drive / "runs")
    monkeypatch.chdir(tmp_path)
    for location in ("file:///C:/runs", "file://C:/runs"):
        with open_store(location) as store:
            assert [r.id for r in store.find()] == [1, 2, 3, 4], location
