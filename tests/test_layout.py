"""The layout reads top-down: no import cycle among the modules of sacred, labwatch
and sacredboard, counting the imports inside functions (tools/import_cycles.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "import_cycles.py"


def _run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), str(root)], capture_output=True, text=True, timeout=120
    )


def test_no_import_cycles_even_through_function_level_imports():
    result = _run(ROOT)
    assert result.returncode == 0, result.stdout
    assert re.fullmatch(r"0 import cycles among \d+ modules", result.stdout.strip())


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_cycle_through_a_function_level_import_is_reported_with_its_lines(tmp_path):
    _write(
        tmp_path,
        {
            "sacred/__init__.py": "",
            "sacred/low.py": """\
                def helper():
                    from sacred.high import thing  # lazily: still a cycle

                    return thing
                """,
            "sacred/high.py": "from sacred import low\n\nthing = low\n",
            "labwatch/__init__.py": "",
            "sacredboard/__init__.py": "",
        },
    )
    result = _run(tmp_path)
    assert result.returncode == 1
    assert "sacred.high:1 -> sacred.low" in result.stdout
    assert "sacred.low:2 -> sacred.high" in result.stdout
    assert result.stdout.strip().endswith("1 import cycles among 5 modules")


def test_type_checking_imports_and_relative_imports(tmp_path):
    _write(
        tmp_path,
        {
            "sacred/__init__.py": "",
            "sacred/a.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:  # never runs: no cycle
                    from sacred.b import B
                """,
            "sacred/b.py": "from . import a\n\nB = a\n",
            "sacred/pkg/__init__.py": "from .c import C\n",
            "sacred/pkg/c.py": "def f():\n    from ..pkg import C\n\n\nC = 1\n",
            "labwatch/__init__.py": "",
            "sacredboard/__init__.py": "",
        },
    )
    result = _run(tmp_path)
    # pkg/__init__ -> pkg.c -> pkg (its __init__): relative imports resolve.
    assert "sacred.pkg.c:2 -> sacred.pkg" in result.stdout
    assert "sacred.a" not in result.stdout
    assert result.stdout.strip().endswith("1 import cycles among 7 modules")
