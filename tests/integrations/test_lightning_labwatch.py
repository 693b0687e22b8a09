"""Lightning in a Labwatch study: SacredLogger records each trial's curves and
LabwatchPruning stops poor trials through the study's pruner."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("lightning")
pytest.importorskip("optuna")
import torch  # noqa: E402
from lightning.pytorch import Trainer  # noqa: E402

import labwatch  # noqa: E402
from labwatch import LabAssistant  # noqa: E402
from labwatch.hyperparameters import UniformFloat  # noqa: E402
from labwatch.optimizers import RandomSearch  # noqa: E402
from labwatch.pruners import MedianPruner  # noqa: E402
from labwatch.trials import TrialStatus  # noqa: E402
from sacred import Experiment  # noqa: E402
from sacred.integrations.lightning import LabwatchPruning, SacredLogger  # noqa: E402
from sacred.store import open_store  # noqa: E402
from tests.integrations.lightning_models import TinyRegressor, loaders  # noqa: E402

EPOCHS = 4


def test_a_lightning_study_records_curves_and_prunes_poor_trials(tmp_path):
    location = f"sqlite:///{tmp_path / 'runs.db'}"
    ex = Experiment("lightning_study", save_git_info=False)
    a = LabAssistant(
        ex, store=location, optimizer=RandomSearch, pruner=MedianPruner(n_startup_trials=2)
    )

    @ex.config
    def cfg():
        lr = 0.05

    @a.searchspace
    def space():
        lr = UniformFloat(0.0001, 0.2, log_scale=True)

    @ex.main
    def train(lr, _run):
        torch.manual_seed(0)
        trainer = Trainer(
            max_epochs=EPOCHS,
            logger=SacredLogger(_run),
            callbacks=[LabwatchPruning(a, _run, monitor="val_loss")],
            default_root_dir=str(tmp_path / "lightning"),
            accelerator="cpu",
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            log_every_n_steps=1,
        )
        train_loader, val_loader = loaders()
        trainer.fit(TinyRegressor(lr=lr, hidden=8), train_loader, val_loader)
        return float(trainer.callback_metrics["val_loss"])

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for seed in range(8):
            try:
                ex.run(
                    named_configs=["space"],
                    config_updates={"seed": seed},
                    options={"--loglevel": "ERROR"},
                )
            except labwatch.TrialPruned:
                pass
    finally:
        os.chdir(cwd)

    trials = a.trials("space")
    assert len(trials) == 8
    statuses = [t.status for t in trials]
    assert statuses[:2] == [TrialStatus.COMPLETED] * 2  # n_startup_trials
    assert set(statuses) <= {TrialStatus.COMPLETED, TrialStatus.PRUNED}
    assert TrialStatus.PRUNED in statuses

    store = open_store(location)
    for trial in trials:
        stored = store.get(trial.id)
        assert stored.status == "COMPLETED"
        # SacredLogger's curves by optimizer step, the study's objective by epoch
        assert {"train_loss", "val_loss", "objective"} <= set(stored.metrics)
        epochs = list(stored.metrics["objective"].index)
        assert epochs == list(range(len(epochs)))
        if trial.status == TrialStatus.PRUNED:
            assert stored.info["labwatch"]["state"] == "PRUNED"
            assert len(epochs) < EPOCHS
        else:
            assert len(epochs) == EPOCHS
