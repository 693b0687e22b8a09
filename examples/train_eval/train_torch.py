"""Train a small PyTorch model on CPU and store its state as an artifact.

    python train_torch.py -F runs with lr=0.05

A linear layer fitted to y = 2x + 1 (a few hundred steps on random data); the state
is saved with ``sacred.integrations.torch.save_state`` as ``model.pt``.
``evaluate_torch.py`` consumes it.
"""

import torch

from sacred import Experiment
from sacred.integrations.torch import save_state

ex = Experiment("train_torch")


@ex.config
def config():
    lr = 0.1  # learning rate of SGD
    steps = 200  # gradient steps
    samples = 64  # size of the training set


@ex.automain
def train(_run, _seed, lr, steps, samples):
    generator = torch.Generator().manual_seed(_seed)
    x = torch.rand(samples, 1, generator=generator) * 2 - 1
    y = 2 * x + 1 + 0.05 * torch.randn(samples, 1, generator=generator)
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for step in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        if step % 10 == 0:
            _run.log_scalar("loss", loss.item(), step)
    save_state(_run, "model.pt", model=model, optimizer=optimizer, steps=steps)
    return round(loss.item(), 6)
