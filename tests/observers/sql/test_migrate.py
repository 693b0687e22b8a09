"""``sacred migrate``: the original's SQL layout converted into ours without loss."""

from __future__ import annotations

import sqlite3

import pytest

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")

from sacred.store import open_store  # noqa: E402
from sacred.store.cli import main as sacred_main  # noqa: E402


def _everything(url: str) -> list[dict]:
    """Every field of every run, with artifact and source contents."""
    with open_store(url) as store:
        runs = []
        for run in store.find():
            record = run.to_dict()
            record["metrics"] = store.backend.metrics(run.id)
            record["artifact_contents"] = {
                name: store.backend.read_artifact(run.id, name) for name in record["artifacts"]
            }
            record["source_contents"] = {
                name: store.backend.read_source(run.id, name)
                for name, _md5 in record["experiment"]["sources"]
            }
            runs.append(_comparable(record))
        return runs


def _comparable(value):
    """numpy values (sacred.store decodes the original's) as comparable plain data."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_comparable(v) for v in value)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return ("numpy", str(value.dtype), value.tolist())
    return value


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_migrating_in_place_keeps_every_field_and_the_original_tables(
    tmp_path, make_legacy_db, capsys
):
    untouched = make_legacy_db(tmp_path, "untouched.db")
    migrated = make_legacy_db(tmp_path, "migrated.db")
    url = f"sqlite:///{migrated}"

    assert sacred_main(["migrate", url]) == 0
    assert "Migrated 3 run(s)" in capsys.readouterr().out

    with open_store(url) as store:
        assert type(store.backend).__name__ == "SqlReader"  # our layout is read now
    assert _everything(url) == _everything(f"sqlite:///{untouched}")
    assert {"run", "experiment", "host", "artifact"} <= _tables(migrated)


def test_migrating_twice_is_refused_with_the_reason(legacy_db, capsys):
    url = f"sqlite:///{legacy_db}"
    assert sacred_main(["migrate", url]) == 0
    capsys.readouterr()

    assert sacred_main(["migrate", url]) == 1
    err = capsys.readouterr().err
    assert "already holds 3 run(s) in sacred's layout (was it migrated before?)" in err
    assert "--to URL" in err
    with open_store(url) as store:
        assert len(store.find()) == 3


def test_the_original_tables_are_dropped_only_when_asked(legacy_db, capsys):
    url = f"sqlite:///{legacy_db}"
    assert sacred_main(["migrate", url, "--drop-legacy"]) == 0
    assert "were dropped" in capsys.readouterr().out
    tables = _tables(legacy_db)
    assert not {"run", "experiment", "host", "source", "artifact", "runs_resources"} & tables
    with open_store(url) as store:
        assert [r.id for r in store.find()] == [0, 2, 3]
    assert sacred_main(["migrate", url]) == 1
    assert "already uses sacred's current SQL layout" in capsys.readouterr().err


def test_migrating_into_another_database(legacy_db, sql_url, capsys):
    legacy_url = f"sqlite:///{legacy_db}"
    expected = _everything(legacy_url)

    assert sacred_main(["migrate", legacy_url, "--to", sql_url]) == 0
    assert _everything(sql_url) == expected
    assert "run" in _tables(legacy_db)  # the source is left as it was
    assert _everything(legacy_url) == expected

    # The next run recorded there gets a new id after the migrated ones.
    from sacred import Experiment
    from sacred.observers import SqlObserver

    ex = Experiment("after_migration", save_git_info=False)
    ex.main(lambda: 1.0)
    ex.observers.append(SqlObserver(sql_url))
    run = ex.run(options={"--loglevel": "WARNING"})
    assert run._id == 4

    capsys.readouterr()
    assert sacred_main(["migrate", legacy_url, "--to", sql_url]) == 1
    assert "already holds 4 run(s)" in capsys.readouterr().err


def test_nothing_to_migrate(tmp_path, capsys):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert sacred_main(["migrate", f"sqlite:///{empty}"]) == 1
    assert "holds no sacred runs" in capsys.readouterr().err


def _copy_legacy_into(sqlite_path, url: str) -> None:
    """The original's tables and rows, as its SqlObserver would have left them on
    another server (its column types, made generic for the target dialect)."""
    from sacred.observers.sql.urls import driver_url

    source = sa.create_engine(f"sqlite:///{sqlite_path}")
    target = sa.create_engine(driver_url(url))
    metadata = sa.MetaData()
    metadata.reflect(source)
    for table in metadata.tables.values():
        for column in table.columns:
            column.type = column.type.as_generic()
    metadata.create_all(target)
    with source.connect() as read, target.begin() as write:
        for table in metadata.sorted_tables:
            rows = [dict(row._mapping) for row in read.execute(table.select())]
            if rows:
                write.execute(table.insert(), rows)
    source.dispose()
    target.dispose()


def test_the_original_layout_on_every_server_is_read_and_migrated(legacy_db, sql_url, capsys):
    if sql_url.startswith("sqlite"):
        url = f"sqlite:///{legacy_db}"
    else:
        url = sql_url
        _copy_legacy_into(legacy_db, url)
    with open_store(url) as store:
        assert type(store.backend).__name__ == "LegacySqlReader"
        assert [(r.id, r.status) for r in store.find()] == [
            (0, "COMPLETED"),
            (2, "FAILED"),
            (3, "QUEUED"),
        ]
    before = _everything(url)

    assert sacred_main(["migrate", url]) == 0
    with open_store(url) as store:
        assert type(store.backend).__name__ == "SqlReader"
    assert _everything(url) == before
