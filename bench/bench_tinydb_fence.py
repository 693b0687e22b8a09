"""What the claim fence costs a TinyDB store: a heartbeat (its metrics, then the
record) of a run a worker claimed (every write checks the claim under the store's
lock) against the same heartbeat of a run nobody claimed, on a store of N runs; and
a claim against one such heartbeat. Rounds alternate the two kinds of run in one
process, so the ratios hold on a loaded machine.

    python bench/bench_tinydb_fence.py            # 200 runs in the store, 5 rounds
    python bench/bench_tinydb_fence.py --quick    # 50 runs, 3 rounds

Run with PYTHONPATH set to a checkout without TinyDB claims to measure its plain
heartbeat (what the fence and the one-read metrics write changed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sacred._metrics import MetricsBuffer  # noqa: E402
from sacred._time import utc_now  # noqa: E402
from sacred.observers.claiming import CLAIM_TOKEN_ENV  # noqa: E402

try:  # a checkout from before TinyDB claims: the plain heartbeat only (a baseline)
    from sacred.observers.tinydb_hashfs.claim import TinyDbClaimer
except ImportError:
    TinyDbClaimer = None  # type: ignore[assignment,misc]
from sacred.observers.tinydb_hashfs.observer import (  # noqa: E402
    QueueingTinyDbObserver,
    TinyDbObserver,
)

EX_INFO = {"name": "bench", "base_dir": "", "sources": [], "dependencies": [], "mainfile": ""}
BEATS = 20


def _queue(path: str) -> None:
    QueueingTinyDbObserver(path).queued_event(
        ex_info=EX_INFO,
        command="main",
        host_info={},
        queue_time=utc_now(),
        config={"lr": 0.1, "layers": [64, 64]},
        meta_info={},
        _id=None,
    )


def _start(path: str, run_id: object = None, meta: dict | None = None) -> TinyDbObserver:
    observer = TinyDbObserver(path)
    observer.started_event(EX_INFO, "main", {}, utc_now(), {"lr": 0.1}, meta or {}, run_id)
    return observer


def _beat(observer: TinyDbObserver, step: int) -> float:
    """Seconds of one heartbeat: a batch of metrics, then the record."""
    buffer = MetricsBuffer()
    buffer.append(("loss", 1.0 / (step + 1), step, int(time.time() * 1000)))
    began = time.perf_counter()
    observer.log_metrics(buffer.drain(), {})
    observer.heartbeat_event({}, f"step {step}\n", utc_now(), None)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_runs, rounds = (50, 3) if args.quick else (200, 5)
    with tempfile.TemporaryDirectory(prefix="bench-tinydb-fence-") as tmp:
        path = os.path.join(tmp, "runs_db")
        for _ in range(n_runs):  # the store's other runs: every write rewrites them
            observer = _start(path)
            observer.completed_event(utc_now(), 1)
        plain: list[float] = []
        fenced: list[float] = []
        claims: list[float] = []
        for _ in range(rounds):
            # a run nobody claimed and, when this checkout has TinyDB claims, a run a
            # worker claimed, beating in turn: each pair of beats sees the same load
            os.environ.pop(CLAIM_TOKEN_ENV, None)
            unclaimed = _start(path)
            claimed_run = None
            if TinyDbClaimer is not None:
                _queue(path)
                began = time.perf_counter()
                claimed = TinyDbClaimer(path).claim("bench:1")
                claims.append(time.perf_counter() - began)
                assert claimed is not None
                os.environ[CLAIM_TOKEN_ENV] = claimed.token
                claimed_run = _start(path, claimed.run_id, claimed.meta)
                assert claimed_run._fence is not None
            for step in range(BEATS):
                plain.append(_beat(unclaimed, step))
                if claimed_run is not None:
                    fenced.append(_beat(claimed_run, step))
            unclaimed.completed_event(utc_now(), 0)
            if claimed_run is not None:
                claimed_run.completed_event(utc_now(), 0)
        os.environ.pop(CLAIM_TOKEN_ENV, None)
        size = os.path.getsize(os.path.join(path, "metadata.json"))

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    load = os.getloadavg()[0]
    print(f"TinyDB store of ~{n_runs} runs ({size / 1024:.0f} KB), load {load:.1f}")
    print(f"heartbeat, no claim:  {ms(plain):7.1f} ms (median of {len(plain)} beats)")
    if not fenced:
        return
    print(f"heartbeat, fenced:    {ms(fenced):7.1f} ms  ratio {ms(fenced) / ms(plain):.2f}")
    print(f"claim:                {ms(claims):7.1f} ms  ratio {ms(claims) / ms(plain):.2f}")


if __name__ == "__main__":
    main()
