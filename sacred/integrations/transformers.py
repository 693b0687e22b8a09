"""Hugging Face transformers: ``SacredCallback(_run)``, a ``TrainerCallback``.

    from sacred.integrations.transformers import SacredCallback

    @ex.automain
    def train(_run, lr):
        args = TrainingArguments(output_dir="out", learning_rate=lr, report_to="none")
        trainer = Trainer(model=model, args=args, train_dataset=train_data,
                          eval_dataset=eval_data, callbacks=[SacredCallback(_run)])
        trainer.train()

* everything the Trainer logs (``loss``, ``grad_norm``, ``learning_rate``,
  ``epoch``, the evaluation's ``eval_loss`` and ``eval_<metric>``, the final
  ``train_runtime``, ``train_loss``, …) goes to ``_run.log_scalar(name, value,
  step)`` with the Trainer's ``global_step`` as the step: the same names and steps
  as ``trainer.state.log_history``;
* the model's configuration (``model.config.to_dict()``) goes to
  ``_run.info["model_config"]`` and the Trainer's arguments, as the Trainer reports
  them to its own integrations, to ``_run.info["training_args"]``;
* with ``log_checkpoint=True`` the model at the end of training is saved with
  ``save_pretrained`` (and the tokenizer or processor given to the Trainer with it)
  and each file added as artifact ``model/<file>``: download them into a directory
  and ``from_pretrained`` that directory.

Only the main process (``state.is_world_process_zero``) records.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from transformers import TrainerCallback

from sacred.integrations._common import add_file_artifact, as_number, plain

__all__ = ["SacredCallback"]


class SacredCallback(TrainerCallback):
    """Record a Hugging Face Trainer's logs, evaluation metrics and model in a run.

    Args:
        run: the running run (``_run`` of the main function).
        log_checkpoint: store the final model (``save_pretrained``) as artifacts.
        checkpoint_name: the artifacts' directory name (``model/config.json``, …).
        prefix: put in front of every metric name (e.g. ``"fold1/"``).
    """

    def __init__(
        self,
        run: Any,
        log_checkpoint: bool = False,
        checkpoint_name: str = "model",
        prefix: str = "",
    ) -> None:
        self.run = run
        self.log_checkpoint = log_checkpoint
        self.checkpoint_name = checkpoint_name.strip("/")
        self.prefix = prefix

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any):
        if not state.is_world_process_zero:
            return
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            self.run.info["model_config"] = plain(config.to_dict())
        if hasattr(args, "to_sanitized_dict"):
            self.run.info["training_args"] = plain(args.to_sanitized_dict())

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any):
        if not state.is_world_process_zero:
            return
        for key, value in (logs or {}).items():
            number = as_number(value)
            if number is not None:
                self.run.log_scalar(self.prefix + key, number, state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any):
        if not (self.log_checkpoint and state.is_world_process_zero and model is not None):
            return
        processor = kw.get("processing_class") or kw.get("tokenizer")
        with tempfile.TemporaryDirectory(prefix="sacred-hf-") as tmp:
            model.save_pretrained(tmp)
            if processor is not None and hasattr(processor, "save_pretrained"):
                processor.save_pretrained(tmp)
            for root, _dirs, files in os.walk(tmp):
                for file in sorted(files):
                    path = os.path.join(root, file)
                    relative = os.path.relpath(path, tmp).replace(os.sep, "/")
                    add_file_artifact(self.run, path, f"{self.checkpoint_name}/{relative}")
        self.run.info["checkpoint"] = {
            "artifacts": self.checkpoint_name + "/",
            "step": state.global_step,
        }
