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
import resource
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


def timed_run(argv: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall time, CPU time) in seconds of one run of argv.

    CPU time (user + system of the child) is printed next to wall time because it
    hardly changes with the load of a shared machine, where wall time can double."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


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
        # Interleaved, so that a change of load on the machine affects both alike.
        bare_runs, hello_runs = [], []
        for _ in range(args.repeat):
            bare_runs.append(timed_run(bare_argv, env, Path(tmp)))
            hello_runs.append(timed_run(hello_argv, env, Path(tmp)))
    bare, bare_cpu = (statistics.median(t) for t in zip(*bare_runs))
    hello, hello_cpu = (statistics.median(t) for t in zip(*hello_runs))
    overhead_ms = (hello - bare) * 1000
    verdict = "within" if overhead_ms <= BUDGET_MS else "OVER"
    report(
        f"start-up, regular install with bytecode (median of {args.repeat} interleaved runs)",
        [
            ("python -c pass", f"{bare * 1000:.0f} ms wall, {bare_cpu * 1000:.0f} ms CPU"),
            (
                "01_hello_world.py -l ERROR",
                f"{hello * 1000:.0f} ms wall, {hello_cpu * 1000:.0f} ms CPU",
            ),
            (
                "  difference (wall)",
                f"{overhead_ms:.0f} ms ({verdict} budget {BUDGET_MS:.0f} ms); "
                f"ratio {hello / bare:.2f}x",
            ),
            (
                "  difference (CPU)",
                f"{(hello_cpu - bare_cpu) * 1000:.0f} ms; ratio {hello_cpu / bare_cpu:.2f}x",
            ),
        ],
    )


if __name__ == "__main__":
    main()
