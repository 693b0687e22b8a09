"""The storage backends, each registered once, with everything the rest of sacred
needs to know about it.

One :class:`Backend` entry says: the URL schemes (and the directory marker) that
name its stores, its command-line flag, the extra that installs its driver, its
observer (and how to make one for a URL), which observers are its own, its store
reader, its claimer (workers, ``--resume``, Labwatch trials), its study lock and its
replay target. The change token is a method of the reader
(:meth:`sacred.store.base.StoreBackend.change_token`).

``sacred.commandline_options`` makes the observer flags from this table,
``sacred.store.registry`` opens readers through it, ``sacred.store.locking`` takes
study locks through it, ``sacred.worker.claims`` opens claimers through it and
``sacred.observers._replay`` makes replay targets through it: nothing else
dispatches on a URL scheme or an observer's class. Adding a backend is one package
plus one :func:`register` call.

Classes and hooks are named as ``"module:attribute"`` strings (or given as objects)
and imported only when used: this module imports nothing, and ``import sacred``
never imports a database driver.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # only for the annotations: this module imports nothing at run time
    from sacred.observers.base import RunObserver
    from sacred.observers.claiming import Claimer
    from sacred.store.base import StoreBackend

__all__ = [
    "Backend",
    "BACKENDS",
    "backend",
    "backend_for_url",
    "backend_for_observer",
    "register",
    "unregister",
    "on_change",
]

#: A class or function, or its ``"module:attribute"`` name (imported on first use).
Ref = Any


class Backend(NamedTuple):  # not a dataclass: dataclasses costs start-up time
    kind: str
    """The store kind ('file', 'sql', 'mongodb', 'tinydb', ...)."""
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
    """The store reader class, ``"module:Class"`` (None: the store cannot be read);
    made as ``Reader(target, **options)``."""
    schemes: tuple[str, ...] = ()
    """URL schemes (``scheme://...``) that open this store."""
    path_location: bool = False
    """True when the store is a directory: ``scheme://DIR`` and a plain ``DIR`` both
    name it, and the backend gets the path without the scheme."""
    directory_marker: str | None = None
    """For a directory store: a file whose presence makes a plain directory this
    kind ('' for the default directory kind, None: never a plain directory)."""
    claimer: Ref = None
    """The claimer class (:class:`sacred.observers.claiming.Claimer`), made as
    ``Claimer(target, **options)`` or ``Claimer.from_observer(observer)``; None: no
    worker support."""
    study_lock: Ref = None
    """``study_lock(location, name, timeout, **options)``: a context manager holding
    a named lock of the store (:mod:`sacred.store.locking`)."""
    make_observer: Ref = None
    """``make_observer(target, **options)`` -> a fresh observer writing to the store
    (replay targets, Labwatch); default: the observer class's ``from_cli(target)``."""
    queueing_observer: Ref = None
    """``queueing_observer(target, **options)`` -> a fresh observer that also records
    QUEUED runs (Labwatch's trial claims); default: :attr:`make_observer`."""
    location_of: Ref = None
    """``location_of(observer)`` -> where an observer of this backend writes (a path
    or URL comparable with :meth:`same_store`); default: its ``basedir``."""
    store_key: Ref = None
    """``store_key(target)`` -> what identifies one store among the ways of writing
    its location (an absolute path, a normalised URL, a database name); default:
    the absolute path of a directory store, the URL of others."""
    reader_options: Ref = None
    """``reader_options(observer)`` -> the ``open_store`` options that let a reader
    share an observer's connection (an SQL engine, a Mongo client: a mongomock store
    lives in its client alone); default: none."""
    lasting_observer: Ref = None
    """``lasting_observer(observer)`` -> the observer for a process that writes many
    runs through one observer (Labwatch's claims and trials), keeping its connection
    from one run to the next; default: the observer itself."""

    # -- the lazily imported parts ---------------------------------------------------------

    def load(self, ref: Ref, purpose: str | None = None) -> Any:
        """The object ``ref`` names, imported now; a missing driver is a StoreError
        naming the extra to install (``purpose``: what needed it, for the message)."""
        if not isinstance(ref, str):
            return ref
        import importlib

        module_name, _, attribute = ref.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise self.missing_package(exc, purpose) from None
        return getattr(module, attribute)

    def missing_package(self, exc: ImportError, purpose: str | None = None) -> Exception:
        """The error to raise for an ImportError met while using this backend: a
        StoreError naming the extra to install (``exc`` itself when sacred's own
        code is what failed to import: that is a bug, not a missing extra)."""
        from sacred.exceptions import StoreError

        missing = (exc.name or "").split(".")[0]
        if missing == "sacred":
            return exc
        return StoreError(
            f"{purpose or f'The {self.kind} store'} needs a package that is not installed "
            f"({exc.name or exc}): pip install 'sacred[{self.extra}]'"
        )

    def target(self, location: str | os.PathLike) -> str:
        """What the backend's classes get for ``location``: the path of a directory
        store (without its ``scheme://``), the URL of the others."""
        text = os.fspath(location)
        if self.path_location and "://" in text:
            path = text.split("://", 1)[1]
            # file:///C:/runs is C:/runs (a drive letter), not /C:/runs
            if len(path) > 3 and path[0] == "/" and path[2] == ":" and path[1].isalpha():
                return path[1:]
            return path
        return text

    # -- what a backend does ---------------------------------------------------------------

    def observer_for(self, location: str | os.PathLike, **options: Any) -> RunObserver:
        """A fresh observer that writes to the store at ``location``."""
        if self.make_observer is not None:
            return self.load(self.make_observer)(self.target(location), **options)
        return self.load(self.observer).from_cli(self.target(location))

    def queueing_observer_for(self, location: str | os.PathLike, **options: Any) -> Any:
        """A fresh observer that writes QUEUED records to the store at ``location``."""
        if self.queueing_observer is not None:
            return self.load(self.queueing_observer)(self.target(location), **options)
        return self.observer_for(location, **options)

    def lasting(self, observer: Any) -> Any:
        """``observer`` made to write many runs on one connection (see
        :attr:`lasting_observer`)."""
        if self.lasting_observer is None:
            return observer
        return self.load(self.lasting_observer)(observer)

    def owns(self, observer: Any) -> bool:
        """True when ``observer`` is this backend's observer (or a subclass of it).
        Never imports anything: an observer of a module not imported yet cannot exist."""
        module_name, _, class_name = self.observer.partition(":")
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        return isinstance(cls, type) and isinstance(observer, cls)

    def observer_location(self, observer: Any) -> str:
        """Where one of this backend's observers writes."""
        if self.location_of is not None:
            return self.load(self.location_of)(observer)
        return os.path.abspath(observer.basedir)

    def store_of(self, observer: Any) -> tuple[str, dict[str, Any]]:
        """``(location, open_store options)`` of the store one of this backend's
        observers writes to, the options sharing the observer's connection."""
        options = self.load(self.reader_options)(observer) if self.reader_options else {}
        return self.observer_location(observer), options

    def same_store(self, a: str | os.PathLike, b: str | os.PathLike) -> bool:
        """True when two locations of this backend name one store."""
        return self.key_of(a) == self.key_of(b)

    def key_of(self, location: str | os.PathLike) -> str:
        """What identifies the store at ``location`` (see ``store_key``)."""
        target = self.target(location)
        if self.store_key is not None:
            return self.load(self.store_key)(target)
        return os.path.abspath(target) if self.path_location else target

    def writes_to(self, observer: Any, location: str | os.PathLike) -> bool:
        """True when ``observer`` is this backend's and writes to the store at location."""
        return self.owns(observer) and self.same_store(self.observer_location(observer), location)

    def open_reader(self, location: str | os.PathLike, **options: Any) -> StoreBackend:
        """The store reader (a :class:`sacred.store.base.StoreBackend`) at ``location``."""
        if self.reader is None:
            from sacred.exceptions import StoreError

            raise StoreError(
                f"The {self.kind} store at {os.fspath(location)!r} can be written, not read."
            )
        return self.load(self.reader)(self.target(location), **options)

    def open_claimer(self, location: str | os.PathLike, **options: Any) -> Claimer:
        """The claimer of the store at ``location`` (StoreError: no worker support)."""
        return self._claimer_class(location)(self.target(location), **options)

    def claimer_for(self, observer: RunObserver) -> Claimer:
        """The claimer of the store one of this backend's observers writes to."""
        return self._claimer_class(self.observer_location(observer)).from_observer(observer)

    def _claimer_class(self, location: Any) -> Any:
        if self.claimer is None:
            from sacred.exceptions import StoreError

            with_claims = ", ".join(
                f"{b.kind} ({', '.join(b.schemes) or 'DIR'})" for b in BACKENDS if b.claimer
            )
            raise StoreError(
                f"No worker support for the store {os.fspath(location)!r}: workers claim "
                f"runs from these kinds of store: {with_claims}."
            )
        return self.load(self.claimer)

    def lock(
        self, location: str | os.PathLike, name: str, timeout: float, **options: Any
    ) -> contextlib.AbstractContextManager[None]:
        """A context manager holding the lock ``name`` of the store at ``location``."""
        if self.study_lock is None:
            from sacred.exceptions import StoreError

            raise StoreError(f"The {self.kind} store at {location!r} cannot be locked.")
        return self.load(self.study_lock)(os.fspath(location), name, timeout, **options)


_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")

BACKENDS: list[Backend] = [
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
        claimer="sacred.observers.mongo.claim:MongoClaimer",
        study_lock="sacred.store.locking:mongo_lock",
        make_observer="sacred.observers.mongo.claim:observer_for",
        location_of="sacred.observers.mongo.claim:location_of",
        store_key="sacred.observers.mongo.claim:store_key",
        reader_options="sacred.observers.mongo.claim:reader_options",
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
        path_location=True,
        directory_marker="",
        claimer="sacred.observers.file_storage.claim:FileClaimer",
        study_lock="sacred.store.locking:path_lock",
        make_observer="sacred.observers.file_storage:FileStorageObserver",
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
        path_location=True,
        directory_marker="metadata.json",
        claimer="sacred.observers.tinydb_hashfs.claim:TinyDbClaimer",
        study_lock="sacred.store.locking:path_lock",
        make_observer="sacred.observers.tinydb_hashfs:TinyDbObserver",
        # the public TinyDbObserver refuses queued runs, as the original does
        queueing_observer="sacred.observers.tinydb_hashfs.observer:QueueingTinyDbObserver",
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
        schemes=_SQL_SCHEMES,
        claimer="sacred.observers.sql.claim:SqlClaimer",
        study_lock="sacred.store.locking:sql_lock",
        location_of="sacred.observers.sql.claim:location_of",
        store_key="sacred.observers.sql.claim:store_key",
        reader_options="sacred.observers.sql.claim:reader_options",
        lasting_observer="sacred.observers.sql.observer:lasting_observer",
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
]
"""Every registered backend, in the order of their flags."""


def backend(kind: str) -> Backend:
    """The registered backend of this kind (KeyError if there is none)."""
    for entry in BACKENDS:
        if entry.kind == kind:
            return entry
    raise KeyError(kind)


#: Called with (entry, True) after a backend is registered and (entry, False) after
#: one is removed: how ``sacred.commandline_options`` keeps its flags in step
#: without this module importing it (it imports this one).
_LISTENERS: list[Callable[[Backend, bool], None]] = []


def on_change(listener: Callable[[Backend, bool], None]) -> None:
    """Call ``listener(entry, added)`` whenever a backend is registered or removed."""
    _LISTENERS.append(listener)


def register(entry: Backend) -> Backend:
    """Register a backend (replacing one of the same kind): its schemes, flag, reader,
    claimer... work everywhere from now on, in this process."""
    unregister(entry.kind)
    BACKENDS.append(entry)
    for listener in _LISTENERS:
        listener(entry, True)
    return entry


def unregister(kind: str) -> None:
    """Forget the backend of this kind (and its flag); nothing happens if unknown."""
    for entry in [b for b in BACKENDS if b.kind == kind]:
        BACKENDS.remove(entry)
        for listener in _LISTENERS:
            listener(entry, False)


def scheme_of(location: str) -> str:
    """The URL scheme of location, lower case, without the driver (``mysql+pymysql``
    -> ``mysql``; ``mongodb+srv`` stays whole); '' for a plain path."""
    if "://" not in location:
        return ""
    scheme = location.split("://", 1)[0].lower()
    return scheme if any(scheme in b.schemes for b in BACKENDS) else scheme.split("+", 1)[0]


def backend_for_url(location: str | os.PathLike) -> Backend:
    """The backend of a store location: a URL (by its scheme) or a directory (the
    TinyDB one when it holds TinyDB's metadata.json, else the file store; a
    directory that does not exist yet is a file store). StoreError when no
    registered backend takes the scheme."""
    text = os.fspath(location)
    scheme = scheme_of(text)
    if scheme:
        for entry in BACKENDS:
            if scheme in entry.schemes:
                return entry
        from sacred.exceptions import StoreError, did_you_mean

        known = sorted({s for b in BACKENDS for s in b.schemes})
        raise StoreError(
            f"Unknown kind of store {text!r}: the scheme {scheme!r} is not one of "
            f"{', '.join(known)}.{did_you_mean(scheme, known)}"
        )
    fallback = None
    for entry in BACKENDS:
        if entry.directory_marker:
            if os.path.isfile(os.path.join(text, entry.directory_marker)):
                return entry
        elif entry.directory_marker == "" and fallback is None:
            fallback = entry
    if fallback is None:
        from sacred.exceptions import StoreError

        raise StoreError(f"No registered backend stores runs in a directory like {text!r}.")
    return fallback


def backend_for_observer(observer: Any) -> Backend | None:
    """The backend an observer belongs to (None: not a storage backend's observer,
    e.g. a QueueObserver wrapper or a user's own observer)."""
    found = [b for b in BACKENDS if b.owns(observer)]
    if not found:
        return None
    # The closest class wins: a backend whose observer subclasses another's is itself.
    return min(found, key=lambda b: type(observer).__mro__.index(b.load(b.observer)))
