"""The example scripts from the shell: ``python evaluate.py with train_run=1`` with
nothing but a config entry and ``use_run``; ``sacred lineage`` both ways; deletion of
a consumed run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sacred.store import open_store
from sacred.store.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _script(scripts: Path, name: str, flag: list[str], *updates: str, fails: bool = False) -> str:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    done = subprocess.run(
        [sys.executable, str(scripts / name), *flag, "with", *updates],
        cwd=scripts,
        env=env,
        capture_output=True,
        text=True,
    )
    assert (done.returncode != 0) == fails, done.stderr
    return done.stderr


def _flag(kind: str, tmp_path: Path, request) -> tuple[list[str], str]:
    if kind == "file":
        store = str(tmp_path / "runs")
        return ["-F", store], store
    url = (
        f"sqlite:///{tmp_path / 'runs.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    return ["-s", url], url


@pytest.mark.parametrize("kind", ["file", "sqlite", "postgresql"])
@pytest.mark.slow
def test_evaluate_script_with_a_config_entry(kind, scripts, tmp_path, request, capsys):
    flag, store = _flag(kind, tmp_path, request)
    _script(scripts, "train.py", flag, "lr=0.05")  # run 1
    _script(scripts, "evaluate.py", flag, "train_run=1")  # run 2
    # run 3 fails (run 2 stored no model), having recorded run 2 as its input
    err = _script(scripts, "evaluate.py", flag, "train_run=2", fails=True)
    assert "StoreError: Run 2 in " in err
    assert "has no artifact 'model.json' (artifacts: none)." in err
    # a query given on the command line
    _script(scripts, "evaluate.py", flag, 'train_run="experiment.name == \\"train\\""')

    with open_store(store) as s:
        assert s.get(2).status == "COMPLETED"
        assert s.get(2).result["lr"] == 0.05
        assert s.get(3).status == "FAILED"  # run 2 stored no model
        assert s.get(4).meta["inputs"][0]["run_id"] == 1
        assert [r.id for r in s.find("inputs contains 1")] == [2, 4]

    assert main(["lineage", store, "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "run 1 (train, COMPLETED)",
        "consumed: nothing",
        "consumed by:",
        "  run 2 (evaluate, COMPLETED)",
        "    run 3 (evaluate, FAILED)",
        "  run 4 (evaluate, COMPLETED)",
    ]
    assert main(["lineage", store, "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["run 3 (evaluate, FAILED)", "consumed:", "  run 2 (evaluate, COMPLETED)"]
    assert lines[3] == "    run 1 (train, COMPLETED)"
    assert lines[4].startswith("      artifact model.json (md5 ")
    assert lines[5:] == ["consumed by: no run"]

    assert main(["lineage", store, "1", "--depth", "1"]) == 0
    assert "run 3" not in capsys.readouterr().out
    assert main(["lineage", store, "3", "--json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["inputs"][0]["run"]["id"] == 2
    assert tree["inputs"][0]["inputs"][0]["run"]["id"] == 1


def test_lineage_mistakes(scripts, tmp_path, capsys):
    store = str(tmp_path / "runs")
    _script(scripts, "train.py", ["-F", store])
    assert main(["lineage", store, "7"]) == 1
    assert "No run with id '7'" in capsys.readouterr().err
    assert main(["lineage", store, "1", "--depth", "0"]) == 2
    assert "--depth must be a whole number >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_deleting_a_consumed_run_names_its_consumers(kind, lab, monkeypatch, capsys):
    lab = lab(kind)
    train = lab.train()
    evaluation = lab.evaluate(train._id)
    store = lab.location
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)

    assert main(["delete", store, str(train._id)]) == 1
    err = capsys.readouterr().err
    assert (
        f"sacred: error: run {train._id} was consumed by run {evaluation._id} (evaluate): "
        "deleting it loses what they were computed from"
    ) in err
    assert "Pass --yes to delete anyway; nothing was deleted." in err
    with open_store(store) as s:
        assert len(s.find()) == 2

    # on a terminal it asks, naming the consumers
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["delete", store, str(train._id)]) == 1
    out = capsys.readouterr().out
    assert f"run {train._id} was consumed by run {evaluation._id} (evaluate)" in out
    assert "Nothing deleted." in out

    # deleted together with its consumer: nothing to confirm
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    assert main(["delete", store, str(evaluation._id), str(train._id)]) == 0
    with open_store(store) as s:
        assert s.find() == []


def test_yes_deletes_a_consumed_run_with_a_warning(lab, monkeypatch, capsys):
    lab = lab("file")
    train = lab.train()
    evaluation = lab.evaluate(train._id)
    assert main(["delete", lab.location, str(train._id), "--yes"]) == 0
    captured = capsys.readouterr()
    assert f"sacred: warning: run {train._id} was consumed by run {evaluation._id}" in captured.err
    assert f"moved run {train._id} to the trash" in captured.out
    assert main(["lineage", lab.location, str(evaluation._id)]) == 0
    assert f"  run {train._id}: deleted" in capsys.readouterr().out
