"""The one-pass serialization stores exactly what tinydb_serialization's middleware
stores, and reads back the same values."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tinydb")

from tinydb_serialization import SerializationMiddleware  # noqa: E402

from sacred._time import utc_now  # noqa: E402
from sacred.observers.tinydb_hashfs.observer import (  # noqa: E402
    TinyDbObserver,
    _atomic_json_storage,
    _serializers,
    open_tinydb,
)

EX_INFO = {"name": "tiny", "base_dir": "", "sources": [], "dependencies": [], "mainfile": ""}


def _original(path, fs):
    storage = SerializationMiddleware(_atomic_json_storage())(str(path / "metadata.json"))
    for serializer, name in _serializers(fs):
        storage.register_serializer(serializer, name)
    return storage


def test_the_store_text_and_the_values_read_are_the_originals(tmp_path):
    numpy = pytest.importorskip("numpy")
    path = tmp_path / "runs_db"
    artifact = tmp_path / "weights.bin"
    artifact.write_bytes(b"\x00\x01")
    observer = TinyDbObserver(path)
    observer.started_event(EX_INFO, "main", {}, utc_now(), {"lr": 0.1}, {"note": "{x}"}, None)
    observer.log_metrics({"loss": {"steps": [0, 1], "values": [1.0, 0.5],
                                   "timestamps": [utc_now(), utc_now()]}}, {})  # fmt: skip
    observer.artifact_event("weights.bin", str(artifact))
    info = {"curve": numpy.arange(3), "text": "{braces} and {Tiny} text"}
    observer.heartbeat_event(info, "out\n", utc_now(), [1, (2, 3)])
    observer.completed_event(utc_now(), 3)

    db, fs = open_tinydb(str(path))
    original = _original(path, fs)
    ours, theirs = db.storage.read(), original.read()
    run = next(iter(ours["runs"].values()))
    assert run["stop_time"] == next(iter(theirs["runs"].values()))["stop_time"]
    assert run["artifacts"][0][-1].read() == b"\x00\x01"
    assert list(run["info"]["curve"]) == [0, 1, 2]

    stored = (path / "metadata.json").read_text()
    db.storage.write(ours)
    by_us = (path / "metadata.json").read_text()
    original.write(theirs)
    by_original = (path / "metadata.json").read_text()
    assert json.loads(by_us) == json.loads(by_original) == json.loads(stored)
