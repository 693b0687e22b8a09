"""A toy storage backend that lives in the test suite, not in the package.

It stores runs like the file store (its classes subclass the file store's) but under
its own kind, URL scheme (``toy://DIR``) and command-line flag (``--toy_store``):
what the tests show is that one :func:`register` call makes it work everywhere.
"""

from __future__ import annotations

from sacred.observers._registry import Backend, register, unregister
from sacred.observers.file_storage import FileStorageObserver
from sacred.observers.file_storage.claim import FileClaimer
from sacred.observers.file_storage.reader import FileStoreReader
from sacred.store.locking import path_lock

__all__ = ["ToyObserver", "ToyReader", "ToyClaimer", "ENTRY", "install", "uninstall"]


class ToyObserver(FileStorageObserver):
    pass


class ToyReader(FileStoreReader):
    pass


class ToyClaimer(FileClaimer):
    def observer_args(self) -> list[str]:
        return ["--toy_store", self.basedir]  # the child records through the toy flag


ENTRY = Backend(
    kind="toy",
    observer=f"{__name__}:ToyObserver",
    short_flag=None,
    long_flag="--toy_store",
    metavar="DIR",
    help="Add a toy observer (the test suite's backend) storing runs in DIR.",
    extra="toy",
    driver=None,
    reader=f"{__name__}:ToyReader",
    schemes=("toy",),
    path_location=True,
    claimer=ToyClaimer,  # an object works as well as a "module:name" string
    study_lock=path_lock,
    make_observer=ToyObserver,
)


def install() -> None:
    register(ENTRY)


def uninstall() -> None:
    unregister("toy")
