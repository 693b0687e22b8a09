"""``sacred rerun``: a stored run runs again from its stored sources and is compared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sacred.store import open_store
from sacred.store.cli import main

pytestmark = pytest.mark.slow  # reruns in new processes (tests/lineage: fast ones)


def _run_once(fresh_experiment, tmp_path: Path, options: dict, idx: int = 4):
    ex = fresh_experiment()
    run = ex.run(
        config_updates={"idx": idx, "marker_dir": str(tmp_path / "markers")},
        options={"--capture": "no", **options},
    )
    return run._id, run.result


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_rerun_reproduces_the_seeded_result_exactly(kind, fresh_experiment, tmp_path, capsys):
    if kind == "file":
        store = str(tmp_path / "runs")
        options = {"--file_storage": store}
    else:
        store = f"sqlite:///{tmp_path / 'runs.db'}"
        options = {"--sql": store}
    run_id, result = _run_once(fresh_experiment, tmp_path, options)

    assert main(["rerun", store, str(run_id)]) == 0

    out = capsys.readouterr().out
    assert "result and metrics match the original exactly" in out
    with open_store(store) as s:
        (rerun,) = [r for r in s.find() if r.id != run_id]
        assert rerun.result == result  # [idx, _rnd.random()]: the seed was the stored one
        assert rerun.meta["rerun_of"] == run_id
        assert rerun.meta["config_updates"]["idx"] == 4
        assert rerun.config["seed"] == s.get(run_id).config["seed"]
        assert f"recorded as run {rerun.id} (COMPLETED)" in out


def test_rerun_into_another_store(fresh_experiment, tmp_path, capsys):
    store, into = str(tmp_path / "runs"), f"sqlite:///{tmp_path / 'copy.db'}"
    run_id, result = _run_once(fresh_experiment, tmp_path, {"--file_storage": store})

    assert main(["rerun", store, str(run_id), "--into", into]) == 0

    with open_store(into) as s:
        (rerun,) = s.find()
        assert rerun.result == result
        assert rerun.meta["rerun_of"] == run_id
        assert rerun.meta["rerun_from"] == store


def _edit_run_json(store: str, run_id, change) -> None:
    path = Path(store) / str(run_id) / "run.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_a_different_result_is_reported(fresh_experiment, tmp_path, capsys):
    store = str(tmp_path / "runs")
    run_id, result = _run_once(fresh_experiment, tmp_path, {"--file_storage": store})
    _edit_run_json(store, run_id, lambda r: r.update(result=[4, result[1] * (1 + 1e-9)]))

    assert main(["rerun", store, str(run_id)]) == 1
    assert "differs: result:" in capsys.readouterr().out
    assert main(["rerun", store, str(run_id), "--rtol", "1e-6"]) == 0
    assert "match the original within rtol 1e-06" in capsys.readouterr().out


@pytest.mark.parametrize(
    "dependency, message",
    [
        ("surely-not-installed-pkg==1.2", "surely-not-installed-pkg==1.2 is not installed"),
        ("pytest==0.0.1", "pytest: the run used 0.0.1, "),
    ],
)
def test_missing_or_different_packages_are_named(
    dependency, message, fresh_experiment, tmp_path, capsys
):
    store = str(tmp_path / "runs")
    run_id, _ = _run_once(fresh_experiment, tmp_path, {"--file_storage": store})
    _edit_run_json(store, run_id, lambda r: r["experiment"]["dependencies"].append(dependency))

    assert main(["rerun", store, str(run_id)]) == 2
    err = capsys.readouterr().err
    assert f"Run {run_id} cannot be reproduced here" in err
    assert message in err
    with open_store(store) as s:
        assert len(s.find()) == 1  # nothing was run


def test_missing_sources_are_an_error(fresh_experiment, tmp_path, capsys):
    store = str(tmp_path / "runs")
    run_id, _ = _run_once(fresh_experiment, tmp_path, {"--file_storage": store})
    _edit_run_json(store, run_id, lambda r: r["experiment"].update(sources=[]))
    shutil.rmtree(Path(store) / "_sources")

    assert main(["rerun", store, str(run_id)]) == 2
    assert "main file 'exp_worker.py' is not among its stored sources" in capsys.readouterr().err
