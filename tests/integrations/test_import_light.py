"""``import sacred`` stays framework-free: no training framework is imported by
sacred itself, by sacred.integrations, or by building the ``sacred`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAMEWORKS = ("torch", "lightning", "pytorch_lightning", "keras", "transformers", "tensorboard")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    return [m for m in modules if m.split(".")[0] in FRAMEWORKS]


def test_import_sacred_imports_no_framework():
    assert _imported_after("import sacred") == []


def test_integrations_package_and_command_import_no_framework():
    code = (
        "import sacred.integrations, sacred.stflow\nfrom sacred.store.cli import _parser\n_parser()"
    )
    assert _imported_after(code) == []
