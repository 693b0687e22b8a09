"""Workers: claim latency under contention, and throughput of queued runs.

1. Claim latency: 8 processes claim from one queue of N queued runs until it is
   empty (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE).
   Reports p50/p95 per claim and checks that no run was claimed twice.
2. Throughput: R empty queued runs worked off by W ``sacred worker`` processes
   (each run is a child process running the experiment's own command line: a forked
   copy of the worker by default, a new interpreter with --spawn), in runs/s per
   worker and compared with running the same R runs in one process (``ex.run()``
   in a loop, the same observer), the baseline measured in this run.

    python bench/bench_worker.py                  # 1,000 runs, sqlite and postgresql
    python bench/bench_worker.py --quick          # 200 claims, 40 runs
    python bench/bench_worker.py --postgres URL   # a server database to use (created)
    python bench/bench_worker.py --spawn          # workers start a new interpreter per run
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import report, server_database  # noqa: E402

EMPTY = """\
from sacred import Experiment

ex = Experiment("empty")


@ex.config
def cfg():
    idx = 0


@ex.automain
def main(idx):
    return idx
"""


def _experiment(directory: str):
    import importlib.util

    path = os.path.join(directory, "empty_exp.py")
    with open(path, "w") as f:
        f.write(EMPTY)
    spec = importlib.util.spec_from_file_location("empty_exp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ex, path


def _queue(ex, flag: str, url: str, n: int) -> None:
    for idx in range(n):
        ex.run(
            config_updates={"idx": idx},
            options={"--queue": True, flag: url, "--loglevel": "WARNING"},
        )


def _claim_all(url: str, results: multiprocessing.Queue) -> None:
    from sacred.worker.claims import open_claimer

    claimer = open_claimer(url)
    latencies, ids = [], []
    name = f"bench:{os.getpid()}"
    while True:
        start = time.perf_counter()
        run = claimer.claim(name)
        latencies.append(time.perf_counter() - start)
        if run is None:
            break
        ids.append(run.run_id)
    claimer.close()
    results.put((latencies[:-1], ids))


def bench_claims(url: str, n: int, workers: int, directory: str) -> list[tuple[str, str]]:
    ex, _ = _experiment(directory)
    _queue(ex, "--sql", url, n)
    results: multiprocessing.Queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_claim_all, args=(url, results)) for _ in range(workers)
    ]
    start = time.perf_counter()
    for p in procs:
        p.start()
    collected = [results.get() for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    latencies = sorted(x for lat, _ in collected for x in lat)
    ids = [i for _, got in collected for i in got]
    assert len(ids) == len(set(ids)) == n, f"{len(ids)} claims, {len(set(ids))} distinct, {n}"
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    return [
        (f"claim p50 ({workers} workers)", f"{p50:.1f} ms"),
        (f"claim p95 ({workers} workers)", f"{p95:.1f} ms"),
        ("claims/s (all workers)", f"{n / elapsed:.0f}"),
        ("runs claimed twice", "0"),
    ]


def bench_throughput(
    url: str, n: int, workers: int, directory: str, spawn: bool = False
) -> list[tuple[str, str]]:
    ex, _ = _experiment(directory)
    # baseline: the same runs in one process, recorded by the same kind of observer
    base_url = url.replace("queue.db", "inline.db") if url.startswith("sqlite") else url
    start = time.perf_counter()
    for idx in range(n):
        ex.run(config_updates={"idx": idx}, options={"--sql": base_url, "--loglevel": "WARNING"})
    inline = time.perf_counter() - start

    from sacred.store import open_store

    _queue(ex, "--sql", url, n)
    with open_store(url) as s:  # the baseline may share the database (PostgreSQL)
        before = len(s.find('status == "COMPLETED"'))
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    argv = [sys.executable, "-m", "sacred.store.cli", "worker", url, "--idle-exit", "1"]
    argv += ["--spawn"] if spawn else []
    start = time.perf_counter()
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    for p in procs:
        p.wait()
    # the workers' idle wait before exiting is not work: take it off
    elapsed = time.perf_counter() - start - 1.0
    with open_store(url) as s:
        done = len(s.find('status == "COMPLETED"')) - before
    assert done == n, f"only {done} of {n} runs completed"
    rate = n / elapsed
    return [
        (f"{n} runs, {workers} workers", f"{elapsed:.1f} s, {rate:.1f} runs/s"),
        ("runs/s per worker", f"{rate / workers:.2f}"),
        ("one process, ex.run() loop", f"{inline:.1f} s, {n / inline:.1f} runs/s"),
        ("workers / one process", f"{(n / elapsed) / (n / inline):.2f}x"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 claims, 40 runs")
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--claim-workers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SACRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
        ),
        help="server URL without database (a fresh database is made); '' to skip",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--what", default="claims,throughput", help="which measurements")
    parser.add_argument(
        "--spawn", action="store_true", help="workers start a new interpreter per run"
    )
    args = parser.parse_args()
    if args.quick:
        args.claims, args.runs = 200, 40
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            for what in args.what.split(","):
                drop = None
                if backend == "sqlite":
                    url = f"sqlite:///{os.path.join(tmp, what + '-queue.db')}"
                elif args.postgres:
                    url, drop = server_database(args.postgres, "sacred_bench")
                else:
                    continue
                try:
                    if what == "claims":
                        rows = bench_claims(url, args.claims, args.claim_workers, tmp)
                    else:
                        rows = bench_throughput(url, args.runs, args.workers, tmp, args.spawn)
                finally:
                    if drop is not None:
                        drop()
                report(f"{backend}: {what}", rows)


if __name__ == "__main__":
    main()
