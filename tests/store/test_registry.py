"""The backend registry: one entry says everything about a backend, and a backend
registered from outside the package works through every door (the flag, open_store,
workers, study locks, replay targets, resume's claimer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sacred.exceptions import StoreError
from sacred.observers import FileStorageObserver
from sacred.observers._registry import BACKENDS, backend, backend_for_observer, backend_for_url
from sacred.store import open_store
from sacred.store.locking import store_lock
from sacred.worker.claims import claimer_for_observer, open_claimer, worker_name
from sacred.worker.loop import Worker
from tests.store import toy_backend

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = """\
import sys
from tests.store import toy_backend

toy_backend.install()  # the user's own code registers the backend it stores in

from sacred import Experiment

ex = Experiment("toy_exp")


@ex.config
def cfg():
    x = 1


@ex.automain
def main(x, _run):
    _run.log_scalar("x", x)
    print("ran with", x)
    return x * 10
"""


@pytest.fixture
def toy():
    toy_backend.install()
    yield toy_backend
    toy_backend.uninstall()


@pytest.mark.parametrize(
    "location, kind",
    [
        ("sqlite:///runs.db", "sql"),
        ("postgresql+psycopg://u@h/db", "sql"),
        ("mysql+pymysql://u@h/db", "sql"),
        ("mariadb://u@h/db", "sql"),
        ("mongodb://h/db", "mongodb"),
        ("mongodb+srv://h/db", "mongodb"),
        ("mongomock://db", "mongodb"),
        ("tinydb://runs_db", "tinydb"),
        ("file://runs", "file"),
        ("runs_that_do_not_exist_yet", "file"),
    ],
)
def test_backend_for_url(location, kind):
    assert backend_for_url(location).kind == kind


def test_a_directory_with_tinydb_metadata_is_the_tinydb_store(tmp_path):
    (tmp_path / "metadata.json").write_text("{}")
    assert backend_for_url(str(tmp_path)).kind == "tinydb"
    assert backend_for_url(str(tmp_path / "elsewhere")).kind == "file"


def test_an_unknown_scheme_names_the_known_ones():
    with pytest.raises(StoreError, match=r"the scheme 'sqlit' is not one of .*Did you mean"):
        backend_for_url("sqlit:///runs.db")


def test_backend_for_observer(tmp_path):
    observer = FileStorageObserver(str(tmp_path / "runs"))
    assert backend_for_observer(observer).kind == "file"
    assert backend_for_observer(object()) is None
    assert backend("file").writes_to(observer, f"file://{tmp_path}/runs")
    assert not backend("file").writes_to(observer, str(tmp_path / "other"))


def test_sql_urls_naming_one_database_are_one_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sql = backend("sql")
    assert sql.same_store("sqlite:///runs.db", f"sqlite:///{tmp_path}/runs.db")
    assert sql.same_store("postgresql+psycopg://u:pw@h:5432/db", "postgres://u@h:5432/db")
    assert not sql.same_store("postgresql://u@h/db", "postgresql://u@h/other")


def test_each_entry_imports_its_parts_lazily():
    code = (
        "import sys; from sacred.observers._registry import backend_for_url, BACKENDS;"
        "[backend_for_url(u) for u in ('sqlite:///x.db', 'mongodb://h/db', 'tinydb://d')];"
        "print(sorted(m for m in ('sqlalchemy', 'pymongo', 'tinydb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_a_missing_driver_names_the_extra(toy):
    broken = toy.ENTRY._replace(kind="broken", schemes=("broken",), long_flag="--broken_store")
    broken = broken._replace(reader="no_such_driver_module:Reader", extra="broken-extra")
    from sacred.observers._registry import register, unregister

    register(broken)
    try:
        with pytest.raises(StoreError, match=r"pip install 'sacred\[broken-extra\]'"):
            open_store("broken://somewhere")
    finally:
        unregister("broken")


def test_a_backend_without_a_claimer_says_which_kinds_have_workers(toy):
    # every built-in store with a URL claims (TinyDB too): a registered one without
    from sacred.observers._registry import register, unregister

    unclaimed = toy.ENTRY._replace(kind="noclaim", schemes=("noclaim",), claimer=None)
    register(unclaimed._replace(long_flag="--noclaim_store"))
    try:
        with pytest.raises(
            StoreError, match=r"No worker support for the store 'noclaim://x'.*tinydb.*sql"
        ):
            open_claimer("noclaim://x")
    finally:
        unregister("noclaim")


# -- a backend registered from the test suite --------------------------------------------


def _experiment(tmp_path: Path) -> Path:
    directory = tmp_path / "experiment"
    directory.mkdir()
    path = directory / "toy_exp.py"
    path.write_text(EXPERIMENT)
    return path


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_the_toy_flag_records_runs_that_open_store_reads(toy, tmp_path):
    script = _experiment(tmp_path)
    store_dir = tmp_path / "toy_runs"
    done = subprocess.run(
        [sys.executable, str(script), "with", "x=4", "--toy_store", str(store_dir)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr

    with open_store(f"toy://{store_dir}") as store:
        assert type(store.backend).__name__ == "ToyReader"
        (run,) = store.find()
        assert run.status == "COMPLETED"
        assert run.result == 40
        assert "ran with 4" in run.captured_out


def test_the_toy_flag_is_in_the_usage(toy, tmp_path):
    script = _experiment(tmp_path)
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, env=_env()
    )
    assert "--toy_store" in done.stdout


def test_a_worker_runs_a_run_queued_in_the_toy_store(toy, tmp_path, monkeypatch):
    # the worker's child imports the toy backend from the test suite, like the script
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    script = _experiment(tmp_path)
    store_dir = tmp_path / "toy_runs"
    queued = subprocess.run(
        [sys.executable, str(script), "with", "x=3", "-q", "--toy_store", str(store_dir)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert queued.returncode == 0, queued.stderr
    said: list[str] = []

    claimer = open_claimer(f"toy://{store_dir}")
    assert isinstance(claimer, toy.ToyClaimer)
    assert Worker(claimer, max_runs=1, log=said.append).run() == 1

    with open_store(f"toy://{store_dir}") as store:
        (run,) = store.find()
        assert run.status == "COMPLETED", said
        assert run.result == 30
        assert [a["worker"] for a in run.meta["attempts"]] == [worker_name()]


def test_the_toy_store_has_a_study_lock_a_replay_target_and_a_claimer(toy, tmp_path):
    from sacred.observers._replay import observer_for

    location = f"toy://{tmp_path / 'toy_runs'}"
    with store_lock(location, "study"):
        with pytest.raises(StoreError, match="Could not take the lock 'study'"):
            with store_lock(str(tmp_path / "toy_runs"), "study", timeout=0.1):
                pass
    observer = observer_for(location)
    assert isinstance(observer, toy.ToyObserver)
    assert backend_for_observer(observer).kind == "toy"  # not the file store it subclasses
    assert isinstance(claimer_for_observer(observer), toy.ToyClaimer)


def test_unregistering_removes_the_scheme_and_the_flag(toy):
    from sacred.commandline_options import DEFAULT_OPTIONS

    assert any(o.key == "--toy_store" for o in DEFAULT_OPTIONS)
    toy.uninstall()
    assert all(b.kind != "toy" for b in BACKENDS)
    assert not any(o.key == "--toy_store" for o in DEFAULT_OPTIONS)
    with pytest.raises(StoreError, match="scheme 'toy' is not one of"):
        open_store("toy://x")
    toy.install()


def test_a_reader_that_imports_its_driver_when_opened_names_the_extra(monkeypatch, tmp_path):
    pytest.importorskip("sqlalchemy")
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as if it was not installed
    location = f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(StoreError) as info:
        open_store(location)
    assert str(info.value) == (
        f"Opening {location!r} needs a package that is not installed (sqlalchemy): "
        "pip install 'sacred[sql]'"
    )
