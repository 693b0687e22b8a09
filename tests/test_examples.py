"""Every invocation shown in an example's docstring is run and its output compared.

In the transcripts, ``<any>`` stands for a part that changes from run to run (a
random seed, a result computed from it).
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sacred.utils import apply_backspaces_and_linefeeds

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _transcripts(path: Path) -> list[tuple[list[str], list[str]]]:
    doc = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
    lines = doc.splitlines()
    sessions = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("$ ./"):
            indent = len(lines[i]) - len(lines[i].lstrip())
            command = shlex.split(stripped[2:])
            expected = []
            i += 1
            while i < len(lines):
                line = lines[i]
                if not line.strip() or line.strip().startswith("$ "):
                    break
                if len(line) - len(line.lstrip()) < indent:
                    break
                expected.append(line[indent:].rstrip())
                i += 1
            sessions.append((command, expected))
        else:
            i += 1
    return sessions


# The examples that train models with torch, Lightning, Keras, transformers: the whole
# suite runs them (tests/integrations has fast tests of each integration).
TRAINING = (
    "torch_train",
    "lightning_train",
    "keras_train",
    "transformers_train",
    "tensorboard_train",
)
CASES = [
    pytest.param(
        path.name,
        command,
        expected,
        id=f"{path.stem}:{' '.join(command[1:]) or '-'}",
        marks=[pytest.mark.slow] if path.stem in TRAINING else [],
    )
    for path in sorted(EXAMPLES.glob("*.py"))
    for command, expected in _transcripts(path)
]


def _matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("<any>"))
    return re.fullmatch(pattern, actual) is not None


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("examples")
    for item in EXAMPLES.iterdir():
        if item.is_file():
            shutil.copy(item, target / item.name)
    return target


def test_every_example_has_a_transcript():
    scripts = [p for p in EXAMPLES.glob("*.py") if not p.name.endswith("_dataset.py")]
    # demo.py is run by the README's command; the labwatch examples by tests/labwatch.
    others = ("demo.py", "labwatch_mnist.py", "labwatch_mlp.py", "branin.py", "branin_bo.py")
    missing = [p.name for p in scripts if p.name not in others and not _transcripts(p)]
    assert not missing


@pytest.mark.parametrize("script, command, expected", CASES)
def test_transcript(example_dir: Path, script: str, command: list[str], expected: list[str]):
    proc = subprocess.run(
        [sys.executable, "-u", script, *command[1:]],
        cwd=example_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    output = proc.stdout.decode("utf-8", errors="replace")  # bytes: keep the '\r's
    # Read the console like a person does: carriage returns overwrite the line.
    console = apply_backspaces_and_linefeeds(output)
    actual = [line.rstrip() for line in console.splitlines()]
    actual = [line for line in actual if line]
    assert proc.returncode == 0, output
    assert len(actual) == len(expected), "\n".join(actual)
    for want, got in zip(expected, actual):
        assert _matches(want, got), f"expected {want!r}\n     got {got!r}\n\n" + "\n".join(actual)
