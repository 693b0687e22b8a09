"""Evaluate a model that a training run stored, and record which one.

    python evaluate.py -F runs with train_run=1
    python evaluate.py -F runs with 'train_run="experiment.name == \\"train\\""'

``_run.use_run`` reads the training run from the same store (its config, result,
metrics, artifacts) and records it, with the md5 of ``model.json``, in this run's
``meta.inputs``: ``sacred lineage runs 2`` shows the link, ``sacred rerun runs 2``
checks that the model is still the one evaluated.
"""

import json

from sacred import Experiment

ex = Experiment("evaluate")


@ex.config
def config():
    train_run = None  # id of the training run, or a query (the latest match is used)
    test_points = [-0.5, 0.0, 0.5, 1.0]  # where the model is compared with y = 2x + 1


@ex.automain
def evaluate(_run, train_run, test_points):
    if train_run is None:
        raise ValueError("say which training run to evaluate: with train_run=ID")
    train = _run.use_run(train_run, latest=True)
    with train.open_artifact("model.json", "r") as f:
        model = json.load(f)
    errors = [(model["w"] * x + model["b"] - (2 * x + 1)) ** 2 for x in test_points]
    mse = sum(errors) / len(errors)
    _run.log_scalar("test_mse", mse)
    return {"mse": round(mse, 8), "lr": train.config["lr"], "train_loss": train.result}
