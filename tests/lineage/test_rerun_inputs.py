"""``sacred rerun`` of an evaluation: the same inputs, verified by md5; a changed or
deleted input, or a modified source, refuses the rerun (or warns with
--allow-modified); a QUEUED run cannot be compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from sacred.store import open_store
from sacred.store.cli import main


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_rerun_of_an_evaluation_reads_the_same_model(kind, lab, capsys):
    lab = lab(kind)
    train = lab.train()
    evaluation = lab.evaluate('experiment.name == "train"')  # by a query
    newer = lab.train(lr=0.3)  # the query would now find this one

    assert main(["rerun", lab.location, str(evaluation._id)]) == 0

    out = capsys.readouterr().out
    assert f"input run {train._id} (model.json): as recorded (md5 verified)" in out
    assert "result and metrics match the original exactly" in out
    with open_store(lab.location) as s:
        (rerun,) = s.find(f"meta.rerun_of == {evaluation._id}")
        assert rerun.meta["inputs"] == s.get(evaluation._id).meta["inputs"]
        assert rerun.meta["input_runs"] == [train._id] != [newer._id]


def _artifact_file(store: str, run_id) -> Path:
    return Path(store) / str(run_id) / "model.json"


@pytest.mark.slow
def test_a_changed_artifact_refuses_the_rerun(lab, capsys):
    lab = lab("file")
    train = lab.train()
    evaluation = lab.evaluate(train._id)
    with open_store(lab.location) as s:
        before = s.get(evaluation._id).meta["inputs"][0]["artifacts"]["model.json"]
    _artifact_file(lab.location, train._id).write_text('{"w": 0, "b": 0}')

    assert main(["rerun", lab.location, str(evaluation._id)]) == 2
    err = capsys.readouterr().err
    assert f"Run {evaluation._id} cannot be rerun as recorded: input run {train._id}: " in err
    assert f"artifact 'model.json' changed since run {evaluation._id} read it (md5 {before}" in err
    assert "Pass --allow-modified to run it anyway." in err
    with open_store(lab.location) as s:
        assert len(s.find()) == 2  # nothing ran

    assert main(["rerun", lab.location, str(evaluation._id), "--allow-modified"]) == 1
    out = capsys.readouterr().out
    assert f"warning: input run {train._id}: artifact 'model.json' changed" in out
    assert f"input run {train._id} (model.json): changed, see the warnings" in out
    assert "differs: result:" in out
    assert f"differs: input run {train._id}: the rerun read [('model.json', " in out


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_a_deleted_input_refuses_the_rerun(kind, lab, capsys):
    lab = lab(kind)
    train = lab.train()
    evaluation = lab.evaluate(train._id)
    with open_store(lab.location) as s:
        s.delete(train._id)

    assert main(["rerun", lab.location, str(evaluation._id)]) == 2
    assert f"input run {train._id} was deleted" in capsys.readouterr().err


@pytest.mark.slow
def test_a_modified_source_refuses_the_rerun(lab, capsys):
    lab = lab("file")
    train = lab.train()
    (stored,) = (Path(lab.location) / "_sources").glob("train_*.py")
    stored.write_text(stored.read_text() + "# edited\n")

    assert main(["rerun", lab.location, str(train._id)]) == 2
    err = capsys.readouterr().err
    assert (
        f"Run {train._id} cannot be rerun as recorded: source 'train.py' as stored has md5 " in err
    )
    assert main(["rerun", lab.location, str(train._id), "--allow-modified"]) == 0
    assert "warning: source 'train.py' as stored has md5 " in capsys.readouterr().out


@pytest.mark.slow
def test_a_modified_workdir_refuses_the_rerun(lab, scripts, capsys):
    lab = lab("sqlite")
    train = lab.train()
    (scripts / "train.py").write_text((scripts / "train.py").read_text() + "# edited\n")

    assert main(["rerun", lab.location, str(train._id), "--workdir", str(scripts)]) == 2
    assert f"source 'train.py' in --workdir {scripts} has md5 " in capsys.readouterr().err


def test_a_queued_run_cannot_be_compared(lab, capsys):
    lab = lab("sqlite")
    queued = lab._run("train.py", {}, **{"--queue": True})
    assert main(["rerun", lab.location, str(queued._id)]) == 2
    assert (
        f"Run {queued._id} is QUEUED and never ran: there is no result or metric a rerun "
        "could be compared with"
    ) in capsys.readouterr().err


@pytest.mark.slow
def test_a_rerun_into_another_store_reads_the_inputs_where_they_are(lab, tmp_path, capsys):
    from sacred.store.lineage import store_label

    lab = lab("file")
    train = lab.train()
    evaluation = lab.evaluate(train._id)
    into = f"sqlite:///{tmp_path / 'reruns.db'}"

    assert main(["rerun", lab.location, str(evaluation._id), "--into", into]) == 0
    assert "result and metrics match the original exactly" in capsys.readouterr().out
    with open_store(into) as s:
        (rerun,) = s.find()
        assert rerun.meta["inputs"][0]["run_id"] == train._id
        assert rerun.meta["inputs"][0]["store"] == store_label(lab.location)
