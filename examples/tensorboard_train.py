#!/usr/bin/env python
"""
TensorBoard from PyTorch: while ``LogFileWriter(ex)`` is active, the directory of
every ``torch.utils.tensorboard.SummaryWriter`` is recorded in
``info["tensorflow"]["logdirs"]`` (where sacredboard's TensorBoard button looks)::

    $ ./tensorboard_train.py -l WARNING -F tensorboard_runs
    TensorBoard log directories: ['tb_logs']

The scalars written there become the run's metrics with
``sacred import-tensorboard tensorboard_runs 1 tb_logs`` (``loss/train`` and ``lr``, with
TensorBoard's steps).
"""

import torch
from torch.utils.tensorboard import SummaryWriter

from sacred import Experiment
from sacred.stflow import LogFileWriter

ex = Experiment("tensorboard_train")


@ex.config
def config():
    steps = 20  # optimizer steps
    lr = 0.1  # learning rate
    logdir = "tb_logs"  # where the SummaryWriter writes


@ex.automain
@LogFileWriter(ex)
def train(_run, steps, lr, logdir):
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    writer = SummaryWriter(logdir)
    for step in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        writer.add_scalar("loss/train", loss.item(), step)
        writer.add_scalar("lr", optimizer.param_groups[0]["lr"], step)
    writer.close()
    print("TensorBoard log directories:", _run.info["tensorflow"]["logdirs"])
    return loss.item()
