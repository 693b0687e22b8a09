"""Fixtures for the SQL backend's tests: copies of the database the original sacred
0.8.7 wrote (tests/fixtures/sacred-0.8.7/runs.db, read-only where it lives)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from tests.fixtures import SACRED_087

FIXTURES = SACRED_087


def fixture_path(*parts: str) -> Path:
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"the sacred 0.8.7 fixtures are not at {FIXTURES} (set SACRED_087_FIXTURES)")
    return path


def copy_legacy_db(directory: Path, name: str = "legacy.db") -> Path:
    target = directory / name
    shutil.copyfile(fixture_path("runs.db"), target)
    target.chmod(target.stat().st_mode | stat.S_IWUSR)
    return target


@pytest.fixture
def fixtures_087() -> Path:
    """The directory of stores the original sacred 0.8.7 wrote."""
    return fixture_path()


@pytest.fixture
def make_legacy_db():
    """Copy the original's database into a directory (as a given file name)."""
    return copy_legacy_db


@pytest.fixture
def legacy_db(tmp_path) -> Path:
    """A writable copy of the original's SQLite database (3 runs: 0 COMPLETED,
    2 FAILED, 3 QUEUED)."""
    return copy_legacy_db(tmp_path)
