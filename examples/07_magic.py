#!/usr/bin/env python
"""
A standard machine learning task using all of Sacred's magic: configuration
from local variables, parameter injection through captured functions and the
command-line interface through ``@ex.automain``.

The task: fit a line ``y = w * x + b`` to noisy data by gradient descent and
report the mean squared error on held-out data. (The original example trained
an SVM with scikit-learn; this one needs nothing but Python.)

Run it, then change the learning rate from the command line::

    $ ./07_magic.py -l WARNING
    WARNING - magic - No observers have been added to this run
    $ ./07_magic.py print_config with learning_rate=0.05 -l WARNING
    Configuration (modified, added, typechanged, doc):
      epochs = 200          # passes over the training data
      learning_rate = 0.05  # step size of gradient descent
      n_samples = 100       # how many points to generate
      noise = 0.1           # standard deviation of the noise
      seed = <any>  # the random seed for this experiment
"""

import random

from sacred import Experiment

ex = Experiment("magic")


@ex.config
def cfg():
    n_samples = 100  # how many points to generate
    noise = 0.1  # standard deviation of the noise
    learning_rate = 0.1  # step size of gradient descent
    epochs = 200  # passes over the training data


@ex.capture
def make_data(n_samples, noise, _seed):
    rnd = random.Random(_seed)  # _seed is derived from the run's seed: reproducible
    xs = [rnd.uniform(-1, 1) for _ in range(n_samples)]
    ys = [2.0 * x + 0.5 + rnd.gauss(0, noise) for x in xs]
    return xs, ys


@ex.capture
def fit(xs, ys, learning_rate, epochs):
    w = b = 0.0
    n = len(xs)
    for _ in range(epochs):
        grad_w = sum((w * x + b - y) * x for x, y in zip(xs, ys)) * 2 / n
        grad_b = sum(w * x + b - y for x, y in zip(xs, ys)) * 2 / n
        w -= learning_rate * grad_w
        b -= learning_rate * grad_b
    return w, b


@ex.automain
def run():
    xs, ys = make_data()
    split = len(xs) * 3 // 4
    w, b = fit(xs[:split], ys[:split])
    test = list(zip(xs[split:], ys[split:]))
    return sum((w * x + b - y) ** 2 for x, y in test) / len(test)
