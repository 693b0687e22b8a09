"""Hugging Face transformers: SacredCallback records the Trainer's logs (the same
names, steps and values as trainer.state.log_history), the model's configuration
and, on request, the final model. A tiny BERT built from a config: nothing is
downloaded."""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
transformers = pytest.importorskip("transformers")
import torch  # noqa: E402

from sacred.integrations.transformers import SacredCallback  # noqa: E402


def _tiny_bert():
    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
    )
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(config)


class _Data(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 40, (n, 8), generator=generator)
        self.labels = (self.ids[:, 0] > 20).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {
            "input_ids": self.ids[i],
            "attention_mask": torch.ones(8, dtype=torch.long),
            "labels": self.labels[i],
        }


def _trainer(_run, tmp_path, log_checkpoint: bool):
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    return transformers.Trainer(
        model=_tiny_bert(),
        args=args,
        train_dataset=_Data(24, 1),
        eval_dataset=_Data(8, 2),
        callbacks=[SacredCallback(_run, log_checkpoint=log_checkpoint)],
    )


def test_logs_evaluation_metrics_config_and_final_model(run_experiment, tmp_path):
    def train(_run):
        trainer = _trainer(_run, tmp_path, log_checkpoint=True)
        trainer.train()
        return trainer.state.log_history

    stored = run_experiment(train, name="hf_train")
    assert stored.status == "COMPLETED"
    history = stored.result
    expected: dict[str, list[tuple[int, float]]] = {}
    for entry in history:
        for name, value in entry.items():
            if name != "step" and isinstance(value, (int, float)):
                expected.setdefault(name, []).append((entry["step"], value))
    assert {"loss", "learning_rate", "eval_loss", "train_runtime", "train_loss"} <= set(expected)
    assert set(stored.metrics) == set(expected)
    for name, points in expected.items():
        series = stored.metrics[name]
        assert list(series.index) == [step for step, _ in points], name
        assert series.tolist() == pytest.approx([value for _, value in points]), name
    assert list(stored.metrics["loss"].index) == [2, 4, 6]
    assert list(stored.metrics["eval_loss"].index) == [3, 6]

    model_config = stored.info["model_config"]
    assert model_config["model_type"] == "bert"
    assert model_config["hidden_size"] == 16 and model_config["num_hidden_layers"] == 1
    assert stored.info["training_args"]["max_steps"] == 6
    assert stored.info["checkpoint"] == {"artifacts": "model/", "step": 6}

    # the final model, loaded back from the stored files
    assert {"model/config.json", "model/model.safetensors"} <= set(stored.artifacts)
    target = tmp_path / "restored"
    target.mkdir()
    for name in stored.artifacts:
        (target / name.split("/", 1)[1]).write_bytes(stored.artifacts[name].read())
    restored = transformers.BertForSequenceClassification.from_pretrained(str(target))
    assert restored.config.hidden_size == 16


@pytest.mark.slow
def test_without_log_checkpoint_no_artifact(run_experiment, tmp_path):
    def train(_run):
        _trainer(_run, tmp_path, log_checkpoint=False).train()

    stored = run_experiment(train)
    assert list(stored.artifacts) == []
    assert "checkpoint" not in stored.info
    assert "loss" in stored.metrics
