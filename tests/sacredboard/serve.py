"""Start ``python -m sacredboard`` in a subprocess and wait for its printed URL."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextmanager
def serve(*args: str, cwd: str | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """(url, process) of a board on a free port; stopped (by its pid) on exit."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "sacredboard", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    try:
        line = process.stdout.readline()  # blocks until the server printed its URL
        if "serving" not in line:
            raise AssertionError(f"sacredboard did not start: {line}{process.stderr.read()}")
        url = line.split(" at ", 1)[1].strip()
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()
