"""Config comments of stored runs, read from the sources the run stored."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from sacred.store import open_store
from sacred.store.config_docs import config_docs

INGREDIENT = """
from sacred import Ingredient

data = Ingredient("data")


@data.config
def data_config():
    # rows per batch,
    # before augmentation
    batch = 32
    shuffle = True  # pylint: disable=unused-variable
"""

EXPERIMENT = """
from sacred import Experiment
from sacred.observers import FileStorageObserver
from ingredient import data

ex = Experiment("docs", ingredients=[data])
ex.observers.append(FileStorageObserver("runs"))


@ex.config
def config():
    lr = 0.1  # learning rate
    if lr > 1:
        lr = 1  # clipped (the first assignment's comment counts)
    label = "a # not a comment"


@ex.named_config
def fast():
    lr = 0.5  # a fast schedule


@ex.named_config
def unused():
    other = 1  # never applied


def another_experiment():
    other = Experiment("other")

    @other.config
    def other_config():
        momentum = 0.9  # not an entry of this run


@ex.automain
def main(lr):
    return lr
"""


def _run(tmp_path, *args: str) -> None:
    (tmp_path / "ingredient.py").write_text(textwrap.dedent(INGREDIENT))
    (tmp_path / "exp.py").write_text(textwrap.dedent(EXPERIMENT))
    subprocess.run(
        [sys.executable, "exp.py", *args, "--loglevel", "ERROR"], cwd=tmp_path, check=True
    )


def test_comments_of_the_experiment_its_ingredients_and_used_named_configs(tmp_path):
    _run(tmp_path)
    _run(tmp_path, "with", "fast")
    with open_store(str(tmp_path / "runs")) as store:
        plain, fast = store.find(sort="id")
        assert config_docs(plain) == {
            "lr": "learning rate",
            # an ingredient imported from another stored source, under its path;
            # the block above an entry is joined; pylint pragmas are not docs
            "data.batch": "rows per batch, before augmentation",
        }
        # the named config set lr last: its comment describes the value
        assert config_docs(fast)["lr"] == "a fast schedule"
        assert "unused.other" not in config_docs(fast) and "other" not in config_docs(fast)


PRAGMAS = """
from sacred import Experiment
from sacred.observers import FileStorageObserver

ex = Experiment("pragmas")
ex.observers.append(FileStorageObserver("runs"))


@ex.config
def config():
    lr = 0.1  # learning rate  # noqa: E501
    steps = 10  # type: int
    width = 3  # noqa
    depth = 2  # pragma: no cover


@ex.automain
def main(lr):
    return lr
"""


def test_tool_pragmas_are_not_documentation(tmp_path):
    (tmp_path / "exp.py").write_text(textwrap.dedent(PRAGMAS))
    subprocess.run([sys.executable, "exp.py", "--loglevel", "ERROR"], cwd=tmp_path, check=True)
    with open_store(str(tmp_path / "runs")) as store:
        (run,) = store.find()
        assert config_docs(run) == {"lr": "learning rate"}
