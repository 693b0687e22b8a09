#!/usr/bin/env python
"""The original Labwatch's Keras MLP example with a scikit-learn network in place
of Keras (``MLPClassifier`` on the bundled 8x8 digits; ``pip install
'sacred[optim]'``). Only the store changed: the embedded SQLite store ``runs.db``
next to this file (set LABWATCH_STORE to use another one).

    python examples/labwatch_mlp.py with small_search_space
    labwatch worker examples/labwatch_mlp.py search_space --n-trials 20
    labwatch trials sqlite:///examples/runs.db search_space --best-config best.json

The result is the validation error, which the assistant minimizes.
"""

import os
import warnings

from labwatch.assistant import LabAssistant
from labwatch.hyperparameters import UniformFloat, UniformNumber
from labwatch.optimizers import BayesianOptimization
from sacred import Experiment

ex = Experiment("labwatch_mlp", save_git_info=False)
a = LabAssistant(ex, store=os.environ.get("LABWATCH_STORE"), optimizer=BayesianOptimization)


@ex.config
def cfg():
    batch_size = 128
    num_units_first_layer = 64
    num_units_second_layer = 32
    l2_penalty = 1e-4  # in place of Keras' dropout: scikit-learn's MLP has none
    learning_rate = 0.001
    num_epochs = 20


@a.search_space
def search_space():
    num_units_first_layer = UniformNumber(lower=16, upper=256, default=64, type=int, log_scale=True)
    num_units_second_layer = UniformNumber(
        lower=16, upper=256, default=32, type=int, log_scale=True
    )
    batch_size = UniformNumber(lower=16, upper=256, default=128, type=int, log_scale=True)
    l2_penalty = UniformFloat(lower=1e-6, upper=1e-1, default=1e-4, log_scale=True)
    learning_rate = UniformFloat(lower=1e-4, upper=1e-1, default=1e-3, log_scale=True)


@a.search_space
def small_search_space():
    learning_rate = UniformFloat(lower=1e-4, upper=1e-1, default=1e-3, log_scale=True)


@ex.automain
def run(
    batch_size,
    num_units_first_layer,
    num_units_second_layer,
    l2_penalty,
    learning_rate,
    num_epochs,
    _run,
):
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    X_train, X_valid, y_train, y_valid = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.3, random_state=0
    )
    model = MLPClassifier(
        hidden_layer_sizes=(num_units_first_layer, num_units_second_layer),
        alpha=l2_penalty,
        batch_size=batch_size,
        learning_rate_init=learning_rate,
        max_iter=num_epochs,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs on purpose
        model.fit(X_train, y_train)
    for epoch, loss in enumerate(model.loss_curve_):
        _run.log_scalar("train.loss", loss, epoch)
    error = 1.0 - model.score(X_valid, y_valid)
    print(f"validation error {error:.4f}")
    return error
