"""An observer, and the location that opens its store, for each kind of backend: what
the store suites (contract, query backends, query fuzzing) record their runs with."""

from __future__ import annotations

import os
import uuid

import pytest

MONGO_URI = os.environ.get("SACRED_TEST_MONGO_URI")  # a real server, e.g. mongodb://127.0.0.1


def observer_and_location(kind: str, tmp_path, request):
    """(observer, location, options for open_store)"""
    if kind == "file":
        from sacred.observers import FileStorageObserver

        location = str(tmp_path / "runs")
        return FileStorageObserver(location), location, {}
    if kind == "tinydb":
        from sacred.observers.tinydb_hashfs.observer import QueueingTinyDbObserver

        # TinyDbObserver refuses queued runs (as the original), but labwatch writes
        # its claims into TinyDB stores through this one: stores hold queued runs.
        location = str(tmp_path / "runs_db")
        return QueueingTinyDbObserver(location), location, {}
    if kind == "mongomock":
        mongomock = pytest.importorskip("mongomock")
        from mongomock.gridfs import enable_gridfs_integration

        from sacred.observers import MongoObserver

        enable_gridfs_integration()
        client = mongomock.MongoClient()
        return (
            MongoObserver(client=client, db_name="sacred"),
            "mongomock://sacred",
            {"client": client},
        )
    if kind == "mongodb":
        if not MONGO_URI:
            pytest.skip("SACRED_TEST_MONGO_URI is not set: no real MongoDB server to test")
        pymongo = pytest.importorskip("pymongo")
        from sacred.observers import MongoObserver

        db_name = f"sacred_store_{uuid.uuid4().hex[:10]}"
        client = pymongo.MongoClient(MONGO_URI, serverSelectionTimeoutMS=3000)
        request.addfinalizer(lambda: (client.drop_database(db_name), client.close()))
        location = f"{MONGO_URI.rstrip('/')}/{db_name}"
        return MongoObserver(url=MONGO_URI, db_name=db_name), location, {}
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    elif kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("mysql_url")
    from sacred.observers import SqlObserver

    return SqlObserver(url), url, {}
