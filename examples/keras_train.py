#!/usr/bin/env python
"""
Keras 3 on the torch backend: ``SacredCallback(_run)`` records the metrics of each
epoch (``loss``, ``accuracy``, ``val_loss``, …, step = epoch) and of every n-th
training batch (``batch_loss``, …, step = batches done), random data::

    $ ./keras_train.py -l WARNING -F keras_runs with epochs=3
    epoch 2: loss <any>, accuracy <any>, val_accuracy <any>

``sacred metrics keras_runs 1 val_accuracy`` then shows the three epochs.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import keras  # noqa: E402
import numpy as np  # noqa: E402

from sacred import Experiment  # noqa: E402
from sacred.integrations.keras import SacredCallback  # noqa: E402

ex = Experiment("keras_train")


@ex.config
def config():
    epochs = 5  # passes over the data
    batch_frequency = 4  # record every 4th batch's metrics
    units = 16  # width of the hidden layer


@ex.automain
def train(_run, _seed, epochs, batch_frequency, units):
    keras.utils.set_random_seed(_seed)
    rng = np.random.default_rng(_seed)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=32,
        validation_split=0.25,
        verbose=0,
        callbacks=[SacredCallback(_run, batch_frequency=batch_frequency)],
    )
    last = {name: values[-1] for name, values in history.history.items()}
    print(
        f"epoch {epochs - 1}: loss {last['loss']:.3f}, accuracy {last['accuracy']:.3f}, "
        f"val_accuracy {last['val_accuracy']:.3f}"
    )
    return last["val_accuracy"]
