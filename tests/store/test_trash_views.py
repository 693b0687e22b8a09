"""The trash and saved views on every backend: a deleted run leaves every query and
listing but comes back whole with restore; saved views persist in the store."""

from __future__ import annotations

import datetime

import pytest

from sacred import Experiment
from sacred.exceptions import StoreError
from sacred.store import open_store
from sacred.store.bands import group_ids
from sacred.store.changes import change_token
from sacred.store.paging import count, find_page
from tests.store.backends import observer_and_location

BACKENDS = ["file", "sqlite", "postgresql", "mysql", "mongomock", "tinydb"]


def _experiment(observer, tmp_path) -> Experiment:
    ex = Experiment("trash_demo", save_git_info=False)

    @ex.config
    def cfg():
        lr = 0.1
        optimizer = "adam"

    @ex.main
    def train(lr, _run):
        for step in range(3):
            _run.log_scalar("loss", lr * (step + 1), step)
        artifact = tmp_path / f"model_{lr}.txt"
        artifact.write_text(f"weights {lr}")
        _run.add_artifact(str(artifact), name="model.txt")
        return lr * 10

    ex.observers.append(observer)
    return ex


def _record(ex, lrs) -> list:
    ids = []
    for lr in lrs:
        run = ex.run(config_updates={"lr": lr}, options={"--loglevel": "ERROR"})
        ids.append(run._id)
    return ids


@pytest.fixture(params=BACKENDS)
def setup(request, tmp_path):
    observer, location, options = observer_and_location(request.param, tmp_path, request)
    ex = _experiment(observer, tmp_path)
    ids = _record(ex, [0.1, 0.2, 0.3])
    store = open_store(location, **options)
    request.addfinalizer(store.close)
    store.reopen = lambda: open_store(location, **options)
    return store, ex, ids


def _ids(runs) -> list:
    return sorted(str(r.id) for r in runs)


def test_a_deleted_run_leaves_every_query_and_comes_back_whole(setup):
    store, _, ids = setup
    victim = ids[1]
    before = store.get(victim).to_dict()
    token = change_token(store)
    store.delete(victim)
    assert change_token(store) != token
    kept = sorted(str(i) for i in (ids[0], ids[2]))
    assert _ids(store.find()) == kept
    assert _ids(store.find("config.lr == 0.2")) == []
    assert count(store) == 2 and count(store, "config.lr > 0.15") == 1
    assert _ids(find_page(store, sort="-result", limit=10).runs) == kept
    assert _ids(find_page(store, sort="config.lr", limit=10).runs) == kept
    assert _ids(find_page(store, sort="-metrics.loss.last", limit=10).runs) == kept
    assert str(victim) not in [str(i) for i in store.points("config.lr", "result")["ids"]]
    with pytest.raises(StoreError, match="No run"):
        store.get(victim)
    assert victim not in group_ids(store, "config.optimizer", {"config.optimizer": "adam"})
    groups = store.groups("config.optimizer")
    assert groups["count"].tolist() == [2]

    with store.reopen() as again:
        trash = again.trash()
        assert [(str(e["id"]), e["experiment"]) for e in trash] == [(str(victim), "trash_demo")]
        age = datetime.datetime.utcnow() - trash[0]["trashed_at"]
        assert datetime.timedelta(0) <= age < datetime.timedelta(minutes=5)
        with pytest.raises(StoreError, match="already in the trash"):
            again.delete(victim)
        again.restore(victim)
    back = store.get(victim)
    assert back.to_dict() == before
    assert back.metrics["loss"].tolist() == [0.2, 0.4, pytest.approx(0.6)]
    assert back.artifacts["model.txt"].read() == b"weights 0.2"
    assert store.trash() == []
    with pytest.raises(StoreError, match="not in the trash"):
        store.restore(victim)


def test_empty_trash_deletes_for_good_and_keeps_younger_runs(setup):
    store, _, ids = setup
    store.delete(ids[0])
    store.delete(ids[2])
    assert store.empty_trash(older_than="1h") == []
    assert len(store.trash()) == 2
    purged = store.empty_trash()
    assert sorted(str(i) for i in purged) == sorted(str(i) for i in (ids[0], ids[2]))
    assert store.trash() == []
    with pytest.raises(StoreError, match="No run with id"):
        store.restore(ids[0])
    assert _ids(store.find()) == [str(ids[1])]
    with pytest.raises(StoreError, match="not an age"):
        store.empty_trash(older_than="soon")


def test_purge_deletes_a_run_without_the_trash(setup):
    store, _, ids = setup
    store.delete(ids[0], purge=True)
    assert store.trash() == []
    assert _ids(store.find()) == sorted(str(i) for i in ids[1:])


def test_ids_are_not_given_again_while_their_run_is_in_the_trash(setup):
    store, ex, ids = setup
    store.delete(ids[-1])
    (new,) = _record(ex, [0.5])
    assert str(new) not in [str(i) for i in ids]
    store.restore(ids[-1])
    assert len(store.find()) == 4


def test_saved_views_persist_in_the_store(setup):
    store, _, _ = setup
    assert store.views() == {}
    state = {"q": 'config.lr > 0.1 and status == "COMPLETED"', "sort": "-result"}
    store.save_view("good lr", state)
    store.save_view("all", {})
    store.save_view("good lr", {**state, "group": "config.optimizer"})
    with store.reopen() as again:
        assert again.views() == {"all": {}, "good lr": {**state, "group": "config.optimizer"}}
        again.delete_view("all")
    assert list(store.views()) == ["good lr"]
    with pytest.raises(StoreError, match="No saved view"):
        store.delete_view("all")


@pytest.mark.parametrize(
    "name, state, message",
    [
        ("", {}, "needs a name"),
        ("x" * 65, {}, "at most 64"),
        ("a/b", {}, "holds a character"),
        ("ok", ["q"], "not a list"),
        ("ok", {"q": "x" * 20000}, "at most 16384"),
    ],
)
def test_bad_view_names_and_states_are_refused(tmp_path, name, state, message):
    from sacred.observers import FileStorageObserver

    _record(_experiment(FileStorageObserver(str(tmp_path / "runs")), tmp_path), [0.1])
    store = open_store(str(tmp_path / "runs"))
    with pytest.raises(StoreError, match=message):
        store.save_view(name, state)
    assert store.views() == {}


@pytest.mark.parametrize("kind", ["file", "sqlite", "mongomock"])
def test_a_queued_run_in_the_trash_is_not_claimed(kind, tmp_path, request):
    from sacred.worker.claims import claimer_for_observer

    observer, location, options = observer_and_location(kind, tmp_path, request)
    ex = _experiment(observer, tmp_path)
    queued = ex.run(config_updates={"lr": 0.7}, options={"--queue": True, "--loglevel": "ERROR"})
    store = open_store(location, **options)
    store.delete(queued._id)
    claimer = claimer_for_observer(observer)
    assert claimer.claim("worker-1") is None
    store.restore(queued._id)
    assert str(claimer.claim("worker-1").run_id) == str(queued._id)
