"""Keras 3: ``SacredCallback(_run)``, a callback that records a model's metrics.

    from sacred.integrations.keras import SacredCallback

    @ex.automain
    def train(_run, epochs):
        model.fit(x, y, epochs=epochs, validation_split=0.2,
                  callbacks=[SacredCallback(_run)])

Names and steps, as Keras' own TensorBoard callback names them:

* at the end of each epoch, every entry of Keras' logs (``loss``, ``val_loss``,
  ``accuracy``, ``learning_rate``, …) under its own name, with the epoch (from 0)
  as the step;
* every ``batch_frequency`` training batches (1 by default; ``None``: none), the
  training batch's entries as ``batch_<name>`` (``batch_loss``), with the number
  of training batches done before it, counted over all epochs, as the step;
* ``model.evaluate`` outside of ``fit``: its results as ``test_<name>``, the
  ``n``-th evaluation with step ``n`` (from 0).

Any backend works; sacred's tests use ``KERAS_BACKEND=torch``.
"""

from __future__ import annotations

from typing import Any

import keras

from sacred.integrations._common import as_number

__all__ = ["SacredCallback"]


class SacredCallback(keras.callbacks.Callback):
    """Record Keras' epoch, batch and evaluation metrics in a sacred run.

    Args:
        run: the running run (``_run`` of the main function).
        batch_frequency: record training batch metrics every this many batches
            (``None``: only epochs).
        prefix: put in front of every metric name (e.g. ``"fold1/"``).
    """

    def __init__(self, run: Any, batch_frequency: int | None = 1, prefix: str = "") -> None:
        super().__init__()
        if batch_frequency is not None and (
            not isinstance(batch_frequency, int) or batch_frequency < 1
        ):
            raise ValueError(
                f"SacredCallback: batch_frequency must be a whole number >= 1 or None, "
                f"not {batch_frequency!r}"
            )
        self.run = run
        self.batch_frequency = batch_frequency
        self.prefix = prefix
        self._batches = 0  # training batches done, over all epochs
        self._evaluations = 0
        self._fitting = False

    def _log(self, logs: dict | None, step: int, name_prefix: str = "") -> None:
        for key, value in (logs or {}).items():
            number = as_number(value)
            if number is not None:
                self.run.log_scalar(f"{self.prefix}{name_prefix}{key}", number, step)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._fitting = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self._fitting = False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = self._batches
        self._batches += 1
        if self.batch_frequency and step % self.batch_frequency == 0:
            self._log(logs, step, "batch_")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._log(logs, epoch)

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._fitting:
            return  # validation inside fit: on_epoch_end records it as val_<name>
        self._log(logs, self._evaluations, "test_")
        self._evaluations += 1
