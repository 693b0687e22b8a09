"""Lightning: SacredLogger records what Lightning logs (checked against Lightning's
own CSVLogger), the module's hyperparameters and the kept checkpoints."""

from __future__ import annotations

import csv
import io
import os

import pytest

pytest.importorskip("lightning")
import torch  # noqa: E402
from lightning.pytorch import Trainer  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from lightning.pytorch.loggers import CSVLogger  # noqa: E402

from sacred.integrations.lightning import SacredLogger  # noqa: E402
from tests.integrations.lightning_models import TinyRegressor, loaders  # noqa: E402

QUIET = {
    "accelerator": "cpu",
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "log_every_n_steps": 1,
}


def _csv_metrics(path: str) -> dict[str, list[tuple[int, float]]]:
    """Lightning's CSVLogger file as {name: [(step, value), ...]}."""
    out: dict[str, list[tuple[int, float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for name, value in row.items():
                if name != "step" and value != "":
                    out.setdefault(name, []).append((int(row["step"]), float(value)))
    return out


def test_metrics_hyperparameters_and_best_k_checkpoints(run_experiment, tmp_path):
    seen = {}

    def train(_run, epochs):
        torch.manual_seed(0)
        checkpoint = ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last=True)
        csv_logger = CSVLogger(str(tmp_path / "csv"), name="reference")
        trainer = Trainer(
            max_epochs=epochs,
            logger=[SacredLogger(_run, log_checkpoints=True), csv_logger],
            callbacks=[checkpoint],
            default_root_dir=str(tmp_path / "lightning"),
            **QUIET,
        )
        train_loader, val_loader = loaders()
        trainer.fit(TinyRegressor(lr=0.05, hidden=8), train_loader, val_loader)
        seen["csv"] = os.path.join(csv_logger.log_dir, "metrics.csv")
        seen["kept"] = sorted(os.path.basename(p) for p in checkpoint.best_k_models)
        seen["best"] = os.path.basename(checkpoint.best_model_path)
        seen["best_score"] = checkpoint.best_model_score.item()

    stored = run_experiment(train, name="lightning_train", config={"epochs": 3})
    assert stored.status == "COMPLETED"

    # the same names, steps and values as Lightning's own CSV logger
    reference = _csv_metrics(seen["csv"])
    assert set(stored.metrics) == set(reference) == {"train_loss", "val_loss", "epoch"}
    for name, points in reference.items():
        series = stored.metrics[name]
        assert list(series.index) == [step for step, _ in points], name
        assert series.tolist() == pytest.approx([value for _, value in points], rel=1e-6)
    assert list(stored.metrics["train_loss"].index) == list(range(12))  # 3 epochs x 4 steps

    # hyperparameters in info; the config stays sacred's
    assert stored.info["hyperparameters"] == {"lr": 0.05, "hidden": 8}
    assert stored.config == {"epochs": 3, "seed": stored.config["seed"]}

    # the best k (2) and last.ckpt as artifacts, the best one named in info
    assert len(seen["kept"]) == 2
    assert sorted(stored.artifacts) == sorted([*seen["kept"], "last.ckpt"])
    checkpoints = stored.info["checkpoints"]
    assert checkpoints["best"] == seen["best"]
    assert checkpoints["monitor"] == "val_loss" and checkpoints["mode"] == "min"
    assert checkpoints["best_score"] == pytest.approx(seen["best_score"])
    assert sorted(checkpoints["scores"]) == seen["kept"]
    assert checkpoints["last"] == "last.ckpt"
    restored = torch.load(
        io.BytesIO(stored.artifacts[seen["best"]].read()), map_location="cpu", weights_only=False
    )
    model = TinyRegressor(**restored["hyper_parameters"])
    model.load_state_dict(restored["state_dict"])


def test_without_log_checkpoints_nothing_is_stored(run_experiment, tmp_path):
    def train(_run):
        trainer = Trainer(
            max_epochs=1,
            logger=SacredLogger(_run),
            default_root_dir=str(tmp_path / "lightning"),
            **QUIET,
        )
        trainer.fit(TinyRegressor(), loaders(batches=2)[0])
        # checkpoints go to <root>/<experiment name>/<run id>/checkpoints
        return sorted(os.listdir(tmp_path / "lightning" / "plain" / str(_run._id) / "checkpoints"))

    stored = run_experiment(train, name="plain")
    assert stored.result == ["epoch=0-step=2.ckpt"]
    assert list(stored.artifacts) == []
    assert "checkpoints" not in stored.info
    assert list(stored.metrics["train_loss"].index) == [0, 1]


def test_log_checkpoints_all_stores_each_checkpoint_when_written(run_experiment, tmp_path):
    def train(_run):
        checkpoint = ModelCheckpoint(
            dirpath=str(tmp_path / "ckpt"), filename="{epoch}", save_top_k=1, monitor="val_loss"
        )
        trainer = Trainer(
            max_epochs=2,
            logger=SacredLogger(_run, log_checkpoints="all", prefix="fold1/"),
            callbacks=[checkpoint],
            **QUIET,
        )
        train_loader, val_loader = loaders(batches=2)
        torch.manual_seed(0)
        trainer.fit(TinyRegressor(lr=0.05), train_loader, val_loader)
        return sorted(os.listdir(tmp_path / "ckpt"))

    stored = run_experiment(train)
    # the second epoch was better: top-1 deleted epoch=0.ckpt, which was stored already
    assert stored.result == ["epoch=1.ckpt"]
    assert sorted(stored.artifacts) == ["epoch=0.ckpt", "epoch=1.ckpt"]
    assert stored.info["checkpoints"]["best"] == "epoch=1.ckpt"
    assert sorted(stored.metrics) == ["fold1/epoch", "fold1/train_loss", "fold1/val_loss"]


def test_bad_log_checkpoints_value():
    with pytest.raises(ValueError, match="log_checkpoints must be True, False or 'all'"):
        SacredLogger(object(), log_checkpoints="best")
