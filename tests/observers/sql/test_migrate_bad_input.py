"""``sacred migrate`` given something that is not a database: one line, exit 1, and
nothing created or changed."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlalchemy")

from sacred.store.cli import main  # noqa: E402


def _migrate(capsys, *args):
    code = main(["migrate", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"hello, I am a text file\n" * 10, "file is not a database"),
        (bytes(range(256)) * 8, "file is not a database"),
    ],
)
def test_a_file_that_is_not_a_database_is_one_line(content, message, tmp_path, capsys):
    path = tmp_path / "notes.db"
    path.write_bytes(content)

    code, out, err = _migrate(capsys, f"sqlite:///{path}")

    assert code == 1 and out == ""
    (line,) = err.strip().splitlines()
    assert line == f"sacred migrate: error: Cannot open the database 'sqlite:///{path}': {message}."
    assert path.read_bytes() == content


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path, capsys):
    path = tmp_path / "missing.db"

    code, out, err = _migrate(capsys, f"sqlite:///{path}")

    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.endswith(f"there is no file {str(path)!r}.")
    assert not path.exists()


def test_a_path_instead_of_a_url_says_what_to_give(tmp_path, capsys):
    (tmp_path / "runs.txt").write_text("x")

    code, out, err = _migrate(capsys, str(tmp_path / "runs.txt"))

    assert code == 1
    (line,) = err.strip().splitlines()
    assert "Give a database URL such as sqlite:///runs.db" in line


def test_a_server_that_is_down_is_one_line(capsys):
    pytest.importorskip("psycopg")

    code, out, err = _migrate(capsys, "postgresql://postgres@127.0.0.1:9/x")

    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("sacred migrate: error: Cannot open the database ")
    assert "Traceback" not in err
