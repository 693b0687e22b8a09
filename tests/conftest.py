"""Shared fixtures: isolated settings, and fresh databases on the local SQL servers.

Tests that need a server skip with a clear message when it is not reachable,
except under CI (``CI=true``), where a missing server is a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from tests.pg_pool import PostgresPool

POSTGRES_URL = os.environ.get(
    "SACRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
MYSQL_URL = os.environ.get("SACRED_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or, under CI, fail) when the server is not reachable."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(message + " (CI=true: server tests must run, not skip)")
    pytest.skip(message + "; start it to run this test")


#: The store backends a test can be parametrized over (the parameter's value or id).
BACKENDS = ("file", "sqlite", "postgresql", "mysql", "mongomock", "mongodb", "tinydb")
#: The backend whose variants stay in the fast tier, in order of preference: the
#: first one a test has (the file store has its own tests in the fast tier).
FAST_BACKENDS = ("sqlite", "file")
#: The tests that run on every backend in the fast tier too (a smoke test of each).
EVERY_BACKEND_IN_FAST_TIER = ("tests/store/test_store_contract.py::test_find_returns_every_run",)


def _backend_of(item: pytest.Item) -> tuple[str | None, str]:
    """(the backend of a parametrized test, the ids of its other parameters)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None, ""
    parts = callspec.id.split("-")
    backends = [part for part in parts if part in BACKENDS]
    others = "-".join(part for part in parts if part not in BACKENDS)
    return (backends[0] if backends else None), others


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast tier runs a test parametrized over backends on one of them: SQLite,
    else the file store, else its first. The other variants (the database servers
    above all: a fresh database and a server round trip per query) are marked slow
    and left to the whole suite."""
    groups: dict[tuple[str, str], list[tuple[pytest.Item, str]]] = {}
    for item in items:
        backend, others = _backend_of(item)
        if backend is not None:
            function = item.nodeid.split("[", 1)[0]
            groups.setdefault((function, others), []).append((item, backend))
    for (function, _), variants in groups.items():
        if function in EVERY_BACKEND_IN_FAST_TIER:
            continue
        backends = [backend for _, backend in variants]
        fast = next((b for b in FAST_BACKENDS if b in backends), backends[0])
        for item, backend in variants:
            if backend != fast:
                item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Each test starts from the default SETTINGS, whatever the previous one changed."""
    from sacred.settings import SETTINGS

    SETTINGS.reset()
    yield
    SETTINGS.reset()


def _fresh_mysql_database() -> Iterator[str]:
    # CREATE/DROP DATABASE cost MariaDB a few milliseconds: a new one per test.
    sqlalchemy = pytest.importorskip("sqlalchemy")
    name = f"sacred_test_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(f"{MYSQL_URL}/test", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        yield f"{MYSQL_URL}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()


@pytest.fixture(scope="session")
def _postgres_pool() -> Iterator[PostgresPool]:
    pool = PostgresPool(POSTGRES_URL)
    yield pool
    pool.close()


@pytest.fixture
def postgres_url(_postgres_pool: PostgresPool) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database (under a name no test used before)."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    pytest.importorskip("sqlalchemy")
    yield from _postgres_pool.database()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """URL of a new, empty MariaDB database (dropped afterwards)."""
    require_server("MariaDB", "127.0.0.1", 3306)
    yield from _fresh_mysql_database()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def sql_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The same test against SQLite, PostgreSQL and MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
    elif request.param == "postgresql":
        yield request.getfixturevalue("postgres_url")
    else:
        yield request.getfixturevalue("mysql_url")


class RecordingObserver:
    """An observer that records every event it receives, in order (for tests)."""

    def __init__(self, priority: int = 0, run_id=None, fail_on: dict | None = None) -> None:
        self.priority = priority
        self.run_id = run_id
        self.events: list[tuple[str, dict]] = []
        # event name -> how many more calls of it should raise
        self.fail_on = dict(fail_on or {})

    def _record(self, _event: str, **kwargs):
        if self.fail_on.get(_event, 0) > 0:
            self.fail_on[_event] -= 1
            raise ConnectionError(f"{_event} failed on purpose")
        self.events.append((_event, kwargs))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def first(self, name: str) -> dict:
        return next(kw for n, kw in self.events if n == name)

    def last(self, name: str) -> dict:
        return [kw for n, kw in self.events if n == name][-1]

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        self._record(
            "queued_event",
            ex_info=ex_info,
            command=command,
            host_info=host_info,
            queue_time=queue_time,
            config=config,
            meta_info=meta_info,
            _id=_id,
        )
        return self.run_id if _id is None else _id

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        self._record(
            "started_event",
            ex_info=ex_info,
            command=command,
            host_info=host_info,
            start_time=start_time,
            config=config,
            meta_info=meta_info,
            _id=_id,
        )
        return self.run_id if _id is None else _id

    def heartbeat_event(self, info, captured_out, beat_time, result):
        self._record(
            "heartbeat_event",
            info=dict(info),
            captured_out=captured_out,
            beat_time=beat_time,
            result=result,
        )

    def completed_event(self, stop_time, result):
        self._record("completed_event", stop_time=stop_time, result=result)

    def interrupted_event(self, interrupt_time, status):
        self._record("interrupted_event", interrupt_time=interrupt_time, status=status)

    def failed_event(self, fail_time, fail_trace):
        self._record("failed_event", fail_time=fail_time, fail_trace=fail_trace)

    def resource_event(self, filename):
        self._record("resource_event", filename=filename)

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        self._record(
            "artifact_event",
            name=name,
            filename=filename,
            metadata=metadata,
            content_type=content_type,
        )

    def log_metrics(self, metrics_by_name, info):
        self._record("log_metrics", metrics_by_name=metrics_by_name, info=dict(info))

    def join(self):
        pass


@pytest.fixture
def recorder() -> RecordingObserver:
    """A fresh RecordingObserver; ``recorder.__class__(...)`` makes more."""
    return RecordingObserver()


@pytest.fixture
def make_recorder():
    """The RecordingObserver class, to make observers with a priority, id or failures."""
    return RecordingObserver


class _Recorder:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200


@pytest.fixture
def http_recorder():
    """A real HTTP server on 127.0.0.1 that records every request (method, path,
    headers, JSON body) and answers with ``recorder.status``."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    recorder = _Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = body
            recorder.requests.append(
                {"method": "POST", "path": self.path, "headers": dict(self.headers), "json": data}
            )
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield recorder
    server.shutdown()
    server.server_close()
