"""``_run.use_run``: an evaluation consumes a training run through every backend and
records it (``meta.inputs``); ``inputs contains ID`` finds the consumers."""

from __future__ import annotations

import json

import pytest

from sacred import Experiment
from sacred.exceptions import StoreError
from sacred.store.lineage import consumers_of, lineage, store_label
from tests.lineage.conftest import md5

KINDS = ["file", "sqlite", "postgresql", "mongomock", "tinydb"]


def _literal(run_id) -> str:
    return json.dumps(run_id)  # 3, or "ab12…" for TinyDB's hex ids


@pytest.mark.parametrize("kind", KINDS)
def test_the_evaluation_records_the_training_run_and_its_model(kind, lab):
    lab = lab(kind)
    train = lab.train(lr=0.05)
    evaluation = lab.evaluate(train._id)

    assert evaluation.result["lr"] == 0.05  # read the training run's config
    assert evaluation.result["train_loss"] == train.result
    with lab.store() as store:
        model = store.get(train._id).artifacts["model.json"].read()
        stored = store.get(evaluation._id)
        assert stored.meta["inputs"] == [
            {
                "run_id": train._id,
                "store": store_label(lab.location),
                "artifacts": {"model.json": md5(model)},
            }
        ]
        assert stored.meta["input_runs"] == [train._id]
        # the query form, pushed down like any list comparison
        found = store.find(f"inputs contains {_literal(train._id)}")
        assert [r.id for r in found] == [evaluation._id]
        assert store.find(f"inputs contains {_literal(evaluation._id)}") == []
        assert [r.id for r in consumers_of(store, train._id)] == [evaluation._id]

        down = lineage(store, train._id)
        assert down["inputs"] == []
        assert [c["run"]["id"] for c in down["consumers"]] == [evaluation._id]
        up = lineage(store, evaluation._id)
        assert [i["run"]["id"] for i in up["inputs"]] == [train._id]
        assert up["inputs"][0]["artifacts"] == {"model.json": md5(model)}
        assert up["consumers"] == []


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_a_query_finds_one_completed_run_or_the_latest(kind, lab):
    lab = lab(kind)
    first = lab.train(lr=0.05)
    second = lab.train(lr=0.1)

    by_config = lab.evaluate('experiment.name == "train" and config.lr == 0.05')
    assert by_config.result["lr"] == 0.05
    latest = lab.evaluate('experiment.name == "train"')  # evaluate.py passes latest=True
    assert latest.result["lr"] == 0.1
    with lab.store() as store:
        entry = store.get(latest._id).meta["inputs"][0]
        assert entry["run_id"] == second._id
        assert entry["query"] == 'experiment.name == "train"'
        assert store.get(by_config._id).meta["input_runs"] == [first._id]


def _consumer(body):
    ex = Experiment("consumer")

    @ex.main
    def main(_run):
        return body(_run)

    return ex


def test_an_ambiguous_query_names_the_matching_runs(lab):
    lab = lab("file")
    one, two = lab.train(), lab.train()
    ex = _consumer(lambda _run: _run.use_run('experiment.name == "train"'))
    ex.observers.append(lab.observer)
    with pytest.raises(StoreError) as error:
        ex.run(options={"--capture": "no"})
    assert (
        f"2 COMPLETED runs in {store_label(lab.location)} match "
        f"'experiment.name == \"train\"' ({two._id}, {one._id}); pass latest=True"
    ) in str(error.value)


@pytest.mark.parametrize(
    "body, message",
    [
        (lambda r: r.use_run(99), "use_run(99): no run with id 99 in "),
        (lambda r: r.use_run("config.lr == 7"), "use_run: no COMPLETED run in "),
        (
            lambda r: r.use_run(1).open_artifact("weights.pt"),
            "has no artifact 'weights.pt' (artifacts: model.json)",
        ),
        (lambda r: r.use_run(1).open_artifact("model.json", "w"), "for reading only"),
    ],
)
def test_mistakes_are_one_clear_error(body, message, lab):
    lab = lab("file")
    lab.train()
    ex = _consumer(body)
    ex.observers.append(lab.observer)
    with pytest.raises((StoreError, ValueError)) as error:
        ex.run(options={"--capture": "no"})
    assert message in str(error.value)


def test_without_an_observer_the_store_must_be_named(lab):
    lab = lab("file")
    train = lab.train(lr=0.2)
    ex = _consumer(lambda _run: _run.use_run(train._id))
    with pytest.raises(StoreError, match="has no observer whose store can be read"):
        ex.run(options={"--capture": "no"})

    ex = _consumer(lambda _run: _run.use_run(train._id, store=lab.location).config["lr"])
    run = ex.run(options={"--capture": "no"})
    assert run.result == 0.2
    assert run.meta_info["input_runs"] == [train._id]  # recorded, though nowhere stored


def test_artifact_path_is_a_copy_outside_the_store(lab, tmp_path):
    lab = lab("sqlite")
    train = lab.train()

    def body(_run):
        path = _run.use_run(train._id).artifact_path("model.json")
        with open(path) as f:
            return path, json.load(f)

    ex = _consumer(body)
    ex.observers.append(lab.observer)
    path, model = ex.run(options={"--capture": "no"}).result
    assert path.startswith(str(tmp_path / "artifact-cache"))
    assert set(model) == {"w", "b"}
    with lab.store() as store:
        (consumer,) = store.find('experiment.name == "consumer"')
        data = store.get(train._id).artifacts["model.json"].read()
        assert consumer.meta["inputs"][0]["artifacts"] == {"model.json": md5(data)}


def test_inputs_reach_the_store_while_the_consumer_runs(lab):
    """use_run sends the meta with a heartbeat at once: a running consumer is already
    a consumer (the deletion guard sees it)."""
    lab = lab("sqlite")
    train = lab.train()
    seen = {}

    def body(_run):
        _run.use_run(train._id).open_artifact("model.json")
        with lab.store() as store:
            seen["consumers"] = [r.id for r in consumers_of(store, train._id)]
        return _run._id

    ex = _consumer(body)
    ex.observers.append(lab.observer)
    run = ex.run(options={"--capture": "no"})
    assert seen["consumers"] == [run.result]


@pytest.mark.parametrize(
    "query, message",
    [
        ("inputs == 3", "inputs is only used as 'inputs contains RUN_ID'"),
        ("inputs contains", "Expected a value"),
        ("inputs contains true", "inputs contains needs a run id"),
    ],
)
def test_query_mistakes(query, message):
    from sacred.exceptions import QueryError
    from sacred.store.query import parse_query

    with pytest.raises(QueryError, match=message):
        parse_query(query)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mongomock"])
def test_databases_answer_inputs_contains_in_the_database(kind, lab):
    lab = lab(kind)
    train = lab.train()
    evaluation = lab.evaluate(train._id)
    with lab.store() as store:
        store.backend.iter_records = None  # the Python fallback would call this and fail
        assert [r.id for r in store.find(f"inputs contains {train._id}")] == [evaluation._id]


def test_a_queue_observer_delivers_the_inputs(lab, tmp_path):
    from sacred.observers import QueueObserver, SqlObserver

    lab = lab("sqlite")
    train = lab.train()
    queued = QueueObserver(SqlObserver(lab.location), interval=0.05, dump_dir=tmp_path)
    ex = _consumer(lambda _run: _run.use_run(train._id).open_artifact("model.json").read())
    ex.observers.append(queued)
    run = ex.run(options={"--capture": "no"})
    with lab.store() as store:
        (entry,) = store.get(run._id).meta["inputs"]
        assert entry["artifacts"] == {"model.json": md5(run.result)}


@pytest.mark.slow
def test_an_input_of_another_store_is_named_with_its_store(lab, tmp_path, capsys):
    from sacred.observers import SqlObserver
    from sacred.store.cli import main

    lab = lab("file")
    train = lab.train(lr=0.25)
    elsewhere = f"sqlite:///{tmp_path / 'eval.db'}"
    ex = _consumer(lambda _run: _run.use_run(train._id, store=lab.location).config["lr"])
    ex.observers.append(SqlObserver(elsewhere))
    run = ex.run(options={"--capture": "no"})
    assert run.result == 0.25

    assert main(["lineage", elsewhere, str(run._id)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        f"run {run._id} (consumer, COMPLETED)",
        "consumed:",
        f"  run {train._id} (train, COMPLETED) in {store_label(lab.location)}",
    ]
    with lab.store() as store:  # consumers are looked for in the store itself
        assert consumers_of(store, train._id) == []
