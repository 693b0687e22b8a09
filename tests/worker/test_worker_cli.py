"""``sacred worker`` on one store: the options, and runs that cannot start."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sacred.store import open_store
from sacred.store.cli import main
from sacred.worker.claims import open_claimer
from sacred.worker.loop import Worker


def test_worker_runs_the_named_experiment_up_to_max_runs(queue_runs, tmp_path, capsys):
    store = str(tmp_path / "runs")
    other = queue_runs({"--file_storage": store, "--name": "other"}, 1)
    mine = queue_runs({"--file_storage": store}, 2)

    code = main(["worker", store, "--experiment", "worker_test", "--max-runs", "1"])

    assert code == 0
    assert "1 run(s) done" in capsys.readouterr().err
    with open_store(store) as s:
        assert s.get(mine[0]).status == "COMPLETED"
        assert s.get(mine[0]).result[0] == 0
        assert s.get(mine[1]).status == "QUEUED"
        assert s.get(other[0]).status == "QUEUED"


@pytest.mark.slow
def test_a_forked_run_and_a_new_interpreter_record_the_same_run(queue_runs, tmp_path):
    """The default start (a forked copy of the worker) against --spawn (a new
    interpreter): same result, output, sources and experiment in the record."""
    (run_id,) = queue_runs({"--file_storage": str(tmp_path / "fork")}, 1)
    shutil.copytree(tmp_path / "fork", tmp_path / "spawn")  # the same queued run twice
    records = {}
    for mode, flags in (("fork", []), ("spawn", ["--spawn"])):
        store = str(tmp_path / mode)
        assert main(["worker", store, "--max-runs", "1", *flags]) == 0
        with open_store(store) as s:
            records[mode] = s.get(run_id)
    fork, spawn = records["fork"], records["spawn"]
    assert fork.status == spawn.status == "COMPLETED"
    assert fork.result == spawn.result  # same stored seed, same random stream
    assert "attempt of 0" in fork.captured_out

    # the same output, but for the duration (a loaded machine may take a second longer)
    def lines(out):
        return [x for x in out.splitlines()[1:] if "Completed after" not in x]

    assert lines(fork.captured_out) == lines(spawn.captured_out)
    assert fork.experiment["mainfile"] == spawn.experiment["mainfile"] == "exp_worker.py"
    assert [s[0] for s in fork.experiment["sources"]] == [s[0] for s in spawn.experiment["sources"]]
    assert fork.host["hostname"] == spawn.host["hostname"]
    assert list(fork.metrics.raw("loss")["values"]) == [0, 1, 2]


@pytest.mark.slow
def test_a_forked_run_that_fails_leaves_the_worker_going(queue_runs, tmp_path, capsys):
    store = str(tmp_path / "runs")
    ids = queue_runs({"--file_storage": store}, 2)
    first = Path(store) / str(ids[0]) / "config.json"
    config = json.loads(first.read_text())
    config["marker_dir"] = str(tmp_path / "missing")  # its done.log cannot be written
    first.write_text(json.dumps(config))

    assert main(["worker", store, "--max-runs", "2"]) == 0

    with open_store(store) as s:
        failed, completed = s.get(ids[0]), s.get(ids[1])
        assert failed.status == "FAILED"
        assert "FileNotFoundError" in "".join(failed.fail_trace)
        assert completed.status == "COMPLETED"
    assert f"run {ids[0]} ended (exit code 1)" in capsys.readouterr().err


@pytest.mark.slow
def test_worker_runs_from_a_given_working_tree(queue_runs, experiment_file, tmp_path):
    store = str(tmp_path / "runs")
    (run_id,) = queue_runs({"--file_storage": store}, 1)
    shutil.rmtree(Path(store) / "_sources")  # only the working tree has the code

    done = Worker(
        open_claimer(store), max_runs=1, workdir=str(experiment_file.parent), log=lambda t: None
    ).run()

    assert done == 1
    with open_store(store) as s:
        assert s.get(run_id).status == "COMPLETED"


def test_a_run_without_its_sources_is_failed_with_the_reason(queue_runs, tmp_path):
    store = str(tmp_path / "runs")
    (run_id,) = queue_runs({"--file_storage": store}, 1)
    run_json = Path(store) / str(run_id) / "run.json"
    record = json.loads(run_json.read_text())
    record["experiment"]["sources"] = []
    run_json.write_text(json.dumps(record))
    said = []

    Worker(open_claimer(store), max_runs=1, log=said.append).run()

    with open_store(store) as s:
        run = s.get(run_id)
        assert run.status == "FAILED"
        assert "main file 'exp_worker.py' is not among its stored sources" in run.fail_trace[0]
    assert any("cannot start" in line for line in said)


def test_worker_on_a_kind_of_store_without_claims_says_which_work(capsys):
    # every built-in store with a URL claims (TinyDB too): a registered one without
    from sacred.observers._registry import register, unregister
    from tests.store import toy_backend

    unclaimed = toy_backend.ENTRY._replace(kind="noclaim", schemes=("noclaim",), claimer=None)
    register(unclaimed._replace(long_flag="--noclaim_store"))
    try:
        assert main(["worker", "noclaim://somewhere"]) == 2
    finally:
        unregister("noclaim")
    assert "No worker support for the store 'noclaim://somewhere'" in capsys.readouterr().err


def test_worker_on_an_unreachable_database_says_what_to_check(capsys):
    assert main(["worker", "postgresql+psycopg://nobody@127.0.0.1:1/nodb"]) == 2
    err = capsys.readouterr().err
    assert "Cannot open the database postgresql+psycopg://nobody@127.0.0.1:1/nodb" in err
    assert "Check that the server is running" in err


@pytest.mark.slow
def test_with_another_thread_alive_the_worker_starts_a_new_interpreter(
    queue_runs, tmp_path, monkeypatch
):
    import subprocess
    import threading

    from sacred.worker import forked

    store = str(tmp_path / "runs")
    (run_id,) = queue_runs({"--file_storage": store}, 1)
    started = []
    real_call = subprocess.call
    monkeypatch.setattr(
        subprocess, "call", lambda argv, **kw: started.append(argv) or real_call(argv, **kw)
    )
    monkeypatch.setattr(forked, "run_forked", lambda *a, **kw: pytest.fail("forked"))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)  # like a database client's monitor
    thread.start()
    try:
        assert Worker(open_claimer(store), max_runs=1, log=lambda t: None).run() == 1
    finally:
        stop.set()
        thread.join()
    assert len(started) == 1 and started[0][1].endswith("exp_worker.py")
    with open_store(store) as s:
        assert s.get(run_id).status == "COMPLETED"
