"""The board's everyday views in headless Chromium: themes, number formats, several
metrics in one chart, a grid of small charts, legends, live axes and query errors.

Every test checks for console errors and off-host requests (tests/sacredboard/
browser.py); `view_shot` saves the screenshots docs/sacredboard.md shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.sacredboard.browser import browser_context_fixture, page_fixture, view_shot  # noqa: F401
from tests.sacredboard.serve import ROOT, serve


@pytest.fixture
def board(sqlite_location):
    with serve(sqlite_location) as (url, _):
        yield url.rstrip("/")


def background(p) -> str:
    return p.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.mark.slow
def test_dark_theme_follows_the_system_and_the_toggle(board, page):
    p = page.page
    p.emulate_media(color_scheme="dark")
    p.goto(board + "/?metrics=loss:min")
    p.wait_for_selector("tr.run")
    assert background(p) == "rgb(17, 24, 39)"
    assert p.locator("#theme").inner_text() == "theme: auto"
    view_shot(p, "dark-theme")
    p.click("#theme")  # auto -> dark: still dark, now whatever the system says
    assert p.locator("#theme").inner_text() == "theme: dark"
    p.emulate_media(color_scheme="light")
    assert background(p) == "rgb(17, 24, 39)"
    p.click("#theme")  # dark -> light
    assert background(p) == "rgb(255, 255, 255)"
    p.reload()  # remembered in this browser
    p.wait_for_selector("tr.run")
    assert p.locator("#theme").inner_text() == "theme: light"
    p.emulate_media(color_scheme="dark")
    assert background(p) == "rgb(255, 255, 255)"
    p.click("#theme")  # light -> auto: the system's dark again
    assert background(p) == "rgb(17, 24, 39)"


FORMATS = [
    (3e-4, "0.0003"),
    (3.0e-5, "3e-5"),
    (1.23456789, "1.2346"),
    (123456.789, "123457"),
    (12345678.9, "1.2346e+7"),
    (0.1 + 0.2, "0.3"),
    (20, "20"),
    (-2.5e-6, "-2.5e-6"),
]


@pytest.mark.slow
def test_numbers_are_formatted_alike(board, page):
    p = page.page
    p.goto(board)
    p.wait_for_selector("tr.run")
    shown = p.evaluate(
        "async (values) => { const f = await import('/static/format.js');"
        " return values.map((v) => f.formatValue(v)); }",
        [v for v, _ in FORMATS],
    )
    assert shown == [text for _, text in FORMATS]
    column = p.evaluate(
        "async () => { const f = await import('/static/format.js');"
        " const c = f.columnFormat([0.1, 0.05, 0.2, 5]); return [0.1, 0.05, 0.2, 5].map(c); }"
    )
    assert column == ["0.100", "0.050", "0.200", "5.000"]
    # The result column: the same decimals down the column, no exponent.
    results = [t for t in p.locator("tr.run td.num").all_inner_texts() if t]
    assert len(results) == 4
    assert len({len(t.split(".")[1]) for t in results}) == 1
    assert not any("e" in t for t in results)


@pytest.mark.slow
def test_several_metrics_in_one_chart(board, page):
    p = page.page
    p.goto(board + "/run/1?layout=together&m=loss&m=accuracy")
    p.wait_for_selector(".plot.drawn canvas")
    assert p.locator(".plot").count() == 1
    legend = p.locator(".plot .u-legend").inner_text()
    assert "loss" in legend and "accuracy" in legend
    assert p.locator(".plot .uplot").get_attribute("data-series") == "2"
    view_shot(p, "metrics-together")
    # Switching the layout goes to the URL.
    p.select_option(".layout", "list")
    p.wait_for_function("document.querySelectorAll('.plot.drawn').length === 2")
    assert "layout" not in p.url


@pytest.mark.slow
def test_a_grid_of_small_charts_of_all_metrics(board, page):
    p = page.page
    p.goto(board + "/run/1")
    p.wait_for_selector(".plot.drawn canvas")
    p.select_option(".layout", "grid")
    p.wait_for_function("document.querySelectorAll('.plot-grid .plot.compact.drawn').length === 2")
    assert "layout=grid" in p.url
    boxes = [p.locator(".plot.compact").nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] == boxes[1]["y"]  # side by side
    view_shot(p, "metric-grid")


def legend_values(p) -> list[str]:
    return p.locator(".plot .u-legend .u-value").all_inner_texts()


def wait_for_legend_x(p, text: str) -> None:
    p.wait_for_function(
        f"document.querySelector('.overlay .u-legend .u-value').textContent === {text!r}"
    )


@pytest.mark.slow
def test_legends_show_the_values_under_the_cursor(board, page):
    p = page.page
    p.goto(board + "/compare?ids=1,4&metric=loss")
    p.wait_for_selector(".overlay .plot.drawn canvas")
    # Off the chart: the last step and each run's last value, not "--".
    values = legend_values(p)
    assert "--" not in values
    assert values[0] == "19"  # run 4 stops at step 9, run 1 at step 19
    assert re.fullmatch(r"0\.1\d+", values[1])  # exp(-0.1 * 19)
    assert re.fullmatch(r"0\.0\d+", values[2])  # run 4's last value, at step 9
    p.locator(".overlay .u-over").scroll_into_view_if_needed()
    over = p.locator(".overlay .u-over").bounding_box()
    p.mouse.move(over["x"] + 1, over["y"] + over["height"] / 2)
    wait_for_legend_x(p, "0")
    assert legend_values(p)[1:] == ["1.05", "1.05"]  # both runs' step 0
    # Beyond run 4's last step its value stays its last one.
    p.mouse.move(over["x"] + over["width"] - 1, over["y"] + over["height"] / 2)
    wait_for_legend_x(p, "19")
    assert legend_values(p)[2] == values[2]


def wait_for_run(board: str, run_id: int) -> None:
    """Until the running experiment's run is in the store (its page would 404)."""
    import time
    import urllib.error
    import urllib.request

    for _ in range(400):
        try:
            urllib.request.urlopen(f"{board}/api/runs/{run_id}", timeout=5).close()
            return
        except urllib.error.HTTPError:
            time.sleep(0.05)
    raise AssertionError(f"run {run_id} never appeared")


@pytest.mark.slow
def test_live_charts_axes_follow_new_points(board, page, tmp_path, sqlite_location):
    control = tmp_path / "control"
    control.mkdir()
    env = {**os.environ, "PYTHONPATH": ROOT}
    script = os.path.join(os.path.dirname(__file__), "live_experiment.py")
    p = page.page
    experiment = subprocess.Popen([sys.executable, script, sqlite_location, str(control)], env=env)
    try:
        wait_for_run(board, 6)
        p.goto(board + "/run/6")
        (control / "go_1").touch()
        p.wait_for_function(
            "(document.querySelector('.plot.drawn') || {dataset: {}}).dataset.xRange === '0,1'",
            timeout=20_000,
        )
        for step in (2, 3):
            (control / f"go_{step}").touch()
        p.wait_for_function("document.querySelector('.plot.drawn').dataset.xRange === '0,3'")
        y_max = float(p.locator(".plot.drawn").get_attribute("data-y-range").split(",")[1])
        assert y_max >= 3
        (control / "stop").touch()
        p.wait_for_selector(".run-head .status.s-COMPLETED", timeout=20_000)
    finally:
        (control / "stop").touch()
        experiment.wait(timeout=30)


def test_a_query_error_keeps_the_table_and_points_at_the_error(board, page):
    p = page.page
    p.goto(board)
    p.wait_for_selector("tr.run")
    p.locator(".legend input[value=COMPLETED]").check()
    p.wait_for_function("document.querySelectorAll('tr.run').length === 4")
    p.fill(".query", "config.lr > 0.1 and and")
    problem = p.locator(".query-problem")
    problem.wait_for()
    caret = problem.locator(".query-caret").inner_text()
    assert caret.splitlines()[0] == "config.lr > 0.1 and and"
    assert caret.splitlines()[1].index("^") in (16, 20)  # under one of the "and"s
    assert len(p.locator("tr.run").all()) == 4  # the last good rows stay
    assert p.locator("section.filters").is_visible()
    page.errors = [e for e in page.errors if "status of 400" not in e]
    view_shot(p, "query-error")
    p.fill(".query", "config.lr > 0.1")
    p.wait_for_function("document.querySelectorAll('tr.run').length === 2")
    assert problem.is_hidden()


@pytest.mark.slow
def test_columns_are_picked_from_the_stores_keys(board, page):
    p = page.page
    p.goto(board)
    p.wait_for_selector("tr.run")
    p.click(".picker-button")
    p.wait_for_selector(".picker-item")
    groups = p.locator(".picker-group-name").evaluate_all("gs => gs.map(g => g.textContent)")
    assert groups[0] == "config" and groups[-1] == "metrics"
    assert {"info", "result"} <= set(groups)
    # The search reads paths, kinds and the config comments.
    p.fill(".picker-search", "learning")
    found = p.locator(".picker-item").evaluate_all("items => items.map(i => i.dataset.value)")
    assert found == ["lr"]
    assert "learning rate" in p.locator(".picker-item").inner_text()
    p.fill(".picker-search", "hidden")
    found = p.locator(".picker-item").evaluate_all("items => items.map(i => i.dataset.value)")
    assert "model.hidden" in found
    p.locator(".picker-item[data-value='model.hidden'] input").check()
    p.wait_for_selector("th.path-col[data-sort='config.model.hidden']")
    p.fill(".picker-search", "loss")
    labels = [t.strip() for t in p.locator(".picker-item").all_inner_texts()]
    assert labels == ["loss (last)", "loss (min)", "loss (max)"]  # the metric summaries
    p.locator(".picker-item[data-value='loss:min'] input").check()
    p.wait_for_selector("th.metric-col:has-text('loss (min)')")
    assert p.locator(".path-cols").input_value() == "model.hidden"
    assert p.locator(".metric-cols").input_value() == "loss:min"
    assert "cols=model.hidden" in p.url and "metrics=loss%3Amin" in p.url
    view_shot(p, "column-picker")
    p.mouse.click(5, 880)  # elsewhere: the list closes
    assert p.locator(".picker-panel").is_hidden()


@pytest.fixture
def damaged_board(tmp_path):
    """A file store of five runs whose run 2's run.json was cut off mid-write."""
    from sacred.observers import FileStorageObserver
    from tests.sacredboard.conftest import fill, make_experiment

    ex = make_experiment(tmp_path)
    location = str(tmp_path / "runs")
    ex.observers.append(FileStorageObserver(location))
    fill(ex)
    with open(os.path.join(location, "2", "run.json"), "w") as handle:
        handle.write('{"status": "COMPL')
    with serve(location) as (url, _):
        yield url


@pytest.mark.slow
def test_records_that_cannot_be_read_are_counted_and_listed(damaged_board, page):
    p = page.page
    p.goto(damaged_board)
    p.wait_for_selector("tr.run")
    assert len(p.locator("tr.run").all()) == 4
    toggle = p.locator(".damaged-toggle")
    assert toggle.inner_text() == "⚠ 1 record could not be read — show"
    toggle.click()
    row = p.locator("tr.damaged-run")
    assert row.get_attribute("data-id") == "2"
    assert row.locator("td.path").inner_text().endswith("run.json")
    view_shot(p, "unreadable-records")
