#!/usr/bin/env python
"""
Hugging Face transformers: ``SacredCallback(_run)`` records everything the Trainer
logs (``loss``, ``learning_rate``, ``eval_loss``, …) with its ``global_step``, the
model's configuration in ``info["model_config"]`` and, with
``log_checkpoint=True``, the final model as the artifacts ``model/config.json`` and
``model/model.safetensors``. The tiny BERT is built from a configuration: nothing is
downloaded::

    $ ./transformers_train.py -l WARNING -F transformers_runs with max_steps=6
    trained 6 steps: eval_loss <any>
    final model stored as model/ at step 6
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a tiny model from code: no hub needed

import torch  # noqa: E402
import transformers  # noqa: E402

from sacred import Experiment  # noqa: E402
from sacred.integrations.transformers import SacredCallback  # noqa: E402

ex = Experiment("transformers_train")
transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()


@ex.config
def config():
    max_steps = 20  # optimizer steps
    lr = 1e-3  # learning rate
    hidden_size = 32  # of the tiny BERT
    layers = 2  # transformer layers


class RandomTokens(torch.utils.data.Dataset):
    """Random token sequences labelled by whether their first token is large."""

    def __init__(self, n, seed):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 100, (n, 12), generator=generator)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": int(self.ids[i, 0] > 50)}


@ex.automain
def train(_run, _seed, max_steps, lr, hidden_size, layers):
    config = transformers.BertConfig(
        vocab_size=100,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=32,
        num_labels=2,
    )
    args = transformers.TrainingArguments(
        output_dir="hf_output",
        max_steps=max_steps,
        learning_rate=lr,
        per_device_train_batch_size=8,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=max_steps // 2,
        save_strategy="no",
        report_to="none",  # the SacredCallback records; no other tracker
        use_cpu=True,
        disable_tqdm=True,
        seed=_seed,
    )
    trainer = transformers.Trainer(
        model=transformers.BertForSequenceClassification(config),
        args=args,
        train_dataset=RandomTokens(128, 1),
        eval_dataset=RandomTokens(32, 2),
        callbacks=[SacredCallback(_run, log_checkpoint=True)],
    )
    trainer.remove_callback(transformers.PrinterCallback)  # logs go to the run, not stdout
    trainer.train()
    eval_loss = trainer.state.log_history[-2]["eval_loss"]
    print(f"trained {trainer.state.global_step} steps: eval_loss {eval_loss:.4f}")
    stored = _run.info["checkpoint"]
    print(f"final model stored as {stored['artifacts']} at step {stored['step']}")
    return eval_loss
