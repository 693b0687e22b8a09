"""What every observer that writes run records shares: construction never touches
the network, equality and hashing agree, one error wording for a taken id, and the
flags, URL schemes and readers come from one registration table."""

from __future__ import annotations

import socket

import pytest

from sacred import Experiment
from sacred.exceptions import ObserverError

QUIET = {"--loglevel": "ERROR"}
UNREACHABLE = "127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every attempt to open a network connection made by this
    test's code: its own thread and any thread started during the test (a client's
    monitor, say). Threads an earlier test left running are refused, not recorded."""
    import threading

    attempts = []
    earlier = set(threading.enumerate()) - {threading.current_thread()}

    def refuse(self, address, *args, **kwargs):
        if threading.current_thread() not in earlier:
            attempts.append(address)
        raise OSError(f"test: no network allowed (tried {address})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def _mongo(tmp_path):
    pytest.importorskip("pymongo")
    from sacred.observers import MongoObserver

    return MongoObserver(url=f"mongodb://{UNREACHABLE}", db_name="offline")


def _s3(tmp_path):
    pytest.importorskip("boto3")
    from sacred.observers import S3Observer

    return S3Observer(
        bucket="offline-bucket",
        basedir="runs",
        region="eu-central-1",
        endpoint_url=f"http://{UNREACHABLE}",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )


def _gcs(tmp_path):
    pytest.importorskip("google.cloud.storage")
    from sacred.observers import GoogleCloudStorageObserver

    return GoogleCloudStorageObserver(bucket="offline-bucket", basedir="runs")


def _tinydb(tmp_path):
    pytest.importorskip("tinydb")
    from sacred.observers import TinyDbObserver

    return TinyDbObserver(path=tmp_path / "tiny")


def _file(tmp_path):
    from sacred.observers import FileStorageObserver

    return FileStorageObserver(tmp_path / "files")


def _slack(tmp_path):
    from sacred.observers import SlackObserver

    return SlackObserver(f"http://{UNREACHABLE}/hook")


def _telegram(tmp_path):
    from sacred.observers import TelegramObserver

    return TelegramObserver("token", 1, base_url=f"http://{UNREACHABLE}")


MAKERS = [_mongo, _s3, _gcs, _tinydb, _file, _slack, _telegram]


@pytest.mark.parametrize("make", MAKERS, ids=lambda m: m.__name__.strip("_"))
def test_print_config_with_an_observer_attached_works_offline(make, tmp_path, no_network, capsys):
    observer = make(tmp_path)
    ex = Experiment("offline", save_git_info=False)
    ex.add_config(units=3)
    ex.main(lambda units: units)
    ex.observers.append(observer)
    ex.run_commandline(["offline.py", "print_config"])
    assert "units = 3" in capsys.readouterr().out
    assert no_network == []


def test_the_mongo_command_line_flag_does_not_connect(no_network, capsys):
    pytest.importorskip("pymongo")
    ex = Experiment("offline", save_git_info=False)
    ex.main(lambda: 1)
    ex.run_commandline(["offline.py", "print_config", "-m", f"{UNREACHABLE}:offline"])
    assert "seed = " in capsys.readouterr().out
    assert no_network == []


# -- equality and hashing ---------------------------------------------------------------


def _pairs(tmp_path):
    from sacred.observers import FileStorageObserver, TinyDbObserver

    yield FileStorageObserver(tmp_path / "a"), FileStorageObserver(str(tmp_path / "a"))
    yield TinyDbObserver(tmp_path / "t"), TinyDbObserver(path=str(tmp_path / "t"))
    pytest.importorskip("mongomock")
    import mongomock

    from sacred.observers import MongoObserver

    client = mongomock.MongoClient()
    yield MongoObserver(client=client, db_name="x"), MongoObserver(client=client, db_name="x")


def test_equal_observers_have_equal_hashes(tmp_path):
    from sacred.observers import FileStorageObserver

    for first, second in _pairs(tmp_path):
        assert first == second
        assert hash(first) == hash(second)
        assert len({first, second}) == 1
    assert FileStorageObserver(tmp_path / "a") != FileStorageObserver(tmp_path / "b")


# -- one wording for a taken id ---------------------------------------------------------


def _start(observer, tmp_path, _id):
    import datetime

    info = {"name": "e", "base_dir": str(tmp_path), "sources": [], "dependencies": []}
    return observer.started_event(info, "main", {}, datetime.datetime(2020, 1, 1), {}, {}, _id)


def _observers_for_ids(tmp_path):
    from sacred.observers import FileStorageObserver, TinyDbObserver

    yield lambda: FileStorageObserver(tmp_path / "files")
    yield lambda: TinyDbObserver(tmp_path / "tiny")
    pytest.importorskip("mongomock")
    import mongomock

    from sacred.observers import MongoObserver

    client = mongomock.MongoClient()
    yield lambda: MongoObserver(client=client)


def test_a_stored_run_is_never_overwritten_with_one_wording(tmp_path):
    import datetime

    for make in _observers_for_ids(tmp_path):
        first = make()
        run_id = _start(first, tmp_path, None)
        first.completed_event(datetime.datetime(2020, 1, 2), 1)
        with pytest.raises(ObserverError) as info:
            _start(make(), tmp_path, run_id)
        message = str(info.value)
        assert f"already holds a run with the id {run_id!r} (status COMPLETED)" in message
        assert "only a QUEUED run can be taken over" in message
        assert "Choose another --id" in message


# -- the registration table ---------------------------------------------------------------


def test_flags_schemes_and_readers_come_from_one_table():
    from sacred.commandline_options import get_option
    from sacred.observers._registry import BACKENDS
    from sacred.store import registry

    for backend in BACKENDS:
        option = get_option(backend.long_flag)
        assert option.short_flag == backend.short_flag
        assert option.observer_class == backend.observer
        if backend.reader is None:  # written, not read (S3)
            assert backend.kind not in registry.BACKENDS
        else:
            assert registry.BACKENDS[backend.kind] == backend.reader
        for scheme in backend.schemes:
            assert registry._kind_of(f"{scheme}://x/y")[0] == backend.kind


def test_importing_sacred_imports_no_driver():
    import subprocess
    import sys

    code = (
        "import sys, sacred, sacred.commandline_options, sacred.store.registry;"
        "print(sorted(m for m in ('pymongo', 'sqlalchemy', 'tinydb', 'boto3', 'numpy')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
