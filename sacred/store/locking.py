"""A named lock shared by every process (and, for database stores, every machine)
that uses the same store: ``with store_lock(location, name): ...``.

labwatch holds it while it reads a study's trials, asks the optimizer and records
the new trial, so two workers never draw a suggestion from the same state.

How each kind of store locks (the lock dies with its holder in every case, so a
killed process never leaves it taken):

* PostgreSQL: ``pg_advisory_lock(key)`` / ``pg_advisory_unlock(key)`` on a
  connection each thread keeps open for its locks (no connect, no transaction per
  lock); advisory locks do not block the observer's writes to ``runs``.
* MariaDB/MySQL: ``GET_LOCK(name, timeout)`` / ``RELEASE_LOCK(name)`` on a
  connection of its own.
* MongoDB: a document in the ``labwatch_locks`` collection taken with
  ``find_one_and_update`` (free, or expired: the holder gets ``expires_after``
  seconds, then others may take it over).
* SQLite, file and TinyDB stores: a ``filelock`` lock file in the user's
  cache directory, keyed by the absolute path of the store (``tinydb://runs_db``
  and the directory ``runs_db`` are one store, one lock). Not a table in the
  SQLite database itself: SQLite has one writer at a time, so a ``BEGIN
  IMMEDIATE`` held by the lock would block the observer that records the trial
  inside the lock. Not a file in the run directory either: that directory holds
  runs only. Not TinyDB's own write lock (``.metadata.json.lock``, see
  sacred.observers.tinydb_hashfs): that one is held for each single write, and
  the observer recording the trial takes it inside this lock. These backends are
  single-machine (SQLite discourages network file systems).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from sacred.exceptions import StoreError
from sacred.observers._registry import BACKENDS, backend_for_url, scheme_of

__all__ = [
    "store_lock",
    "lock_kind",
    "DEFAULT_TIMEOUT",
    "StudyLock",
    "sql_lock",
    "path_lock",
    "mongo_lock",
]

#: Seconds to wait for the lock before giving up with a StoreError.
DEFAULT_TIMEOUT = 120.0


class StudyLock(Protocol):
    """A backend's study lock (its registry entry's ``study_lock``): a context manager
    holding the lock ``name`` of the store at ``location`` for the ``with`` block,
    a StoreError after ``timeout`` seconds; dies with its holder."""

    def __call__(
        self, location: str, name: str, timeout: float = ..., **options: Any
    ) -> contextlib.AbstractContextManager[None]: ...


_engines: dict[str, Any] = {}
_engines_guard = threading.Lock()


def lock_kind(location: str | os.PathLike) -> str:
    """'postgresql', 'mysql', 'mongodb', 'sqlite', 'tinydb' or 'file' for a store
    location (a directory is 'tinydb' when it holds a TinyDB store's metadata.json,
    as ``sacred.store.open_store`` decides); another registered backend's kind."""
    entry = _backend(os.fspath(location))
    if entry.kind == "sql":
        scheme = scheme_of(os.fspath(location))
        return {"postgres": "postgresql", "mariadb": "mysql"}.get(scheme, scheme)
    return entry.kind


def _backend(location: str) -> Any:
    try:
        return backend_for_url(location)
    except StoreError:
        scheme = scheme_of(location)
        lockable = sorted({s for b in BACKENDS if b.study_lock for s in b.schemes})
        raise StoreError(
            f"store_lock: cannot lock the store {location!r}: its scheme {scheme!r} is not "
            f"one of {', '.join(lockable)}."
        ) from None


def _key(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks, stable across processes."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def store_lock(
    location: str | os.PathLike, name: str, timeout: float = DEFAULT_TIMEOUT, **options: Any
) -> Iterator[None]:
    """Hold the lock ``name`` of the store at ``location`` for the ``with`` block.

    ``timeout``: seconds to wait before a StoreError. ``options``: ``client=`` for a
    MongoDB store (e.g. mongomock's), ``expires_after=`` seconds for Mongo locks.
    """
    location = os.fspath(location)
    entry = _backend(location)
    if entry.study_lock is None:
        raise StoreError(
            f"store_lock: cannot lock the store {location!r}: the {entry.kind} backend "
            "has no study lock."
        )
    with entry.lock(location, name, timeout, **options):
        yield


def sql_lock(
    location: str, name: str, timeout: float = DEFAULT_TIMEOUT, **options: Any
) -> contextlib.AbstractContextManager[None]:
    """The study lock of an SQL store: an advisory lock on PostgreSQL, GET_LOCK on
    MariaDB/MySQL, a lock file for an SQLite file."""
    kind = lock_kind(location)
    if kind == "postgresql":
        return _postgres_lock(location, name, timeout)
    if kind == "mysql":
        return _mysql_lock(location, name, timeout)
    return _file_lock(_path_of(location, "sqlite"), name, timeout)


def path_lock(
    location: str, name: str, timeout: float = DEFAULT_TIMEOUT, **options: Any
) -> contextlib.AbstractContextManager[None]:
    """The study lock of a directory store (file storage, TinyDB): a lock file keyed
    by the directory's absolute path, whichever way the location is written."""
    return _file_lock(_path_of(location, "file"), name, timeout)


# -- SQL servers -------------------------------------------------------------------------


def _engine(url: str) -> Any:
    import sqlalchemy as sa

    with _engines_guard:
        engine = _engines.get(url)
        if engine is None:
            # One connection per held lock; pooled so that a lock costs no reconnect.
            engine = _engines[url] = sa.create_engine(url, pool_pre_ping=True)
        return engine


def _timed_out(location: str, name: str, timeout: float) -> StoreError:
    return StoreError(
        f"Could not take the lock {name!r} of the store {location} within {timeout:g} s: "
        "another process holds it. If no labwatch process is running, check the database "
        "for stuck sessions; otherwise wait, or pass a longer timeout."
    )


# One connection per thread and process for the PostgreSQL locks of a URL, kept open
# between locks: a claim then costs two round trips (take, give back) instead of a
# checkout, BEGIN, SET LOCAL, the lock and COMMIT. Per thread, because a session's
# advisory locks are re-entrant: two threads on one session would both get the lock.
_sessions = threading.local()
# Connections a forked child inherited: never closed there (closing would end the
# parent's session and free its locks), only left alone.
_inherited: list[Any] = []


class _PostgresSession:
    """A thread's autocommit connection for advisory locks, and the lock_timeout
    it is set to (set again only when a caller asks for another)."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.pid = os.getpid()
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        self.conn = engine.connect()
        self.timeout_ms: int | None = None

    def take(self, key: int, timeout_ms: int) -> None:
        import sqlalchemy as sa

        if timeout_ms != self.timeout_ms:
            self.conn.execute(sa.text(f"SET lock_timeout = {timeout_ms}"))
            self.timeout_ms = timeout_ms
        self.conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})

    def give_back(self, key: int) -> None:
        import sqlalchemy as sa

        self.conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


def _postgres_session(url: str) -> _PostgresSession:
    sessions: dict[str, _PostgresSession] = _sessions.__dict__.setdefault("by_url", {})
    session = sessions.get(url)
    if session is not None and session.pid != os.getpid():
        _inherited.append(session)
        session = None
    if session is None:
        session = sessions[url] = _PostgresSession(url)
    return session


def _drop_postgres_session(url: str) -> None:
    """Forget the thread's connection for ``url`` (it broke); the next lock opens one."""
    session = _sessions.__dict__.get("by_url", {}).pop(url, None)
    if session is not None and session.pid == os.getpid():
        session.close()


#: PostgreSQL's SQLSTATE for a lock wait cut short by lock_timeout.
_LOCK_NOT_AVAILABLE = "55P03"


@contextlib.contextmanager
def _postgres_lock(url: str, name: str, timeout: float) -> Iterator[None]:
    """A session-level advisory lock on the thread's own connection: released by
    pg_advisory_unlock after the block, and by the server when the connection
    ends (a killed process frees it)."""
    import sqlalchemy as sa

    key = _key(name)
    session = _postgres_session(url)
    try:
        try:
            session.take(key, int(timeout * 1000))
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The kept connection was closed (server restart, idle timeout): once
            # more on a new one.
            _drop_postgres_session(url)
            session = _postgres_session(url)
            session.take(key, int(timeout * 1000))
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise _timed_out(url, name, timeout) from None
        _drop_postgres_session(url)
        raise
    except BaseException:
        # Interrupted while taking it (Ctrl-C): the lock may be held without our
        # knowing; ending the session frees it for sure.
        _drop_postgres_session(url)
        raise
    try:
        yield
    finally:
        try:
            session.give_back(key)
        except sa.exc.DBAPIError:
            # The connection broke: the server ended the session and its locks with it.
            _drop_postgres_session(url)


@contextlib.contextmanager
def _mysql_lock(url: str, name: str, timeout: float) -> Iterator[None]:
    import sqlalchemy as sa

    # MariaDB limits lock names to 64 characters: hash longer ones.
    lock_name = name if len(name) <= 64 else hashlib.sha256(name.encode()).hexdigest()
    with _engine(url).connect() as conn:
        got = conn.execute(
            sa.text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": lock_name, "timeout": max(0, int(timeout))},
        ).scalar()
        conn.commit()
        if got != 1:
            raise _timed_out(url, name, timeout)
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": lock_name})
            conn.commit()


# -- MongoDB ---------------------------------------------------------------------------

_mongo_clients: dict[str, Any] = {}


def _mongo_collection(location: str, client: Any = None) -> Any:
    scheme, _, rest = location.partition("://")
    if scheme == "mongomock":
        db_name = rest.strip("/") or "sacred"
        if client is None:
            client = _mongo_clients.get(location)
            if client is None:
                import mongomock

                client = _mongo_clients[location] = mongomock.MongoClient()
    else:
        db_name = rest.split("/", 1)[1].split("?", 1)[0] if "/" in rest else ""
        if client is None:
            client = _mongo_clients.get(location)
            if client is None:
                import pymongo

                client = _mongo_clients[location] = pymongo.MongoClient(location)
    return client[db_name or "sacred"]["labwatch_locks"]


@contextlib.contextmanager
def mongo_lock(
    location: str,
    name: str,
    timeout: float,
    client: Any = None,
    expires_after: float = 300.0,
) -> Iterator[None]:
    import datetime

    import pymongo.errors

    locks = _mongo_collection(location, client)
    token = f"{os.getpid()}-{threading.get_ident()}-{time.time_ns()}"
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        try:
            # Take the lock when it is free or its holder's time is up; the unique _id
            # makes two concurrent upserts of a free lock collide instead of both winning.
            locks.find_one_and_update(
                {"_id": name, "$or": [{"holder": None}, {"expires": {"$lt": now}}]},
                {
                    "$set": {
                        "holder": token,
                        "expires": now + datetime.timedelta(seconds=expires_after),
                    }
                },
                upsert=True,
            )
            break
        except pymongo.errors.DuplicateKeyError:
            pass
        if time.monotonic() > deadline:
            raise _timed_out(location, name, timeout)
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    try:
        yield
    finally:
        locks.update_one({"_id": name, "holder": token}, {"$set": {"holder": None}})


# -- SQLite and file stores -----------------------------------------------------------


def _path_of(location: str, kind: str) -> str:
    if kind == "sqlite":
        from sqlalchemy.engine import make_url

        database = make_url(location).database or ""
        return os.path.abspath(database) if database else location
    if "://" in location:
        location = location.split("://", 1)[1]
    return os.path.abspath(location)


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sacred", "locks")


@contextlib.contextmanager
def _file_lock(store_path: str, name: str, timeout: float) -> Iterator[None]:
    import filelock

    directory = _cache_dir()
    os.makedirs(directory, exist_ok=True)
    digest = hashlib.sha256(f"{store_path}\x1f{name}".encode()).hexdigest()[:32]
    # filelock: flock on POSIX, LockFileEx on Windows; the lock dies with its holder.
    # A fresh lock object per use, so a thread of this process waiting for it blocks
    # like another process would (each object opens its own descriptor).
    lock = filelock.FileLock(os.path.join(directory, f"{digest}.lock"), thread_local=False)
    try:
        lock.acquire(timeout=timeout, poll_interval=0.005)
    except filelock.Timeout:
        raise _timed_out(store_path, name, timeout) from None
    try:
        yield
    finally:
        lock.release()
