"""The stores of sacred 0.8.7 in the repository are the reference ones, byte for byte.

``tests/fixtures/sacred-0.8.7.sha256`` lists every file of the copy with its digest
(``sha256sum`` format), so that the copy is checked in a plain clone too; when the
reference (``../shared/fixtures/sacred-0.8.7``) is beside the repository, it must hold
the same files with the same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.fixtures import HERE, SHARED_087

COPY = HERE / "sacred-0.8.7"
MANIFEST = HERE / "sacred-0.8.7.sha256"


def digests(root: Path) -> dict[str, str]:
    """{path relative to root's parent, as the manifest writes it: sha256} of root's files."""
    return {
        path.relative_to(root.parent).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def manifest() -> dict[str, str]:
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def test_the_copy_in_the_repository_holds_the_listed_files_unchanged():
    assert digests(COPY) == manifest()


def test_the_four_stores_and_the_experiment_are_there():
    listed = manifest()
    for name in ["runs.db", "mongo.bson", "file_store/1/run.json", "experiment/compat_exp.py"]:
        assert f"sacred-0.8.7/{name}" in listed, name
    assert any(name.startswith("sacred-0.8.7/tinydb_store/") for name in listed)


@pytest.mark.skipif(not SHARED_087.is_dir(), reason=f"no reference copy at {SHARED_087}")
def test_the_copy_agrees_with_the_reference_beside_the_repository():
    assert digests(SHARED_087) == digests(COPY)
