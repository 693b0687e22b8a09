#!/usr/bin/env python
"""
The same task as 07_magic.py without any of Sacred's magic: the configuration
is a plain dictionary, the main function takes ``_config`` and reads every
parameter explicitly, and ``ex.run()`` is called explicitly instead of using
``@ex.automain`` (so no command-line parsing happens)::

    $ ./08_less_magic.py
    WARNING - less_magic - No observers have been added to this run
    INFO - less_magic - Running command 'run'
    INFO - less_magic - Started
    INFO - less_magic - Result: <any>
    INFO - less_magic - Completed after 0:00:00
"""

import random

from sacred import Experiment

ex = Experiment("less_magic")

ex.add_config(
    {
        "n_samples": 100,
        "noise": 0.1,
        "learning_rate": 0.1,
        "epochs": 200,
    }
)


def make_data(n_samples, noise, rnd):
    xs = [rnd.uniform(-1, 1) for _ in range(n_samples)]
    ys = [2.0 * x + 0.5 + rnd.gauss(0, noise) for x in xs]
    return xs, ys


def fit(xs, ys, learning_rate, epochs):
    w = b = 0.0
    n = len(xs)
    for _ in range(epochs):
        grad_w = sum((w * x + b - y) * x for x, y in zip(xs, ys)) * 2 / n
        grad_b = sum(w * x + b - y for x, y in zip(xs, ys)) * 2 / n
        w -= learning_rate * grad_w
        b -= learning_rate * grad_b
    return w, b


@ex.main
def run(_config):
    rnd = random.Random(_config["seed"])
    xs, ys = make_data(_config["n_samples"], _config["noise"], rnd)
    split = len(xs) * 3 // 4
    w, b = fit(xs[:split], ys[:split], _config["learning_rate"], _config["epochs"])
    test = list(zip(xs[split:], ys[split:]))
    return sum((w * x + b - y) ** 2 for x, y in test) / len(test)


if __name__ == "__main__":
    ex.run()
