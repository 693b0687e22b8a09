"""``--resume ID``: a stopped run continues in its own record."""

from __future__ import annotations

import os

import pytest

from sacred.store import open_store
from sacred.worker.takeover import CLAIM_TOKEN_ENV
from tests.experiment_files import import_experiment

RESUMABLE = """\
import os

from sacred import Experiment

ex = Experiment("resumable")


@ex.config
def cfg():
    marker = ""


@ex.main
def main(marker, _run):
    start = 0 if _run.resumed_from_step is None else _run.resumed_from_step + 1
    for step in range(start, start + 3):
        _run.log_scalar("loss", 10 - step)  # no explicit step: the counter continues
    print(f"pass from {start}")
    path = os.path.join(os.path.dirname(marker), f"out-{start}.txt")
    with open(path, "w") as f:
        f.write(str(start))
    _run.add_artifact(path)
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("the first attempt fails")
    return start
"""


@pytest.fixture(autouse=True)
def _no_claim_token_afterwards():
    """--resume in this process sets the claim token for its observers and leaves it
    set; later tests (a plain run) must not see it."""
    yield
    os.environ.pop(CLAIM_TOKEN_ENV, None)


def _load(tmp_path, source, stem):
    """The ``ex`` of an experiment file written from ``source``, imported afresh."""
    path = tmp_path / f"{stem}.py"
    path.write_text(source)
    return import_experiment(path, stem)


def _experiment(tmp_path):
    return _load(tmp_path, RESUMABLE, "resumable")


def _store(kind, tmp_path):
    if kind == "file":
        store = str(tmp_path / "runs")
        return store, lambda: {"--file_storage": store}, {}
    if kind == "sqlite":
        store = f"sqlite:///{tmp_path / 'runs.db'}"
        return store, lambda: {"--sql": store}, {}
    if kind == "tinydb":
        pytest.importorskip("tinydb")
        path = str(tmp_path / "runs_db")
        return f"tinydb://{path}", lambda: {"--tiny_db": path}, {}
    mongomock = pytest.importorskip("mongomock")
    from mongomock.gridfs import enable_gridfs_integration

    from sacred.observers.mongo.observer import MongoObserver

    enable_gridfs_integration()
    client = mongomock.MongoClient()
    store = "mongomock://sacred"
    return store, lambda: MongoObserver(client=client, db_name="sacred"), {"client": client}


def _run_observed(ex, observe, options=None, **kwargs):
    """``ex.run`` into the test's store: ``observe()`` gives the observer's flag, or an
    observer to attach (mongomock)."""
    flags = observe()
    if not isinstance(flags, dict):
        ex.observers.append(flags)
        flags = {}
    return ex.run(options={**flags, **(options or {})}, **kwargs)


@pytest.mark.parametrize("kind", ["file", "sqlite", "mongo", "tinydb"])
def test_resume_continues_metric_steps_output_and_artifacts(kind, tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIM_TOKEN_ENV, raising=False)
    store, observe, store_options = _store(kind, tmp_path)
    marker = str(tmp_path / "first-attempt-done")

    def run(**options):
        return _run_observed(
            _experiment(tmp_path), observe, config_updates={"marker": marker}, options=options
        )

    with pytest.raises(RuntimeError, match="the first attempt fails"):
        run()
    with open_store(store, **store_options) as s:
        (first,) = s.find()
        run_id = first.id
        assert first.status == "FAILED"

    resumed = run(**{"--resume": str(run_id)})

    assert resumed._id == run_id
    # the claim is given back with the run: a later run (or a process this one starts)
    # must not fence its writes on it
    assert CLAIM_TOKEN_ENV not in os.environ
    assert resumed.resumed_from_step == 2
    assert resumed.result == 3
    with open_store(store, **store_options) as s:
        (record,) = s.find()  # the same record, no new one
        assert record.status == "COMPLETED"
        assert record.result == 3
        loss = record.metrics.raw("loss")
        assert list(loss["steps"]) == [0, 1, 2, 3, 4, 5]
        assert list(loss["values"]) == [10, 9, 8, 7, 6, 5]
        assert "pass from 0" in record.captured_out
        assert record.captured_out.index("pass from 0") < record.captured_out.index("pass from 3")
        assert sorted(record.artifacts) == ["out-0.txt", "out-3.txt"]
        attempts = record.meta["attempts"]
        assert attempts[-1]["resumed_after"] == "FAILED"


def test_a_running_or_unknown_run_cannot_be_resumed(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIM_TOKEN_ENV, raising=False)
    from sacred.exceptions import StoreError

    store = str(tmp_path / "runs")
    ex = _experiment(tmp_path)
    marker = tmp_path / "first-attempt-done"
    marker.touch()
    ex.run(config_updates={"marker": str(marker)}, options={"--file_storage": store})
    with pytest.raises(StoreError, match="there is no run 7"):
        _experiment(tmp_path).run(options={"--file_storage": store, "--resume": "7"})
    run_json = tmp_path / "runs" / "1" / "run.json"
    run_json.write_text(run_json.read_text().replace('"COMPLETED"', '"RUNNING"'))
    with pytest.raises(StoreError, match="the run is RUNNING; only a stopped run"):
        _experiment(tmp_path).run(options={"--file_storage": store, "--resume": "1"})
    with open_store(store) as s:
        assert [r.status for r in s.find()] == ["RUNNING"]  # untouched


CONFIGURED = """\
import os

from sacred import Experiment

ex = Experiment("configured")


@ex.config
def cfg():
    marker = ""
    epochs = 3
    lr = 0.1
    width = 8


@ex.named_config
def wide():
    width = 64


@ex.command
def train(marker, epochs, lr, width, _seed):
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("the first attempt fails")
    return [epochs, lr, width, _seed]
"""


def _configured(tmp_path, source=CONFIGURED):
    return _load(tmp_path, source, "configured")


@pytest.mark.parametrize("kind", ["file", "sqlite", "mongo", "tinydb"])
def test_resume_takes_the_stored_command_and_configuration_seed_included(
    kind, tmp_path, monkeypatch
):
    monkeypatch.delenv(CLAIM_TOKEN_ENV, raising=False)
    store, observe, store_options = _store(kind, tmp_path)
    marker = str(tmp_path / "first-attempt-done")

    def run(**kwargs):
        return _run_observed(_configured(tmp_path), observe, **kwargs)

    with pytest.raises(RuntimeError, match="the first attempt fails"):
        run(command_name="train", config_updates={"marker": marker, "lr": 0.5},
            named_configs=["wide"])  # fmt: skip
    with open_store(store, **store_options) as s:
        (first,) = s.find()
        stored = first.config

    # no command, no updates: the stored command and configuration, seed included
    resumed = run(options={"--resume": str(first.id)})

    same_seed = _configured(tmp_path).run(
        "train", config_updates={"seed": stored["seed"], "marker": marker}
    )
    assert resumed.result == [3, 0.5, 64, same_seed.result[3]]
    assert resumed.config == stored
    with open_store(store, **store_options) as s:
        (record,) = s.find()
        assert record.command == "train"
        assert record.config == stored
        assert record.meta["config_updates"] == {"marker": marker, "lr": 0.5}
        assert record.meta["named_configs"] == ["wide"]


def test_updates_given_with_resume_apply_on_top_of_the_stored_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIM_TOKEN_ENV, raising=False)
    store = str(tmp_path / "runs")
    marker = str(tmp_path / "first-attempt-done")
    ex = _configured(tmp_path)
    with pytest.raises(SystemExit):
        ex.run_commandline(
            ["configured.py", "train", "-F", store, "with", "wide", f"marker={marker}", "seed=7"]
        )

    resumed = _configured(tmp_path).run_commandline(
        ["configured.py", "-F", store, "--resume", "1", "with", "epochs=10"]
    )

    assert resumed.result[:3] == [10, 0.1, 64]
    assert resumed.config["seed"] == 7
    with open_store(store) as s:
        record = s.get(1)
        assert record.config["epochs"] == 10 and record.config["seed"] == 7
        assert record.meta["attempts"][-1]["config_updates"] == {"epochs": 10}
        assert record.meta["config_updates"] == {"marker": marker, "seed": 7}


def test_resume_names_an_unknown_run_before_building_anything(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIM_TOKEN_ENV, raising=False)
    from sacred.exceptions import StoreError

    with pytest.raises(StoreError, match="there is no run 4"):
        _configured(tmp_path).run(
            options={"--sql": f"sqlite:///{tmp_path / 'runs.db'}", "--resume": "4"}
        )


def test_a_stored_entry_the_code_no_longer_defines_is_dropped_with_a_warning(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.delenv(CLAIM_TOKEN_ENV, raising=False)
    caplog.set_level("WARNING")  # an earlier run with --loglevel ERROR raised the root's
    store = str(tmp_path / "runs")
    marker = tmp_path / "first-attempt-done"
    marker.touch()
    _configured(tmp_path).run("train", config_updates={"marker": str(marker)},
                              options={"--file_storage": store})  # fmt: skip
    edited = CONFIGURED.replace("    width = 8\n", "").replace("width, _seed", "_seed")
    edited = edited.replace("[epochs, lr, width, _seed]", "[epochs, lr, _seed]")

    options = {"--file_storage": store, "--resume": "1", "--force": True}
    resumed = _configured(tmp_path, edited).run(options=options)

    assert resumed.result[:2] == [3, 0.1]
    assert "no longer defines; resuming without them: width" in caplog.text
    with open_store(store) as s:
        assert "width" not in s.get(1).config
        forced = s.get(1).meta["attempts"][-1]["forced"]
        assert forced == ["source files changed since it was recorded: configured.py"]


def test_a_typo_given_with_resume_is_still_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv(CLAIM_TOKEN_ENV, raising=False)
    from sacred.exceptions import ConfigAddedError

    store = str(tmp_path / "runs")
    marker = tmp_path / "first-attempt-done"
    marker.touch()
    _configured(tmp_path).run("train", config_updates={"marker": str(marker)},
                              options={"--file_storage": store})  # fmt: skip
    with pytest.raises(ConfigAddedError, match='"epoch" is not used anywhere'):
        _configured(tmp_path).run(
            config_updates={"epoch": 4}, options={"--file_storage": store, "--resume": "1"}
        )
    with open_store(store) as s:
        assert s.get(1).status == "COMPLETED"  # nothing claimed
