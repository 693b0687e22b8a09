"""Evaluate the model a PyTorch training run stored, and record which one.

    python evaluate_torch.py -F runs with train_run=1

``_run.use_run`` reads the training run; ``artifact_path`` gives its ``model.pt`` as a
local file (copied from any store), whose md5 goes into this run's ``meta.inputs``.
"""

import torch

from sacred import Experiment

ex = Experiment("evaluate_torch")


@ex.config
def config():
    train_run = None  # id of the training run, or a query (the latest match is used)


@ex.automain
def evaluate(_run, train_run):
    if train_run is None:
        raise ValueError("say which training run to evaluate: with train_run=ID")
    train = _run.use_run(train_run, latest=True)
    state = torch.load(train.artifact_path("model.pt"), weights_only=True)
    model = torch.nn.Linear(1, 1)
    model.load_state_dict(state["model"])
    x = torch.linspace(-1, 1, 21).unsqueeze(1)
    with torch.no_grad():
        mse = torch.nn.functional.mse_loss(model(x), 2 * x + 1).item()
    _run.log_scalar("test_mse", mse)
    return {"mse": round(mse, 8), "lr": train.config["lr"], "steps": state["steps"]}
