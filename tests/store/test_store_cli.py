"""The ``sacred`` console command over sacred.store: tables, JSON, edits and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sacred import Experiment
from sacred.observers import FileStorageObserver
from sacred.store.cli import main


def _record(basedir: str) -> None:
    ex = Experiment("cli_demo", save_git_info=False)

    @ex.config
    def cfg():
        lr = 0.1
        net = {"hidden": 10, "act": "relu"}

    @ex.main
    def run(lr, net, _run):
        for step in range(60):
            _run.log_scalar("loss", 1.0 / (step + 1))
        return lr * net["hidden"]

    ex.observers.append(FileStorageObserver(basedir))
    for lr, hidden in [(0.1, 10), (0.2, 10), (0.3, 20)]:
        ex.run(
            config_updates={"lr": lr, "net": {"hidden": hidden}}, options={"--loglevel": "ERROR"}
        )


@pytest.fixture
def store(tmp_path) -> str:
    basedir = str(tmp_path / "runs")
    _record(basedir)
    return basedir


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_prints_a_table(store, capsys):
    code, out, err = run_cli(capsys, "runs", store)
    assert code == 0 and err == ""
    assert "3 run(s)" in out
    assert out.count("COMPLETED") == 3
    assert "cli_demo" in out


def test_runs_filter_sort_limit_json(store, capsys):
    code, out, _ = run_cli(
        capsys, "runs", store, "--filter", "config.lr >= 0.2", "--sort", "-result", "--json"
    )
    assert code == 0
    records = json.loads(out)
    assert [r["config"]["lr"] for r in records] == [0.3, 0.2]
    assert records[0]["result"] == pytest.approx(6.0)
    assert records[0]["status"] == "COMPLETED"
    code, out, _ = run_cli(capsys, "runs", store, "-s", "config.lr", "-n", "1", "--json")
    assert [r["_id"] for r in json.loads(out)] == [1]


def test_show_prints_the_record_and_a_metrics_summary(store, capsys):
    code, out, _ = run_cli(capsys, "show", store, "2")
    assert code == 0
    assert "run 2" in out and "hidden" in out and "loss" in out and "60" in out
    code, out, _ = run_cli(capsys, "show", store, "2", "--json")
    record = json.loads(out)
    assert record["config"]["lr"] == 0.2
    assert record["metrics"]["loss"]["points"] == 60
    assert record["metrics"]["loss"]["max"] == 1.0


def test_compare_shows_config_differences_and_results(store, capsys):
    code, out, _ = run_cli(capsys, "compare", store, "1", "3")
    assert code == 0
    assert "config.lr" in out and "config.net.hidden" in out
    assert "config.net.act" not in out  # the same in both
    code, out, _ = run_cli(capsys, "compare", store, "1", "2", "3", "--json")
    data = json.loads(out)
    assert data["config_differences"]["lr"] == [0.1, 0.2, 0.3]
    assert data["results"] == pytest.approx([1.0, 2.0, 6.0])


def test_metrics_as_table_json_and_plot(store, capsys):
    code, out, _ = run_cli(capsys, "metrics", store, "1", "loss")
    assert code == 0 and "60 points" in out and "…" in out
    code, out, _ = run_cli(capsys, "metrics", store, "1", "loss", "--json")
    raw = json.loads(out)
    assert raw["steps"] == list(range(60)) and raw["values"][1] == 0.5
    assert len(raw["timestamps"]) == 60
    code, out, _ = run_cli(capsys, "metrics", store, "1", "loss", "--plot")
    assert code == 0 and "█" in out and "step" not in out


def test_tag_note_and_delete(store, capsys):
    assert run_cli(capsys, "tag", store, "1", "best", "paper")[1].strip() == (
        "run 1: tags best, paper"
    )
    assert run_cli(capsys, "tag", store, "1", "paper", "--remove")[1].strip() == "run 1: tags best"
    assert run_cli(capsys, "note", store, "1", "the baseline")[0] == 0
    code, out, _ = run_cli(capsys, "runs", store, "--filter", 'tags == "best"', "--json")
    assert [(r["_id"], r["note"]) for r in json.loads(out)] == [(1, "the baseline")]
    code, out, _ = run_cli(capsys, "delete", store, "1", "2", "--yes")
    assert code == 0
    assert f"moved run 2 to the trash (sacred restore {store} 2 brings it back)" in out
    assert {"1", "2"}.isdisjoint(os.listdir(store)) and "3" in os.listdir(store)
    code, out, _ = run_cli(capsys, "runs", store, "--json")
    assert [r["_id"] for r in json.loads(out)] == [3]


def test_delete_for_good_asks_on_a_terminal(store, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
    code, out, _ = run_cli(capsys, "delete", store, "1", "--purge")
    assert code == 1 and "Nothing deleted." in out
    assert asked == ["Delete 1 run(s) for good, with their metrics and files? [y/N] "]
    assert os.path.isdir(os.path.join(store, "1"))
    code, out, _ = run_cli(capsys, "delete", store, "1")  # the trash gives it back: no question
    assert code == 0 and "moved run 1 to the trash" in out and len(asked) == 1


def test_trash_restore_and_empty_trash(store, capsys, monkeypatch):
    assert run_cli(capsys, "trash", store)[1].strip() == f"The trash of {store} is empty."
    run_cli(capsys, "delete", store, "1", "3")
    code, out, _ = run_cli(capsys, "trash", store)
    lines = out.strip().splitlines()
    assert code == 0
    assert [line.split()[:2] for line in lines[:2]] == [["3", "cli_demo"], ["1", "cli_demo"]]
    assert "trashed 20" in lines[0] and lines[-1].startswith("2 run(s) in the trash")
    code, out, _ = run_cli(capsys, "runs", store, "--json")
    assert [r["_id"] for r in json.loads(out)] == [2]

    code, _, err = run_cli(capsys, "restore", store, "1", "2")
    assert code == 1 and "Run 2" in err and "not in the trash" in err
    assert run_cli(capsys, "restore", store, "1")[1].strip() == "restored run 1"
    code, out, _ = run_cli(capsys, "runs", store, "--json")
    assert [r["_id"] for r in json.loads(out)] == [1, 2]

    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    code, _, err = run_cli(capsys, "empty-trash", store)
    assert code == 1 and "pass --yes" in err
    code, out, _ = run_cli(capsys, "empty-trash", store, "--older-than", "1d", "--yes")
    assert code == 0 and "0 run(s) deleted for good, 1 left in the trash" in out
    code, out, _ = run_cli(capsys, "empty-trash", store, "--yes")
    assert code == 0 and "deleted run 3" in out
    assert not os.path.exists(os.path.join(store, ".trash", "3"))
    code, out, _ = run_cli(capsys, "trash", store, "--json")
    assert json.loads(out) == []
    code, _, err = run_cli(capsys, "empty-trash", store, "--older-than", "soon", "--yes")
    assert code == 1 and "not an age" in err


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["runs", "/no/such/store"], 2, "Cannot open store '/no/such/store'"),
        (["runs", "postgre://x/y"], 2, 'Did you mean "postgres"'),
        (["runs", "sqlite:////no/such.db"], 2, "No SQLite database at '/no/such.db'"),
        (["runs", "STORE", "--filter", "config.lr >"], 2, "Expected a value"),
        (["runs", "STORE", "--sort", "conf.lr"], 2, "Unknown sort key 'conf.lr'"),
        (["runs", "STORE", "--limit", "-1"], 2, "limit must be a whole number"),
        (["show", "STORE", "42"], 1, "No run with id '42'"),
        (["metrics", "STORE", "1", "acc"], 1, "Run 1 has no metric 'acc' (metrics: loss)"),
        (["delete", "STORE", "1", "42", "--yes"], 1, "No run with id '42'"),
        (["tag", "STORE", "42", "x"], 1, "No run with id '42'"),
        (["note", "STORE", "42", "x"], 1, "No run with id '42'"),
        (["compare", "STORE", "1", "42"], 1, "No run with id '42'"),
    ],
)
def test_errors_are_one_clear_line(store, capsys, argv, code, message):
    argv = [store if a == "STORE" else a for a in argv]
    got, out, err = run_cli(capsys, *argv)
    assert got == code
    assert err.startswith("sacred: error: ") and message in err
    assert "Traceback" not in err
    if argv[0] == "delete":
        assert os.path.isdir(os.path.join(store, "1"))  # nothing deleted when one is missing


def test_the_query_error_points_at_the_position(store, capsys):
    _, _, err = run_cli(capsys, "runs", store, "--filter", "config.lr = 1")
    lines = err.splitlines()
    assert lines[-2].strip() == "config.lr = 1"
    assert lines[-1].index("^") - lines[-2].index("c") == 10


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["runs"])
    assert info.value.code == 2
    assert "STORE" in capsys.readouterr().err


def test_dead_after_option(tmp_path, capsys):
    import datetime

    from sacred._time import utc_now

    observer = FileStorageObserver(str(tmp_path / "runs"))
    start = utc_now() - datetime.timedelta(seconds=60)
    observer.started_event(
        ex_info={"name": "ghost", "sources": [], "dependencies": [], "base_dir": str(tmp_path)},
        command="main",
        host_info={"hostname": "h"},
        start_time=start,
        config={},
        meta_info={},
        _id=None,
    )
    observer.heartbeat_event(info={}, captured_out="", beat_time=start, result=None)
    base = str(tmp_path / "runs")
    _, out, _ = run_cli(capsys, "runs", base, "--json")
    assert json.loads(out)[0]["status"] == "RUNNING"
    _, out, _ = run_cli(capsys, "runs", base, "--json", "--dead-after", "30")
    assert json.loads(out)[0]["status"] == "PROBABLY_DEAD"


def test_the_console_command_runs_as_a_module(store):
    done = subprocess.run(
        [sys.executable, "-m", "sacred.store.cli", "show", store, "99"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"sacred: error: No run with id '99' in {store}."


@pytest.mark.parametrize("content", [b"hello, I am not a database\n" * 10, None])
def test_a_sqlite_url_that_is_no_database_is_one_line(tmp_path, content):
    pytest.importorskip("sqlalchemy")
    path = tmp_path / "not-a-database.db"
    if content is not None:
        path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-m", "sacred.store.cli", "runs", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("sacred: error: ") and str(path) in done.stderr
    assert path.exists() == (content is not None)  # reading never creates a database


def test_a_store_error_raised_anywhere_is_one_line(store, capsys, monkeypatch):
    from sacred.exceptions import StoreError
    from sacred.store.store import Store

    def broken(self, *args, **kwargs):
        raise StoreError("the disk is on fire\nsecond line with details")

    monkeypatch.setattr(Store, "find", broken)
    code, out, err = run_cli(capsys, "runs", store)
    assert code == 1 and out == ""
    assert err == "sacred: error: the disk is on fire\n"


_BLOCKER = """
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Block())
"""


def _minimal_cli(
    tmp_path, *argv: str, blocked: tuple = ("pandas", "rich")
) -> subprocess.CompletedProcess:
    """The console command where pandas and rich (or the blocked packages) cannot
    be imported (a minimal install without extras)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(f"BLOCKED = {blocked!r}\n" + _BLOCKER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "sacred.store.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_without_rich_and_pandas_runs_prints_a_plain_table(store, tmp_path):
    done = _minimal_cli(tmp_path, "runs", store, "--sort", "-result")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"3 run(s) in {store}"
    assert lines[1].split() == [
        "id",
        "experiment",
        "command",
        "status",
        "started",
        "duration",
        "result",
        "tags",
    ]
    assert [line.split()[0] for line in lines[3:]] == ["3", "2", "1"]
    assert all("COMPLETED" in line for line in lines[3:])


@pytest.mark.slow
def test_without_rich_and_pandas_json_works_and_tables_name_the_extra(store, tmp_path):
    done = _minimal_cli(tmp_path, "show", store, "1", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["metrics"]["loss"] == {"points": 60, "last": 1 / 60, "min": 1 / 60, "max": 1.0}
    done = _minimal_cli(tmp_path, "show", store, "1")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "pip install 'sacred[store]'" in done.stderr and "--json" in done.stderr


def test_a_tinydb_store_without_tinydb_names_the_extra(tmp_path):
    pytest.importorskip("tinydb")
    from sacred.observers import TinyDbObserver

    path = str(tmp_path / "tiny")
    TinyDbObserver(path)
    done = _minimal_cli(tmp_path, "runs", path, blocked=("tinydb", "tinydb_serialization"))
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "pip install 'sacred[tinydb]'" in done.stderr
