"""Stores of every kind for labwatch's tests, and an experiment with a search space."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _private_lock_dir(tmp_path_factory, monkeypatch) -> None:
    # File and SQLite locks live in the cache directory: keep the tests' own.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(params=["file", "sqlite", "postgresql", "mysql", "mongomock", "tinydb"])
def store_location(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[str, dict]]:
    """(location, store options) of a fresh store of each kind."""
    kind = request.param
    if kind == "file":
        yield str(tmp_path / "runs"), {}
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}", {}
    elif kind == "tinydb":
        pytest.importorskip("tinydb")
        pytest.importorskip("hashfs")
        yield f"tinydb://{tmp_path / 'runs_db'}", {}
    elif kind == "postgresql":
        yield request.getfixturevalue("postgres_url"), {}
    elif kind == "mysql":
        yield request.getfixturevalue("mysql_url"), {}
    else:
        mongomock = pytest.importorskip("mongomock")
        from mongomock.gridfs import enable_gridfs_integration

        enable_gridfs_integration()
        yield f"mongomock://labwatch_{os.getpid()}", {"client": mongomock.MongoClient()}


@pytest.fixture
def sqlite_location(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"
