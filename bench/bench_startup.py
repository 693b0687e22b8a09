"""Start-up cost: the hello-world example from the command line, against `python -c pass`.

Budget (issue 16): hello world (`examples/01_hello_world.py -l ERROR`, no observers)
costs at most 80 ms more wall time than `python -c pass`, measured on a regular
(non-editable) installation with its bytecode cached, as users have it after
`pip install sacred`.

The package is copied from this tree into a temporary directory, compiled with
compileall (what pip does at install time) and put first on PYTHONPATH, so neither
an editable-install finder nor a source tree without bytecode caches distorts the
figure. Both commands run in the same environment, so interpreter and site costs
cancel out in the difference.

    python bench/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 80.0


def install_copy(target: Path) -> None:
    """A regular installation of this tree's sacred package: sources plus bytecode."""
    shutil.copytree(
        ROOT / "sacred", target / "sacred", ignore=shutil.ignore_patterns("__pycache__")
    )
    if not compileall.compile_dir(target / "sacred", quiet=1):
        raise SystemExit("compileall failed: the copied package does not compile")


def median_wall_time(argv: list[str], env: dict, cwd: Path, repeat: int) -> float:
    """Median wall time in seconds of running argv (after two warm-up runs).

    The runs of both commands are interleaved by the caller, so a load change on
    the machine affects both sides alike."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="runs per command (default 21)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        install_copy(site)
        script = Path(tmp) / "01_hello_world.py"
        shutil.copy(ROOT / "examples" / "01_hello_world.py", script)
        env = dict(os.environ, PYTHONPATH=str(site))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        bare_argv = [sys.executable, "-c", "pass"]
        hello_argv = [sys.executable, str(script), "-l", "ERROR"]
        # Warm-up: file system caches, and the check that the example runs at all.
        for argv in (bare_argv, hello_argv, bare_argv, hello_argv):
            subprocess.run(argv, cwd=tmp, env=env, check=True, capture_output=True)
        bare_times: list[float] = []
        hello_times: list[float] = []
        for _ in range(args.repeat):
            bare_times.append(median_wall_time(bare_argv, env, Path(tmp), 1))
            hello_times.append(median_wall_time(hello_argv, env, Path(tmp), 1))
    bare = statistics.median(bare_times)
    hello = statistics.median(hello_times)
    overhead_ms = (hello - bare) * 1000
    verdict = "within" if overhead_ms <= BUDGET_MS else "OVER"
    report(
        f"start-up, regular install with bytecode (median of {args.repeat} interleaved runs)",
        [
            ("python -c pass", f"{bare * 1000:.0f} ms"),
            ("01_hello_world.py -l ERROR", f"{hello * 1000:.0f} ms"),
            (
                "  difference",
                f"{overhead_ms:.0f} ms ({verdict} budget {BUDGET_MS:.0f} ms); "
                f"ratio {hello / bare:.2f}x",
            ),
        ],
    )


if __name__ == "__main__":
    main()
