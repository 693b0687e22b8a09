"""Nothing is read or written outside the file store's directory, whatever a
``run.json`` names and whatever links lie in the store."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import pytest

from sacred import Experiment
from sacred.exceptions import StoreError
from sacred.observers import FileStorageObserver
from sacred.store import DamagedRunWarning, open_store
from sacred.store.cli import main


@pytest.fixture
def basedir(tmp_path) -> str:
    path = str(tmp_path / "runs")
    ex = Experiment("escape", save_git_info=False)
    artifact = tmp_path / "ok.txt"
    artifact.write_text("fine")
    resource = tmp_path / "data.csv"
    resource.write_text("a,b")

    @ex.main
    def run(_run):
        _run.add_artifact(str(artifact), name="sub/ok.txt")
        _run.add_artifact(str(artifact))
        ex.open_resource(str(resource)).close()
        return 1

    ex.observers.append(FileStorageObserver(path))
    for _ in range(3):
        ex.run(options={"--loglevel": "ERROR"})
    return path


@pytest.fixture
def secret(tmp_path) -> str:
    path = tmp_path / "secret.txt"
    path.write_text("do not read me")
    return str(path)


def _edit(basedir: str, run: str, **changes) -> None:
    path = os.path.join(basedir, run, "run.json")
    with open(path) as f:
        entry = json.load(f)
    entry.update(changes)
    with open(path, "w") as f:
        json.dump(entry, f)


def _listed(store) -> tuple[list, list]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = [r.id for r in store.find(sort="id")]
    return ids, [w.message for w in caught if issubclass(w.category, DamagedRunWarning)]


def test_artifacts_in_sub_directories_are_read_back(basedir):
    run = open_store(basedir).get(1)
    assert sorted(run.artifacts) == ["ok.txt", "sub/ok.txt"]
    assert run.artifacts["sub/ok.txt"].read() == b"fine"
    assert run.resources[next(iter(run.resources))].read() == b"a,b"


@pytest.mark.parametrize("stored", ["/etc/passwd", "../../../etc/hostname", "SECRET"])
def test_sources_named_outside_the_store_are_refused(basedir, secret, stored):
    stored = os.path.relpath(secret, basedir) if stored == "SECRET" else stored
    _edit(basedir, "1", experiment={"name": "escape", "sources": [["exp.py", stored]]})
    run = open_store(basedir).get(1)
    assert list(run.sources) == ["exp.py"]
    with pytest.raises(StoreError, match=r"Run 1 .*'exp.py' is stored at .*outside the store"):
        run.sources["exp.py"].read()


@pytest.mark.parametrize("stored", ["/etc/passwd", "../../../etc/hostname", "SECRET"])
def test_resources_named_outside_the_store_are_refused(basedir, secret, stored):
    stored = os.path.relpath(secret, basedir) if stored == "SECRET" else stored
    _edit(basedir, "1", resources=[["/data/x.csv", stored]])
    run = open_store(basedir).get(1)
    with pytest.raises(StoreError, match=r"Run 1 .*resource '/data/x.csv' .*outside the store"):
        run.resources["/data/x.csv"].read()


def test_artifact_names_and_links_leading_outside_are_refused(basedir, secret):
    os.symlink(secret, os.path.join(basedir, "1", "link.txt"))
    _edit(basedir, "1", artifacts=["ok.txt", "link.txt", "../2/ok.txt", "../../secret.txt"])
    run = open_store(basedir).get(1)
    assert run.artifacts["ok.txt"].read() == b"fine"
    for name in ("link.txt", "../2/ok.txt", "../../secret.txt"):
        with pytest.raises(StoreError, match="outside the store|outside"):
            run.artifacts[name].read()
    with pytest.raises(StoreError, match="has no artifact"):
        open_store(basedir).backend.read_artifact(1, "run.json")  # not an artifact


def test_record_files_that_are_links_are_not_followed(basedir, tmp_path, secret):
    outside = tmp_path / "elsewhere"
    shutil.copytree(os.path.join(basedir, "2"), outside)
    run_json = os.path.join(basedir, "2", "run.json")
    os.remove(run_json)
    os.symlink(outside / "run.json", run_json)
    for name in ("cout.txt", "metrics.json"):
        path = os.path.join(basedir, "1", name)
        if os.path.exists(path):
            os.remove(path)
        os.symlink(secret, path)
    store = open_store(basedir)
    ids, damaged = _listed(store)
    assert ids == [1, 3]
    assert [(w.run_id, w.file) for w in damaged] == [(2, "run.json")]
    assert "symbolic link" in str(damaged[0])
    run = store.get(1)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert "do not read me" not in run.captured_out
        assert list(run.metrics) == []


def test_a_linked_run_directory_inside_the_store_is_listed_once(basedir):
    os.symlink(os.path.join(basedir, "3"), os.path.join(basedir, "latest"))
    os.symlink("2", os.path.join(basedir, "7"))
    assert _listed(open_store(basedir)) == ([1, 2, 3], [])
    with pytest.raises(StoreError, match="symbolic link"):
        open_store(basedir).set_note(7, "through a link")


def test_a_run_directory_linking_out_of_the_store_is_refused(basedir, tmp_path, capsys):
    outside = tmp_path / "outside_run"
    shutil.copytree(os.path.join(basedir, "1"), outside)
    os.symlink(outside, os.path.join(basedir, "9"))
    before = sorted(os.listdir(outside))
    store = open_store(basedir)
    ids, damaged = _listed(store)
    assert ids == [1, 2, 3]
    (warning,) = damaged
    assert warning.run_id == 9 and str(outside) in str(warning)
    with pytest.raises(StoreError, match=rf"Run 9 .*symbolic link to {outside}, outside"):
        store.get(9)
    for argv in (["tag", basedir, "9", "x"], ["note", basedir, "9", "hello"]):
        assert main(argv) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1
        assert "symbolic link" in err and str(outside) in err
    assert sorted(os.listdir(outside)) == before  # nothing written there


def test_notes_replace_a_linked_annotations_file_instead_of_writing_through(basedir, secret):
    os.symlink(secret, os.path.join(basedir, "1", "annotations.json"))
    store = open_store(basedir)
    with pytest.warns(DamagedRunWarning, match="annotations.json: is a symbolic link"):
        store.set_note(1, "mine")
    with open(secret) as f:
        assert f.read() == "do not read me"
    assert not os.path.islink(os.path.join(basedir, "1", "annotations.json"))
    assert store.get(1).note == "mine"


def test_a_store_reached_through_a_link_works(basedir, tmp_path):
    link = tmp_path / "link_to_runs"
    os.symlink(basedir, link)
    store = open_store(str(link))
    assert [r.id for r in store.find(sort="id")] == [1, 2, 3]
    assert store.get(2).artifacts["sub/ok.txt"].read() == b"fine"
    store.tag(2, "via-link")
    assert [r.id for r in open_store(basedir).find('tags == "via-link"')] == [2]


def test_a_source_that_was_not_copied_is_listed_but_not_read(basedir):
    _edit(basedir, "1", experiment={"name": "escape", "sources": [["exp.py", None]]})
    run = open_store(basedir).get(1)
    assert list(run.sources) == ["exp.py"]
    with pytest.raises(StoreError, match="Run 1 has no stored source 'exp.py'"):
        run.sources["exp.py"].read()
