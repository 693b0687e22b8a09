"""Train a tiny model and store it as an artifact (plain Python, no framework).

    python train.py -F runs with lr=0.05

The "model" is a line y = w*x + b fitted by gradient descent to noisy samples of
y = 2x + 1; it is saved as ``model.json``. ``evaluate.py`` consumes it.
"""

import json
import os
import random
import tempfile

from sacred import Experiment

ex = Experiment("train")


@ex.config
def config():
    lr = 0.1  # learning rate
    steps = 60  # gradient steps
    samples = 32  # size of the training set


@ex.automain
def train(_run, _seed, lr, steps, samples):
    rnd = random.Random(_seed)
    xs = [rnd.uniform(-1, 1) for _ in range(samples)]
    data = [(x, 2 * x + 1 + rnd.gauss(0, 0.05)) for x in xs]
    w = b = 0.0
    for step in range(steps):
        errors = [(w * x + b - y, x) for x, y in data]
        loss = sum(e * e for e, _ in errors) / len(errors)
        w -= lr * 2 * sum(e * x for e, x in errors) / len(errors)
        b -= lr * 2 * sum(e for e, _ in errors) / len(errors)
        _run.log_scalar("loss", loss, step)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.json")
        with open(path, "w") as f:
            json.dump({"w": w, "b": b}, f)
        _run.add_artifact(path, "model.json")
    return round(loss, 6)
