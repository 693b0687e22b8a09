#!/usr/bin/env python
"""The paper's Labwatch example without TensorFlow: a one-hidden-layer network on
scikit-learn's bundled 8x8 digits (needs ``pip install 'sacred[optim]'``).

    python examples/labwatch_mnist.py                      # the configured defaults
    python examples/labwatch_mnist.py with adam            # a named config
    python examples/labwatch_mnist.py with search_space    # a suggested configuration
    labwatch worker examples/labwatch_mnist.py search_space --n-trials 20
    labwatch trials sqlite:///examples/runs.db search_space --best-config best.json

Trials go to the embedded SQLite store ``runs.db`` next to this file (set
LABWATCH_STORE to use another store). The result is the test accuracy, so the
assistant maximizes it.
"""

import os
import warnings

import labwatch
import sacred
from labwatch.hyperparameters import UniformFloat, UniformInt
from labwatch.optimizers import RandomSearch

ex = sacred.Experiment("labwatch_mnist", save_git_info=False)
la = labwatch.LabAssistant(
    ex, optimizer=RandomSearch, store=os.environ.get("LABWATCH_STORE"), direction="maximize"
)


@ex.config
def cfg():
    hidden_units = 512
    batch_size = 32
    nr_epochs = 20
    optimizer = "sgd"
    learning_rate = 0.1
    log_dir = f"log/NN{hidden_units}"


@ex.named_config
def adam():
    optimizer = "adam"
    learning_rate = 0.001


@la.searchspace
def search_space():
    learning_rate = UniformFloat(0.001, 1.0, log_scale=True)
    hidden_units = UniformInt(32, 512, log_scale=True)


@ex.capture
def build_model(hidden_units, batch_size, nr_epochs, optimizer, learning_rate, _seed):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(hidden_units,),
        solver=optimizer,
        learning_rate_init=learning_rate,
        batch_size=batch_size,
        max_iter=nr_epochs,
        random_state=_seed % (2**32),
    )


@ex.automain
def main(log_dir, _run):
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.3, random_state=0
    )
    model = build_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    for epoch, loss in enumerate(model.loss_curve_):
        _run.log_scalar("train.cross_entropy", loss, epoch)
    accuracy = float(model.score(x_test, y_test))
    print(f"{log_dir}: test accuracy {accuracy:.4f}")
    return accuracy
