"""Keras 3 (torch backend): SacredCallback records epoch, batch and evaluation
metrics with the names and values Keras reports."""

from __future__ import annotations

import os

import pytest

os.environ["KERAS_BACKEND"] = "torch"  # before keras is first imported
keras = pytest.importorskip("keras")
import numpy as np  # noqa: E402

from sacred.integrations.keras import SacredCallback  # noqa: E402


def _model_and_data():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(
        optimizer="sgd", loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=["mae"]
    )
    return model, x, y


def test_epoch_batch_and_evaluation_metrics(run_experiment):
    assert keras.backend.backend() == "torch"

    class Reference(keras.callbacks.Callback):
        """What Keras hands to callbacks, to compare with the store."""

        def __init__(self):
            super().__init__()
            self.epochs, self.batches = [], []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(dict(logs))

        def on_train_batch_end(self, batch, logs=None):
            self.batches.append(dict(logs))

    def train(_run, epochs):
        model, x, y = _model_and_data()
        reference = Reference()
        model.fit(
            x[:32],
            y[:32],
            validation_data=(x[32:], y[32:]),
            epochs=epochs,
            batch_size=8,
            verbose=0,
            callbacks=[SacredCallback(_run, batch_frequency=2), reference],
        )
        evaluated = model.evaluate(
            x[32:], y[32:], verbose=0, return_dict=True, callbacks=[SacredCallback(_run)]
        )
        return {"epochs": reference.epochs, "batches": reference.batches, "test": evaluated}

    stored = run_experiment(train, name="keras_train", config={"epochs": 3})
    assert stored.status == "COMPLETED"
    seen = stored.result
    epoch_names = set(seen["epochs"][0])
    assert {"loss", "mae", "val_loss", "val_mae"} <= epoch_names
    for name in epoch_names:
        series = stored.metrics[name]
        assert list(series.index) == [0, 1, 2]
        assert series.tolist() == pytest.approx([e[name] for e in seen["epochs"]])
    # 4 batches a epoch, 12 in all: every second one recorded
    assert len(seen["batches"]) == 12
    batch_loss = stored.metrics["batch_loss"]
    assert list(batch_loss.index) == [0, 2, 4, 6, 8, 10]
    assert batch_loss.tolist() == pytest.approx([b["loss"] for b in seen["batches"][::2]])
    assert "batch_val_loss" not in stored.metrics
    # evaluate() after fit: its own series
    assert stored.metrics["test_loss"].tolist() == pytest.approx([seen["test"]["loss"]])
    assert list(stored.metrics["test_mae"].index) == [0]


def test_bad_batch_frequency():
    with pytest.raises(ValueError, match="batch_frequency must be a whole number >= 1 or None"):
        SacredCallback(object(), batch_frequency=0)
