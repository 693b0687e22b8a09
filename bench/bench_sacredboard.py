"""Speed of sacredboard on an SQLite store of 100,000 runs.

Budgets (issue 10): an API page of 50 rows <= 50 ms; first rows visible in headless
Chromium after navigation <= 500 ms; a filter/sort change re-rendered <= 200 ms; one
metric of 1,000,000 points interactive <= 500 ms; an overlay of 100 runs x 10,000
points <= 1.5 s; start of `python -m sacredboard` to its first response <= 1.5 s.
Each figure is printed with a baseline measured in the same run (what the figure
cannot be faster than, or the naive way), as a ratio.

The store is built quickly but in the SqlObserver's exact layout: one real run is
recorded by the SqlObserver and its row is cloned (configs, results, statuses and
times varied); metrics are packed chunks as a logging run stores them (1,000 points
per heartbeat batch), with their summary rows; every run has a 10-point "acc" metric.

    python bench/bench_sacredboard.py [--runs 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import report, time_call  # noqa: E402
from bench_store import chunk_rows, clone_runs, metric_series, record_template  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BIG_POINTS = 1_000_000
#: The run table's columns, each way round (the page's id sort is measured above).
TABLE_SORTS = (
    "id", "experiment.name", "-experiment.name", "command", "-command", "start_time",
    "-heartbeat", "heartbeat", "host.hostname", "-host.hostname", "result", "status",
    "-status",
)  # fmt: skip
OVERLAY_RUNS = 100
OVERLAY_POINTS = 10_000


def build_store(path: str, runs: int) -> str:
    import sqlalchemy as sa

    from sacred.observers import SqlObserver
    from sacred.observers.sql.schema import get_tables

    url = f"sqlite:///{path}"
    record_template([SqlObserver(url)])
    t = get_tables()
    engine = sa.create_engine(url)
    clone_runs(engine, runs)
    start = datetime.datetime(2024, 1, 1)
    with engine.begin() as conn:
        # Run 1: one metric of a million points; runs 2..101: 10,000 points each.
        conn.execute(
            t["metric_chunks"].insert(), chunk_rows(1, *metric_series(BIG_POINTS, start), 1000)
        )
        for run_id in range(2, 2 + OVERLAY_RUNS):
            steps, values, stamps = metric_series(OVERLAY_POINTS, start)
            values = [v * (1 + run_id / 100) for v in values]
            conn.execute(
                t["metric_chunks"].insert(), chunk_rows(run_id, steps, values, stamps, 1000)
            )
        conn.execute(t["metric_summaries"].insert(), loss_summaries())
        accuracy_metrics(conn, t, runs, start)
    # No ANALYZE: a store the observers wrote has no planner statistics but those of
    # the indexes a board built (pages.ensure_path_index).
    engine.dispose()
    return url


def loss_summaries() -> list[dict]:
    """The metric_summaries rows of the "loss" series above, as the observer writes them."""
    from sacred._metric_fold import fold_points as batch_summary

    rows = []
    for run_id, points in [(1, BIG_POINTS)] + [
        (i, OVERLAY_POINTS) for i in range(2, 2 + OVERLAY_RUNS)
    ]:
        steps, values, _ = metric_series(points, datetime.datetime(2024, 1, 1))
        if run_id > 1:
            values = [v * (1 + run_id / 100) for v in values]
        rows.append({"run_id": run_id, "name": "loss", **batch_summary(steps, values)})
    return rows


def accuracy_metrics(conn, t, runs: int, start: datetime.datetime) -> None:
    """Every run: an "acc" metric of 10 points (one chunk) and its summary row, so that
    a sort by a metric summary orders all 100,000 runs."""
    from sacred._metric_fold import fold_points as batch_summary
    from sacred.observers.sql.metric_chunks import pack_metric

    columns = ("points", "first_step", "last_step", "steps", "vals", "times")
    steps = list(range(10))
    stamps = [start + datetime.timedelta(seconds=s) for s in steps]
    for first in range(1, runs + 1, 10_000):
        chunks, summaries = [], []
        for run_id in range(first, min(first + 10_000, runs + 1)):
            top = 0.5 + 0.5 * ((run_id * 7919) % 1000) / 1000
            values = [top * (s + 1) / 10 for s in steps]
            series = {"steps": steps, "values": values, "timestamps": stamps}
            for chunk in pack_metric(series):
                chunks.append({"run_id": run_id, "name": "acc", **dict(zip(columns, chunk))})
            summaries.append({"run_id": run_id, "name": "acc", **batch_summary(steps, values)})
        conn.execute(t["metric_chunks"].insert(), chunks)
        conn.execute(t["metric_summaries"].insert(), summaries)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def start_board(store: str) -> tuple[subprocess.Popen, str, float]:
    """The server process, its URL, and the seconds from start to its first answer."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "sacredboard", store, "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = process.stdout.readline().split(" at ", 1)[1].strip()
    fetch(url + "api/health")
    return process, url, time.perf_counter() - began


def python_baseline(store: str) -> float:
    """Starting Python, opening the store and reading one run: the floor of a start."""
    code = f"from sacred.store import open_store; open_store({store!r}).find(limit=1)"
    env = {**os.environ, "PYTHONPATH": ROOT}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - began


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def line(value: float, budget: float, baseline: float, what: str) -> str:
    verdict = "ok" if value <= budget else "OVER BUDGET"
    ratio = f"{value / baseline:.1f}x {what} {ms(baseline)}"
    return f"{ms(value)} (budget {ms(budget)}, {verdict}); {ratio}"


def live_latency(page, url: str, store) -> float:
    """Seconds from a run being recorded (the SqlObserver's insert committed) to its
    row on the open table, median of three."""
    from sacred import Experiment
    from sacred.observers import SqlObserver

    location = store.location
    times = []
    page.goto(url)
    page.wait_for_selector("tr.run")
    for _ in range(3):
        ex = Experiment("bench_live", save_git_info=False)
        ex.main(lambda: None)
        ex.observers.append(SqlObserver(location))
        ex.run(options={"--loglevel": "ERROR"})
        written = time.perf_counter()
        newest = store.find(None, sort="-id", limit=1)[0].id
        page.wait_for_selector(f"tr.run[data-id='{newest}']", timeout=30_000)
        times.append(time.perf_counter() - written)
    return statistics.median(times)


def column_sort_measures(page, url: str, store_url: str) -> list[tuple[str, str]]:
    """What a user does to sort by a value: show it as a column, then click its
    header. Config and info entries have indexes from the SqlObserver; the info
    entries that only the cloned runs have (they were not recorded by an observer)
    get one when the board first shows the column, built in the background, so the
    click waits at most for the rest of the build: measured with the click at once
    (no pause at all) and half a second after the column appears (moving the mouse
    from the columns box to the header), each on a path not indexed before."""
    base = time_call(
        lambda: page.evaluate(
            "fetch('/api/runs?sort=config.model.hidden&total=0&limit=50').then(r => r.json())"
        ),
        3,
    )
    rows = []
    cases = (  # info.best_epoch is the template run's: the observer indexed it
        ("model.dropout", "config.model.dropout", 0.0),
        (".info.best_epoch", "info.best_epoch", 0.0),
        (".info.patience", "info.patience", 0.0),
        (".info.steps", "info.steps", 0.5),
    )
    for field, path, pause in cases:
        header = f"th[data-sort='{path}']"
        before = auto_indexes(store_url)
        page.goto(url)
        page.wait_for_selector("tr.run")
        page.fill(".path-cols", field)
        began = time.perf_counter()
        page.press(".path-cols", "Enter")
        page.wait_for_selector(header)
        added = time.perf_counter() - began
        time.sleep(pause)
        began = time.perf_counter()
        page.click(header)
        page.wait_for_selector(f"table.runs[data-sort='{path}'] tr.run")
        first = time.perf_counter() - began
        if auto_indexes(store_url) > before:
            how = "its index built by the board meanwhile"
        else:
            how = "indexed by the observer"
        times = []
        for sort in (f"-{path}", path, f"-{path}"):
            began = time.perf_counter()
            page.click(header)
            page.wait_for_selector(f"table.runs[data-sort='{sort}'] tr.run")
            times.append(time.perf_counter() - began)
        same = "a sorted API request"
        if not rows:
            rows.append(("config column added, re-rendered", line(added, 0.2, base, same)))
        rows.append(
            (
                f"sort by a new {path.split('.')[0]} column, first click after {pause:g} s ({how})",
                line(first, 0.2, base, same),
            )
        )
    rows.append(
        ("sort by that column, later clicks", line(statistics.median(times), 0.2, base, same))
    )
    return rows


def browser_measures(
    url: str, store, store_url: str, explore_only: bool = False
) -> list[tuple[str, str]]:
    from playwright.sync_api import sync_playwright

    rows = []
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    args = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ]  # fmt: skip
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=args,
            viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)  # warm the server's and the browser's caches
        page.wait_for_selector("tr.run")
        if explore_only:
            rows = explore_measures(page, url)
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
            return rows

        def blank() -> None:
            page.goto(url + "static/style.css")

        def first_rows() -> None:
            page.goto(url)
            page.wait_for_selector("tr.run")

        base = time_call(blank)
        rows.append(
            (
                "first rows visible",
                line(time_call(first_rows), 0.5, base, "a static file's navigation"),
            )
        )

        page.goto(url)
        page.wait_for_selector("tr.run")

        def api_fetch(params: str) -> Callable[[], None]:
            return lambda: page.evaluate(f"fetch('/api/runs?{params}').then(r => r.json())")

        for sort_key, kind in (("start_time", "a time column"), ("result", "a JSON value")):
            times = []
            for _ in range(5):
                page.goto(url)
                page.wait_for_selector("table.runs[data-sort='-id'] tr.run")
                began = time.perf_counter()
                page.locator(f"th[data-sort='{sort_key}']").click()
                page.wait_for_selector(f"table.runs[data-sort='{sort_key}'] tr.run")
                times.append(time.perf_counter() - began)
            api = time_call(api_fetch(f"sort={sort_key}&total=0&limit=50"), 3)
            name = f"sort change re-rendered ({kind})"
            rows.append((name, line(statistics.median(times), 0.2, api, "its API request")))
        rows += column_sort_measures(page, url, store_url)
        times = []
        for _ in range(5):
            page.goto(url + "?metrics=acc:max")
            page.wait_for_selector("table.runs[data-sort='-id'] tr.run td.metric-col")
            began = time.perf_counter()
            page.locator("th[data-sort='metrics.acc.max']").click()
            page.wait_for_selector("table.runs[data-sort='metrics.acc.max'] tr.run")
            times.append(time.perf_counter() - began)
        api = time_call(api_fetch("sort=metrics.acc.max&total=0&limit=50&metrics=acc"), 3)
        name = "sort change re-rendered (a metric column)"
        rows.append((name, line(statistics.median(times), 0.2, api, "its API request")))
        times = []
        for value in ("250", "300", "350", "400", "450"):
            page.goto(url)
            page.wait_for_selector("tr.run")
            page.click(".add-filter")
            page.fill(".f-field", "model.hidden")
            page.select_option(".f-op", "≥")
            page.fill(".f-value", value)
            began = time.perf_counter()
            page.keyboard.press("Enter")  # applies at once (typing waits for a pause)
            page.wait_for_selector(f"table.runs[data-query$='>= {value}'] tr.run")
            times.append(time.perf_counter() - began)
        query = "filter=config.model.hidden%20%3E%3D%20250&total=0&limit=50"
        api = time_call(api_fetch(query), 3)
        rows.append(
            (
                "filter change re-rendered",
                line(statistics.median(times), 0.2, api, "its API request"),
            )
        )

        def big_metric() -> None:
            page.goto(url + "run/1?m=loss")
            page.wait_for_selector(".plot.drawn canvas")

        def big_store() -> None:
            store.backend.metric(1, "loss")

        rows.append(
            (
                "1,000,000-point metric",
                line(
                    time_call(big_metric, 3),
                    0.5,
                    time_call(big_store, 3),
                    "reading it from the store",
                ),
            )
        )

        ids = ",".join(str(i) for i in range(2, 2 + OVERLAY_RUNS))

        def overlay() -> None:
            page.goto(url + f"compare?ids={ids}&metric=loss")
            page.wait_for_selector(".overlay .plot.drawn canvas")

        def overlay_api() -> None:
            fetch(url + f"api/metrics/loss?runs={ids}&max_points=2560")

        rows.append(
            (
                f"overlay {OVERLAY_RUNS} runs x {OVERLAY_POINTS:,} points",
                line(time_call(overlay, 3), 1.5, time_call(overlay_api, 3), "its API request"),
            )
        )
        rows += explore_measures(page, url)
        rows.append(
            (
                "new run visible (live)",
                line(live_latency(page, url, store), 2.0, 1.0, "the poll interval"),
            )
        )
        context.close()
    shutil.rmtree(profile, ignore_errors=True)
    return rows


def explore_measures(page, url: str) -> list[tuple[str, str]]:
    """The views for deciding (issue 19): the scatter of every run, parallel coordinates
    of 10,000 runs and a brush on them, a group's band plot of 50 runs x 10,000 points.
    Each from navigation to drawn, against the API request(s) it waits for."""
    from urllib.parse import quote

    rows = []

    def in_page_fetch(path: str) -> Callable[[], None]:
        return lambda: page.evaluate(f"fetch('{path}').then(r => r.json())")

    def view(params: str, selector: str) -> Callable[[], None]:
        def go() -> None:
            page.goto(url + "?" + params)
            page.wait_for_selector(selector)

        return go

    scatter = view("view=scatter&sx=model.hidden&sy=result", ".scatter.drawn")
    # What the page asks for, the typed arrays (sacredboard/pointbytes.py), and the
    # JSON form API users get, each fetched and read in the page (only a count goes
    # back to Playwright: sending it the reply cost seconds more than the request).
    asked = "/api/points?x=model.hidden&y=result"
    typed = lambda: page.evaluate(  # noqa: E731
        f"fetch('{asked}&format=binary').then(r => r.arrayBuffer()).then(b => b.byteLength)"
    )
    points = lambda: page.evaluate(f"fetch('{asked}').then(r => r.json()).then(d => d.ids.length)")  # noqa: E731
    scatter()
    drawn = page.locator(".scatter").get_attribute("data-points")
    took = time_call(scatter, 3)
    # In the last navigation: when the page sent and got its points request (it
    # waits on the server behind the table's requests: /api/keys, /api/runs) and
    # when the points were drawn, in ms from the navigation.
    queued = page.evaluate(
        "() => { const r = performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/api/points')).pop();"
        " const k = performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/api/keys')).pop();"
        " const drawn = document.querySelector('.scatter').dataset.drawnAt;"
        " return [r.startTime, r.responseEnd, +drawn, k ? k.responseEnd : -1]; }"
    )
    rows.append(
        (
            f"scatter of all runs drawn ({int(drawn):,} points)",
            line(took, 1.5, time_call(typed, 3), "its binary API request"),
        )
    )
    rows.append(("  its API request as JSON (API users)", ms(time_call(points, 3))))
    drawing = int(page.locator(".scatter").get_attribute("data-draw-ms")) / 1000
    rows.append(("  of which drawing in the page", f"{ms(drawing)} (after the data arrived)"))
    rows.append(
        (
            "  in the page (last navigation)",
            f"points request sent at {queued[0]:,.0f} ms, answered at {queued[1]:,.0f} ms, "
            f"drawn at {queued[2]:,.0f} ms; the table's /api/keys answered at "
            f"{queued[3]:,.0f} ms",
        )
    )

    first = quote("id <= 10000")
    axes = "model.hidden,optimizer.lr,model.dropout,optimizer.name"
    parallel = view(f"view=parallel&q={first}&pa={axes}", ".parallel.drawn")
    columns = in_page_fetch(f"/api/points?paths={axes},result&filter={first}")
    parallel()
    shown = int(page.locator(".parallel").get_attribute("data-runs"))
    rows.append(
        (
            f"parallel coordinates of {shown:,} runs drawn",
            line(time_call(parallel, 3), 1.5, time_call(columns, 3), "its API request"),
        )
    )
    drawing = int(page.locator(".parallel").get_attribute("data-draw-ms")) / 1000
    rows.append(("  of which drawing in the page", f"{ms(drawing)} (after the data arrived)"))
    # A brush on the first axis: the lines re-filtered and drawn again in the page,
    # measured in the page from the mouseup (data-filter-ms); then the table's rows
    # for the brush, from the mouseup (through the API: a range query over the runs).
    lines, tables = [], []
    for k in range(5):
        page.locator(".parallel-canvas").scroll_into_view_if_needed()
        box = page.locator(".parallel-canvas").bounding_box()
        x = box["x"] + 56
        page.mouse.move(x, box["y"] + 60 + 10 * k)
        page.mouse.down()
        page.mouse.move(x, box["y"] + 200, steps=3)
        began = time.perf_counter()
        page.mouse.up()
        page.wait_for_selector("table.runs[data-query*='model.hidden >=']", state="attached")
        tables.append(time.perf_counter() - began)
        lines.append(int(page.locator(".parallel").get_attribute("data-filter-ms")) / 1000)
        page.mouse.click(x, box["y"] + 300)  # clear the brush
        page.wait_for_function(
            "(n) => document.querySelector('.parallel').dataset.inside === String(n)", arg=shown
        )
        page.wait_for_selector("table.runs:not([data-query*='model.hidden >='])", state="attached")
    trip = time_call(lambda: page.evaluate("1"), 5)
    rows.append(
        (
            "parallel coordinates brush re-filter (lines)",
            line(statistics.median(lines), 0.3, trip, "a Playwright round trip"),
        )
    )
    rows.append(
        (
            "  table rows for the brush",
            line(statistics.median(tables), 0.3, trip, "a Playwright round trip"),
        )
    )

    group = quote("id >= 2 and id <= 51")
    band = view(f"view=groups&gby=experiment.name&gm=loss&q={group}", ".group-plot.drawn")
    band()
    drawing = int(page.locator(".group-plot").get_attribute("data-draw-ms")) / 1000
    name = page.locator("tr.group td:nth-child(2)").first.inner_text().strip(" ▸")
    key = quote(json.dumps({"experiment.name": name}))
    band_api = in_page_fetch(
        f"/api/groups/metric?by=experiment.name&name=loss&max_points=2000&filter={group}&key={key}"
    )
    rows.append(
        (
            "group band plot, 50 runs x 10,000 points",
            line(time_call(band, 3), 1.0, time_call(band_api, 3), "its band API request"),
        )
    )
    rows.append(("  of which band requests and drawing", f"{ms(drawing)} (after the groups)"))
    return rows


STUDY_TRIALS = 1_000


def build_study(path: str) -> str:
    """An SQLite store holding one Labwatch study of STUDY_TRIALS trials, written by the
    SqlObserver as a worker's trials are (meta.labwatch), most completed, some failed,
    pruned or running."""
    import random

    from sacred import Experiment
    from sacred._time import utc_now
    from sacred.observers import SqlObserver

    url = f"sqlite:///{path}"
    if os.path.exists(path):
        return url
    ex = Experiment("bench_study", save_git_info=False)
    info = ex.get_experiment_info()
    rng = random.Random(1)
    space_def = {
        "lr": {"type": "UniformFloat", "lower": 1e-4, "upper": 1.0, "log_scale": True},
        "width": {"type": "UniformInt", "lower": 8, "upper": 512},
        "optimizer": {"type": "Categorical", "choices": ["sgd", "adam", "rmsprop"]},
    }
    for number in range(STUDY_TRIALS):
        observer = SqlObserver(url)
        config = {
            "lr": 10 ** rng.uniform(-4, 0),
            "width": rng.randrange(8, 512),
            "optimizer": rng.choice(["sgd", "adam", "rmsprop"]),
            "seed": number,
        }
        meta = {
            "labwatch": {
                "study": "bench_study/space",
                "space": "space",
                "optimizer": "RandomSearch",
                "direction": "minimize",
                "trial": number,
                "space_def": space_def,
            }
        }
        if number % 37 == 5:
            meta["labwatch"]["state"] = "PRUNED"
        now = utc_now()
        observer.started_event(
            ex_info=info, command="main", host_info={"hostname": "bench"}, start_time=now,
            config=config, meta_info=meta, _id=None,
        )  # fmt: skip
        if number % 53 == 7:
            observer.failed_event(fail_time=now, fail_trace=["Traceback: diverged\n"])
        elif number < STUDY_TRIALS - 3:
            cost = abs(math.log10(config["lr"]) + 2) + config["width"] / 1000
            observer.completed_event(stop_time=now, result=cost)
    return url


def study_measures(workdir: str) -> list[tuple[str, str]]:
    """The page of a STUDY_TRIALS-trial study, from navigation to drawn."""
    from playwright.sync_api import sync_playwright

    url_store = build_study(os.path.join(workdir, "study.db"))
    process, url, _ = start_board(url_store)
    rows = []
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu"],
                viewport={"width": 1280, "height": 900},
            )  # fmt: skip
            page = context.new_page()
            page.set_default_timeout(60_000)
            study = "bench_study%2Fspace"

            def go() -> None:
                page.goto(url + f"studies/{study}")
                page.wait_for_selector(".study-page.drawn .study-parallel .parallel.drawn")

            def api() -> None:
                page.evaluate(f"fetch('/api/studies/{study}').then(r => r.json())")

            go()
            rows.append(
                (
                    f"study page, {STUDY_TRIALS:,} trials",
                    line(time_call(go, 3), 1.0, time_call(api, 3), "its API request"),
                )
            )
            context.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    return rows


def auto_indexes(store_url: str, drop: bool = False) -> int:
    """How many indexes on JSON paths the board has created in the store (after
    dropping them all, with drop: each bench run measures their first build)."""
    import sqlite3

    from sacred.observers.sql.path_indexes import AUTO_INDEX_PREFIX

    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        names = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            if name.startswith(AUTO_INDEX_PREFIX)
        ]
        if drop:
            for name in names:
                db.execute(f"DROP INDEX {name}")
            return 0
        return len(names)


def config_sort_measures(url: str, store_url: str, raw: float) -> list[tuple[str, str]]:
    """A page sorted by a config value (the observer indexed it) and by an info value
    only the cloned runs have (no observer saw it: what a path of a store recorded
    before this version is like): its first request builds the index on that path
    once (the board is not read-only; held to the page budget all the same), then
    the following ones."""
    same = "store.find of the newest page"
    rows = []
    for path, what in (
        ("config.optimizer.lr", "a config entry"),
        ("info.val_acc", "an info entry no observer indexed"),
    ):
        query = f"limit=50&total=0&sort=-{path}"
        before = auto_indexes(store_url)
        first = time_call(lambda q=query: fetch(url + "api/runs?" + q), 1)
        built = "builds its index, once" if auto_indexes(store_url) > before else "indexed"
        then = time_call(lambda q=query: fetch(url + "api/runs?" + q), 10)
        rows.append((f"API page by {what}, first ({built})", line(first, 0.05, raw, same)))
        rows.append((f"API page by {what}, then", line(then, 0.05, raw, same)))
    return rows


def metric_sort_measures(url: str, store, raw: float) -> list[tuple[str, str]]:
    """Pages sorted and filtered by a metric summary (every run has an "acc" metric)."""
    same = "store.find of the newest page"
    rows = []
    for name, query in (
        ("API page by a metric summary (-metrics.acc.max)", "sort=-metrics.acc.max"),
        ("API page by a metric summary (metrics.acc.last)", "sort=metrics.acc.last"),
        ("API page filtered by a metric summary", "filter=metrics.acc.max%20%3E%200.99"),
    ):
        query += "&limit=50&total=0&metrics=acc"
        fetch(url + "api/runs?" + query)
        rows.append(
            (
                name,
                line(time_call(lambda q=query: fetch(url + "api/runs?" + q), 10), 0.05, raw, same),
            )
        )
    cursor = json.loads(fetch(url + "api/runs?limit=50&sort=-metrics.acc.max&total=0"))["next"]
    deep = f"api/runs?limit=50&total=0&sort=-metrics.acc.max&cursor={cursor}"
    rows.append(
        (
            "API next page by a metric summary",
            line(time_call(lambda: fetch(url + deep), 10), 0.05, raw, same),
        )
    )
    counted = "api/count?filter=metrics.acc.max%20%3E%200.99"
    rows.append(
        (
            "API count filtered by a metric summary",
            line(time_call(lambda: fetch(url + counted), 5), 0.05, raw, same),
        )
    )
    return rows


def _alternating(call: Callable[[], object], baseline: Callable[[], object], repeat: int) -> tuple:
    """Median wall time of call and its median ratio to baseline timed just before
    each call: on a loaded machine the load moves under both alike."""
    took, ratios = [], []
    for _ in range(repeat):
        base = time_call(baseline, 1)
        took.append(time_call(call, 1))
        ratios.append(took[-1] / base)
    return statistics.median(took), statistics.median(ratios)


def _cpu(call: Callable[[], object], repeat: int = 3) -> float:
    """Median CPU seconds of call in this process: what it costs on an idle machine
    (the wall time on a loaded one is mostly waiting for a core)."""
    times = []
    for _ in range(repeat):
        began = time.process_time()
        call()
        times.append(time.process_time() - began)
    return statistics.median(times)


def _groups_line(url: str, query: str, store, filter_text: str | None, raw: float) -> str:
    """A groups request at the API (wall, and alternating with a page of the table in
    this process) and store.groups in-process (CPU against a page's CPU)."""
    from sacred.store.groups import group_runs

    def page() -> object:
        return store.find(None, sort="-id", limit=50)

    def grouped() -> object:
        return group_runs(store, "model.hidden", filter_text, "acc:last,acc:min,acc:max")

    fetch(url + query)  # warm: builds the path index on first use
    took, ratio = _alternating(lambda: fetch(url + query), page, 5)
    cpu, page_cpu = _cpu(grouped), _cpu(page, 5)
    return (
        line(took, 0.3, raw, "store.find of one page")
        + f"; alternating with that page: {ratio:.1f}x"
        + f"; in-process CPU {ms(cpu)} = {cpu / page_cpu:.1f}x the page's {ms(page_cpu)}"
        + f"; load {os.getloadavg()[0]:.1f}"
    )


def analysis_measures(url: str, store, raw: float) -> list[tuple[str, str]]:
    """Groups, points and bands at the API (issue 19): group by one config path with
    three metric-summary stats <= 300 ms. Baselines of the same run: a page of the
    table through store.find (timed alternately with the groups requests), and the
    CPU time of each in this process, which a loaded machine does not inflate."""
    rows = []
    groups = "api/groups?by=model.hidden&metrics=acc:last,acc:min,acc:max"
    rows.append(
        (
            "API groups by a config path, 3 metric stats",
            _groups_line(url, groups, store, None, raw),
        )
    )
    filtered = groups + "&filter=result%20%3E%200.5"
    rows.append(
        ("API groups, filtered by result", _groups_line(url, filtered, store, "result > 0.5", raw))
    )
    points = "api/points?x=model.hidden&y=result&color=metrics.acc.max"
    took = time_call(lambda: fetch(url + points), 3)
    rows.append(("API points of every run (x, y, color)", line(took, 1.5, raw, "a page")))
    axes = "api/points?paths=model.hidden,result,metrics.acc.max&filter=id%20%3C%3D%2010000"
    took = time_call(lambda: fetch(url + axes), 3)
    rows.append(("API parallel coordinates, 10,000 runs", line(took, 1.5, raw, "a page")))
    band_filter = "id%20%3E%3D%202%20and%20id%20%3C%3D%2051"
    names = json.loads(fetch(url + "api/groups?by=experiment.name&filter=" + band_filter))
    key = urllib.parse.quote(json.dumps(names["groups"][0]["key"]))
    band = f"api/groups/metric?by=experiment.name&key={key}&name=loss&filter={band_filter}"
    took = time_call(lambda: fetch(url + band), 3)
    rows.append(("API group band, 50 runs x 10,000 points", line(took, 1.0, raw, "a page")))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--keep", help="build the store in this directory and keep it")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument(
        "--explore-only", action="store_true", help="only the groups/scatter/parallel views"
    )
    parser.add_argument(
        "--only-analysis", action="store_true", help="measure groups/points/bands only"
    )
    args = parser.parse_args()
    workdir = args.keep or tempfile.mkdtemp(prefix="bench-board-")
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "runs.db")
    began = time.perf_counter()
    if os.path.exists(path):
        store_url = f"sqlite:///{path}"
    else:
        store_url = build_store(path, args.runs)
    print(f"store: {store_url} ({args.runs:,} runs; ready in {time.perf_counter() - began:.1f} s)")

    from sacred.store import open_store

    store = open_store(store_url)
    auto_indexes(store_url, drop=True)  # from an earlier run of this bench (--keep)
    process, url, startup = start_board(store_url)
    try:
        if args.explore_only:
            rows = browser_measures(url, store, store_url, explore_only=True)
            rows += study_measures(workdir)
            report(f"sacredboard views on {args.runs:,} SQLite runs", rows)
            return
        rows = [
            (
                "start to first response",
                line(startup, 1.5, python_baseline(store_url), "Python opening the store"),
            )
        ]
        fetch(url + "api/runs")
        if args.only_analysis:
            raw = time_call(lambda: store.find(None, sort="-id", limit=50), 10)
            rows += analysis_measures(url, store, raw)
            report(f"sacredboard analysis on {args.runs:,} SQLite runs", rows)
            return
        # What the table asks for: the page (total=0), the count in a second request.
        page = time_call(lambda: fetch(url + "api/runs?limit=50&total=0"), 10)
        query = "limit=50&total=0&sort=-result&filter=config.model.hidden%20%3E%3D%20250"
        filtered = time_call(lambda: fetch(url + "api/runs?" + query), 10)
        by_id = "limit=50&total=0&filter=config.model.hidden%20%3E%3D%20250"
        filtered_id = time_call(lambda: fetch(url + "api/runs?" + by_id), 10)
        raw_filtered_id = time_call(
            lambda: store.find("config.model.hidden >= 250", sort="-id", limit=50), 10
        )
        total = time_call(lambda: fetch(url + "api/count"), 10)
        total_filtered = time_call(lambda: fetch(url + "api/count?" + by_id), 5)
        raw = time_call(lambda: store.find(None, sort="-id", limit=50), 10)
        raw_filtered = time_call(
            lambda: store.find("config.model.hidden >= 250", sort="-result", limit=50), 10
        )
        rows.append(
            ("API page of 50 rows (newest)", line(page, 0.05, raw, "store.find of the same page"))
        )
        same = "store.find of the same page"
        rows.append(("API page, filtered, newest", line(filtered_id, 0.05, raw_filtered_id, same)))
        rows.append(("API page, filtered, by result", line(filtered, 0.05, raw_filtered, same)))
        rows.append(("API count, all runs", line(total, 0.05, raw, "store.find of one page")))
        rows.append(
            ("API count, filtered", line(total_filtered, 0.05, raw, "store.find of a page"))
        )
        for key in TABLE_SORTS:
            query = f"api/runs?limit=50&total=0&sort={key}"
            fetch(url + query)
            took = time_call(lambda q=query: fetch(url + q), 5)
            rows.append(
                (f"API page sorted by {key}", line(took, 0.05, raw, "store.find of a page"))
            )
        rows += config_sort_measures(url, store_url, raw)
        rows += metric_sort_measures(url, store, raw)
        rows += analysis_measures(url, store, raw)
        cursor = json.loads(fetch(url + "api/runs?limit=50"))["next"]
        deep = time_call(lambda: fetch(url + f"api/runs?limit=50&total=0&cursor={cursor}"), 10)
        rows.append(
            ("API next page (keyset cursor)", line(deep, 0.05, raw, "store.find of the first page"))
        )
        changes = time_call(lambda: fetch(url + "api/changes"), 20)
        rows.append(("idle poll /api/changes", line(changes, 0.05, raw, "store.find of one page")))
        if not args.no_browser:
            rows += browser_measures(url, store, store_url)
            rows += study_measures(workdir)
    finally:
        process.terminate()
        process.wait(timeout=10)
        store.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report(f"sacredboard on {args.runs:,} SQLite runs", rows)


if __name__ == "__main__":
    main()
