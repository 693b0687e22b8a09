"""/api/studies and /api/studies/<study>: Labwatch trials read through sacred.store,
with every state a trial can be in (pruned and dead included)."""

from __future__ import annotations

import datetime

import pytest
from starlette.testclient import TestClient

from labwatch.assistant import LabAssistant
from labwatch.hyperparameters import UniformFloat
from labwatch.optimizers import RandomSearch
from sacred import Experiment
from sacred._time import utc_now
from sacred.observers import FileStorageObserver, SqlObserver
from sacredboard import create_app

QUIET = {"--loglevel": "ERROR"}


@pytest.fixture(autouse=True)
def _private_lock_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def _extra_trial(observer, ex, study_meta, status, result=None, state=None, number=0):
    """A trial written directly: a pruned one, or one whose worker died."""
    meta = {"labwatch": {**study_meta, "trial": number}}
    if state is not None:
        meta["labwatch"]["state"] = state
    start = utc_now() - datetime.timedelta(hours=1 if status == "dead" else 0)
    observer.started_event(
        ex_info=ex.get_experiment_info(),
        command="main",
        host_info={"hostname": "h"},
        start_time=start,
        config={"lr": 0.05, "seed": 3},
        meta_info=meta,
        _id=None,
    )
    observer.heartbeat_event(info={}, captured_out="", beat_time=start, result=None)
    if status == "completed":
        observer.completed_event(stop_time=utc_now(), result=result)


@pytest.fixture(params=["file", "sqlite"])
def location(request, tmp_path):
    if request.param == "file":
        where = str(tmp_path / "runs")
        make_observer = lambda: FileStorageObserver(where)  # noqa: E731
    else:
        where = f"sqlite:///{tmp_path / 'runs.db'}"
        make_observer = lambda: SqlObserver(where)  # noqa: E731
    ex = Experiment("lw_board", save_git_info=False)
    assistant = LabAssistant(ex, store=where, optimizer=RandomSearch, direction="maximize")

    @ex.config
    def cfg():
        lr = 0.01
        width = 3

    @assistant.searchspace
    def space():
        lr = UniformFloat(lower=0.001, upper=0.1, log_scale=True)

    @ex.main
    def main(lr, width):
        if lr > 0.09:
            raise RuntimeError("diverged")
        return lr * 10

    for _ in range(3):
        ex.run(named_configs=["space"], options=QUIET)
    from sacred.store import open_store

    with open_store(where) as store:
        first = store.find("meta.labwatch exists", sort="meta.labwatch.trial", limit=1)[0]
    study_meta = {k: v for k, v in first.meta["labwatch"].items() if k != "trial"}
    _extra_trial(make_observer(), ex, study_meta, "completed", 0.9, state="PRUNED", number=10)
    _extra_trial(make_observer(), ex, study_meta, "dead", number=11)
    return where, study_meta["study"]


def test_study_list_and_trials(location):
    where, name = location
    with TestClient(create_app(where), base_url="http://127.0.0.1") as client:
        studies = client.get("/api/studies").json()
        assert len(studies) == 1
        summary = studies[0]
        assert summary["study"] == name and summary["space"] == "space"
        assert summary["experiment"] == "lw_board"
        assert summary["optimizer"] == "RandomSearch"
        assert summary["trials"] == 5
        assert summary["pruned"] == 1 and summary["dead"] == 1
        assert summary["completed"] + summary["failed"] == 3
        best = summary["best"]
        assert set(best) >= {"id", "cost", "config"}
        assert best["cost"] == -best["objective"]  # a maximizing study minimizes -objective
        assert set(best["config"]) == {"lr"}  # the space's entries, not width or seed

        detail = client.get(f"/api/studies/{name}").json()
        states = [t["state"] for t in detail["trials"]]
        assert states[-2:] == ["PRUNED", "DEAD"]
        assert set(states[:3]) <= {"COMPLETED", "FAILED"}
        assert [t["number"] for t in detail["trials"]] == [0, 1, 2, 10, 11]
        completed = [t for t in detail["trials"] if t["state"] == "COMPLETED"]
        assert all(t["cost"] == -t["config"]["lr"] * 10 for t in completed)
        assert (
            detail["space_def"]["lr"]["type"]
            if isinstance(detail["space_def"]["lr"], dict)
            else True
        )
        missing = client.get("/api/studies/nope")
        assert missing.status_code == 404 and "No Labwatch study" in missing.json()["error"]
