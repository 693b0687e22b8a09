"""Lightning: ``SacredLogger(_run)``, a Lightning ``Logger`` that records into a run.

    from lightning.pytorch import Trainer
    from sacred.integrations.lightning import SacredLogger

    @ex.automain
    def train(_run, epochs):
        trainer = Trainer(max_epochs=epochs, logger=SacredLogger(_run))
        trainer.fit(model, train_loader, val_loader)

* every metric Lightning logs goes to ``_run.log_scalar(name, value, step)`` with
  the step Lightning gives (the trainer's optimizer steps), Lightning's own
  ``epoch`` metric included;
* the module's (and data module's) saved hyperparameters go to
  ``_run.info["hyperparameters"]``: the run's configuration stays what sacred made
  of its config scopes and the command line;
* with ``log_checkpoints=True`` the checkpoints that the ``ModelCheckpoint``
  callbacks keep when training ends (their best k and ``last.ckpt``) are added as
  artifacts, and ``_run.info["checkpoints"]`` names the best one with its score;
  with ``log_checkpoints="all"`` every checkpoint is added as soon as it is written
  (also those the callback later deletes: a store keeps what it was given).

Checkpoints are written under ``<default_root_dir>/<experiment>/<run id>/checkpoints``
unless the callback has a ``dirpath``.

In a Labwatch study, ``LabwatchPruning(a, _run, monitor="val_loss")`` (a Lightning
``Callback``) reports the monitored value to the study after each validation
(``a.report(_run, value, epoch)``) and raises ``labwatch.TrialPruned`` when the
study's pruner says the trial should stop.
"""

from __future__ import annotations

import os
from argparse import Namespace
from typing import Any, Literal

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from sacred.integrations._common import add_file_artifact, as_number, plain

__all__ = ["SacredLogger", "LabwatchPruning"]


class SacredLogger(Logger):
    """A Lightning ``Logger`` writing into a sacred run.

    Args:
        run: the running run (``_run`` of the main function).
        log_checkpoints: ``False`` (default): no checkpoint is stored; ``True``: the
            checkpoints the ``ModelCheckpoint`` callbacks keep at the end of training;
            ``"all"``: each checkpoint as soon as it is saved.
        prefix: put in front of every metric name (e.g. ``"fold1/"``).
    """

    def __init__(
        self,
        run: Any,
        log_checkpoints: bool | Literal["all"] = False,
        prefix: str = "",
    ) -> None:
        super().__init__()
        if log_checkpoints not in (True, False, "all"):
            raise ValueError(
                f"SacredLogger: log_checkpoints must be True, False or 'all', "
                f"not {log_checkpoints!r}"
            )
        self.run = run
        self.log_checkpoints = log_checkpoints
        self.prefix = prefix
        self._callbacks: list[Any] = []
        self._stored: dict[str, tuple[float, int]] = {}  # path -> (mtime, size) stored

    # -- what Lightning asks of every logger ----------------------------------------

    @property
    def name(self) -> str:
        """The experiment's name (the directory checkpoints are written under)."""
        return str(self.run.experiment_info.get("name") or "sacred")

    @property
    def version(self) -> str:
        """The run's id ("unobserved" for a run without observers)."""
        run_id = getattr(self.run, "_id", None)
        return "unobserved" if run_id is None else str(run_id)

    @property
    def experiment(self) -> Any:
        """The sacred run, for what this logger does not cover (``add_artifact``, …)."""
        return self.run

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        for key, value in metrics.items():
            number = as_number(value)
            if number is not None:
                self.run.log_scalar(self.prefix + key, number, step)

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kw: Any) -> None:
        if isinstance(params, Namespace):
            params = vars(params)
        hyperparameters = self.run.info.setdefault("hyperparameters", {})
        hyperparameters.update(plain(dict(params or {})))

    # -- checkpoints ------------------------------------------------------------------

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if checkpoint_callback not in self._callbacks:
            self._callbacks.append(checkpoint_callback)
        if self.log_checkpoints == "all":
            self._store_checkpoints()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self.log_checkpoints:
            self._store_checkpoints()

    def _kept_files(self, callback: Any) -> list[str]:
        """The files the callback keeps now: its best k, then last.ckpt."""
        files = sorted(
            callback.best_k_models or {}, key=lambda path: path != callback.best_model_path
        )
        if callback.last_model_path:
            files.append(callback.last_model_path)
        return [os.fspath(path) for path in dict.fromkeys(files) if os.path.isfile(path)]

    def _store_checkpoints(self) -> None:
        info = self.run.info.setdefault("checkpoints", {})
        for callback in self._callbacks:
            for path in self._kept_files(callback):
                stat = os.stat(path)
                if self._stored.get(path) == (stat.st_mtime, stat.st_size):
                    continue  # stored already, unchanged
                add_file_artifact(self.run, path)
                self._stored[path] = (stat.st_mtime, stat.st_size)
            if callback.best_model_path:
                score = as_number(callback.best_model_score)
                info.update(
                    {
                        "best": os.path.basename(callback.best_model_path),
                        "monitor": callback.monitor,
                        "mode": callback.mode,
                        "best_score": score,
                        "scores": {
                            os.path.basename(path): as_number(value)
                            for path, value in (callback.best_k_models or {}).items()
                        },
                    }
                )
            if callback.last_model_path:
                info["last"] = os.path.basename(callback.last_model_path)


class LabwatchPruning(Callback):
    """Stops a Labwatch trial early: after each validation, reports ``monitor`` (a
    value the module logs) to the study through ``assistant.report(run, value,
    epoch)`` and raises ``labwatch.TrialPruned`` when the study's pruner says so.
    The run is then recorded COMPLETED with its trial PRUNED (docs/labwatch.md)."""

    def __init__(self, assistant: Any, run: Any, monitor: str = "val_loss") -> None:
        super().__init__()
        self.assistant = assistant
        self.run = run
        self.monitor = monitor

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return  # the sanity check's few batches are no epoch's value
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        # logged as the run's metric "objective" by epoch (report's default name): the
        # logger already records the monitored value itself by optimizer step
        if self.assistant.report(self.run, float(value), trainer.current_epoch):
            from labwatch.exceptions import TrialPruned

            raise TrialPruned(
                f"pruned at epoch {trainer.current_epoch} ({self.monitor}={float(value):.4g})"
            )
