"""MLflow's compare page against the board, on the same 10,000 runs (issue 19).

A measurement, not a CI step. It needs MLflow in a SEPARATE virtual environment
(never in the project's Python, whose dependencies MLflow would change):

    python3 -m venv /work/mlflow-venv && /work/mlflow-venv/bin/pip install mlflow
    python bench/bench_mlflow_compare.py [--runs 10000] [--venv DIR] [--keep DIR]

run with the project's Python (sacred, Playwright, /usr/bin/chromium). It

1. builds the board's bench store (bench_sacredboard.build_store: the SqlObserver's
   layout, the runs of bench_store.make_run, an "acc" metric of 10 points per run);
2. logs the same runs into an MLflow SQLite backend, from the venv's Python (this
   file again, ``--log-mlflow``): the flattened config as params, ``result`` and the
   10 "acc" points as metrics, the status and times: the first --client-runs (100)
   through ``MlflowClient`` (create_run, one ``log_batch``, set_terminated), the rest
   as the same rows inserted in one transaction (see log_mlflow: through the client
   they would take up to an hour here). The 1,000,000-point "loss" of run 1 and the
   10,000-point ones of runs 2..101 are left out: the views compared do not use them;
3. starts ``mlflow server`` and ``python -m sacredboard`` on 127.0.0.1, and times in
   headless Chromium, from navigation to drawn: the board's scatter (model.hidden
   against result) and parallel coordinates (model.hidden, optimizer.lr,
   model.dropout, optimizer.name, result) of every run, and MLflow's compare page of
   the runs with its parallel-coordinates plot drawn, then its scatter plot of the
   same two values drawn. Other host names do not resolve (both UIs must work
   offline; MLflow's telemetry is switched off).

MLflow's compare page is tried with --counts runs in turn (default 10,000, 1,000,
100): when it does not draw its plots within --timeout seconds (default 600) the
script says so and tries the next count; each figure says which count it is for.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHROMIUM = "/usr/bin/chromium"
# Other hosts do not resolve: both UIs must work offline (no request interception,
# which would add its own cost to every request of the pages measured).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
#: The board's parallel-coordinates axes (result is added as the colour axis), and
#: the scatter's x and y: the same values on both UIs.
AXES = ("model.hidden", "optimizer.lr", "model.dropout", "optimizer.name")
SCATTER = ("model.hidden", "result")
MLFLOW_STATUS = {"COMPLETED": "FINISHED", "FAILED": "FAILED", "RUNNING": "RUNNING"}


# -- the runs, as the board's bench store has them ------------------------------------


def flatten(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value if not isinstance(value, list) else json.dumps(value)
    return out


def board_runs(runs: int) -> list[dict]:
    """The runs of bench_store.clone_runs (same generator, same seed) and the "acc"
    values of bench_sacredboard.accuracy_metrics, as plain JSON for the venv."""
    from bench_store import make_run

    rng = random.Random(1)
    start = datetime.datetime(2024, 1, 1)
    out = []
    for i in range(1, runs + 1):
        run = make_run(rng, i, start)
        top = 0.5 + 0.5 * ((i * 7919) % 1000) / 1000
        epoch = datetime.datetime(1970, 1, 1)
        out.append(
            {
                "id": i,
                "params": flatten(run["config"]),
                "status": run["status"],
                "start_ms": int((run["start_time"] - epoch).total_seconds() * 1000),
                "stop_ms": None
                if run["stop_time"] is None
                else int((run["stop_time"] - epoch).total_seconds() * 1000),
                "result": run["result"],
                "acc": [top * (s + 1) / 10 for s in range(10)],
            }
        )
    return out


# -- inside the MLflow venv -------------------------------------------------------------


def log_mlflow(runs_file: str, tracking: str, ids_file: str, client_runs: int) -> None:
    """Log the runs of runs_file into the MLflow backend; write their run ids.

    The first client_runs through MlflowClient (create_run, one log_batch,
    set_terminated); through it the rest would take 25 to 60 minutes on the loaded
    2-core machine (3 to 7 runs a second were measured), so they are inserted in one
    transaction as exactly the rows those calls write (runs, params, metrics,
    latest_metrics, tags); the last one is read back through the client and compared
    with its source."""
    # only in the MLflow venv
    from mlflow.entities import Metric, Param, RunTag  # type: ignore[import-not-found]
    from mlflow.tracking import MlflowClient  # type: ignore[import-not-found]

    client = MlflowClient(tracking_uri=tracking)
    experiment = client.create_experiment("bench_store")
    with open(runs_file) as f:
        runs = json.load(f)
    ids = []
    began = time.perf_counter()
    for run in runs[:client_runs]:
        created = client.create_run(
            experiment, start_time=run["start_ms"], run_name=f"run-{run['id']}"
        )
        run_id = created.info.run_id
        params = [Param(key, str(value)) for key, value in run["params"].items()]
        tags = [RunTag("sacred.id", str(run["id"]))]
        metrics = [Metric(*m) for m in mlflow_metrics(run)]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        if run["status"] != "RUNNING":
            client.set_terminated(run_id, MLFLOW_STATUS[run["status"]], end_time=run["stop_ms"])
        ids.append(run_id)
    took = time.perf_counter() - began
    print(f"  mlflow: {len(ids):,} runs through MlflowClient in {took:.1f} s", flush=True)
    began = time.perf_counter()
    ids += insert_rows(tracking, experiment, runs[client_runs:])
    took = time.perf_counter() - began
    print(f"  mlflow: {len(runs) - client_runs:,} runs inserted in {took:.1f} s", flush=True)
    check = runs[-1]
    data = client.get_run(ids[-1]).data
    assert data.params == {k: str(v) for k, v in check["params"].items()}, data.params
    assert data.metrics.get("result") == check["result"] and data.metrics["acc"] == check["acc"][-1]
    with open(ids_file, "w") as f:
        json.dump({"experiment": experiment, "runs": ids}, f)


def mlflow_metrics(run: dict) -> list[tuple]:
    """(key, value, timestamp ms, step) of a run: the 10 acc points, and result."""
    out = [("acc", v, run["start_ms"] + 1000 * step, step) for step, v in enumerate(run["acc"])]
    if run["result"] is not None:
        out.append(("result", run["result"], run["stop_ms"] or run["start_ms"], 0))
    return out


def insert_rows(tracking: str, experiment: str, runs: list[dict]) -> list[str]:
    import sqlite3
    import uuid

    path = tracking.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    ids = []
    with conn:
        for run in runs:
            run_id = uuid.uuid4().hex
            ids.append(run_id)
            status = MLFLOW_STATUS[run["status"]]
            artifacts = f"mlruns/{experiment}/{run_id}/artifacts"
            conn.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
                " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
                " artifact_uri, experiment_id, deleted_time) VALUES"
                " (?, ?, 'UNKNOWN', '', '', 'unknown', ?, ?, ?, '', 'active', ?, ?, NULL)",
                (run_id, f"run-{run['id']}", status, run["start_ms"], run["stop_ms"],
                 artifacts, int(experiment)),
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, str(v), run_id) for k, v in run["params"].items()],
            )
            conn.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [("mlflow.runName", f"run-{run['id']}", run_id),
                 ("sacred.id", str(run["id"]), run_id)],
            )  # fmt: skip
            metrics = mlflow_metrics(run)
            conn.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                [(k, v, t, run_id, step) for k, v, t, step in metrics],
            )
            latest = {m[0]: m for m in metrics}  # the last point of each key
            conn.executemany(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                [(k, v, t, step, run_id) for k, v, t, step in latest.values()],
            )
    conn.close()
    return ids


# -- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def start_mlflow(venv: str, tracking: str, workdir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, **QUIET_ENV}
    env.pop("PYTHONPATH", None)
    log = open(os.path.join(workdir, "mlflow-server.log"), "w")
    process = subprocess.Popen(
        [os.path.join(venv, "bin", "mlflow"), "server", "--backend-store-uri", tracking]
        + ["--default-artifact-root", os.path.join(workdir, "mlartifacts")]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_for(url + "health")
    return process, url


def start_board(store: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    process = subprocess.Popen(
        [sys.executable, "-m", "sacredboard", store, "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    url = process.stdout.readline().split(" at ", 1)[1].strip()
    wait_for(url + "api/health")
    return process, url


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# -- the browser -------------------------------------------------------------------------


def median_of(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def board_measures(page, url: str, repeat: int) -> list[tuple[str, str]]:
    def view(params: str, selector: str):
        def go() -> None:
            page.goto(url + "?" + params)
            page.wait_for_selector(selector, timeout=120_000)

        return go

    scatter = view(f"view=scatter&sx={SCATTER[0]}&sy={SCATTER[1]}", ".scatter.drawn")
    scatter()
    points = int(page.locator(".scatter").get_attribute("data-points"))
    took = median_of(scatter, repeat)
    rows = [(f"board: scatter {SCATTER[0]} x {SCATTER[1]}, {points:,} points drawn", took)]
    parallel = view(f"view=parallel&pa={','.join(AXES)}", ".parallel.drawn")
    parallel()
    shown = int(page.locator(".parallel").get_attribute("data-runs"))
    took = median_of(parallel, repeat)
    rows.append((f"board: parallel coordinates, {shown:,} runs drawn", took))
    return [(name, f"{took * 1000:,.0f} ms") for name, took in rows]


# MLflow draws both plots with Plotly (parcoords, and scattergl: WebGL, no SVG points):
# drawn = Plotly holds every run's values and has laid out the plot's axes.
PARCOORDS_DRAWN = """(n) => [...document.querySelectorAll('.js-plotly-plot')].some((gd) => {
  const t = (gd._fullData || [])[0];
  return t && t.type === 'parcoords' && t.dimensions.length > 0
    && t.dimensions.every((d) => d.values.length === n)
    && gd.querySelector('.parcoords .y-axis') !== null;
})"""
SCATTER_DRAWN = """([n, x, y]) => [...document.querySelectorAll('.js-plotly-plot')].some((gd) => {
  const t = (gd._fullData || [])[0];
  const l = gd._fullLayout || {};
  return t && t.type.startsWith('scatter') && t.x.length === n
    && l.xaxis.title.text === x && l.yaxis.title.text === y
    && gd.querySelector('.xaxislayer-above .xtick') !== null;
})"""
PARCOORDS_AXES = """() => [...document.querySelectorAll('.js-plotly-plot')].map((gd) =>
  ((gd._fullData || [])[0] || {}).dimensions).filter(Boolean)[0].map((d) => d.label)"""


def mlflow_compare(page, url: str, experiment: str, ids: list[str], timeout: float) -> dict:
    """Navigation to MLflow's compare page of ids with its parallel-coordinates plot
    drawn (its default axes), then the scatter plot tab with model.hidden x result
    chosen and drawn, in seconds from navigation; TimeoutError when a plot is not
    drawn within timeout seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    runs = urllib.parse.quote(json.dumps(ids, separators=(",", ":")))
    experiments = urllib.parse.quote(json.dumps([experiment]))
    target = f"{url}#/compare-runs?runs={runs}&experiments={experiments}"
    with_result = sum(r["result"] is not None for r in board_runs(len(ids)))
    page.goto("about:blank")  # a full load of the app each time, as the board's views
    try:
        began = time.perf_counter()
        page.goto(target)
        page.wait_for_function(PARCOORDS_DRAWN, arg=len(ids), timeout=timeout * 1000)
        parallel = time.perf_counter() - began
        axes = page.evaluate(PARCOORDS_AXES)
        page.get_by_role("tab", name="Scatter Plot").click(timeout=timeout * 1000)
        for selector, label in zip(("#x-axis-selector", "#y-axis-selector"), SCATTER):
            page.locator(selector).click(timeout=timeout * 1000)
            page.get_by_role("option", name=label, exact=True).click(timeout=timeout * 1000)
        page.wait_for_function(SCATTER_DRAWN, arg=[with_result, *SCATTER], timeout=timeout * 1000)
        scatter = time.perf_counter() - began
    except PlaywrightTimeout as exc:
        raise TimeoutError(str(exc).splitlines()[0]) from None
    return {"parallel": parallel, "scatter": scatter, "points": with_result, "axes": axes}


def browser(board_url: str, mlflow_url: str, experiment: str, ids: list, args) -> list:
    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, str]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(args.timeout * 1000)
        rows += board_measures(page, board_url, args.repeat)
        for row in rows:
            print(*row, flush=True)
        counts = sorted({min(c, len(ids)) for c in args.counts}, reverse=True)
        for count in counts:
            try:
                took = [
                    mlflow_compare(page, mlflow_url, experiment, ids[:count], args.timeout)
                    for _ in range(args.mlflow_repeat)
                ]
            except TimeoutError as exc:
                rows.append((f"MLflow: compare page of {count:,} runs", f"not drawn: {exc}"))
                print(*rows[-1], flush=True)
                page.screenshot(path=os.path.join(args.workdir, f"mlflow-{count}.png"))
                continue
            parallel = statistics.median(t["parallel"] for t in took)
            scatter = statistics.median(t["scatter"] for t in took)
            points = took[0]["points"]
            axes = ", ".join(took[0]["axes"])
            page.screenshot(path=os.path.join(args.workdir, f"mlflow-{count}.png"))
            rows.append(
                (
                    f"MLflow: compare page of {count:,} runs, parallel coordinates drawn ({axes})",
                    f"{parallel * 1000:,.0f} ms",
                )
            )
            rows.append(
                (
                    f"MLflow: + its scatter {SCATTER[0]} x {SCATTER[1]} chosen and drawn"
                    f" ({points:,} points), from navigation",
                    f"{scatter * 1000:,.0f} ms",
                )
            )
            print(*rows[-2], flush=True)
            print(*rows[-1], flush=True)
            break
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--venv", default="/work/mlflow-venv", help="the venv with MLflow")
    parser.add_argument("--keep", help="work in this directory and keep it (reused)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per view (median)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per MLflow view")
    parser.add_argument(
        "--counts",
        type=lambda text: [int(c) for c in text.split(",")],
        default=[10_000, 1_000, 100],
        help="runs on MLflow's compare page, tried in turn until one is drawn",
    )
    parser.add_argument(
        "--mlflow-repeat", type=int, default=1, help="timings of MLflow's page (median)"
    )
    parser.add_argument(
        "--client-runs", type=int, default=100, help="runs logged through MlflowClient"
    )
    parser.add_argument("--log-mlflow", nargs=3, metavar=("RUNS", "TRACKING", "IDS"))
    args = parser.parse_args()
    if args.log_mlflow:  # in the venv's Python
        runs_file, tracking, ids_file = args.log_mlflow
        log_mlflow(runs_file, tracking, ids_file, args.client_runs)
        return
    if not os.path.exists(os.path.join(args.venv, "bin", "mlflow")):
        sys.exit(f"no MLflow in {args.venv}: python3 -m venv {args.venv} && "
                 f"{args.venv}/bin/pip install mlflow")  # fmt: skip
    sys.path.insert(0, HERE)
    from bench_sacredboard import build_store

    args.workdir = args.keep or tempfile.mkdtemp(prefix="bench-mlflow-")
    os.makedirs(args.workdir, exist_ok=True)
    rows: list[tuple[str, str]] = []
    board_db = os.path.join(args.workdir, "runs.db")
    began = time.perf_counter()
    store = (
        f"sqlite:///{board_db}" if os.path.exists(board_db) else build_store(board_db, args.runs)
    )
    rows.append(("board store ready", f"{time.perf_counter() - began:.0f} s"))
    tracking = f"sqlite:///{os.path.join(args.workdir, 'mlflow.db')}"
    ids_file = os.path.join(args.workdir, "mlflow-ids.json")
    if not os.path.exists(ids_file):
        runs_file = os.path.join(args.workdir, "runs.json")
        with open(runs_file, "w") as f:
            json.dump(board_runs(args.runs), f)
        env = {**os.environ, **QUIET_ENV}
        env.pop("PYTHONPATH", None)
        began = time.perf_counter()
        subprocess.run(
            [os.path.join(args.venv, "bin", "python"), os.path.abspath(__file__)]
            + ["--log-mlflow", runs_file, tracking, ids_file]
            + ["--client-runs", str(min(args.client_runs, args.runs))],
            check=True,
            env=env,
        )
        took = f"{time.perf_counter() - began:.0f} s"
        rows.append((f"MLflow: logging the runs ({args.client_runs} through the client)", took))
    with open(ids_file) as f:
        logged = json.load(f)
    board, board_url = start_board(store)
    mlflow, mlflow_url = start_mlflow(args.venv, tracking, args.workdir)
    try:
        rows += browser(board_url, mlflow_url, logged["experiment"], logged["runs"], args)
    finally:
        stop(board)
        stop(mlflow)
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    width = max(len(name) for name, _ in rows)
    print(f"MLflow's compare page and the board on the same {args.runs:,} runs")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(f"  uptime: {load}")


if __name__ == "__main__":
    main()
