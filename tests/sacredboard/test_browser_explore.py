"""Deciding from a sweep in headless Chromium: the group table and its band plot, the
scatter plot with box-select, parallel coordinates with brushing.

One SQLite store of a small sweep (optimizer x lr x seed, two metrics) and one
board for the module; every test checks for console errors and off-host requests,
and `view_shot` saves the screenshots docs/sacredboard.md shows.
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.sacredboard.browser import browser_context_fixture, page_fixture, view_shot  # noqa: F401
from tests.sacredboard.serve import serve

pytestmark = pytest.mark.slow  # a headless browser: the full suite only

OPTIMIZERS = ["sgd", "adam"]
RATES = [0.001, 0.01, 0.1, 1.0]
SEEDS = [1, 2, 3]


def sweep(location: str) -> None:
    from sacred import Experiment
    from sacred.observers import SqlObserver

    ex = Experiment("sweep", save_git_info=False)

    @ex.config
    def config():
        optimizer = "sgd"  # the update rule  # noqa: F841
        lr = 0.01  # noqa: F841

    @ex.main
    def train(optimizer, lr, _run, _seed):
        # adam is better; lr 0.1 is best; the seed adds a little noise.
        quality = (0.5 if optimizer == "adam" else 1.0) * (1 + abs(math.log10(lr) + 1))
        noise = (_seed % 3) * 0.01
        for step in range(10):
            _run.log_scalar("loss", quality * math.exp(-0.2 * step) + noise, step)
            _run.log_scalar("val_loss", quality * math.exp(-0.15 * step) + 2 * noise, step)
        return quality + noise

    ex.observers.append(SqlObserver(location))
    for optimizer in OPTIMIZERS:
        for lr in RATES:
            for seed in SEEDS:
                ex.run(
                    config_updates={"optimizer": optimizer, "lr": lr, "seed": seed},
                    options={"--loglevel": "WARNING"},
                )


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    location = f"sqlite:///{tmp_path_factory.mktemp('sweep') / 'runs.db'}"
    sweep(location)
    with serve(location) as (url, _):
        yield url.rstrip("/")


def row_ids(p) -> list[str]:
    return p.locator("table.runs > tbody > tr.run").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )


def params(p) -> dict:
    return parse_qs(urlparse(p.url).query)


def test_group_table_with_mean_std_sort_and_expansion(board, page):
    p = page.page
    p.goto(board + "/?metrics=loss:min")
    p.wait_for_selector("tr.run")
    p.click(".view-tabs [data-view=groups]")
    p.fill(".group-by", "optimizer")
    p.press(".group-by", "Enter")
    p.wait_for_selector(".groups.drawn tr.group")
    rows = p.locator("tr.group")
    assert rows.count() == 2
    assert p.locator("tr.group td.count").all_inner_texts() == ["12", "12"]
    assert not p.locator("table.runs tr.run").first.is_visible()  # the run table gives way
    assert p.locator(".pager").is_hidden() and p.locator(".actions").is_hidden()
    header = p.locator("table.groups-table thead").inner_text()
    assert "result" in header and "loss.min" in header
    cell = p.locator("tr.group").first.locator("td.stat").first
    assert "±" in cell.inner_text()
    assert cell.get_attribute("title").startswith("min ")
    # Sorted by the result's mean (descending, then ascending): adam is better.
    p.click("th[data-sort='result.mean']")
    p.wait_for_function("location.search.includes('gsort=result.mean')")
    p.wait_for_function(
        "document.querySelector('tr.group td:nth-child(2)').textContent.includes('adam')"
    )
    p.click("th[data-sort='result.mean']")
    p.wait_for_function(
        "document.querySelector('tr.group td:nth-child(2)').textContent.includes('sgd')"
    )
    # Two paths: a row per (optimizer, lr).
    p.fill(".group-by", "optimizer, lr")
    p.press(".group-by", "Enter")
    p.wait_for_function("document.querySelectorAll('tr.group').length === 8")
    assert params(p)["gby"] == ["optimizer,lr"]
    # Expanding a group lists its three runs.
    p.locator("tr.group").first.locator("button.expand").click()
    p.wait_for_selector("tr.group-runs-row tr.run")
    assert p.locator("tr.group-runs-row tr.run").count() == 3
    view_shot(p, "groups")
    p.reload()
    p.wait_for_function("document.querySelectorAll('tr.group').length === 8")


def test_group_band_plot_with_std_minmax_and_runs(board, page):
    p = page.page
    p.goto(board + "/?view=groups&gby=optimizer&gm=loss")
    p.wait_for_selector(".group-plot.drawn .uplot")
    plot = p.locator(".group-plot .uplot")
    assert plot.get_attribute("data-groups") == "2"
    legend = p.locator(".group-plot .u-legend").inner_text()
    assert "sgd" in legend and "adam" in legend
    # By step (not a time axis); off the chart the legend shows the last step's means.
    assert p.locator(".group-plot .u-legend .u-value").first.inner_text() == "9"
    assert "--" not in legend
    before = p.locator(".group-plot canvas").evaluate("c => c.toDataURL()")
    p.select_option(".group-band", "minmax")
    p.wait_for_function("location.search.includes('gband=minmax')")
    p.wait_for_function(
        "(b) => document.querySelector('.group-plot canvas').toDataURL() !== b", arg=before
    )
    p.locator(".group-runs").check()
    p.wait_for_function("document.querySelector('.group-plot .uplot').dataset.individual === '24'")
    # One group only.
    p.locator("tr.group").nth(1).locator("input.plot-group").uncheck()
    p.wait_for_function("document.querySelector('.group-plot .uplot').dataset.groups === '1'")
    view_shot(p, "group-band")
    # A group whose value is a whole float (lr 1.0; the browser's JSON says 1) has its band.
    gplot = quote(json.dumps([json.dumps({"config.lr": 1}, separators=(",", ":"))]))
    p.goto(board + f"/?view=groups&gby=lr&gm=loss&gplot={gplot}")
    p.wait_for_selector(".group-plot.drawn .uplot")
    assert p.locator(".group-plot-status").inner_text() == "1 groups, 6 runs with loss"


def test_scatter_hover_click_and_box_select(board, page):
    p = page.page
    p.goto(board + "/?view=scatter&sx=lr&sc=optimizer&slx=1")
    p.wait_for_selector(".scatter.drawn")
    assert p.locator(".scatter").get_attribute("data-points") == "24"
    legend = p.locator(".scatter-legend").inner_text()
    assert "sgd" in legend and "adam" in legend
    canvas = p.locator(".scatter-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # Box-select the right half (lr 0.1 and 1.0, every result): the table follows.
    p.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 5)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] - 10, steps=4)
    p.mouse.up()
    p.wait_for_selector(".brushes .chip.brush[data-path='config.lr']")
    p.wait_for_selector(".pager .count:has-text('of 12')")
    brushes = json.loads(params(p)["brush"][0])
    assert {b["path"] for b in brushes} == {"config.lr", "result"}
    view_shot(p, "scatter")
    # Hover a point: its run; a click opens it.
    point = p.evaluate(
        "() => { const c = document.querySelector('.scatter-canvas');"
        " const r = c.getBoundingClientRect(); const g = c.getContext('2d');"
        " const d = g.getImageData(0, 0, c.width, c.height).data;"
        " const ratio = c.width / r.width;"
        " for (let y = 0; y < c.height; y += 1) for (let x = 70 * ratio; x < c.width; x += 1) {"
        "  const i = (y * c.width + x) * 4;"
        "  if (d[i + 3] > 200 && Math.abs(d[i] - 0x4e) < 4 && Math.abs(d[i + 2] - 0xa7) < 4)"
        "   return [r.left + x / ratio + 1, r.top + y / ratio + 1]; } return null; }"
    )
    assert point is not None
    p.mouse.move(*point)
    p.wait_for_selector(".scatter-tip:not([hidden])")
    run_id = p.locator(".scatter-tip").get_attribute("data-id")
    assert "run " in p.locator(".scatter-tip").inner_text()
    p.mouse.click(*point)
    p.wait_for_url(f"**/run/{run_id}")
    p.wait_for_selector(".run-head h1")


def test_scatter_numeric_colour_and_runs_left_out(board, page):
    """The typed-array reply with a numeric colour (a colour bar from its smallest to
    its largest value) and with a y path no run has (every run counted as left out)."""
    p = page.page
    p.goto(board + "/?view=scatter&sx=lr&sy=result&sc=lr&slx=1")
    p.wait_for_selector(".scatter.drawn")
    assert p.locator(".scatter").get_attribute("data-points") == "24"
    legend = p.locator(".scatter-legend")
    assert legend.locator(".colorbar").count() == 1
    assert "0.001" in legend.inner_text() and "1" in legend.inner_text()
    p.goto(board + "/?view=scatter&sx=lr&sy=info.nothing")
    p.wait_for_selector(".scatter.drawn")
    assert p.locator(".scatter").get_attribute("data-points") == "0"
    assert "24 without both values left out" in p.locator(".scatter-status").inner_text()


def test_parallel_coordinates_brushing_filters_the_table(board, page):
    p = page.page
    p.goto(board + "/?view=parallel")
    p.wait_for_selector(".parallel.drawn")
    labels = p.locator(".parallel-label").evaluate_all(
        "ls => ls.map(l => [l.dataset.path, l.dataset.scale])"
    )
    # The varying entries but the seed, then the colour (the result); lr spans 3 decades.
    assert labels == [["config.lr", "log"], ["config.optimizer", "category"], ["result", "linear"]]
    # No label is clipped: each fits its box and the page.
    fits = p.locator(".parallel-label").evaluate_all(
        "ls => ls.every(l => l.scrollWidth <= l.clientWidth + 1"
        " && l.getBoundingClientRect().right <= document.documentElement.clientWidth)"
    )
    assert fits
    wrap = p.locator(".parallel-wrap").bounding_box()
    assert wrap["width"] > 1200  # full width
    # Switch lr to a linear axis and back.
    p.click(".parallel-label[data-path='config.lr']")
    p.wait_for_selector(".parallel-label[data-path='config.lr'][data-scale='linear']")
    p.click(".parallel-label[data-path='config.lr']")
    p.wait_for_selector(".parallel-label[data-path='config.lr'][data-scale='log']")
    # Brush the optimizer axis's top (adam or sgd: the categories are sorted).
    canvas = p.locator(".parallel-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x = box["x"] + box["width"] / 2
    p.mouse.move(x, box["y"] + 40)
    p.mouse.down()
    p.mouse.move(x, box["y"] + 80, steps=4)
    p.mouse.up()
    p.wait_for_selector(".parallel[data-inside='12']")
    brushes = json.loads(params(p)["brush"][0])
    assert brushes == [{"path": "config.optimizer", "values": ["sgd"]}]
    p.wait_for_selector(".pager .count:has-text('of 12')")
    assert len(row_ids(p)) == 12
    assert int(p.locator(".parallel").get_attribute("data-filter-ms")) >= 0
    view_shot(p, "parallel")
    # The brush is in the URL: a reload keeps it; a click on the axis clears it.
    p.reload()
    p.wait_for_selector(".parallel[data-inside='12']")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    p.mouse.click(box["x"] + box["width"] / 2, box["y"] + 150)
    p.wait_for_selector(".parallel[data-inside='24']")
    p.wait_for_selector(".pager .count:has-text('of 24')")
    assert "brush" not in params(p)


def test_lint_pragmas_are_not_shown_as_config_comments(board, page):
    p = page.page
    # The sweep's config lines end in a noqa pragma: a linter's, not documentation.
    p.goto(board + "/run/1")
    p.wait_for_selector(".config .doc:has-text('the update rule')")
    assert "noqa" not in p.locator(".config").inner_text()
