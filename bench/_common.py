"""Helpers shared by the benchmarks: timing of commands and readable reports."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence


def time_command(argv: Sequence[str], repeat: int = 15, cwd: str | None = None) -> float:
    """Median wall time in seconds of running argv (after one warm-up run)."""
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_call(function: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time in seconds of calling function()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(title)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    sys.stdout.flush()


def server_database(
    server: str, prefix: str, admin: str = "postgres"
) -> tuple[str, Callable[[], None]]:
    """A new database ``<prefix>_<random>`` on the PostgreSQL or MariaDB/MySQL server
    (a URL without a database), created through the ``admin`` database; returns its
    URL and the function that drops it."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(f"{server}/{admin}", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    force = " WITH (FORCE)" if engine.dialect.name == "postgresql" else ""

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        engine.dispose()

    return f"{server}/{name}", drop
