"""How the SqlObserver writes SQLite: a write-ahead log where that is safe.

With SQLite's default rollback journal every commit is synced to disk several times,
so a heartbeat cost twice what the file observer spends (which does not sync its
heartbeats either). In WAL mode with ``synchronous=NORMAL`` a commit only appends to
the log: a process killed at any moment loses nothing committed, and a power cut can
lose the last heartbeats but never corrupts the database. The start and the end of a
run are made durable anyway by a checkpoint (:func:`make_durable`), as the file
observer syncs its files at those two moments. WAL also lets readers (the store, a
dashboard) read while a run writes.

WAL needs all processes on one host (shared memory), so it is chosen only for a
database the observer creates (from a URL: an engine given to ``create_from`` is
left as it is), on a filesystem known to be local (Linux mount
table; elsewhere, or on NFS, CIFS, Lustre, FUSE and the like, the rollback journal
stays). An existing database keeps the journal mode it has: WAL is a property of
the file, set once.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["is_local_filesystem", "use_write_ahead_log", "make_durable"]

_LOCAL_FILESYSTEMS = frozenset(
    "ext2 ext3 ext4 xfs btrfs zfs f2fs jfs reiserfs tmpfs ramfs overlay apfs hfs hfsplus "
    "ntfs ntfs3 vfat exfat bcachefs".split()
)


def is_local_filesystem(path: str, mounts_file: str = "/proc/self/mounts") -> bool:
    """Whether ``path`` (or the directory it would be created in) is on a filesystem
    known to be local; False when that cannot be told."""
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    path = os.path.realpath(path)
    best, fstype = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        inside = path == mount or path.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, fields[2]
    return fstype in _LOCAL_FILESYSTEMS


def use_write_ahead_log(engine: Any, is_new_file: bool) -> bool:
    """Set up ``engine`` (an SQLite engine) as described above; whether it uses WAL."""
    import sqlalchemy as sa

    database = engine.url.database
    if not database or database == ":memory:":
        return False
    if is_new_file and is_local_filesystem(os.path.dirname(os.path.abspath(database))):
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        except sa.exc.OperationalError as exc:
            # Processes starting together on a new file: another one holds the lock
            # (creating the tables, or switching to WAL itself). The file keeps the
            # mode it gets from them; which one is read below.
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    if str(mode).lower() != "wal":
        return False

    @sa.event.listens_for(engine, "connect")
    def _normal_sync(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    engine.dispose()  # pooled connections opened before the listener was added
    return True


def make_durable(engine: Any) -> None:
    """Sync everything committed so far to the database file (a passive checkpoint:
    it never waits for readers)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
