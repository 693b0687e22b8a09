"""The PyTorch pair (examples/train_eval/*_torch.py): a model trained on CPU, stored
as an artifact, evaluated by another run that records it, and rerun."""

from __future__ import annotations

import shutil

import pytest

from sacred.store import open_store
from sacred.store.cli import main
from tests.lineage.conftest import EXAMPLE, md5

torch = pytest.importorskip("torch")


@pytest.fixture
def torch_lab(lab, scripts):
    def make(kind: str):
        made = lab(kind)
        for name in ("train_torch.py", "evaluate_torch.py"):
            shutil.copy(EXAMPLE / name, scripts / name)
        return made

    return make


@pytest.mark.parametrize("kind", ["file", "sqlite", "postgresql"])
def test_a_torch_model_is_evaluated_by_another_run(kind, torch_lab):
    lab = torch_lab(kind)
    train = lab._run("train_torch.py", {"lr": 0.2})
    evaluation = lab._run("evaluate_torch.py", {"train_run": train._id})

    assert evaluation.result["lr"] == 0.2 and evaluation.result["steps"] == 200
    assert evaluation.result["mse"] < 0.01  # the trained line, not a fresh layer
    with open_store(lab.location) as s:
        model = s.get(train._id).artifacts["model.pt"].read()
        (entry,) = s.get(evaluation._id).meta["inputs"]
        assert entry["run_id"] == train._id
        assert entry["artifacts"] == {"model.pt": md5(model)}
        assert [r.id for r in s.find(f"inputs contains {train._id}")] == [evaluation._id]


@pytest.mark.slow
def test_rerun_of_a_torch_evaluation_matches(torch_lab, capsys):
    lab = torch_lab("sqlite")
    train = lab._run("train_torch.py", {})
    evaluation = lab._run("evaluate_torch.py", {"train_run": train._id})

    assert main(["rerun", lab.location, str(evaluation._id)]) == 0
    out = capsys.readouterr().out
    assert f"input run {train._id} (model.pt): as recorded (md5 verified)" in out
    assert "result and metrics match the original exactly" in out
