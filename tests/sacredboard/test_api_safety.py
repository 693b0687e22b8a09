"""The server's safety: catastrophic regular expressions cannot freeze it, and the
Host and Origin headers are checked against the names it answers to (DNS
rebinding)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from starlette.testclient import TestClient

from sacred import Experiment
from sacred.exceptions import QueryError
from sacred.observers import FileStorageObserver, SqlObserver
from sacred.store import open_store
from sacred.store.saferegex import compile_search, engine_of
from sacredboard import create_app
from tests.sacredboard.serve import serve

EVIL_VALUE = "a" * 41 + "!"
# pattern -> the values it matches (Python's re.search would take minutes to say
# that the 42-character value does not match)
CATASTROPHIC = {
    "^(a|aa)+$": ["aaaa"],
    "^(a+)+$": ["aaaa"],
    "(a*)*b": ["b"],
    "^(a|a?)+$": ["aaaa"],
}


@pytest.fixture(params=["file", "sqlite"])
def location(request, tmp_path):
    ex = Experiment("regex", save_git_info=False)

    @ex.config
    def cfg():
        s = "x"

    @ex.main
    def main(s):
        return len(s)

    if request.param == "file":
        where = str(tmp_path / "runs")
        ex.observers.append(FileStorageObserver(where))
    else:
        where = f"sqlite:///{tmp_path / 'runs.db'}"
        ex.observers.append(SqlObserver(where))
    for value in (EVIL_VALUE, "aaaa", "b"):
        ex.run(config_updates={"s": value}, options={"--loglevel": "ERROR"})
    return where


def _get(url: str, timeout: float = 120) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_catastrophic_patterns_do_not_stall_the_server(location):
    with serve(location) as (url, _):
        answers: dict[str, tuple] = {}

        def ask(pattern: str) -> None:
            query = urllib.parse.quote(f'config.s =~ "{pattern}"')
            answers[pattern] = _get(f"{url}api/runs?filter={query}")

        threads = [threading.Thread(target=ask, args=(p,)) for p in CATASTROPHIC]
        for thread in threads:
            thread.start()
        # the server keeps answering while the filters run
        for _ in range(3):
            status, body = _get(url + "api/health", timeout=30)
            assert status == 200 and body["ok"] is True
        for thread in threads:
            thread.join(120)
            assert not thread.is_alive()
        for pattern, expected in CATASTROPHIC.items():
            status, body = answers[pattern]
            assert status == 200, body
            assert [r["config"]["s"] for r in body["runs"]] == expected


def test_patterns_no_linear_engine_takes_are_refused_when_they_could_explode(location):
    with TestClient(create_app(location), base_url="http://127.0.0.1") as client:
        answer = client.get("/api/runs", params={"filter": r'config.s =~ "(\\w+\\s?)+$"'})
        assert answer.status_code == 400
        assert "nested repetition" in answer.json()["error"]
        # (a backslash is doubled in a query's string)
        # a backreference without nesting still works, with Python's meaning
        answer = client.get("/api/runs", params={"filter": r'config.s =~ "(a)\\1\\1\\1$"'})
        assert [r["config"]["s"] for r in answer.json()["runs"]] == ["aaaa"]
        output = client.get("/api/runs", params={"output": "^(a|aa)+$"})
        assert output.status_code == 200


@pytest.mark.parametrize(
    "pattern",
    ["^adam$", "a$", "x$|y", "^(a|aa)+$", "b.c", "[a-c]+!", "a{2,3}", "\\.", "(a$|b)c"],
)
@pytest.mark.parametrize(
    "text", ["adam", "a\n", "a\n\n", "x\n", "abc", "b\nc", "aaa!", "a.b", "ac"]
)
def test_the_linear_engine_matches_what_python_matches(pattern, text):
    assert compile_search(pattern)(text) == bool(re.search(pattern, text))


def test_portable_patterns_run_in_re2():
    pytest.importorskip("re2")
    assert engine_of("^(a|aa)+$") == "re2"
    assert engine_of(r"\d+") == "re"  # Python's Unicode \d: evaluated by re


def test_the_store_refuses_explosive_patterns_it_cannot_run_linearly(location):
    with open_store(location) as store, pytest.raises(QueryError, match="nested repetition"):
        store.find(r'config.s =~ "^(\\d|\\d\\d)+$"')


@pytest.mark.parametrize(
    "host, status",
    [
        ("127.0.0.1:5000", 200),
        ("localhost:5000", 200),
        ("[::1]:5000", 200),
        ("attacker.example:5000", 421),
        ("board.lan", 200),
        ("10.0.0.7:5000", 421),
    ],
)
def test_the_host_header_must_name_the_board(sqlite_location, host, status):
    app = create_app(sqlite_location, allowed_hosts=["board.lan"])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        answer = client.get("/api/health", headers={"Host": host})
        assert answer.status_code == status
        if status == 421:
            assert "--allowed-host" in answer.json()["error"]


def test_a_wildcard_bind_answers_to_addresses_not_to_unknown_names(sqlite_location):
    app = create_app(sqlite_location, host="0.0.0.0")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/health", headers={"Host": "10.0.0.7:5000"}).status_code == 200
        assert client.get("/api/health", headers={"Host": "evil.example"}).status_code == 421


def test_edits_check_origin_against_the_allowed_hosts(sqlite_location):
    app = create_app(sqlite_location, allowed_hosts=["board.lan"])
    edit = {"X-Sacredboard": "1"}
    with TestClient(app, base_url="http://board.lan:5000") as client:
        run_id = client.get("/api/runs").json()["runs"][0]["id"]
        body = {"ids": [run_id], "add": ["ok"]}
        for origin, status in [
            ("http://board.lan:5000", 200),
            ("http://localhost:5000", 200),
            ("http://attacker.example:5000", 403),
            ("http://board.lan:6000", 403),
            ("null", 403),
        ]:
            answer = client.post("/api/edit/tags", json=body, headers={**edit, "Origin": origin})
            assert answer.status_code == status, origin


def test_the_cli_takes_allowed_hosts(sqlite_location):
    with serve(sqlite_location, "--allowed-host", "board.lan") as (url, _):
        port = urllib.parse.urlsplit(url).port
        request = urllib.request.Request(url + "api/health", headers={"Host": f"board.lan:{port}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        evil = urllib.request.Request(url + "api/health", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(evil, timeout=30)
        assert refused.value.code == 421
