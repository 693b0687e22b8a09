"""Headless Chromium through Playwright for the browser tests.

The tests skip with a message when Playwright or Chromium is missing, except under
CI=true, where they must run. Requests to any host but 127.0.0.1 are aborted and
recorded (the board must not need a CDN); console errors are recorded too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from urllib.parse import urlparse

import pytest

SHOTS = os.path.join(os.path.dirname(__file__), "screenshots")
ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHROMIUM = os.environ.get("SACREDBOARD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip (or fail under CI=true) when Playwright or Chromium is not installed."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright is not installed (pip install playwright)"
    if problem is None and not os.path.exists(CHROMIUM):
        problem = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {problem}")
        pytest.skip(problem)


class Watched:
    """A page with its console errors and the off-host requests it tried."""

    def __init__(self, page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.blocked: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()


def launch(playwright):
    profile = tempfile.mkdtemp(prefix="sacredboard-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=ARGS,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    return context, profile


# The fixtures of the browser test modules, which import them (under names that are not
# the fixtures' own, so that the tests' arguments shadow no import): one browser per
# module, one watched page per test, whose screenshot goes to tests/sacredboard/screenshots/.


@pytest.fixture(scope="module", name="browser_context")
def browser_context_fixture():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context, profile = launch(playwright)
        yield context
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(name="page")
def page_fixture(browser_context, request):
    watched = Watched(browser_context.new_page())
    watched.page.set_default_timeout(15_000)
    yield watched
    os.makedirs(SHOTS, exist_ok=True)
    name = request.node.name.replace("[", "_").replace("]", "")
    watched.page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
    watched.page.close()
    assert watched.errors == [], f"console errors: {watched.errors}"
    assert watched.blocked == [], f"requests to other hosts: {watched.blocked}"


#: The screenshots of the views that docs/sacredboard.md shows, written by the test run.
DOC_SHOTS = os.path.join(ROOT_DIR, "docs", "img", "sacredboard")


def view_shot(page, name: str) -> None:
    """Save the page (as it is now) as docs/img/sacredboard/<name>.png."""
    os.makedirs(DOC_SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(DOC_SHOTS, f"{name}.png"), full_page=True)
