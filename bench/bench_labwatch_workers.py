#!/usr/bin/env python
"""Eight ``labwatch worker`` processes against eight Optuna processes, one budget each.

    python bench/bench_labwatch_workers.py                     # 8 workers, 200 trials
    python bench/bench_labwatch_workers.py --workers 2 --trials 10 --backends sqlite
    python bench/bench_labwatch_workers.py --rounds 3 --baseline /tmp/old-checkout

Labwatch: W processes of ``python -m labwatch worker SCRIPT space --n-trials N``
(the command a user types) on one study of a cheap objective (Branin, RandomSearch).
Optuna: W processes that each load the same study from Optuna's RDB storage and run
``study.optimize`` with ``RandomSampler`` and ``MaxTrialsCallback(N, states=None)``
(the budget shared through the storage, running trials counted), nothing else set.
Each side gets a fresh store: an SQLite file, or a new PostgreSQL database on the
same server (``--postgres``, default the test server at 127.0.0.1:5432).

Reported per side: trials/s over the wall time (from starting the W processes to the
last one's exit, interpreter start-up included) and over the trials' own span (the
first trial's start to the last trial's end, as the store recorded them); the ratio
Labwatch / Optuna of both; the trials completed against the budget; trial numbers
claimed more than once; configurations suggested twice (random sampling: 0 expected).

The machine's load changes while the sides run one after the other: ``--rounds R``
runs R rounds, each side once per round, the order turned round every round
(Labwatch first, then Optuna first, ...), and reports the ratio of the summed rates
as well. ``--baseline DIR`` adds a third side: Labwatch from another checkout (say,
before a change), measured in the same rounds.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import server_database  # noqa: E402

STUDY = textwrap.dedent(
    """
    import math
    import os

    from sacred import Experiment
    from labwatch.assistant import LabAssistant
    from labwatch.hyperparameters import UniformFloat
    from labwatch.optimizers import RandomSearch

    ex = Experiment("lw_workers_bench", save_git_info=False)
    la = LabAssistant(ex, store=os.environ["LW_STORE"], optimizer=RandomSearch)

    @ex.config
    def cfg():
        x = 0.0
        y = 0.0

    @la.searchspace
    def space():
        x = UniformFloat(-5, 10)
        y = UniformFloat(0, 15)

    @ex.automain
    def main(x, y):
        b, r, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
        return (y - b * x**2 + r * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10
    """
)

OPTUNA_WORKER = textwrap.dedent(
    """
    import math
    import sys

    import optuna
    from optuna.study import MaxTrialsCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage, name, budget, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    study = optuna.load_study(
        study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=seed)
    )

    def objective(trial):
        x = trial.suggest_float("x", -5, 10)
        y = trial.suggest_float("y", 0, 15)
        b, r, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
        return (y - b * x**2 + r * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10

    study.optimize(objective, callbacks=[MaxTrialsCallback(budget, states=None)])
    """
)


@dataclass
class Outcome:
    wall: float  # seconds from starting the processes to the last exit
    span: float  # seconds from the first trial's start to the last trial's end
    completed: int
    other: Counter  # trials in any other state, by state
    duplicate_numbers: int  # trial numbers held by more than one trial
    duplicate_configs: int  # configurations that occur more than once
    failed_processes: list[str]  # the last line of stderr of each process that failed


def _run_processes(commands: list[list[str]], env: dict, cwd: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    # ``cwd``: an empty directory, since ``python -m`` puts the working directory first
    # on sys.path (run from a checkout, it would shadow the PYTHONPATH of --baseline).
    procs = [
        subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for cmd in commands
    ]
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines() or ["(no output)"]
            failures.append(f"exit {proc.returncode}: {lines[-1]}")
    return time.perf_counter() - started, failures


def _duplicates(items: list) -> int:
    return sum(1 for count in Counter(items).values() if count > 1)


def _span(starts: list, stops: list) -> float:
    if not starts or not stops:
        return float("nan")
    return (max(stops) - min(starts)).total_seconds()


def run_labwatch(url: str, workers: int, trials: int, tmp: str, root: str = ROOT) -> Outcome:
    from sacred.store import open_store

    script = os.path.join(tmp, "lw_study.py")
    with open(script, "w") as f:
        f.write(STUDY)
    env = {**os.environ, "LW_STORE": url, "PYTHONPATH": root, "XDG_CACHE_HOME": tmp}
    command = [sys.executable, "-m", "labwatch", "worker", script, "space"]
    command += ["--n-trials", str(trials), "--poll", "0.2"]
    wall, failures = _run_processes([command] * workers, env, tmp)
    runs = open_store(url).find('experiment.name == "lw_workers_bench"')
    completed = [r for r in runs if r.status == "COMPLETED"]
    return Outcome(
        wall=wall,
        span=_span([r.start_time for r in runs if r.start_time], [r.stop_time for r in completed]),
        completed=len(completed),
        other=Counter(r.status for r in runs if r.status != "COMPLETED"),
        duplicate_numbers=_duplicates([r.meta["labwatch"]["trial"] for r in runs]),
        duplicate_configs=_duplicates([(r.config["x"], r.config["y"]) for r in runs]),
        failed_processes=failures,
    )


def run_optuna(url: str, workers: int, trials: int, tmp: str) -> Outcome:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    script = os.path.join(tmp, "optuna_worker.py")
    with open(script, "w") as f:
        f.write(OPTUNA_WORKER)
    name = "bench"
    optuna.create_study(study_name=name, storage=url)
    commands = [[sys.executable, script, url, name, str(trials), str(i)] for i in range(workers)]
    wall, failures = _run_processes(commands, dict(os.environ), tmp)
    study = optuna.load_study(study_name=name, storage=url)
    all_trials = study.get_trials(deepcopy=False)
    done = [t for t in all_trials if t.state == optuna.trial.TrialState.COMPLETE]
    return Outcome(
        wall=wall,
        span=_span(
            [t.datetime_start for t in all_trials if t.datetime_start],
            [t.datetime_complete for t in done if t.datetime_complete],
        ),
        completed=len(done),
        other=Counter(t.state.name for t in all_trials if t not in done),
        duplicate_numbers=_duplicates([t.number for t in all_trials]),
        duplicate_configs=_duplicates([(t.params.get("x"), t.params.get("y")) for t in done]),
        failed_processes=failures,
    )


def _line(side: str, o: Outcome, trials: int) -> str:
    exact = "exact" if o.completed == trials and not o.other else "NOT exact"
    others = ", ".join(f"{n} {s}" for s, n in sorted(o.other.items())) or "none"
    text = (
        f"  {side:<8} {o.completed / o.wall:6.2f} trials/s wall ({o.wall:5.1f} s), "
        f"{o.completed / o.span:6.2f} trials/s over the trials' span ({o.span:5.1f} s); "
        f"completed {o.completed}/{trials} ({exact}; other trials: {others}); "
        f"duplicate trial numbers {o.duplicate_numbers}, duplicate configurations "
        f"{o.duplicate_configs}"
    )
    if o.failed_processes:
        text += f"; {len(o.failed_processes)} processes failed: {o.failed_processes[0]}"
    return text


Runner = Callable[[str, int, int, str], Outcome]


def _measure(backend: str, runner: Runner, workers: int, trials: int, postgres: str) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            return runner(f"sqlite:///{tmp}/store.db", workers, trials, tmp)
        url, drop = server_database(postgres, "lwbench", admin="test")
        try:
            return runner(url, workers, trials, tmp)
        finally:
            drop()


def _rate(outcomes: list[Outcome], over: str) -> float:
    """Trials per second over all rounds: completed trials / summed seconds."""
    return sum(o.completed for o in outcomes) / sum(getattr(o, over) for o in outcomes)


def benchmark(
    backend: str, workers: int, trials: int, postgres: str, rounds: int = 1, baseline: str = ""
) -> dict[str, list[Outcome]]:
    sides: dict[str, Runner] = {"labwatch": run_labwatch, "optuna": run_optuna}
    if baseline:
        sides["baseline"] = functools.partial(run_labwatch, root=os.path.abspath(baseline))
    results: dict[str, list[Outcome]] = {side: [] for side in sides}
    print(f"{backend}, {workers} workers, budget {trials} trials:")
    for number in range(rounds):
        order = list(sides) if number % 2 == 0 else list(reversed(sides))
        for side in order:
            results[side].append(_measure(backend, sides[side], workers, trials, postgres))
        if rounds > 1:
            print(f" round {number + 1} (order {', '.join(order)}; load {_load()}):")
        for side in sides:
            print(_line(side, results[side][-1], trials))
        ours, theirs = results["labwatch"][-1], results["optuna"][-1]
        wall_ratio = (ours.completed / ours.wall) / (theirs.completed / theirs.wall)
        span_ratio = (ours.completed / ours.span) / (theirs.completed / theirs.span)
        print(
            f"  labwatch / optuna trials/s: {wall_ratio:.2f} wall, {span_ratio:.2f} over the "
            "span (target >= 1)",
            flush=True,
        )
    if rounds > 1:
        print(f" all {rounds} rounds (trials / summed seconds):")
        for side in sides:
            print(
                f"  {side:<8} {_rate(results[side], 'wall'):6.2f} trials/s wall, "
                f"{_rate(results[side], 'span'):6.2f} over the span"
            )
        for side in [s for s in sides if s != "optuna"]:
            print(
                f"  {side} / optuna trials/s: "
                f"{_rate(results[side], 'wall') / _rate(results['optuna'], 'wall'):.2f} wall, "
                f"{_rate(results[side], 'span') / _rate(results['optuna'], 'span'):.2f} over "
                "the span (target >= 1)",
                flush=True,
            )
    return results


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--trials", type=int, default=200, help="the study's budget")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SACRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
        ),
        help="server URL without a database name; a fresh database is created on it",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds, the order of the sides turned each round"
    )
    parser.add_argument(
        "--baseline", default="", help="another checkout's Labwatch, measured as a third side"
    )
    args = parser.parse_args()
    print(f"load: {_load()}")
    for backend in args.backends.split(","):
        benchmark(backend, args.workers, args.trials, args.postgres, args.rounds, args.baseline)
    print(f"load: {_load()}")


if __name__ == "__main__":
    main()
