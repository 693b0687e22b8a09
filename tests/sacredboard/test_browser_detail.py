"""The run page in headless Chromium: captured output as a terminal shows it, and CSV
and JSON artifacts previewed as tables (or a tree), over a store of their own.

Like test_browser.py, every test checks that the page logged no console error and
asked no host but 127.0.0.1 for anything.
"""

from __future__ import annotations

import json

import pytest

from sacred import Experiment
from sacred.observers import FileStorageObserver
from tests.sacredboard.browser import browser_context_fixture, page_fixture  # noqa: F401
from tests.sacredboard.serve import serve

pytestmark = pytest.mark.slow  # a headless browser: the full suite only

OUTPUT = "progress 10%\rprogress 50%\rprogress 100%\nab\bc\n"
CSV = 'name,note,score\r\nalpha,"one, two",1\nbeta,"say ""hi""",2\n'
RECORDS = [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25, "note": "best"}]
TREE = {"model": {"layers": [8, 16]}}


@pytest.fixture
def detail_board(tmp_path):
    """A file store with one run: a progress bar's output, CSV and JSON artifacts, and a
    metric logged at step 0 only."""
    ex = Experiment("detail_demo", save_git_info=False)

    @ex.main
    def main(_run):
        print(OUTPUT, end="")
        _run.log_scalar("first", 1.0, 0)  # only a step 0, which a log x axis leaves out
        files = {
            "table.csv": CSV,
            "records.json": json.dumps(RECORDS),
            "records.jsonl": "".join(json.dumps(r) + "\n" for r in RECORDS),
            "tree.json": json.dumps(TREE),
            "broken.json": "{not json",
        }
        for name, text in files.items():
            path = tmp_path / name
            path.write_text(text, encoding="utf-8")
            _run.add_artifact(str(path), name=name)

    location = str(tmp_path / "runs")
    ex.observers.append(FileStorageObserver(location))
    ex.run(options={"--loglevel": "WARNING", "--capture": "sys"})
    with serve(location) as (url, _):
        yield url.rstrip("/")


def cells(page, name: str) -> list[list[str]]:
    """The header and body cells of an artifact's table, row by row."""
    page.click(f".artifact[data-name='{name}'] summary")
    table = page.locator(f".artifact[data-name='{name}'] table.artifact-table")
    table.wait_for()
    return table.locator("tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )


def test_captured_output_is_shown_as_a_terminal_would(detail_board, page):
    p = page.page
    p.goto(detail_board + "/run/1")
    p.wait_for_selector(".captured-out")
    shown = p.locator(".captured-out").inner_text()
    assert shown.splitlines() == ["progress 100%", "ac"]
    assert "progress 10%" not in shown
    # The raw text is one click away.
    p.locator(".raw-output").check()
    assert "progress 10%" in p.locator(".captured-out").text_content()
    assert "\b" in p.locator(".captured-out").text_content()


def test_csv_and_json_artifacts_are_previewed_as_tables(detail_board, page):
    p = page.page
    p.goto(detail_board + "/run/1")
    p.wait_for_selector(".section.artifacts")
    assert cells(p, "table.csv") == [
        ["name", "note", "score"],
        ["alpha", "one, two", "1"],
        ["beta", 'say "hi"', "2"],
    ]
    records = [["epoch", "loss", "note"], ["1", "0.5", ""], ["2", "0.25", "best"]]
    assert cells(p, "records.json") == records
    assert cells(p, "records.jsonl") == records
    # Any other JSON value as a tree; JSON that does not parse as text.
    p.click(".artifact[data-name='tree.json'] summary")
    p.wait_for_selector(".artifact[data-name='tree.json'] ul.tree .key:text-is('layers')")
    assert p.locator(".artifact[data-name='tree.json'] table").count() == 0
    p.click(".artifact[data-name='broken.json'] summary")
    p.wait_for_selector(".artifact[data-name='broken.json'] pre.text-preview:has-text('{not json')")


def test_log_x_of_a_metric_with_only_step_zero_draws_an_empty_chart(detail_board, page):
    p = page.page
    p.goto(detail_board + "/run/1?m=first&logx=1")
    p.wait_for_selector(".plot.drawn canvas")
    assert p.locator(".log-x").is_checked()
    p.locator(".log-x").uncheck()
    p.wait_for_function("!location.search.includes('logx')")
    p.wait_for_selector(".plot.drawn canvas")
