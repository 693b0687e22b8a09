"""Where a QueueObserver dump keeps copies of its run's artifact files: a directory
beside the dump, one file per original path.

Its own module because both sides of a dump read these names: the QueueObserver
writing the copies and ``sacred replay`` (``_replay.py``) reading them back, and the
observer calls the replay, which therefore cannot import the observer.
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["dump_files_dir", "artifact_copy_name"]


def dump_files_dir(dump_path: str) -> str:
    """Where copies of a dump's artifact files are kept."""
    return dump_path + ".files"


def artifact_copy_name(filename: str) -> str:
    """The name of an artifact's copy beside a dump (unique per original path)."""
    digest = hashlib.sha1(filename.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{digest}_{os.path.basename(filename)}"
