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
        try:  # a trial with lr > 0.09 fails (about one fixture in fifteen has one)
            ex.run(named_configs=["space"], options=QUIET)
        except RuntimeError:
            pass
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


def _sweep(where: str, runs: int, name: str = "lw_sweep") -> str:
    """A study of `runs` random-search trials whose cost depends on lr only."""
    from labwatch.hyperparameters import Categorical, UniformInt

    ex = Experiment(name, save_git_info=False)
    assistant = LabAssistant(ex, store=where, optimizer=RandomSearch)

    @ex.config
    def cfg():
        lr = 0.01
        width = 3
        act = "relu"

    @assistant.searchspace
    def space():
        lr = UniformFloat(lower=0.001, upper=0.1, log_scale=True)
        width = UniformInt(lower=1, upper=8)
        act = Categorical(["relu", "tanh"])

    @ex.main
    def main(lr, width, act):
        return lr * 100

    for _ in range(runs):
        ex.run(named_configs=["space"], options=QUIET)
    from sacred.store import open_store

    with open_store(where) as store:
        return store.find(f'experiment.name == "{name}"', limit=1)[0].meta["labwatch"]["study"]


@pytest.fixture
def sweep(tmp_path):
    where = f"sqlite:///{tmp_path / 'runs.db'}"
    return where, _sweep(where, 12)


def test_importance_ranks_the_hyperparameter_the_cost_depends_on(sweep):
    where, name = sweep
    with TestClient(create_app(where), base_url="http://127.0.0.1") as client:
        answer = client.get(f"/api/studies/{name}/importance")
        assert answer.status_code == 200
        body = answer.json()
    assert body["study"] == name and body["message"] is None
    assert body["completed"] == body["used"] == 12
    assert "impurity" in body["evaluator"]
    ranked = [entry["name"] for entry in body["importance"]]
    assert sorted(ranked) == ["act", "lr", "width"]
    assert ranked[0] == "lr"
    assert body["importance"][0]["value"] > 0.5
    assert abs(sum(e["value"] for e in body["importance"]) - 1) < 1e-6


def test_importance_says_why_there_is_none(tmp_path, monkeypatch):
    where = f"sqlite:///{tmp_path / 'runs.db'}"
    name = _sweep(where, 1)
    with TestClient(create_app(where), base_url="http://127.0.0.1") as client:
        body = client.get(f"/api/studies/{name}/importance").json()
        assert body["importance"] == []
        assert body["message"] == (
            "Hyperparameter importance needs at least 2 completed trials; this study has 1."
        )
        missing = client.get("/api/studies/nope/importance")
        assert missing.status_code == 404 and "No Labwatch study" in missing.json()["error"]
    _sweep(where, 2)
    import sacredboard.importance as module

    real = module.importlib.util.find_spec
    monkeypatch.setattr(
        module.importlib.util, "find_spec", lambda n, *a: None if n == "optuna" else real(n, *a)
    )
    with TestClient(create_app(where), base_url="http://127.0.0.1") as client:
        body = client.get(f"/api/studies/{name}/importance").json()
    assert body["importance"] == [] and body["completed"] == 3
    assert "pip install 'sacred[optim]'" in body["message"]


@pytest.mark.slow
def test_importance_is_computed_once_per_study_token_and_stalls_nothing(sweep, monkeypatch):
    import threading
    import time

    import sacredboard.importance as module

    where, name = sweep
    calls = []
    real = module.study_importance

    def slow(study):
        calls.append(study["completed"])
        time.sleep(2.0)
        return real(study)

    monkeypatch.setattr(module, "study_importance", slow)
    with TestClient(create_app(where), base_url="http://127.0.0.1") as client:
        answers = []
        workers = [
            threading.Thread(
                target=lambda: answers.append(client.get(f"/api/studies/{name}/importance"))
            )
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        time.sleep(0.3)
        started = time.perf_counter()
        assert client.get("/api/health").status_code == 200
        assert time.perf_counter() - started < 1.0  # answered while the forest is fitted
        for worker in workers:
            worker.join(timeout=60)
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].json() == answers[1].json()
        assert calls == [12]  # the second request waited for the first one's result
        client.get(f"/api/studies/{name}/importance")
        assert calls == [12]
        _sweep(where, 1)  # a new completed trial moves the study's token
        body = client.get(f"/api/studies/{name}/importance").json()
        assert calls == [12, 13] and body["completed"] == 13
