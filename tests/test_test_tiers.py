"""The two test tiers the README documents: `-m "not slow"` keeps a few of the seeded
kill trials and leaves the rest, and the browser tests, to the whole suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLS = {
    "tests/faults/test_kill_sqlite.py": "test_a_killed_run_leaves_a_sound_database",
    "tests/faults/test_kill_file_store.py": "test_a_killed_run_leaves_a_readable_record",
}
BROWSER = ["tests/sacredboard/test_browser.py", "tests/sacredboard/test_browser_detail.py"]


def collected(*args: str) -> list[str]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
        ]
        + list(args),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_the_fast_tier_keeps_three_kill_trials_per_backend_and_no_browser_test():
    fast = collected("-m", "not slow", *KILLS, *BROWSER)
    assert sorted(fast) == sorted(
        f"{path}::{name}[{trial}]" for path, name in KILLS.items() for trial in range(3)
    )
    whole = collected(*KILLS, *BROWSER)
    assert sum(1 for test in whole if test.startswith(tuple(KILLS))) == 100
    assert sum(1 for test in whole if test.startswith(tuple(BROWSER))) > 10
