"""What a claim reads under the study's lock: the rest is read before it. Two
assistants on one store stand for two worker processes taking turns."""

from __future__ import annotations

import pytest

from labwatch.assistant import LabAssistant
from labwatch.exceptions import BudgetExhausted
from labwatch.hyperparameters import UniformFloat
from labwatch.optimizers import Optimizer, RandomSearch
from labwatch.trials import TrialStatus
from sacred import Experiment
from sacred.store import open_store


class CountingOptimizer(Optimizer):
    """Suggests x = the number of trials it was told of, claimed or finished: a
    model-based engine in miniature, which must see every earlier claim."""

    def suggest_configuration(self) -> dict:
        return {"x": float(len(self.trials))}


def assistant_on(location: str, optimizer=RandomSearch, budget: int | None = None):
    ex = Experiment("lw_views", save_git_info=False)
    assistant = LabAssistant(ex, store=location, optimizer=optimizer)
    assistant.budget = budget

    @ex.config
    def cfg():
        x = 0.0

    @assistant.searchspace
    def space():
        x = UniformFloat(0, 100)

    @ex.main
    def main(x):
        return x

    return assistant


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return request.getfixturevalue("postgres_url")


def stored_trials(location: str) -> list:
    return open_store(location).find("meta.labwatch exists", sort="meta.labwatch.trial")


def test_workers_taking_turns_number_trials_once_and_keep_the_budget(location):
    first, second = assistant_on(location, budget=5), assistant_on(location, budget=5)
    for seed, worker in enumerate([first, second, second, first, second]):
        worker.claim("space", seed)
    for worker in (first, second):
        with pytest.raises(BudgetExhausted, match="has its 5 trials"):
            worker.claim("space", 99)
    numbers = [run.meta["labwatch"]["trial"] for run in stored_trials(location)]
    assert numbers == [0, 1, 2, 3, 4]
    # what a worker knows of the others' claims is read in full by its next look
    assert [t.number for t in first.trials("space")] == [0, 1, 2, 3, 4]
    assert all(t.status == TrialStatus.PENDING for t in first.trials("space"))


def test_a_model_based_engine_sees_every_claim_made_before_its_own(location):
    first, second = (assistant_on(location, CountingOptimizer) for _ in range(2))
    for seed, worker in enumerate([first, second, first, first, second, second, first]):
        worker.claim("space", seed)
    suggested = [run.config["x"] for run in stored_trials(location)]
    assert suggested == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_an_enqueued_configuration_is_taken_once(location):
    first, second = assistant_on(location), assistant_on(location)
    first.enqueue("space", {"x": 42.0})
    assert [t.enqueued for t in first.trials("space")] == [True]  # first has seen it waiting
    taken = second.claim("space", 1)
    assert taken.values == {"x": 42.0}
    again = first.claim("space", 2)
    assert again.values != {"x": 42.0}
    assert "from_queue" not in again.meta
    configs = [run.config["x"] for run in stored_trials(location)]
    assert configs.count(42.0) == 1 and len(configs) == 2


def test_a_lock_holder_reads_the_new_trials_only(location, monkeypatch):
    """A RandomSearch claim right after a look at the study (a worker's progress
    line) reads, under the lock, only the meta of the trials claimed since (one
    query on SQL stores), not every open trial again."""
    first, second = assistant_on(location), assistant_on(location)
    for seed in range(3):
        second.claim("space", seed)
    first.trials("space")  # three open trials known
    second.claim("space", 3)
    from sacred.observers.sql import claim as sql_claim

    queries: list[str] = []
    metas_of = sql_claim.metas_of

    def recording(reader, query, dead_after):
        queries.append(repr(query))
        return metas_of(reader, query, dead_after)

    monkeypatch.setattr(sql_claim, "metas_of", recording)
    store = first._get_store()
    finds: list[str] = []
    find = store.find

    def recording_find(query=None, **kwargs):
        finds.append(query)
        return find(query, **kwargs)

    monkeypatch.setattr(store, "find", recording_find)
    claimed = first.claim("space", 4)
    assert claimed.meta["trial"] == 4
    assert len(queries) == 1  # the trial claimed since first's last look, by its meta
    assert finds == []  # first had just read the open trials: not again
    assert [t.number for t in first.trials("space")] == [0, 1, 2, 3, 4]


def test_the_trials_above_a_mark_are_found_through_an_index_on_sqlite(tmp_path):
    """The lock holder's query reads the few trials above its mark, not every run's
    JSON: a claim costs the same at 100 trials as at 5,000."""
    import sqlite3

    location = f"sqlite:///{tmp_path / 'runs.db'}"
    first, second = assistant_on(location), assistant_on(location)
    for seed in range(3):
        first.claim("space", seed)
    second.claim("space", 10)
    with sqlite3.connect(tmp_path / "runs.db") as db:
        (name,) = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'sacred_jw_%'"
        ).fetchone()
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM runs "
            """WHERE json_extract(meta, '$."labwatch"."trial"') > 2"""
        ).fetchall()
    assert any(name in row[-1] for row in plan), plan


def test_a_model_based_study_reads_its_new_trials_through_the_index(tmp_path):
    """An engine that needs every trial (here one counting them) reads the study with
    full queries, before the lock and under it: on SQLite each one finds the trials
    above the mark and the open ones through the index and their ids, never by
    reading every run's JSON (a TPE claim at 5,000 trials spent 13 ms per read)."""
    from sqlalchemy import event

    location = f"sqlite:///{tmp_path / 'runs.db'}"
    first = assistant_on(location, optimizer=CountingOptimizer)
    second = assistant_on(location, optimizer=CountingOptimizer)
    first.claim("space", 0)
    second.claim("space", 1)
    engine = first._get_store().backend.engine
    plans: list[list[str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def explain(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "labwatch" in statement:
            found = cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append([row[-1] for row in found])

    claimed = first.claim("space", 2)
    assert claimed.values == {"x": 2.0}  # it saw both earlier claims
    assert plans
    for plan in plans:
        assert not any(step == "SCAN runs" for step in plan), plan
        assert any("sacred_jw_" in step for step in plan), plan


def test_on_postgresql_the_new_trials_are_found_through_an_index(postgres_url):
    """On PostgreSQL the trial numbers get an index on their jsonb value, and a claim's
    reads of the trials above the mark use it (the planner is told to avoid a full
    scan where it can: on a table this small it would rather scan)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    first = assistant_on(postgres_url, optimizer=CountingOptimizer)
    second = assistant_on(postgres_url, optimizer=CountingOptimizer)
    first.claim("space", 0)
    second.claim("space", 1)
    plans: list[str] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "#>" in statement and "runs" in statement:
            cursor.execute("SET enable_seqscan = off")
            found = cursor.execute("EXPLAIN " + statement, parameters).fetchall()
            cursor.execute("SET enable_seqscan = on")
            plans.append("\n".join(row[0] for row in found))

    event.listen(Engine, "before_cursor_execute", explain)
    try:
        claimed = first.claim("space", 2)
    finally:
        event.remove(Engine, "before_cursor_execute", explain)
    assert claimed.values == {"x": 2.0}
    assert plans
    for plan in plans:
        assert "sacred_jw_" in plan, plan
        assert "Seq Scan on runs" not in plan, plan
