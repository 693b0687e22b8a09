"""Heartbeat cost of the local observers while a run logs many metrics.

The run: 200,000 scalars (two metrics) logged over about three seconds with a beat
interval of 0.1 s, once with no observer (the baseline), once with the
FileStorageObserver and once with the SqlObserver on SQLite. For each observer it
prints the time spent per beat (storing the new metrics + the heartbeat) early and
late in the run, the number of beats, how much slower the logging loop ran than
without an observer, and the SQLite/file ratio.

Budgets (issue 4): the file observer spends no more per beat late than early and
under 10 ms per beat (the original rewrote all metrics every beat: 0.2 s early,
0.86 s late); the run with SQLite stays within 2x of the run with the file observer,
judged on the logging loop's time, on the time spent inside the observer over the
whole run, and on the time per beat late in the run (all three are printed).

    python bench/bench_heartbeat.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from _common import report

from sacred import Experiment
from sacred.observers import FileStorageObserver, SqlObserver

SCALARS = 200_000
CHUNK = 1_000  # values logged between two short sleeps
PAUSE = 0.014  # seconds; 200 chunks -> about 3 s of run time
BEAT = 0.1


class BeatTimer:
    """Wraps an observer's metrics and heartbeat events and times each beat."""

    def __init__(self, observer) -> None:
        self.observer = observer
        self.beats: list[float] = []
        self.final: float = 0.0
        self._pending = 0.0
        self._wrap("log_metrics")
        self._wrap("heartbeat_event")
        for name in ("completed_event", "failed_event", "interrupted_event"):
            self._wrap_final(name)

    def _wrap(self, name: str) -> None:
        method = getattr(self.observer, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                if name == "heartbeat_event":
                    self.beats.append(self._pending + spent)
                    self._pending = 0.0
                else:
                    self._pending += spent

        setattr(self.observer, name, timed)

    def _wrap_final(self, name: str) -> None:
        method = getattr(self.observer, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                # the last metrics batch arrives after the last heartbeat
                self.final = self._pending + time.perf_counter() - start

        setattr(self.observer, name, timed)

    def early_late(self) -> tuple[float, float]:
        """Median per-beat time of the first and last five regular beats (the very
        first and the final beat excluded: they carry start-up and end work)."""
        regular = self.beats[1:-1] or self.beats
        return statistics.median(regular[:5]), statistics.median(regular[-5:])


def run_once(observers: list) -> float:
    """Seconds the logging loop took."""
    ex = Experiment("bench_heartbeat")
    measured = {}

    @ex.main
    def main(_run):
        log = _run.log_scalar
        start = time.perf_counter()
        for chunk in range(SCALARS // CHUNK):
            for i in range(chunk * CHUNK, (chunk + 1) * CHUNK, 2):
                log("loss", 1.0 / (i + 1))
                log("accuracy", i / SCALARS)
            time.sleep(PAUSE)
        measured["loop"] = time.perf_counter() - start

    ex.observers.extend(observers)
    ex.run(options={"--loglevel": "ERROR", "--beat_interval": BEAT})
    return measured["loop"]


def measure(make_observer) -> tuple[BeatTimer, float]:
    timer = BeatTimer(make_observer())
    loop = run_once([timer.observer])
    return timer, loop


def main() -> None:
    baseline = run_once([])
    with tempfile.TemporaryDirectory() as tmp:
        file_timer, file_loop = measure(lambda: FileStorageObserver(Path(tmp) / "files"))
        sql_timer, sql_loop = measure(lambda: SqlObserver(f"sqlite:///{Path(tmp) / 'runs.db'}"))
    rows = [("no observer (baseline)", f"logging loop {baseline:.2f} s")]
    for name, timer, loop in (
        ("file observer", file_timer, file_loop),
        ("SQLite observer", sql_timer, sql_loop),
    ):
        early, late = timer.early_late()
        rows.append(
            (
                name,
                f"{len(timer.beats)} beats; per beat early {early * 1000:.1f} ms, "
                f"late {late * 1000:.1f} ms (late/early {late / early:.2f}); "
                f"max {max(timer.beats) * 1000:.1f} ms; end of run {timer.final * 1000:.1f} ms; "
                f"loop {loop:.2f} s ({loop / baseline:.2f}x baseline)",
            )
        )
    file_total = sum(file_timer.beats) + file_timer.final
    sql_total = sum(sql_timer.beats) + sql_timer.final
    file_late = file_timer.early_late()[1]
    sql_late = sql_timer.early_late()[1]
    rows.append(
        (
            "SQLite / file",
            f"logging loop {sql_loop / file_loop:.2f}x (budget 2x); time in observer "
            f"{sql_total * 1000:.0f} ms / {file_total * 1000:.0f} ms = "
            f"{sql_total / file_total:.2f}x; per beat (late) {sql_late / file_late:.2f}x",
        )
    )
    report(
        f"heartbeats: {SCALARS:,} scalars, beat interval {BEAT} s "
        "(file budget: late <= early, < 10 ms per beat)",
        rows,
    )


if __name__ == "__main__":
    main()
