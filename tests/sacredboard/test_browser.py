"""The board in headless Chromium over stores written by real runs.

Every test checks that the page logged no console error and asked no host but
127.0.0.1 for anything (no CDN), and saves a screenshot to
tests/sacredboard/screenshots/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import pytest

from tests.sacredboard.browser import browser_context_fixture, page_fixture  # noqa: F401
from tests.sacredboard.serve import ROOT, serve

pytestmark = pytest.mark.slow  # a headless browser: the full suite only


@pytest.fixture
def board(store_location):
    with serve(store_location) as (url, _):
        yield url


def row_ids(page) -> list[str]:
    return page.locator("tr.run").evaluate_all("rows => rows.map(r => r.dataset.id)")


def test_rows_appear_with_status_colors_and_legend(board, page):
    page.page.goto(board)
    page.page.wait_for_selector("tr.run")
    assert len(row_ids(page.page)) == 5
    assert page.page.locator("tr.run .status.s-FAILED").inner_text() == "Failed"
    assert page.page.locator("tr.run .status.s-COMPLETED").count() == 4
    legend = page.page.locator(".legend").inner_text()
    for label in (
        "Running",
        "Completed",
        "Failed",
        "Interrupted",
        "Timed out",
        "Probably dead",
        "Queued",
    ):
        assert label in legend
    # The total is counted in a second request, after the rows are shown.
    page.page.wait_for_selector(".pager .count:has-text('1–5 of 5')")


def test_filters_update_rows_and_url_and_reload_restores_them(board, page):
    p = page.page
    p.goto(board)
    p.wait_for_selector("tr.run")
    p.locator(".legend input[value=COMPLETED]").check()
    p.wait_for_function("document.querySelectorAll('tr.run').length === 4")
    p.click(".add-filter")
    # Config keys for autocompletion, fetched when a field is first focused.
    p.wait_for_selector("#filter-keys option[value='model.hidden']", state="attached")
    p.fill(".f-field", "model.hidden")
    p.select_option(".f-op", "≥")
    p.fill(".f-value", "32")
    p.wait_for_function("document.querySelectorAll('tr.run').length === 2")
    p.locator("th[data-sort='config.lr']").count()  # not a column: sorting by header below
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    # The header row may be drawn again as the filtered rows arrive; a click that
    # lands on the header being replaced is lost, as it would be for a user, who
    # clicks again.
    for attempt in range(3):
        p.click("th[data-sort='result']")
        try:
            p.wait_for_function("/sort=-?result/.test(location.search)", timeout=5000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    params = parse_qs(urlparse(p.url).query)
    assert params["status"] == ["COMPLETED"]
    assert params["f"] == ['["model.hidden","≥","32"]']
    p.fill(".query", ".result < 10")  # a free query box with the full language
    # The error stays next to the query box, a caret under the offending character of
    # the box's own text, and the table keeps its last rows.
    problem = p.locator(".query-problem")
    problem.wait_for()
    assert "Unexpected character '.'" in problem.inner_text()
    assert problem.locator(".query-caret").inner_text() == ".result < 10\n^"
    assert len(row_ids(p)) == 2
    # The deliberate bad query's 400 is the one console message allowed here.
    page.errors = [e for e in page.errors if "status of 400" not in e]
    p.fill(".query", "info.my_dict.my_key >= 128")
    p.wait_for_function("document.querySelectorAll('tr.run').length === 1")
    assert p.locator(".query-problem").is_hidden()
    p.click(".add-filter")
    p.locator(".f-field").nth(1).fill(".captured_out")
    p.locator(".f-op").nth(1).select_option("regex")
    p.locator(".f-value").nth(1).fill(r"lr=0\.2")
    p.wait_for_function("document.querySelectorAll('tr.run').length === 0")
    p.locator(".f-value").nth(1).fill(r"lr=0\.[23]")
    p.wait_for_function("document.querySelectorAll('tr.run').length === 1")
    p.reload()
    p.wait_for_selector("tr.run")
    assert len(row_ids(p)) == 1
    assert p.locator(".f-field").nth(1).input_value() == ".captured_out"
    assert p.locator(".legend input[value=COMPLETED]").is_checked()
    assert p.locator(".f-field").first.input_value() == "model.hidden"
    assert p.locator(".f-value").first.input_value() == "32"
    assert p.locator(".query").input_value() == "info.my_dict.my_key >= 128"


def test_path_and_metric_columns_show_sort_export_and_survive_reload(board, page, tmp_path):
    import csv

    p = page.page
    p.goto(board)
    p.wait_for_selector("tr.run")
    p.fill(".path-cols", "model.hidden, .info.my_dict.my_key")
    p.press(".path-cols", "Enter")
    p.fill(".metric-cols", "loss:min")
    p.press(".metric-cols", "Tab")
    p.wait_for_selector("th.metric-col:has-text('loss (min)')")
    headers = p.locator("th.path-col").all_inner_texts()
    assert headers == ["model.hidden", ".info.my_dict.my_key"]

    def column(n: int) -> list[str]:
        return p.locator("tr.run").evaluate_all(
            f"rows => rows.map(r => r.querySelectorAll('td.path-col')[{n}].textContent)"
        )

    assert column(0) == ["8", "64", "32", "16", "8"]  # newest first
    assert column(1) == ["", "128", "64", "32", "16"]  # the failed run recorded no info
    p.click("th[data-sort='config.model.hidden']")
    p.wait_for_selector("table.runs[data-sort='config.model.hidden'] tr.run")
    assert row_ids(p) == ["1", "5", "2", "3", "4"]
    p.click("th[data-sort='info.my_dict.my_key']")
    p.wait_for_selector("table.runs[data-sort='info.my_dict.my_key'] tr.run")
    assert column(1) == ["16", "32", "64", "128", ""]  # missing values last
    losses = p.locator("tr.run td.metric-col").all_inner_texts()
    assert losses[:4] and all(float(x) < 1.1 for x in losses[:4]) and losses[4] == ""
    params = parse_qs(urlparse(p.url).query)
    assert params["cols"] == ["model.hidden,.info.my_dict.my_key"]
    assert params["metrics"] == ["loss:min"]
    p.reload()
    p.wait_for_selector("table.runs[data-sort='info.my_dict.my_key'] tr.run")
    assert p.locator("th.path-col").all_inner_texts() == ["model.hidden", ".info.my_dict.my_key ▲"]
    assert column(1) == ["16", "32", "64", "128", ""]
    with p.expect_download() as exported:
        p.click("button:has-text('Export CSV')")
    exported.value.save_as(tmp_path / "runs.csv")
    with open(tmp_path / "runs.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [row["info.my_dict.my_key"] for row in table] == ["16", "32", "64", "128", ""]
    assert "loss (min)" in table[0]
    # A metric column sorts on the server by the stored summary, runs without it last.
    p.click("th[data-sort='metrics.loss.min']")
    p.wait_for_selector("table.runs[data-sort='metrics.loss.min'] tr.run")
    assert row_ids(p) == ["3", "4", "1", "2", "5"]  # smallest loss first
    p.click("th[data-sort='metrics.loss.min']")
    p.wait_for_selector("table.runs[data-sort='-metrics.loss.min'] tr.run")
    assert row_ids(p) == ["2", "1", "4", "3", "5"]
    assert parse_qs(urlparse(p.url).query)["sort"] == ["-metrics.loss.min"]
    p.reload()
    p.wait_for_selector("table.runs[data-sort='-metrics.loss.min'] tr.run")
    assert p.locator("th.metric-col").inner_text() == "loss (min) ▼"


def test_the_selection_is_part_of_the_url(board, page):
    p = page.page
    p.goto(board)
    p.wait_for_selector("tr.run")
    p.check("tr.run[data-id='2'] td.sel input")
    p.check("tr.run[data-id='4'] td.sel input")
    p.wait_for_function("location.search.includes('sel=')")
    assert parse_qs(urlparse(p.url).query)["sel"] == ["2,4"]
    p.reload()
    p.wait_for_selector("tr.run")
    checked = p.locator("tr.run td.sel input:checked").evaluate_all(
        "boxes => boxes.map(b => b.closest('tr').dataset.id)"
    )
    assert sorted(checked) == ["2", "4"]
    assert "2 selected" in p.locator(".actions").inner_text()
    p.uncheck("tr.run[data-id='2'] td.sel input")
    p.wait_for_function("new URLSearchParams(location.search).get('sel') === '4'")


def test_config_tree_shows_comments_and_searches(board, page):
    p = page.page
    p.goto(board.rstrip("/") + "/run/1")
    # the comments of the experiment's config scope, read from its stored source
    p.wait_for_selector(".config .doc:has-text('learning rate')")
    assert "how many passes over the data" in p.locator(".config").inner_text()

    def visible_keys() -> list[str]:
        return p.locator(
            ".config li:visible > .key, .config li:visible > details > summary > .key"
        ).all_inner_texts()

    assert {"lr", "epochs", "model", "hidden", "seed"} <= set(visible_keys())
    p.fill(".tree-search", "hidden")
    p.wait_for_function("document.querySelectorAll('.config li[hidden]').length > 0")
    assert visible_keys() == ["model", "hidden"]
    p.fill(".tree-search", "passes")  # found by its comment
    p.wait_for_function(
        "[...document.querySelectorAll('.config li')].filter(li => !li.hidden).length === 1"
    )
    assert visible_keys() == ["epochs"]
    p.fill(".tree-search", "")
    p.wait_for_function("document.querySelectorAll('.config li[hidden]').length === 0")


def test_run_detail_shows_record_chart_and_image(board, page):
    p = page.page
    p.goto(board + "?sort=id")
    p.wait_for_selector("tr.run")
    p.locator("tr.run td.id a").first.click()
    p.wait_for_selector(".plot.drawn canvas")
    assert p.url.split("?")[0].endswith("/run/1")
    assert "Run 1" in p.locator(".run-head h1").inner_text()
    assert "trained with lr=0.1" in p.locator(".captured-out").inner_text()
    assert "hidden" in p.locator(".config").inner_text()
    image = p.locator(".artifact[data-name='plot.png'] img")
    image.wait_for()
    p.wait_for_function(
        "document.querySelector(\".artifact[data-name='plot.png'] img\").naturalWidth > 0"
    )
    legends = p.locator(".plot .u-legend").all_inner_texts()
    assert any("run 1" in text for text in legends)


def test_smoothing_changes_the_curve_and_fades_the_raw_one(board, page):
    p = page.page
    p.goto(board.rstrip("/") + "/run/1?m=loss")
    p.wait_for_selector(".plot.drawn canvas")
    before = p.locator(".plot canvas").evaluate("c => c.toDataURL()")
    p.locator(".smooth").fill("0.9")
    p.wait_for_function("document.querySelector('.plot .u-legend').textContent.includes('(raw)')")
    after = p.locator(".plot canvas").evaluate("c => c.toDataURL()")
    assert after != before
    assert "smooth=0.9" in p.url
    p.reload()
    p.wait_for_selector(".plot.drawn canvas")
    assert "(raw)" in p.locator(".plot .u-legend").inner_text()
    # x by time and a log scale redraw the curve and go to the URL too.
    before = p.locator(".plot canvas").evaluate("c => c.toDataURL()")
    p.select_option(".x-mode", "time")
    p.locator(".log-y").check()
    p.wait_for_function("location.search.includes('x=time') && location.search.includes('log=1')")
    assert "time" in p.locator(".plot .u-legend").inner_text()
    assert p.locator(".plot canvas").evaluate("c => c.toDataURL()") != before


def test_log_x_drops_step_zero_and_goes_to_the_url(board, page, tmp_path):
    p = page.page
    p.goto(board.rstrip("/") + "/run/1?m=loss&logx=1")
    p.wait_for_selector(".plot.drawn canvas")
    assert p.locator(".log-x").is_checked()
    # The plotted data (as the CSV export shows it) starts at step 1: no step 0 on a log axis.
    with p.expect_download() as csv:
        p.click(".plot button:has-text('CSV')")
    csv.value.save_as(tmp_path / "loss.csv")
    lines = (tmp_path / "loss.csv").read_text().splitlines()
    assert len(lines) == 20 and lines[1].startswith("1,")
    p.locator(".log-x").uncheck()
    p.wait_for_function("!location.search.includes('logx')")
    p.locator(".log-x").check()
    p.wait_for_function("location.search.includes('logx=1')")
    # By time there is no log x.
    p.select_option(".x-mode", "time")
    assert p.locator(".log-x").is_disabled()
    # The compare page keeps it in its URL too.
    p.goto(board.rstrip("/") + "/compare?ids=1,2&metric=loss&logx=1")
    p.wait_for_selector(".overlay .plot.drawn canvas")
    assert p.locator(".log-x").is_checked()
    p.locator(".log-x").uncheck()
    p.wait_for_function("!location.search.includes('logx') && location.search.includes('ids=')")


def test_compare_overlays_runs_and_shows_config_differences(board, page):
    p = page.page
    p.goto(board + "?sort=id")
    p.wait_for_selector("tr.run")
    for i in range(3):
        p.locator("tr.run td.sel input").nth(i).check()
    p.click("text=Compare")
    p.wait_for_selector(".overlay .plot.drawn canvas")
    assert "ids=1%2C2%2C3" in p.url or "ids=1,2,3" in p.url
    legend = p.locator(".overlay .u-legend").inner_text()
    assert all(f"run {i}" in legend for i in (1, 2, 3))
    keys = p.locator("table.compare tr.differs").evaluate_all("rs => rs.map(r => r.dataset.key)")
    assert "lr" in keys and "model.hidden" in keys and "epochs" not in keys
    p.locator(".only-diff input").uncheck()
    p.wait_for_selector("table.compare tr.same[data-key='epochs']")
    # Parallel coordinates of config vs result: one line per run.
    lines = p.locator("svg.parallel polyline").evaluate_all("ls => ls.map(l => l.dataset.run)")
    assert lines == ["1", "2", "3"]
    assert "result" in p.locator("svg.parallel").inner_html()
    # The captured outputs of runs 1 and 2, diffed line by line.
    p.wait_for_selector(".diffs pre.line-diff .ddel")
    assert "- trained with lr=0.1" in p.locator(".diffs pre.line-diff").first.inner_text()
    assert "+ trained with lr=0.05" in p.locator(".diffs pre.line-diff").first.inner_text()


@pytest.fixture
def sqlite_board(sqlite_location):
    with serve(sqlite_location) as (url, _):
        yield url


def test_a_running_experiment_appears_and_grows_live(sqlite_board, page, tmp_path, sqlite_location):
    control = tmp_path / "control"
    control.mkdir()
    env = {**os.environ, "PYTHONPATH": ROOT}
    script = os.path.join(os.path.dirname(__file__), "live_experiment.py")
    url = sqlite_board
    p = page.page
    p.goto(url)
    p.wait_for_selector("tr.run")
    assert len(row_ids(p)) == 5
    experiment = subprocess.Popen([sys.executable, script, sqlite_location, str(control)], env=env)
    try:
        p.wait_for_selector("tr.run.s-RUNNING", timeout=20_000)
        assert len(row_ids(p)) == 6
        p.locator("tr.run.s-RUNNING td.id a").click()
        p.wait_for_selector(".plot.drawn canvas")
        p.wait_for_function(
            "document.querySelector('.plot-status').textContent.includes('1 points')"
        )
        (control / "go_1").touch()
        p.wait_for_function(
            "document.querySelector('.plot-status').textContent.includes('2 points')"
        )
        (control / "go_2").touch()
        p.wait_for_function(
            "document.querySelector('.plot-status').textContent.includes('3 points')"
        )
        (control / "stop").touch()
        p.wait_for_selector(".run-head .status.s-COMPLETED", timeout=20_000)
    finally:
        (control / "stop").touch()
        experiment.wait(timeout=30)


def test_detail_edits_tags_and_note_and_previews_files(board, page):
    p = page.page
    p.goto(board.rstrip("/") + "/run/1")
    p.wait_for_selector(".run-head h1")
    p.fill(".tag-input", "paper")
    p.press(".tag-input", "Enter")
    p.wait_for_selector(".run-edits .tag:has-text('paper')")
    p.fill("textarea.note", "the baseline")
    p.click("text=Save note")
    p.goto(board + "?sort=id")
    p.wait_for_selector("tr.run[data-id='1'] .tag:has-text('paper')")
    p.goto(board.rstrip("/") + "/run/1")
    p.wait_for_function("(document.querySelector('textarea.note') || {}).value === 'the baseline'")
    # A text artifact previews as text; a stored source is highlighted.
    p.click(".artifact[data-name='notes.txt'] summary")
    p.wait_for_selector(".artifact[data-name='notes.txt'] pre:has-text('hidden=8')")
    p.click(".section.experiment > summary")
    p.locator(".source summary").filter(has_text="conftest.py").click()
    p.wait_for_selector(".source code.hljs .hljs-keyword")


def test_bulk_delete_asks_first(board, page):
    p = page.page
    p.goto(board + "?sort=id")
    p.wait_for_selector("tr.run")
    p.locator("tr.run[data-id='5'] td.sel input").check()
    p.click("text=Delete…")
    p.wait_for_selector("dialog.ask[open]:has-text('Move 1 run to the trash?')")
    p.keyboard.press("Enter")  # the question starts on Cancel: Enter keeps the runs
    p.wait_for_selector("dialog.ask", state="detached")
    p.wait_for_selector("tr.run[data-id='5']")
    p.click("text=Delete…")
    p.click("dialog.ask .ask-cancel")
    p.wait_for_selector("dialog.ask", state="detached")
    assert len(row_ids(p)) == 5  # kept: the user said no
    p.click("text=Delete…")
    p.click("dialog.ask button:has-text('Move to trash')")
    p.wait_for_selector("tr.run[data-id='5']", state="detached")
    assert len(row_ids(p)) == 4


def test_bulk_tags_through_the_in_page_dialog(board, page):
    p = page.page
    native = []
    p.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    p.goto(board + "?sort=id")
    p.wait_for_selector("tr.run")
    for run_id in ("1", "2"):
        p.locator(f"tr.run[data-id='{run_id}'] td.sel input").check()
    p.click("text=Tag…")
    p.wait_for_selector("dialog.ask[open]:has-text('Tag 2 runs')")
    p.keyboard.type("draft")  # the input has the focus
    p.keyboard.press("Escape")  # cancels: nothing is tagged
    p.wait_for_selector("dialog.ask", state="detached")
    assert p.locator("tr.run .tag:has-text('draft')").count() == 0
    p.click("text=Tag…")
    p.fill("dialog.ask .ask-input", "bulk, second")
    p.press("dialog.ask .ask-input", "Enter")
    p.wait_for_selector("dialog.ask", state="detached")
    for run_id in ("1", "2"):
        p.wait_for_selector(f"tr.run[data-id='{run_id}'] .tag:has-text('bulk')")
        p.wait_for_selector(f"tr.run[data-id='{run_id}'] .tag:has-text('second')")
    assert p.locator("tr.run[data-id='3'] .tag").count() == 0
    p.click("text=Tag…")
    p.fill("dialog.ask .ask-input", "-second")
    p.click("dialog.ask button:has-text('Apply')")
    p.wait_for_selector("tr.run .tag:has-text('second')", state="detached")
    assert p.locator("tr.run .tag:has-text('bulk')").count() == 2
    assert native == []  # no window.prompt or confirm


@pytest.fixture
def long_metric_board(tmp_path):
    from sacred import Experiment
    from sacred.observers import SqlObserver

    ex = Experiment("long", save_git_info=False)

    @ex.main
    def main(_run):
        for step in range(20_000):
            _run.log_scalar("wave", (step % 100) / 100 + (5.0 if step == 12_345 else 0.0), step)

    location = f"sqlite:///{tmp_path / 'long.db'}"
    ex.observers.append(SqlObserver(location))
    ex.run(options={"--loglevel": "WARNING"})
    with serve(location) as (url, _):
        yield url


def test_zoom_refetches_full_resolution(long_metric_board, page):
    p = page.page
    p.goto(long_metric_board.rstrip("/") + "/run/1?m=wave")
    p.wait_for_selector(".plot.drawn canvas")
    status = p.locator(".plot-status")
    assert "of 20,000 points" in status.inner_text()  # downsampled, the spike kept
    over = p.locator(".plot .u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    p.mouse.move(over["x"] + over["width"] * 0.60, y)
    p.mouse.down()
    p.mouse.move(over["x"] + over["width"] * 0.62, y, steps=5)
    p.mouse.up()
    # About 400 steps in the window: fetched again, now every point.
    p.wait_for_function("/^\\d+ points$/.test(document.querySelector('.plot-status').textContent)")
    shown = int(status.inner_text().split()[0])
    assert 100 < shown < 2000


def test_chart_exports_png_and_csv(board, page, tmp_path):
    p = page.page
    p.goto(board.rstrip("/") + "/run/1?m=loss")
    p.wait_for_selector(".plot.drawn canvas")
    with p.expect_download() as png:
        p.click(".plot button:has-text('PNG')")
    assert png.value.suggested_filename == "loss.png"
    png.value.save_as(tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with p.expect_download() as csv:
        p.click(".plot button:has-text('CSV')")
    csv.value.save_as(tmp_path / "loss.csv")
    lines = (tmp_path / "loss.csv").read_text().splitlines()
    assert lines[0] == '"step","run 1"'
    assert len(lines) == 21 and lines[1].startswith("0,1.05")
