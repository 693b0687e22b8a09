"""Many processes starting at once against a new database: every run is recorded.

Creating the tables was check-then-create: of 32 processes started together against
a new SQLite file 12 failed with ``table runs already exists`` (and a message
blaming the server), and on PostgreSQL one failed on ``pg_type_typname_nsp_index``.
Each process here waits until all have been started (a barrier file), then runs one
small experiment with ``-s URL``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")

PROCESSES = 32
RUNS_EACH = 5  # as in the issue: 160 runs

EXPERIMENT = textwrap.dedent(
    """
    import os, sys, time

    RUNS = int(sys.argv.pop(1))
    go = sys.argv.pop(1)
    ready = sys.argv.pop(1)

    from sacred import Experiment
    import sacred.observers.sql.observer  # imported before the barrier: the race is
    import sqlalchemy.dialects  # in creating the tables, not in importing

    ex = Experiment("crowd", save_git_info=False)

    @ex.config
    def cfg():
        worker = 0

    @ex.main
    def main(worker):
        return worker * 1.5

    open(ready, "w").close()
    while not os.path.exists(go):  # the barrier: start together
        time.sleep(0.001)
    for _ in range(RUNS):  # each with its own observer, as separate commands would
        ex.run_commandline()
    """
)


def _url(kind: str, tmp_path, request) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'new.db'}"
    if kind == "postgresql":
        return request.getfixturevalue("postgres_url")
    return request.getfixturevalue("mysql_url").replace("mysql+pymysql://", "mysql://")


def _crowd(
    tmp_path, url: str, processes: int = PROCESSES, runs_each: int = RUNS_EACH
) -> list[subprocess.CompletedProcess]:
    script = tmp_path / "crowd.py"
    script.write_text(EXPERIMENT)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = []
    for worker in range(processes):
        ready = tmp_path / f"ready{worker}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [
                        sys.executable,
                        str(script),
                        str(runs_each),
                        str(go),
                        str(ready),
                        "-s",
                        url,
                        "-l",
                        "WARNING",
                        "with",
                        f"worker={worker}",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                    cwd=tmp_path,
                ),
            )
        )
    # Wait for the state "every process is at the barrier" (or one ended early).
    import time

    while not all(ready.exists() or proc.poll() is not None for ready, proc in procs):
        time.sleep(0.01)
    go.touch()
    done = []
    for _ready, proc in procs:
        out, err = proc.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_processes_starting_together_on_a_new_database_all_record_their_run(
    kind, tmp_path, request
):
    url = _url(kind, tmp_path, request)

    finished = _crowd(tmp_path, url)

    failures = [f"exit {p.returncode}: {p.stderr[-2000:]}" for p in finished if p.returncode]
    assert not failures, "\n\n".join(failures[:3])
    from sacred.store import open_store

    with open_store(url) as store:
        runs = store.find()
        assert len(runs) == PROCESSES * RUNS_EACH
        assert {run.status for run in runs} == {"COMPLETED"}
        workers = sorted(run.config["worker"] for run in runs)
        assert workers == sorted(list(range(PROCESSES)) * RUNS_EACH)
        assert sorted(run.result for run in runs) == [w * 1.5 for w in workers]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_processes_starting_together_on_an_old_layout_migrate_it_once(kind, tmp_path, request):
    from alembic import command

    from sacred.observers.sql.urls import driver_url
    from sacred.observers.sql.versioning import _alembic_config, head_revision

    url = _url(kind, tmp_path, request)
    engine = sa.create_engine(driver_url(url))
    with engine.begin() as conn:  # the layout with one row per metric point
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(sa.text("INSERT INTO runs (command, status) VALUES ('main', 'COMPLETED')"))
        run_id = conn.execute(sa.text("SELECT MAX(id) FROM runs")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO metrics (run_id, name, step, value) VALUES "
                "(:run, 'loss', 0, 1.0), (:run, 'loss', 1, 0.5)"
            ),
            {"run": run_id},
        )

    finished = _crowd(tmp_path, url, processes=8, runs_each=1)

    failures = [f"exit {p.returncode}: {p.stderr[-2000:]}" for p in finished if p.returncode]
    assert not failures, "\n\n".join(failures[:3])
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM sacred_schema_version")).scalar()
        chunks = conn.execute(sa.text("SELECT points FROM metric_chunks")).scalars().all()
    engine.dispose()
    assert version == head_revision()
    assert chunks == [2]  # moved over once
    from sacred.store import open_store

    with open_store(url) as store:
        assert len(store.find('experiment.name == "crowd"')) == 8
