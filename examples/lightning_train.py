#!/usr/bin/env python
"""
Lightning: ``SacredLogger(_run)`` records what the Trainer logs as metrics (with the
trainer's step), the module's hyperparameters in ``info`` and, with
``log_checkpoints=True``, the checkpoints that ``ModelCheckpoint`` keeps (its best k
and ``last.ckpt``) as artifacts. Random data, nothing is downloaded::

    $ ./lightning_train.py -l WARNING -F lightning_runs with epochs=3
    hyperparameters: {'lr': 0.05, 'hidden': 16}
    checkpoints stored: epoch=<any>.ckpt, epoch=<any>.ckpt, last.ckpt
    best: epoch=<any>.ckpt (val_loss <any>)

The run is then read like any other: ``sacred metrics lightning_runs 1 val_loss``, or
``open_store("lightning_runs").get(1).artifacts["last.ckpt"]``.
"""

import logging
import warnings

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from sacred import Experiment
from sacred.integrations.lightning import SacredLogger

ex = Experiment("lightning_train")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)  # no banners
# Lightning's notices about torch APIs it uses (not about this script) would change
# the transcript above with every release of either.
warnings.filterwarnings("ignore", module=r"lightning\.pytorch\.utilities")


@ex.config
def config():
    epochs = 5  # passes over the data
    lr = 0.05  # learning rate of SGD
    hidden = 16  # width of the hidden layer
    keep = 2  # how many of the best checkpoints to keep (and store)


class Regressor(pl.LightningModule):
    def __init__(self, lr, hidden):
        super().__init__()
        self.save_hyperparameters()  # what SacredLogger puts into info["hyperparameters"]
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loaders():
    x = torch.randn(256, 4)
    y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(256, 1)
    train, val = TensorDataset(x[:192], y[:192]), TensorDataset(x[192:], y[192:])
    return DataLoader(train, batch_size=32, shuffle=True), DataLoader(val, batch_size=64)


@ex.automain
def train(_run, epochs, lr, hidden, keep):
    checkpoint = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=keep, save_last=True)
    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=SacredLogger(_run, log_checkpoints=True),
        callbacks=[checkpoint],
        default_root_dir="lightning_logs",
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=2,
    )
    trainer.fit(Regressor(lr, hidden), *loaders())
    print("hyperparameters:", _run.info["hyperparameters"])
    stored = _run.info["checkpoints"]
    print("checkpoints stored:", ", ".join([*sorted(stored["scores"]), stored["last"]]))
    print(f"best: {stored['best']} (val_loss {stored['best_score']:.4f})")
    return stored["best_score"]
