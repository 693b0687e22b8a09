"""Reading databases in the original sacred's SQL layout through sacred.store."""

from __future__ import annotations

import json
import sqlite3

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")

from sacred.exceptions import ObserverError, StoreError  # noqa: E402
from sacred.store import open_store  # noqa: E402


def test_every_run_is_read_with_its_record(legacy_db):
    with open_store(f"sqlite:///{legacy_db}") as store:
        runs = store.find()
        assert [(r.id, r.status) for r in runs] == [(0, "COMPLETED"), (2, "FAILED"), (3, "QUEUED")]
        done, failed, queued = runs

        assert done.result == 0.875
        assert done.command == "main"
        assert done.config["lr"] == 0.01 and done.config["dataset"]["path"] == "data.csv"
        assert failed.config["lr"] == 0.1 and failed.config["fail"] is True
        assert done.info["nested"] == {"a": [1, 2, 3], "b": {"c": "text"}}
        # NaN and infinities as our SQL layout keeps them (strict JSON strings)
        assert done.info["special"] == {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity"}
        assert done.experiment["name"] == "compat_exp"
        assert done.experiment["base_dir"] == "/srv/experiments/compat"
        assert done.experiment["dependencies"] == ["numpy==2.4.6", "sacred==0.8.7"]
        assert done.experiment["sources"] == [
            ["compat_exp.py", "3d0e80887c5900755249cf826d0c50b9"],
            ["helper.py", "e4deabeba58d9b413475bb541d310768"],
        ]
        assert done.host["hostname"] == "vm"
        assert done.host["os"] == ["Linux", "Linux-6.18.44-fc-v782-x86_64-with-glibc2.36"]
        assert done.to_dict()["resources"] == [
            ["/srv/experiments/compat/resource.csv", "e5ebd4c02cefbe7955977c67ada242b7"]
        ]
        assert done.start_time.year == 2026 and done.stop_time >= done.start_time
        assert "starting data.csv:True mlp" in done.captured_out
        assert done.metrics.keys() == set()  # the original's SQL layout stores none
        assert queued.start_time is None and queued.info == {}


def test_the_fail_trace_comes_back_as_the_list_of_lines_the_other_stores_hold(
    legacy_db, fixtures_087
):
    recorded_by_file_store = json.loads((fixtures_087 / "file_store/2/run.json").read_text())
    with open_store(f"sqlite:///{legacy_db}") as store:
        trace = store.get(2).fail_trace
    assert trace == recorded_by_file_store["fail_trace"]


def test_artifacts_and_sources_are_read_with_their_contents(legacy_db, fixtures_087):
    experiment = fixtures_087 / "experiment"
    with open_store(f"sqlite:///{legacy_db}") as store:
        assert store.backend.artifact_names(0) == ["notes.txt", "plot.png"]
        assert store.backend.read_artifact(0, "plot.png") == (experiment / "plot.png").read_bytes()
        assert (
            store.backend.read_artifact(2, "notes.txt") == (experiment / "notes.txt").read_bytes()
        )
        assert store.backend.read_source(0, "helper.py") == (experiment / "helper.py").read_bytes()
        with pytest.raises(StoreError, match="no artifact 'nope.txt'"):
            store.backend.read_artifact(0, "nope.txt")


def test_queries_and_statuses_that_only_the_original_wrote(legacy_db):
    # The original wrote TIMEOUT for a TimeoutInterrupt; a row like it is added here
    # (the fixture's own timeout run was not stored by the original's SqlObserver).
    with sqlite3.connect(legacy_db) as db:
        db.execute(
            "INSERT INTO run (run_id, command, status, config, info, host_id, experiment_id,"
            " start_time, stop_time) VALUES ('4', 'main', 'TIMEOUT', '{\"lr\": 0.5}', '{}',"
            " 1, 1, '2026-11-25 20:30:00.000000', '2026-11-25 20:30:01.000000')"
        )
    with open_store(f"sqlite:///{legacy_db}") as store:
        assert [r.id for r in store.find('status == "TIMEOUT"')] == [4]
        assert [r.id for r in store.find('status == "QUEUED"')] == [3]
        assert [r.id for r in store.find("config.lr > 0.05", sort="-config.lr")] == [4, 2]
        assert store.get(4).config == {"lr": 0.5}


def test_tags_need_a_migration_and_delete_removes_the_run(legacy_db):
    url = f"sqlite:///{legacy_db}"
    with open_store(url) as store:
        with pytest.raises(StoreError, match="sacred migrate"):
            store.tag(0, "best")
        with pytest.raises(StoreError, match="no place for a trash.*sacred migrate"):
            store.delete(2)
        store.delete(2, purge=True)
        assert [r.id for r in store.find()] == [0, 3]
    with sqlite3.connect(legacy_db) as db:
        assert db.execute("SELECT count(*) FROM artifact WHERE run_id = '2'").fetchone() == (0,)


def test_the_observer_does_not_write_new_tables_next_to_the_original_ones(legacy_db):
    from sacred.observers import SqlObserver

    with pytest.raises(ObserverError, match="layout of the original sacred 0.8.7") as error:
        SqlObserver(f"sqlite:///{legacy_db}").connect()  # opens the database now
    assert "sacred migrate" in str(error.value)
    assert "server is running" not in str(error.value)
    with sqlite3.connect(legacy_db) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert "runs" not in tables and "sacred_schema_version" not in tables
