"""`python -m sacredboard STORE`: serves the API on the printed URL."""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.sacredboard.serve import ROOT, get, serve


@pytest.mark.slow
def test_serves_the_store_on_the_printed_url(store_location):
    with serve(store_location) as (url, _):
        assert url.startswith("http://127.0.0.1:")
        health = json.loads(get(url + "api/health"))
        assert health["ok"] is True
        runs = json.loads(get(url + "api/runs"))
        assert runs["total"] == 5
        assert b"<title>Sacredboard</title>" in get(url)


@pytest.mark.slow
def test_token_is_required_when_given(sqlite_location):
    with serve(sqlite_location, "--token", "s3cret") as (url, _):
        assert url.endswith("/?token=s3cret")
        base = url.split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(base + "api/runs")
        assert refused.value.code == 401
        assert b"access token" in refused.value.read()
        # The printed URL logs the browser in (a cookie) and redirects to the page.
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        assert b"<title>Sacredboard</title>" in browser.open(url, timeout=10).read()
        assert json.loads(browser.open(base + "api/runs", timeout=10).read())["total"] == 5


def test_default_store_is_the_demo_database(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run(
        [sys.executable, "-m", "sacredboard", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert "demo_runs/runs.db" in done.stderr
    assert "python examples/demo.py" in done.stderr


@pytest.mark.slow
def test_a_busy_port_is_a_clear_error(sqlite_location):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": ROOT}
        done = subprocess.run(
            [sys.executable, "-m", "sacredboard", sqlite_location, "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
