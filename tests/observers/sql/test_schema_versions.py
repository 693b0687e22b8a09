"""Schema versions: new databases are stamped, older layouts of ours are migrated (never
shadowed by new tables), and a database from a newer sacred is refused."""

from __future__ import annotations

import datetime
import math

import pytest

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")

from sacred import Experiment  # noqa: E402
from sacred.exceptions import ObserverError, StoreError  # noqa: E402
from sacred.observers import SqlObserver  # noqa: E402
from sacred.observers.sql.urls import driver_url  # noqa: E402
from sacred.observers.sql.versioning import VERSION_TABLE, head_revision  # noqa: E402
from sacred.store import open_store  # noqa: E402
from sacred.store.cli import main as sacred_main  # noqa: E402

T0 = datetime.datetime(2026, 11, 20, 12, 0, 0, 250000)


def _engine(url):
    return sa.create_engine(driver_url(url))


def _build_at(url: str, revision: str) -> None:
    """A database as sacred left it at ``revision`` (run through the migrations)."""
    from alembic import command

    from sacred.observers.sql.versioning import _alembic_config

    engine = _engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    engine.dispose()


def _insert_run(url: str, result=0.5) -> int:
    runs = sa.table(
        "runs",
        sa.column("id", sa.Integer),
        sa.column("command", sa.String),
        sa.column("status", sa.String),
        sa.column("start_time", sa.DateTime),
        sa.column("config", sa.JSON),
        sa.column("info", sa.JSON),
        sa.column("meta", sa.JSON),
        sa.column("result", sa.JSON),
        sa.column("tags", sa.JSON),
    )
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                command="main",
                status="COMPLETED",
                start_time=T0,
                config={"lr": 0.1},
                info={},
                meta={},
                result=result,
                tags=[],
            )
        )
        run_id = conn.execute(sa.select(sa.func.max(runs.c.id))).scalar()
    engine.dispose()
    return run_id


def _insert_points(url: str, run_id: int) -> None:
    metrics = sa.table(
        "metrics",
        sa.column("run_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("step", sa.BigInteger),
        sa.column("value", sa.Double),
        sa.column("timestamp", sa.DateTime),
    )
    points = [(0, 1.0), (1, 0.5), (2, None), (1, 0.25)]  # step 1 logged twice
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(
            metrics.insert(),
            [
                {
                    "run_id": run_id,
                    "name": "loss",
                    "step": step,
                    "value": value,
                    "timestamp": T0 + datetime.timedelta(seconds=i),
                }
                for i, (step, value) in enumerate(points)
            ],
        )
    engine.dispose()


def _tables(url: str) -> set[str]:
    engine = _engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _version(url: str) -> str | None:
    engine = _engine(url)
    with engine.connect() as conn:
        version = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    engine.dispose()
    return version


def test_a_new_database_is_stamped_with_the_newest_version(sql_url):
    SqlObserver(sql_url).connect()  # opens the database now
    assert _version(sql_url) == head_revision() == "0007"


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "before-versions"])
def test_the_per_point_metric_layout_is_migrated_by_the_observer(sql_url, versioned):
    _build_at(sql_url, "0001")
    run_id = _insert_run(sql_url)
    _insert_points(sql_url, run_id)
    if not versioned:  # as the sacred that had no version table left it
        engine = _engine(sql_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))
        engine.dispose()

    SqlObserver(sql_url).connect()  # opens the database now

    assert _version(sql_url) == head_revision()
    tables = _tables(sql_url)
    assert "metric_chunks" in tables and "metrics" not in tables
    with open_store(sql_url) as store:
        run = store.get(run_id)
        assert run.config == {"lr": 0.1} and run.result == 0.5
        loss = store.backend.metric(run_id, "loss")
        assert list(loss["steps"]) == [0, 1, 1, 2]
        values = list(loss["values"])
        assert values[:3] == [1.0, 0.5, 0.25] and math.isnan(values[3])
        stamps = [t.astype("datetime64[us]").item() for t in loss["timestamps"]]
        assert stamps[0] == T0 and stamps[3] == T0 + datetime.timedelta(seconds=2)
        # migration 0005 summarized the points: the last one is NaN, so "last" is missing
        (found,) = store.find("metrics.loss.min == 0.25 and metrics.loss.max == 1.0")
        assert found._record["metrics"] == {
            "loss": {"last": None, "min": 0.25, "max": 1.0, "points": 4}
        }
        assert store.find("metrics.loss.last exists") == []


def test_the_store_asks_for_a_migration_which_sacred_migrate_does(sql_url, capsys):
    _build_at(sql_url, "0001")
    run_id = _insert_run(sql_url)
    _insert_points(sql_url, run_id)

    with pytest.raises(StoreError, match=r"older schema version \(0001.*sacred migrate"):
        open_store(sql_url)
    assert "metric_chunks" not in _tables(sql_url)  # reading changes nothing

    assert sacred_main(["migrate", sql_url]) == 0
    assert "from schema version 0001 to 0007" in capsys.readouterr().out
    with open_store(sql_url) as store:
        assert store.backend.metric_names(run_id) == ["loss"]
    assert sacred_main(["migrate", sql_url]) == 1
    assert "nothing to migrate" in capsys.readouterr().err


def test_a_database_of_a_newer_sacred_is_refused(sql_url, capsys):
    SqlObserver(sql_url).connect()  # opens the database now
    engine = _engine(sql_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0042'"))
    engine.dispose()

    with pytest.raises(ObserverError, match="'0042'.*a newer sacred wrote it") as error:
        SqlObserver(sql_url).connect()  # opens the database now
    assert "pip install -U" in str(error.value)
    assert "server is running" not in str(error.value)
    with pytest.raises(StoreError, match="Upgrade sacred"):
        open_store(sql_url)
    assert sacred_main(["migrate", sql_url]) == 1
    assert "Upgrade sacred" in capsys.readouterr().err
    assert _version(sql_url) == "0042"


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_build_the_schema_the_package_creates(sql_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from sacred.observers.sql.schema import get_tables

    _build_at(sql_url, "head")
    engine = _engine(sql_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        differences = compare_metadata(context, get_tables()["__metadata__"])
    engine.dispose()
    assert differences == []


def test_sqlite_json_columns_of_the_earlier_layout_become_text(tmp_path):
    import sqlite3

    path = tmp_path / "earlier.db"
    url = f"sqlite:///{path}"
    _build_at(url, "0002")
    old_id = _insert_run(url, result=10.0)
    with sqlite3.connect(path) as db:  # what the JSON (NUMERIC) column did to 10.0
        assert db.execute("SELECT typeof(result) FROM runs").fetchone() == ("integer",)

    ex = Experiment("floats", save_git_info=False)
    ex.main(lambda: 10.0)
    ex.observers.append(SqlObserver(url))
    new_id = ex.run(options={"--loglevel": "WARNING"})._id

    with sqlite3.connect(path) as db:
        types = {row[1]: row[2] for row in db.execute("PRAGMA table_info(runs)")}
    assert types["result"] == types["config"] == "TEXT"
    with open_store(url) as store:
        assert store.get(old_id).config == {"lr": 0.1}
        new = store.get(new_id).result
        assert new == 10.0 and type(new) is float


def test_the_known_revisions_are_those_of_the_scripts():
    from sacred.observers.sql.versioning import REVISIONS, script_revisions

    assert script_revisions() == list(REVISIONS)


def test_the_migration_scripts_are_part_of_the_package():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sacred.observers.sql.migrations.versions")
    assert spec is not None and spec.origin is not None
    scripts = sorted(p.name for p in Path(spec.origin).parent.glob("0*.py"))
    assert scripts == [
        "0001_per_point_metrics.py",
        "0002_metric_chunks.py",
        "0003_sqlite_json_text.py",
        "0004_sort_indexes.py",
        "0005_metric_summaries.py",
        "0006_column_indexes.py",
        "0007_trash_and_views.py",
    ]


def test_a_version_table_without_a_version_is_told_by_the_tables(sql_url):
    _build_at(sql_url, "0002")
    run_id = _insert_run(sql_url)
    engine = _engine(sql_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {VERSION_TABLE}"))
    engine.dispose()

    SqlObserver(sql_url).connect()  # opens the database now

    assert _version(sql_url) == head_revision()
    with open_store(sql_url) as store:
        assert store.get(run_id).config == {"lr": 0.1}


def _sqlite_indexes(path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}


def test_a_database_at_0003_gets_the_result_index_and_sorts_by_it(tmp_path):
    import sqlite3

    path = tmp_path / "at0003.db"
    url = f"sqlite:///{path}"
    _build_at(url, "0003")
    ids = [_insert_run(url, result=r) for r in (0.5, None, "text", 0.25, True, 2)]
    assert "ix_runs_result_value" not in _sqlite_indexes(path)

    assert sacred_main(["migrate", url]) == 0

    assert _version(url) == "0007"
    assert "ix_runs_result_value" in _sqlite_indexes(path)
    with sqlite3.connect(path) as db:  # the page's query walks the new index
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE json_type(result, '$') "
            "IN ('integer', 'real') ORDER BY json_extract(result, '$') DESC, id LIMIT 5"
        ).fetchall()
    assert "ix_runs_result_value" in str(plan)
    from sacred.store.paging import find_page

    with open_store(url) as store:
        page = find_page(store, sort="-result", limit=10)
    # numbers, then strings, booleans, and missing values last
    assert [run.id for run in page.runs] == [ids[5], ids[0], ids[3], ids[2], ids[4], ids[1]]


def test_new_sqlite_databases_have_the_result_index(tmp_path):
    SqlObserver(f"sqlite:///{tmp_path / 'new.db'}").connect()  # opens the database now
    assert "ix_runs_result_value" in _sqlite_indexes(tmp_path / "new.db")


def test_a_database_at_0005_gets_the_indexes_its_sorts_read(tmp_path):
    path = tmp_path / "at0005.db"
    url = f"sqlite:///{path}"
    _build_at(url, "0005")
    _insert_run(url)
    before = _sqlite_indexes(path)
    assert "ix_runs_heartbeat" not in before and not any(n.startswith("sacred_jc_") for n in before)

    assert sacred_main(["migrate", url]) == 0

    after = _sqlite_indexes(path)
    for column in ("experiment_id", "host_id", "command", "heartbeat", "stop_time"):
        assert f"ix_runs_{column}" in after
    # the configuration entries of the runs already stored, as an observer now makes
    (config_index,) = [n for n in after if n.startswith("sacred_jc_")]
    import sqlite3

    with sqlite3.connect(path) as db:
        (sql,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (config_index,)
        ).fetchone()
    assert "json_extract(config, '$.\"lr\"')" in sql


def test_a_database_at_0006_gets_the_trash_and_views_by_migration(sql_url, capsys):
    _build_at(sql_url, "0006")
    kept, trashed = _insert_run(sql_url, result=0.5), _insert_run(sql_url, result=0.25)
    with pytest.raises(StoreError, match=r"older schema version \(0006.*sacred migrate"):
        open_store(sql_url)

    assert sacred_main(["migrate", sql_url]) == 0
    assert "from schema version 0006 to 0007" in capsys.readouterr().out
    with open_store(sql_url) as store:
        assert [r.id for r in store.find(sort="id")] == [kept, trashed]  # none in the trash
        store.delete(trashed)
        assert [r.id for r in store.find()] == [kept]
        store.save_view("half", {"params": {"q": "result == 0.5"}})
    with open_store(sql_url) as store:
        assert [e["id"] for e in store.trash()] == [trashed]
        store.restore(trashed)
        assert store.get(trashed).result == 0.25
        assert store.views() == {"half": {"params": {"q": "result == 0.5"}}}
