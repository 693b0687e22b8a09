"""One contract suite for every store backend, on records written by real runs.

The same experiments are recorded by each backend's observer; every test then reads
them back through ``open_store`` and must get the same answers.
"""

from __future__ import annotations

import datetime
import io

import pytest

from sacred import Experiment
from sacred._time import utc_now
from sacred.exceptions import QueryError, StoreError
from sacred.store import open_store
from tests.store.backends import observer_and_location

BACKENDS = ["file", "sqlite", "postgresql", "mysql", "mongomock", "mongodb", "tinydb"]


def _record_runs(observer, tmp_path) -> dict:
    ex = Experiment("german_credit", save_git_info=False)

    @ex.config
    def cfg():
        hidden_size = 100
        optimizer = {"name": "adam", "lr": 0.01}
        layers = [64, 32]
        use_bias = True
        dropout = None
        label = "Base"

    @ex.main
    def train(hidden_size, optimizer, _run):
        print(f"training with {hidden_size} units")
        for step in range(5):
            _run.log_scalar("loss", hidden_size / 100 / (step + 1))
        if hidden_size == 300:  # a last point that is not a number
            _run.log_scalar("loss", float("nan"), 5)
        _run.log_scalar("accuracy", 0.5, 10)
        _run.info["best_epoch"] = hidden_size // 100
        artifact = tmp_path / "weights.txt"
        artifact.write_text(f"w{hidden_size}")
        _run.add_artifact(str(artifact))
        if hidden_size == 666:
            raise RuntimeError("the devil's size")
        return hidden_size / 1000

    ex.observers.append(observer)
    quiet = {"--loglevel": "ERROR"}
    ids = {}
    variants = [
        (100, {"optimizer": {"lr": 0.01}}),
        (250, {"optimizer": {"lr": 0.1}, "layers": [128], "use_bias": False, "label": "Wide"}),
        (300, {"optimizer": {"lr": 0.001}, "dropout": 0.5}),
    ]
    for size, updates in variants:
        run = ex.run(
            config_updates={"hidden_size": size, **updates},
            options={**quiet, "--comment": f"size {size}"},
        )
        ids[size] = run._id
    with pytest.raises(RuntimeError):
        ex.run(config_updates={"hidden_size": 666}, options=quiet)
    ids["failed"] = ex.current_run._id if ex.current_run else None
    queued = ex.run(config_updates={"hidden_size": 1}, options={**quiet, "--queue": True})
    ids["queued"] = queued._id

    # A run that died without telling anyone: RUNNING, heartbeat long ago.
    long_ago = utc_now() - datetime.timedelta(hours=2)
    observer.started_event(
        ex_info=ex.get_experiment_info(),
        command="train",
        host_info={"hostname": "ghost"},
        start_time=long_ago,
        config={"hidden_size": 5, "seed": 1},
        meta_info={},
        _id=None,
    )
    observer.heartbeat_event(info={}, captured_out="", beat_time=long_ago, result=None)
    return ids


def _opened(kind, request, tmp_path):
    observer, location, options = observer_and_location(kind, tmp_path, request)
    _record_runs(observer, tmp_path)
    opened = open_store(location, **options)
    opened.options = options
    request.addfinalizer(opened.close)
    return opened


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    return _opened(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def sql_store(request, tmp_path):
    return _opened(request.param, request, tmp_path)


def ids(runs) -> list:
    return [run.id for run in runs]


def test_find_returns_every_run(store):
    runs = store.find()
    assert len(runs) == 6
    assert sorted(str(r.status) for r in runs) == sorted(
        ["COMPLETED"] * 3 + ["FAILED", "QUEUED", "PROBABLY_DEAD"]
    )


def test_filter_and_sort_by_nested_config_and_result(store):
    runs = store.find(
        'config.hidden_size >= 250 and status == "COMPLETED" and experiment.name =~ "german"',
        sort="-result",
    )
    assert [r.config["hidden_size"] for r in runs] == [300, 250]
    top = store.find('status == "COMPLETED"', sort="config.optimizer.lr", limit=2)
    assert [r.config["optimizer"]["lr"] for r in top] == [0.001, 0.01]


@pytest.mark.parametrize(
    "query, sizes",
    [
        ("config.optimizer.lr < 0.05", [100, 300, 666, 1]),
        ('config.optimizer.name in ["adam", "sgd"] and result > 0.2', [250, 300]),
        ('status == "FAILED" or status == "QUEUED"', [666, 1]),
        ('not status == "COMPLETED"', [666, 1, 5]),
        ("info.best_epoch == 3", [300]),
        ('meta.comment =~ "size 2"', [250]),
        ('meta.command == "train" and stop_time exists', [100, 250, 300, 666]),
        ('status == "PROBABLY_DEAD"', [5]),
        ('host.hostname == "ghost"', [5]),
        ("config.missing == 1", []),
        ("config.hidden_size != 100 and result exists", [250, 300]),
    ],
)
def test_queries_reach_every_field(store, query, sizes):
    found = store.find(query, sort="config.hidden_size")
    assert sorted(r.config["hidden_size"] for r in found) == sorted(sizes)


def test_a_run_has_the_documented_attributes(store):
    run = store.find("config.hidden_size == 250")[0]
    assert run.status == "COMPLETED"
    assert run.result == 0.25
    assert run.config["optimizer"] == {"name": "adam", "lr": 0.1}
    assert run.experiment["name"] == "german_credit"
    assert run.host["hostname"]
    assert run.meta["command"] == "train"
    assert run.meta["comment"] == "size 250"
    assert run.info["best_epoch"] == 2
    assert "training with 250 units" in run.captured_out
    assert isinstance(run.start_time, datetime.datetime)
    assert run.stop_time >= run.start_time
    assert run.tags == [] and run.note is None
    assert store.get(run.id).config == run.config
    record = run.to_dict()
    assert record["_id"] == run.id and record["config"] == run.config


def test_metrics_are_series_indexed_by_step(store):
    run = store.find("config.hidden_size == 100")[0]
    assert set(run.metrics) == {"loss", "accuracy"}
    loss = run.metrics["loss"]
    assert list(loss.index) == [0, 1, 2, 3, 4]
    assert list(loss.values) == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert list(run.metrics["accuracy"].index) == [10]
    assert len(run.metrics.timestamps("loss")) == 5


def test_artifacts_and_sources_are_readable(store):
    run = store.find("config.hidden_size == 300")[0]
    assert list(run.artifacts) == ["weights.txt"]
    assert run.artifacts["weights.txt"].read() == b"w300"
    assert isinstance(run.artifacts["weights.txt"], io.BytesIO)
    sources = run.sources
    name = next(n for n in sources if n.endswith("test_store_contract.py"))
    assert b"One contract suite" in sources[name].read()


@pytest.mark.slow
def test_failed_run_keeps_its_trace(store):
    run = store.find('status == "FAILED"')[0]
    assert "the devil's size" in "".join(run.fail_trace)


def test_to_dataframe_flattens_config_and_result(store):
    frame = store.to_dataframe('status == "COMPLETED"', sort="config.hidden_size")
    assert list(frame["config.hidden_size"]) == [100, 250, 300]
    assert list(frame["config.optimizer.lr"]) == [0.01, 0.1, 0.001]
    assert list(frame["result"]) == pytest.approx([0.1, 0.25, 0.3])
    assert frame.groupby("config.optimizer.name")["result"].max()["adam"] == pytest.approx(0.3)


def test_tags_notes_and_delete_persist(store):
    run = store.find("config.hidden_size == 100")[0]
    assert store.tag(run.id, "baseline", "paper") == ["baseline", "paper"]
    store.tag(run.id, "paper")
    store.set_note(run.id, "the reference run")
    with open_store(store.location, **store.options) as again:
        reread = again.get(run.id)
        assert reread.tags == ["baseline", "paper"]
        assert reread.note == "the reference run"
        assert [r.id for r in again.find('tags == "baseline"')] == [run.id]
        assert again.untag(run.id, "paper") == ["baseline"]
        again.delete(run.id)
    with open_store(store.location, **store.options) as again:
        assert len(again.find()) == 5
        with pytest.raises(StoreError, match="No run"):
            again.get(run.id)


def test_the_change_token_moves_when_a_run_changes(store):
    """What a live board polls: the same token while nothing changes, another after."""
    from sacred.store.changes import change_token

    before = change_token(store)
    assert change_token(store) == before
    newest = store.find(sort="-id", limit=1)[0]
    store.delete(newest.id)
    assert change_token(store) != before


@pytest.mark.slow
def test_errors_are_clear(store):
    with pytest.raises(QueryError, match="Expected a value"):
        store.find("config.hidden_size >=")
    with pytest.raises(StoreError, match="No run with id"):
        store.get(987654)


def test_unknown_locations_are_refused(tmp_path):
    with pytest.raises(StoreError, match="neither a directory"):
        open_store(str(tmp_path / "nope"))
    with pytest.raises(StoreError, match="scheme"):
        open_store("ftp://example/runs")


@pytest.mark.slow
def test_database_queries_are_pushed_down(store):
    """Filters and sorting run in the database, not by loading every run into Python."""
    if not store.backend.pushes_down:
        # Plain files and TinyDB's JSON file have no query engine: Python by design.
        assert type(store.backend).__name__ in ("FileStoreReader", "TinyDbStoreReader")
        return
    from sacred.store.query import parse_query, parse_sort

    backend = store.backend
    backend.iter_records = None  # the Python fallback would call this and fail
    queries = [
        'config.hidden_size >= 250 and status == "COMPLETED" and experiment.name =~ "german"',
        "config.optimizer.lr < 0.05",
        'config.optimizer.name in ["adam"]',
        "result exists",
        'not status == "COMPLETED"',
        'status == "PROBABLY_DEAD"',
        'start_time >= "2020-01-01"',
        "config.flag == true",
        "config.x == null",
        'host.hostname == "ghost"',
    ]
    for query in queries:
        for key in ("-result", "config.optimizer.lr", "status", "-start_time", "experiment.name"):
            found = backend.find_records(parse_query(query), parse_sort(key), 3, 120.0)
            assert isinstance(found, list)


# -- every backend answers like the Python reference -----------------------------------

CONSISTENCY_QUERIES = [
    "config.use_bias == true",
    "config.use_bias != true",
    "config.use_bias == false",
    "config.use_bias in [false]",
    "config.dropout == null",
    "config.dropout != null",
    "config.dropout exists",
    "not config.dropout exists",
    "config.dropout > 0.1",
    "config.dropout in [null, 0.5]",
    "config.layers == 64",
    "config.layers != 64",
    "config.layers in [128, 7]",
    "config.layers > 10",
    "config.layers.0 == 64",
    "config.layers exists",
    'config.label =~ "^W"',
    'config.label =~ "w"',
    'config.label < "C"',
    'config.label >= "Base"',
    'config.label != "Base"',
    'config.hidden_size == "250"',
    "config.hidden_size == 250.0",
    "config.hidden_size in []",
    "config.hidden_size <= 250 or config.hidden_size > 600",
    "config.optimizer exists",
    "config.optimizer == null",
    "config.optimizer.lr in [0.1, 0.001]",
    "config.optimizer.lr.x == 1",
    'config.optimizer.name != "sgd"',
    "result != 0.25",
    "result == null",
    "result < 0.26",
    'result == "0.25"',
    'status != "COMPLETED"',
    'status in ["FAILED", "PROBABLY_DEAD"]',
    'status == "RUNNING"',
    'status =~ "^COMP"',
    "status == null",
    "status.x exists",
    "stop_time == null",
    "stop_time exists",
    'stop_time != "2000-01-01"',
    'start_time > "2000-01-01T00:00:00+02:00"',
    'start_time < "2000-01-01"',
    'heartbeat >= "2000-01-01"',
    'start_time =~ "^20"',
    "start_time > 3",
    "id exists",
    "id != null",
    "id == null",
    'tags == "Paper"',
    'tags == "paper"',
    'tags != "Paper"',
    'tags =~ "^b"',
    'tags in ["best", "x"]',
    "tags exists",
    "tags == null",
    'note == "the reference"',
    "note exists",
    'note != "x"',
    'note =~ "ref"',
    'experiment.name == "german_credit"',
    'experiment.name =~ "German"',
    'experiment.name != "x"',
    'host.hostname == "ghost"',
    'host.hostname != "ghost"',
    "host.os exists",
    "host.cpu exists",
    "host.nonexistent exists",
    'host.python_version =~ "^3"',
    'meta.comment =~ "size"',
    "meta.comment == null",
    "info.best_epoch >= 2",
    "info.best_epoch == null",
    'fail_trace =~ "devil"',
    "fail_trace exists",
    'artifacts == "weights.txt"',
    "experiment.sources exists",
    "not (config.use_bias == true or result > 0.2)",
    'config.layers == 64 and not tags == "best"',
    'command == "train" and (config.label == "Wide" or not config.dropout exists)',
]
CONSISTENCY_SORTS = [
    "-result",
    "config.optimizer.lr",
    "status",
    "-status",
    "-start_time",
    "experiment.name",
    "config.label",
    "-config.label",
    "-config.dropout",
    "config.use_bias",
    "note",
    "-heartbeat",
    "id",
    "-config.hidden_size",
]
# Queries a database backend may answer in Python (link tables, regexes on times...).
MAY_FALL_BACK = {
    'status =~ "^COMP"',
    'start_time =~ "^20"',
    'artifacts == "weights.txt"',
    "experiment.sources exists",
}


def _reference(store) -> list[dict]:
    from sacred.store.base import effective_status

    now = utc_now()
    records = list(store.backend.iter_records())
    for record in records:
        record["status"] = effective_status(record, now, store.dead_after)
    return records


@pytest.mark.slow
def test_every_backend_answers_like_the_python_reference(store, monkeypatch):
    from sacred.store.base import sort_records
    from sacred.store.query import evaluate, parse_query, parse_sort

    first = store.find("config.hidden_size == 100")[0]
    store.tag(first.id, "Paper", "best")
    store.set_note(first.id, "the reference")
    records = _reference(store)
    by_id = {str(r["_id"]): r for r in records}
    backend = store.backend

    def no_fallback():
        raise AssertionError("the query was not pushed down")

    for query in CONSISTENCY_QUERIES:
        node = parse_query(query)
        expected = sorted(str(r["_id"]) for r in records if evaluate(node, r))
        with monkeypatch.context() as patch:
            if backend.pushes_down and query not in MAY_FALL_BACK:
                patch.setattr(backend, "iter_records", no_fallback)
            found = backend.find_records(node, [], None, store.dead_after)
        got = sorted(str(r["_id"]) for r in found)
        sizes = {i: by_id[i]["config"].get("hidden_size") for i in expected + got}
        assert got == expected, f"{query}: got {got}, expected {expected} ({sizes})"

    for key in CONSISTENCY_SORTS:
        sort = parse_sort([key, "id"])
        expected = [str(r["_id"]) for r in sort_records(list(records), sort)]
        with monkeypatch.context() as patch:
            if backend.pushes_down:
                patch.setattr(backend, "iter_records", no_fallback)
            found = backend.find_records(None, sort, None, store.dead_after)
        assert [str(r["_id"]) for r in found] == expected, key
        limited = backend.find_records(parse_query("id exists"), sort, 2, store.dead_after)
        assert [str(r["_id"]) for r in limited] == expected[:2], key


def test_queries_on_captured_output_are_refused(store):
    with pytest.raises(QueryError, match="captured_out cannot be queried"):
        store.find('captured_out =~ "training"')
    with pytest.raises(QueryError, match='Did you mean "config"'):
        store.find("confg.hidden_size == 100")


def test_runs_sort_and_filter_by_metric_summaries(store):
    """metrics.<name>.<stat>: the last value (at the highest step), the smallest or
    the largest finite value; runs without one come last in either direction."""
    from sacred.store.paging import find_page

    size = {run.id: run.config["hidden_size"] for run in store.find()}
    # loss = hidden_size / 100 / (step + 1); run 300 ends with NaN at step 5
    by_min = store.find(sort="metrics.loss.min")
    assert [size[r.id] for r in by_min] == [100, 250, 300, 666, 1, 5]
    assert [size[r.id] for r in store.find(sort="-metrics.loss.max")] == [666, 300, 250, 100, 1, 5]
    assert [size[r.id] for r in store.find(sort="-metrics.loss.last")] == [666, 250, 100, 300, 1, 5]
    assert by_min[0]._record["metrics"] == {
        "loss": {"last": 0.2, "min": 0.2, "max": 1.0, "points": 5}
    }
    assert by_min[2]._record["metrics"]["loss"] == pytest.approx(
        {"last": None, "min": 0.6, "max": 3.0, "points": 6}
    )
    assert "metrics" not in by_min[0].to_dict()  # the record format is unchanged

    found = store.find("metrics.loss.min < 0.55 or metrics.loss.last > 1", sort="id")
    assert sorted(size[r.id] for r in found) == [100, 250, 666]
    assert sorted(size[r.id] for r in store.find("not metrics.loss.last exists")) == [1, 5, 300]
    assert store.find("metrics.training.loss.max exists") == []  # no such metric
    assert [
        size[r.id] for r in store.find("metrics.accuracy.last == 0.5", sort="-config.hidden_size")
    ] == [666, 300, 250, 100]

    for key in ("metrics.loss.min", "-metrics.loss.last"):
        expected = [r.id for r in store.find(sort=[key, "id"])]
        paged, cursor = [], None
        while True:
            page = find_page(store, sort=key, limit=2, cursor=cursor)
            paged += [r.id for r in page.runs]
            if page.next is None:
                break
            cursor = page.next
        assert paged == expected, key


def test_sql_sorts_by_metric_summaries_in_the_database(sql_store):
    from sacred.store.paging import find_page

    store = sql_store
    store.backend.iter_records = None  # the Python fallback would call this and fail
    store.backend.metrics = None  # and the summaries come from their rows, not the points
    size = {run.id: run.config["hidden_size"] for run in store.find(sort="-metrics.loss.min")}
    assert list(size.values()) == [666, 300, 250, 100, 1, 5]
    page = find_page(store, "metrics.loss.max >= 2.5", sort="-metrics.loss.min", limit=1)
    assert [r.config["hidden_size"] for r in page.runs] == [666]
    page = find_page(
        store, "metrics.loss.max >= 2.5", sort="-metrics.loss.min", limit=5, cursor=page.next
    )
    assert [r.config["hidden_size"] for r in page.runs] == [300, 250]
