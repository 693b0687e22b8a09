"""sacred.store.locking.store_lock: one holder at a time, across processes; a killed
holder frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from sacred.exceptions import StoreError
from sacred.store.locking import lock_kind, store_lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from sacred.store.locking import store_lock
    with store_lock(sys.argv[1], "study-1"):
        open(sys.argv[2], "w").close()
        while True:
            time.sleep(0.05)
    """
)


@pytest.fixture(params=["file", "sqlite", "postgresql", "mysql", "tinydb"])
def location(request, tmp_path) -> str:
    if request.param == "file":
        (tmp_path / "runs").mkdir()
        return str(tmp_path / "runs")
    if request.param == "tinydb":
        return f"tinydb://{tmp_path / 'runs_db'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")


def test_a_held_lock_times_out_and_a_killed_holder_frees_it(location, tmp_path):
    held = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, location, str(held)])
    try:
        deadline = time.monotonic() + 60
        while not held.exists():
            assert time.monotonic() < deadline, "the holder never took the lock"
            assert holder.poll() is None, "the holder died"
            time.sleep(0.02)
        with pytest.raises(StoreError, match="Could not take the lock 'study-1'"):
            with store_lock(location, "study-1", timeout=0.3):
                pass
        with store_lock(location, "another-study", timeout=5):
            pass  # other names are independent
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with store_lock(location, "study-1", timeout=30):
        pass


def test_threads_take_turns(location):
    inside = []
    overlaps = []

    def work() -> None:
        for _ in range(5):
            with store_lock(location, "turns", timeout=60):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []


def test_mongo_lock_excludes_and_expires():
    mongomock = pytest.importorskip("mongomock")
    client = mongomock.MongoClient()
    with store_lock("mongomock://locks", "s", client=client, expires_after=60):
        with pytest.raises(StoreError, match="Could not take the lock"):
            with store_lock("mongomock://locks", "s", timeout=0.1, client=client):
                pass
    with store_lock("mongomock://locks", "s", client=client, expires_after=0):
        # the holder's time is up: another process may take the lock over
        with store_lock("mongomock://locks", "s", timeout=1, client=client):
            pass


@pytest.mark.parametrize(
    "location, kind",
    [
        ("runs", "file"),
        ("sqlite:///runs.db", "sqlite"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("mysql+pymysql://u@h/db", "mysql"),
        ("mongodb://h/db", "mongodb"),
        ("tinydb://runs_db", "tinydb"),
    ],
)
def test_lock_kind(location, kind):
    assert lock_kind(location) == kind


def test_a_tinydb_directory_and_its_url_share_one_lock(tmp_path):
    (tmp_path / "runs_db").mkdir()
    (tmp_path / "runs_db" / "metadata.json").write_text("")
    directory = str(tmp_path / "runs_db")
    assert lock_kind(directory) == "tinydb"
    with store_lock(directory, "study-1"):
        with pytest.raises(StoreError, match="Could not take the lock 'study-1'"):
            with store_lock(f"tinydb://{directory}", "study-1", timeout=0.2):
                pass


def test_unknown_scheme_is_an_error():
    with pytest.raises(StoreError, match="'s3' is not one of"):
        lock_kind("s3://bucket/runs")


def test_a_postgres_lock_keeps_its_connection_and_gets_over_losing_it(postgres_url):
    """The locks of a thread share one kept session (no connect per claim); when the
    server ends that session, the next lock opens another one."""
    import sqlalchemy as sa

    from sacred.store import locking

    def backend_pid() -> int:
        session = locking._postgres_session(postgres_url)
        return session.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()

    with store_lock(postgres_url, "kept", timeout=5):
        first = backend_pid()
    with store_lock(postgres_url, "kept", timeout=5):
        assert backend_pid() == first
    admin = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    try:
        with store_lock(postgres_url, "kept", timeout=5):
            assert backend_pid() != first
        # and the lock was given back: another session takes it at once
        with admin.connect() as conn:
            key = locking._key("kept")
            assert conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
    finally:
        admin.dispose()
