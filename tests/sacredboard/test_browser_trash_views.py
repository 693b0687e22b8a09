"""The trash and saved views in headless Chromium: deletion moves a run to the Trash
page, Restore brings it back; a view saved from the Views menu opens on any board
of the store; a read-only board shows both but changes nothing.

Console errors and off-host requests fail every test (tests/sacredboard/browser.py);
`view_shot` saves the screenshots docs/sacredboard.md shows.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.sacredboard.browser import browser_context_fixture, page_fixture, view_shot  # noqa: F401
from tests.sacredboard.serve import serve

pytestmark = pytest.mark.slow  # a headless browser: the full suite only


@pytest.fixture
def board(sqlite_location):
    with serve(sqlite_location) as (url, _):
        yield url.rstrip("/")


def row_ids(p) -> list[str]:
    return p.locator("tr.run").evaluate_all("rows => rows.map((r) => r.dataset.id)")


def test_deleted_runs_wait_in_the_trash_until_restored(board, page):
    p = page.page
    p.goto(board + "/?sort=id")
    p.wait_for_selector("tr.run[data-id='5']")
    for run_id in ("2", "5"):
        p.locator(f"tr.run[data-id='{run_id}'] td.sel input").check()
    p.click("text=Delete…")
    p.wait_for_selector("dialog.ask[open]:has-text('Move 2 runs to the trash?')")
    p.click("dialog.ask button:has-text('Move to trash')")
    p.wait_for_selector("tr.run[data-id='5']", state="detached")
    assert row_ids(p) == ["1", "3", "4"]

    p.click("header nav a:has-text('Trash')")
    p.wait_for_selector("tr.trashed")
    assert p.locator("tr.trashed").evaluate_all("rows => rows.map((r) => r.dataset.id)") == [
        "5",
        "2",
    ]
    assert "board_demo" in p.locator("tr.trashed[data-id='5']").inner_text()
    view_shot(p, "trash")
    p.click("tr.trashed[data-id='2'] button.restore")
    p.wait_for_selector("tr.trashed[data-id='2']", state="detached")
    assert p.locator("tr.trashed").count() == 1

    p.click("header nav a:has-text('Runs')")
    p.wait_for_selector("tr.run[data-id='2']")
    assert sorted(row_ids(p)) == ["1", "2", "3", "4"]


def test_a_saved_view_opens_from_the_menu_after_a_reload(board, page):
    p = page.page
    state = {"q": "config.lr >= 0.1", "sort": "-result", "view": "groups", "gby": "model.hidden"}
    p.goto(board + "/?" + urlencode(state))
    p.wait_for_selector("tr.group")
    assert p.locator("tr.group").count() == 3  # hidden 8 (two runs), 32, 64
    p.click("#views-menu summary")
    p.click("#views-menu .view-save")
    p.wait_for_selector("dialog.ask[open]:has-text('Save this view')")
    p.keyboard.type("wide lr")
    p.keyboard.press("Enter")
    p.wait_for_selector("dialog.ask", state="detached")

    p.goto(board + "/")  # a fresh page: nothing of the view is left in the URL
    p.wait_for_selector("tr.run")
    assert len(row_ids(p)) == 5
    p.click("#views-menu summary")
    p.wait_for_selector("#views-menu li.saved-view[data-name='wide lr']")
    view_shot(p, "saved-views")
    p.click("#views-menu li.saved-view[data-name='wide lr'] a.view-open")
    p.wait_for_selector("tr.group")
    assert p.locator("tr.group").count() == 3
    opened = {k: v[0] for k, v in parse_qs(urlparse(p.url).query).items()}
    assert opened == state
    assert not p.locator("#views-menu").evaluate("m => m.open")
    p.click(".view-tabs [data-view=runs]")
    p.wait_for_selector("tr.run")
    # the filter and the sort of the view: lr >= 0.1, best result first, the failed
    # run (no result) last
    assert row_ids(p) == ["1", "4", "3", "5"]

    p.click("#views-menu summary")
    p.click("#views-menu li.saved-view[data-name='wide lr'] .view-delete")
    p.wait_for_selector("#views-menu .muted:has-text('No saved views yet.')")


def test_a_read_only_board_shows_the_trash_and_views_but_changes_nothing(sqlite_location, page):
    from sacred.store import open_store

    with open_store(sqlite_location) as store:
        store.delete(3)
        store.save_view("failed", {"path": "/", "params": {"status": "FAILED"}})
    with serve(sqlite_location, "--read-only") as (url, _):
        p = page.page
        p.goto(url.rstrip("/") + "/trash")
        p.wait_for_selector("tr.trashed[data-id='3']")
        assert p.locator("button.restore").count() == 0
        assert "cannot restore" in p.locator("main").inner_text()
        p.click("#views-menu summary")
        p.wait_for_selector("#views-menu li.saved-view[data-name='failed']")
        assert p.locator("#views-menu .view-save").count() == 0
        assert p.locator("#views-menu .view-delete").count() == 0
        p.click("#views-menu a.view-open")
        p.wait_for_selector("tr.run")
        assert row_ids(p) == ["5"]
        p.goto("about:blank")  # stop polling before this board stops
