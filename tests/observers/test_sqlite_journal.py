"""The SqlObserver's SQLite journal: WAL for new databases on local disks, kept safe."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("sqlalchemy")

from sacred import Experiment  # noqa: E402
from sacred.observers import SqlObserver  # noqa: E402
from sacred.observers.sql.sqlite_journal import is_local_filesystem  # noqa: E402

QUIET = {"--loglevel": "ERROR"}


def journal_mode(path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def mounts(tmp_path, text: str) -> str:
    path = tmp_path / "mounts"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_the_innermost_mount_decides_whether_a_path_is_local(tmp_path):
    table = mounts(
        tmp_path,
        """\
        /dev/vda1 / ext4 rw,relatime 0 0
        server:/export /home nfs4 rw,relatime 0 0
        /dev/vdb1 /home/scratch xfs rw 0 0
        tmpfs /tmp tmpfs rw 0 0
        sshfs#me@host: /mnt/my\\040box fuse.sshfs rw 0 0
        """,
    )
    assert is_local_filesystem("/home/alice/runs", table) is False
    assert is_local_filesystem("/home/scratch/runs", table) is True
    assert is_local_filesystem("/home/scratchy", table) is False  # not under /home/scratch
    assert is_local_filesystem("/tmp", table) is True
    assert is_local_filesystem("/mnt/my box/runs", table) is False
    assert is_local_filesystem("/srv", table) is True
    assert is_local_filesystem("/srv", str(tmp_path / "no-mount-table")) is False


def test_a_new_database_on_a_local_disk_uses_the_write_ahead_log(tmp_path):
    if not is_local_filesystem(str(tmp_path)):
        pytest.skip(f"{tmp_path} is not on a filesystem known to be local")
    database = tmp_path / "runs.db"
    SqlObserver(f"sqlite:///{database}").connect()  # opens the database now
    assert journal_mode(database) == "wal"


def test_an_engine_given_by_the_user_keeps_its_settings(tmp_path):
    import sqlalchemy as sa

    database = tmp_path / "runs.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    SqlObserver.create_from(engine)
    assert journal_mode(database) == "delete"


def test_an_existing_database_keeps_its_journal_mode(tmp_path):
    database = tmp_path / "runs.db"
    sqlite3.connect(database).close()  # an empty database, rollback journal
    ex = Experiment("kept")
    ex.main(lambda _run: _run.log_scalar("x", 1.0))
    ex.observers.append(SqlObserver(f"sqlite:///{database}"))
    assert ex.run(options=QUIET).status == "COMPLETED"
    assert journal_mode(database) == "delete"
    from sacred.store import open_store

    with open_store(f"sqlite:///{database}") as store:
        assert list(store.get(1).metrics["x"]) == [1.0]


KILLED = textwrap.dedent("""
    import sys
    from sacred import Experiment
    from sacred.observers import SqlObserver
    ex = Experiment("killed")

    @ex.main
    def main(_run):
        i = 0
        while True:
            _run.log_scalar("x", i)
            i += 1

    ex.observers.append(SqlObserver("sqlite:///" + sys.argv[1]))
    ex.run(options={"--loglevel": "ERROR", "--beat_interval": 0.05})
""")


@pytest.mark.slow
def test_a_killed_run_keeps_every_committed_beat_and_a_sound_database(tmp_path):
    from sacred.store import open_store

    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    database = tmp_path / "runs.db"
    proc = subprocess.Popen([sys.executable, str(script), str(database)])
    seen = 0
    deadline = time.time() + 60
    try:
        while seen < 3 and time.time() < deadline:  # a few beats with metrics committed
            time.sleep(0.05)
            if database.exists():
                with sqlite3.connect(database) as conn:
                    try:
                        seen = conn.execute("SELECT COUNT(*) FROM metric_chunks").fetchone()[0]
                    except sqlite3.OperationalError:  # tables not created yet
                        pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert seen >= 3, "the run never stored metrics"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        committed = conn.execute("SELECT SUM(points) FROM metric_chunks").fetchone()[0]
    with open_store(f"sqlite:///{database}") as store:
        run = store.get(1)
        assert run.to_dict()["status"] == "RUNNING"
        values = run.metrics["x"]
    assert len(values) == committed
    assert list(values) == list(range(committed))  # every point up to the kill, in order
