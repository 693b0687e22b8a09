"""PyTorch: the documented global seeding checked with torch itself, and a model's
and an optimizer's state stored as an artifact and loaded back through sacred.store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

from sacred import Experiment  # noqa: E402
from sacred.exceptions import StoreError  # noqa: E402
from sacred.integrations.torch import load_state, save_state  # noqa: E402
from sacred.store import open_store  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _seeded_experiment() -> Experiment:
    ex = Experiment("seeding", save_git_info=False)

    @ex.capture
    def draw_data(_seed):
        generator = torch.Generator().manual_seed(_seed)
        return torch.rand(3, generator=generator).tolist()

    @ex.capture
    def draw_noise(_seed):
        generator = torch.Generator().manual_seed(_seed)
        return torch.rand(3, generator=generator).tolist()

    @ex.main
    def main():
        return {"global": torch.rand(3).tolist(), "data": draw_data(), "noise": draw_noise()}

    return ex


def _draws(seed: int) -> dict:
    ex = _seeded_experiment()
    return ex.run(config_updates={"seed": seed}, options={"--loglevel": "ERROR"}).result


def test_global_torch_seed_repeats_with_the_seed_and_differs_with_another():
    first, again, other = _draws(11), _draws(11), _draws(12)
    assert first == again
    assert first["global"] != other["global"]
    assert first["data"] != other["data"]


def test_each_captured_function_gets_its_own_seed():
    draws = _draws(11)
    assert draws["data"] != draws["noise"]
    assert draws["data"] != draws["global"]


@pytest.mark.slow
def test_torch_imported_during_the_run_is_seeded_like_one_imported_before(tmp_path):
    # In a fresh interpreter torch is first imported inside the main function: it is
    # seeded right after that import (sacred.randomness), with the same result as
    # seeding the already imported torch here.
    script = tmp_path / "late_import.py"
    script.write_text(
        textwrap.dedent(
            """
            import json
            import sys

            from sacred import Experiment

            ex = Experiment("late", save_git_info=False)

            @ex.main
            def main():
                assert "torch" not in sys.modules
                import torch

                return torch.rand(3).tolist()

            run = ex.run(config_updates={"seed": 11}, options={"--loglevel": "ERROR"})
            print(json.dumps(run.result))
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == str(_draws(11)["global"]).replace("'", '"')


def _train(_run, steps: int = 5):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    for step in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        _run.log_scalar("loss", loss.item(), step)
    save_state(_run, "model.pt", model=model, optimizer=optimizer, epoch=steps)
    return [p.detach().tolist() for p in model.parameters()]


def test_state_saved_as_artifact_loads_back_from_the_store(run_experiment, store_location):
    stored = run_experiment(_train, name="torch_train")
    assert stored.status == "COMPLETED"
    assert list(stored.metrics["loss"].index) == [0, 1, 2, 3, 4]
    assert "model.pt" in stored.artifacts

    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    state = load_state(store_location, stored.id, "model.pt", model=model, optimizer=optimizer)
    assert state["epoch"] == 5
    assert [p.detach().tolist() for p in model.parameters()] == stored.result
    assert optimizer.state_dict()["state"][0]["step"].item() == 5

    # an opened store and a StoredRun work as sources too
    with open_store(store_location) as store:
        again = load_state(store, stored.id, "model.pt")
        assert torch.equal(again["model"]["weight"], state["model"]["weight"])
        assert load_state(store.get(stored.id), name="model.pt")["epoch"] == 5


def test_a_missing_artifact_names_the_ones_there(run_experiment, store_location):
    stored = run_experiment(_train, name="torch_train")
    expected = r"has no artifact 'best\.pt' \(its artifacts: model\.pt\)"
    with pytest.raises(StoreError, match=expected):
        load_state(store_location, stored.id, "best.pt")


def test_save_state_without_anything_to_save_says_what_to_pass():
    with pytest.raises(ValueError, match="pass model=, optimizer="):
        save_state(object(), "x.pt")
