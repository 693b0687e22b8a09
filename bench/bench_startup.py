"""Start-up cost: a hello-world experiment from the command line, and `import sacred`.

Budgets (issue 3): the hello world (`@ex.automain`, no observers, `-l ERROR`) costs at
most 120 ms more wall time than `python -c pass`; `import sacred` at most 60 ms
(python -X importtime, cumulative).

    python bench/bench_startup.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import report, time_command

HELLO = """
from sacred import Experiment

ex = Experiment("hello")


@ex.automain
def main():
    print("Hello world!")
"""


def import_time_ms() -> float:
    """Cumulative import time of the sacred package (median of 7 runs)."""
    values = []
    for _ in range(7):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import sacred"],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stderr.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)sacred$", line)
            if match:
                values.append(int(match.group(1)) / 1000)
    values.sort()
    return values[len(values) // 2]


def precompile() -> None:
    """Write sacred's bytecode caches, as a pip install does: this environment may set
    PYTHONDONTWRITEBYTECODE, which would otherwise make every run compile from source."""
    import compileall

    import sacred

    compileall.compile_dir(Path(sacred.__file__).parent, quiet=1)


def main() -> None:
    precompile()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "hello.py"
        script.write_text(HELLO)
        bare = time_command([sys.executable, "-c", "pass"])
        hello = time_command([sys.executable, str(script), "-l", "ERROR"], cwd=tmp)
        importing = time_command([sys.executable, "-c", "import sacred"])
        import_ms = import_time_ms()
    report(
        "start-up (median of 15 runs)",
        [
            ("python -c pass", f"{bare * 1000:.0f} ms"),
            ("hello world -l ERROR", f"{hello * 1000:.0f} ms"),
            (
                "  overhead",
                f"{(hello - bare) * 1000:.0f} ms (budget 120 ms; ratio {hello / bare:.2f}x)",
            ),
            ("python -c 'import sacred'", f"{importing * 1000:.0f} ms"),
            ("import sacred (-X importtime)", f"{import_ms:.1f} ms (budget 60 ms)"),
        ],
    )


if __name__ == "__main__":
    main()
