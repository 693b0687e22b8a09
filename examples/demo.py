#!/usr/bin/env python
"""The main demo: real experiments recorded in the embedded default store, then shown.

Runs a small training experiment several times with different configurations (one
run fails on purpose, one is only queued) into an SQLite database and a file
store, then reads the records back through ``sacred.store`` — the same query
interface for every backend — and prints them, including the `sacred` console
command's table.

    python examples/demo.py [DIRECTORY]     (default: ./demo_runs)
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import tempfile

from sacred import Experiment
from sacred.observers import FileStorageObserver, SqlObserver

ex = Experiment("demo_regression", save_git_info=False)


@ex.config
def config():
    learning_rate = 0.1  # step size of gradient descent
    epochs = 30  # passes over the data
    model = {"hidden": 8, "activation": "tanh"}  # a nested entry, queried below


@ex.named_config
def slow():
    """A smaller learning rate, for comparison."""
    learning_rate = 0.01


@ex.main
def train(learning_rate, epochs, model, _run, _seed):
    rnd = random.Random(_seed)
    w = rnd.uniform(-1, 1)
    loss = 1.0
    for epoch in range(epochs):
        loss = abs(w - 0.5) + 0.01 * rnd.random()
        w -= learning_rate * math.copysign(1.0, w - 0.5)
        _run.log_scalar("training.loss", loss, epoch)
        if math.isnan(loss) or learning_rate > 1:
            raise ValueError(f"diverged with learning_rate={learning_rate}")
    _run.info["final_weight"] = w
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(f"w = {w}\n")
    _run.add_artifact(f.name, name="weights.txt")
    os.unlink(f.name)
    print(f"hidden={model['hidden']} lr={learning_rate}: loss {loss:.4f}")
    return loss


def main(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    db_url = f"sqlite:///{os.path.abspath(directory)}/runs.db"
    ex.observers[:] = [SqlObserver(db_url), FileStorageObserver(os.path.join(directory, "files"))]
    quiet = {"--loglevel": "WARNING"}

    print(f"== Running experiments into {db_url} and {directory}/files")
    for lr, hidden in [(0.1, 8), (0.05, 16), (0.2, 32)]:
        ex.run(config_updates={"learning_rate": lr, "model": {"hidden": hidden}}, options=quiet)
    ex.run(named_configs=["slow"], options={**quiet, "--comment": "the slow variant"})
    try:
        ex.run(config_updates={"learning_rate": 5.0}, options=quiet)
    except ValueError as error:
        print(f"(a failing run, recorded as FAILED: {error})")
    ex.run(config_updates={"epochs": 100}, options={**quiet, "--queue": True})

    from sacred.store import open_store

    print("\n== The same query over both stores")
    query = 'status == "COMPLETED" and config.model.hidden >= 16'
    for location in (db_url, os.path.join(directory, "files")):
        store = open_store(location)
        runs = store.find(query, sort="-result")
        print(f"{location}: {query!r} ->", [(r.id, round(r.result, 4)) for r in runs])

    store = open_store(db_url)
    best = store.find('status == "COMPLETED"', sort="result", limit=1)[0]
    print(f"\n== Best run: {best.id} (lr={best.config['learning_rate']}, loss {best.result:.4f})")
    loss = best.metrics["training.loss"]
    print(
        f"   training.loss: {len(loss)} points, first {loss.iloc[0]:.4f}, last {loss.iloc[-1]:.4f}"
    )
    print(f"   artifacts: {sorted(best.artifacts)}")
    store.tag(best.id, "best")

    print("\n== Every run, as a DataFrame")
    frame = store.to_dataframe()
    columns = [
        c
        for c in ("id", "status", "config.learning_rate", "config.model.hidden", "result")
        if c in frame.columns
    ]
    print(frame[columns].to_string(index=False))

    print(f"\n== $ sacred runs {db_url}")
    sys.stdout.flush()
    subprocess.run([sys.executable, "-m", "sacred.store.cli", "runs", db_url], check=False)
    print(f"\nBrowse them in the dashboard: sacredboard {db_url}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo_runs")
