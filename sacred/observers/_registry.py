"""The storage backends, each registered once: its observer, its command-line flag,
its store reader and the URL schemes that open it.

``sacred.commandline_options`` makes the observer flags from this table and
``sacred.store.registry`` maps URLs and directories to the readers from it, so a
new backend is one entry here. Classes are named as ``"module:Class"`` strings and
imported only when used: this module imports nothing, and ``import sacred`` never
imports a database driver.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Backend", "BACKENDS", "backend"]


class Backend(NamedTuple):  # not a dataclass: dataclasses costs start-up time
    kind: str
    """The store kind ('file', 'sql', 'mongodb', 'tinydb')."""
    observer: str
    """The observer class, ``"module:Class"``; made from the flag's value by its
    ``from_cli(value)`` classmethod."""
    short_flag: str | None
    long_flag: str
    metavar: str
    help: str
    """The flag's help: first paragraph shown in the usage."""
    extra: str
    """The ``pip install 'sacred[extra]'`` that brings the backend's packages."""
    driver: str | None
    """The main package the backend needs (named when it is missing)."""
    reader: str | None
    """The store reader class, ``"module:Class"`` (None: the store cannot be read)."""
    schemes: tuple[str, ...] = ()
    """URL schemes (``scheme://...``) that open this store."""


BACKENDS: tuple[Backend, ...] = (
    Backend(
        kind="mongodb",
        observer="sacred.observers.mongo:MongoObserver",
        short_flag="-m",
        long_flag="--mongo_db",
        metavar="DB",
        help="""Add a MongoDB observer; DB is [host:port:]db_name[.collection][!priority].

        A mongodb:// URL is accepted as well.
        """,
        extra="mongo",
        driver="pymongo",
        reader="sacred.observers.mongo.reader:MongoReader",
        schemes=("mongodb", "mongodb+srv", "mongomock"),
    ),
    Backend(
        kind="file",
        observer="sacred.observers.file_storage:FileStorageObserver",
        short_flag="-F",
        long_flag="--file_storage",
        metavar="BASEDIR",
        help="""Add a file storage observer that stores runs in the directory BASEDIR.""",
        extra="all",
        driver=None,
        reader="sacred.observers.file_storage.reader:FileStoreReader",
        schemes=("file",),
    ),
    Backend(
        kind="tinydb",
        observer="sacred.observers.tinydb_hashfs:TinyDbObserver",
        short_flag="-t",
        long_flag="--tiny_db",
        metavar="BASEDIR",
        help="""Add a TinyDB observer that stores runs in the directory BASEDIR.

        Needs the tinydb, tinydb-serialization and hashfs packages.
        """,
        extra="tinydb",
        driver="tinydb",
        reader="sacred.observers.tinydb_hashfs.reader:TinyDbStoreReader",
        schemes=("tinydb",),
    ),
    Backend(
        kind="sql",
        observer="sacred.observers.sql:SqlObserver",
        short_flag="-s",
        long_flag="--sql",
        metavar="DB_URL",
        help="""Add a SQL observer for DB_URL (dialect://user:password@host:port/database).

        Any URL sqlalchemy understands works, e.g. sqlite:///runs.db.
        """,
        extra="sql",
        driver="sqlalchemy",
        reader="sacred.observers.sql.reader:SqlReader",
        schemes=("sqlite", "postgresql", "postgres", "mysql", "mariadb"),
    ),
    Backend(
        kind="s3",
        observer="sacred.observers.s3_observer:S3Observer",
        short_flag="-S",
        long_flag="--s3",
        metavar="BUCKET_PATH",
        help="""Add an S3 observer that stores runs under BUCKET_PATH (s3://bucket/basedir).

        The region comes from your AWS configuration. Needs boto3.
        """,
        extra="s3",
        driver="boto3",
        reader=None,
    ),
)


def backend(kind: str) -> Backend:
    """The registered backend of this kind (KeyError if there is none)."""
    for entry in BACKENDS:
        if entry.kind == kind:
            return entry
    raise KeyError(kind)
