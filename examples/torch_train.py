#!/usr/bin/env python
"""
PyTorch: a small classifier trained on random "images" (nothing is downloaded).
Sacred seeds torch (``torch.rand`` repeats with the same ``seed``), the loss and
accuracy of each epoch are metrics, and the model's and optimizer's states are
stored as the artifact ``model.pt`` (``sacred.integrations.torch.save_state``)::

    $ ./torch_train.py -l WARNING -F torch_runs with epochs=3
    epoch 0: loss <any>, accuracy <any>
    epoch 1: loss <any>, accuracy <any>
    epoch 2: loss <any>, accuracy <any>

The state comes back from the store with ``load_state``, here in a second command
that reads the run the first one stored::

    $ ./torch_train.py -l WARNING -F torch_runs evaluate with store=torch_runs run_id=1
    run 1 reloaded after 3 epochs: accuracy <any>, as the run stored it
"""

import torch

from sacred import Experiment
from sacred.integrations.torch import load_state, save_state

ex = Experiment("torch_train")


@ex.config
def config():
    epochs = 5  # passes over the data
    lr = 0.1  # learning rate of SGD
    hidden = 32  # width of the hidden layer
    store = "torch_runs"  # where `evaluate` reads the trained run from
    run_id = 1  # the trained run `evaluate` reloads
    data_seed = 0  # the data is the same in every run


@ex.capture
def make_data(data_seed, n=256):
    """Random 8x8 "images" whose class is the brightest of their first ten pixels."""
    generator = torch.Generator().manual_seed(data_seed)
    x = torch.rand(n, 64, generator=generator)
    y = x[:, :10].argmax(dim=1)
    return x, y


@ex.capture
def make_model(hidden):
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


@ex.main
def train(_run, epochs, lr):
    x, y = make_data()
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(epochs):
        for batch in torch.split(torch.randperm(len(x)), 32):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        acc = accuracy(model, x, y)
        _run.log_scalar("loss", loss.item(), epoch)
        _run.log_scalar("accuracy", acc, epoch)
        print(f"epoch {epoch}: loss {loss.item():.3f}, accuracy {acc:.3f}")
    save_state(_run, "model.pt", model=model, optimizer=optimizer, epochs=epochs)
    return acc


@ex.command
def evaluate(store, run_id):
    """Reload the model a training run stored and measure it again."""
    from sacred.store import open_store

    with open_store(store) as runs:
        trained = runs.get(run_id)
        model = make_model()
        state = load_state(trained, model=model, name="model.pt")
        x, y = make_data()
        acc = accuracy(model, x, y)
        same = "as the run stored it" if acc == trained.result else "not what the run stored"
    print(f"run {run_id} reloaded after {state['epochs']} epochs: accuracy {acc:.3f}, {same}")
    return acc


if __name__ == "__main__":
    ex.run_commandline()
