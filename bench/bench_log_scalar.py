"""Throughput of ``_run.log_scalar`` and the cost of the final metrics flush.

Budgets (issue 3): at least 1,000,000 calls/s in a run with no observers and at
least 700,000 with the file observer attached; after ``main`` returns, the final
flush of 100,000 logged values takes under 0.1 s and ``ex.run()`` returns only when
every value is stored.

    python bench/bench_log_scalar.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from _common import report

from sacred import Experiment
from sacred.observers import FileStorageObserver

CALLS = 1_000_000


class _Empty:
    def method(self, name, value, step=None):
        pass


def baseline_calls_per_second() -> float:
    obj = _Empty()
    start = time.perf_counter()
    for i in range(CALLS):
        obj.method("loss", i)
    return CALLS / (time.perf_counter() - start)


def logging_rate(observers: list, beat_interval: float) -> float:
    ex = Experiment("bench_log_scalar")
    measured = {}

    @ex.main
    def main(_run):
        log = _run.log_scalar
        start = time.perf_counter()
        for i in range(CALLS):
            log("loss", i)
        measured["rate"] = CALLS / (time.perf_counter() - start)

    ex.observers.extend(observers)
    ex.run(options={"--loglevel": "ERROR", "--beat_interval": beat_interval})
    return measured["rate"]


def final_flush(basedir: str, count: int = 100_000) -> tuple[float, int]:
    ex = Experiment("bench_flush")
    marks = {}

    @ex.main
    def main(_run):
        for i in range(count):
            _run.log_scalar("loss", i * 0.5)
        marks["returned"] = time.perf_counter()

    ex.observers.append(FileStorageObserver(basedir))
    run = ex.run(options={"--loglevel": "ERROR", "--beat_interval": 1000})
    flush = time.perf_counter() - marks["returned"]
    metrics = json.loads((Path(basedir) / str(run._id) / "metrics.json").read_text())
    return flush, len(metrics["loss"]["values"])


def main() -> None:
    base = baseline_calls_per_second()
    plain = logging_rate([], 10.0)
    with tempfile.TemporaryDirectory() as tmp:
        filed = logging_rate([FileStorageObserver(tmp)], 10.0)
        filed_fast = logging_rate([FileStorageObserver(tmp)], 0.1)
        flush, stored = final_flush(tmp + "/flush")
    report(
        f"log_scalar, {CALLS:,} calls",
        [
            ("empty method call (baseline)", f"{base:,.0f} calls/s"),
            (
                "no observer",
                f"{plain:,.0f} calls/s ({plain / base:.2f}x baseline; budget 1,000,000)",
            ),
            ("file observer, beat 10 s", f"{filed:,.0f} calls/s (budget 700,000)"),
            ("file observer, beat 0.1 s", f"{filed_fast:,.0f} calls/s"),
            (
                "final flush of 100,000 values",
                f"{flush * 1000:.0f} ms (budget 100 ms), {stored:,} stored",
            ),
        ],
    )


if __name__ == "__main__":
    main()
