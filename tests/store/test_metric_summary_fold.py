"""One fold for a metric summary (sacred._metric_fold): for any series, split into any
chunks, folding chunk by chunk (the SqlObserver, heartbeat after heartbeat) gives what
folding the whole series gives (the store, from the points), and what the store
reports for a run whose metric was stored through SQLite and through the file store."""

from __future__ import annotations

import datetime
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sacred import Experiment
from sacred._metric_fold import as_summary, fold_points, fold_series, merge_folds
from sacred.observers import FileStorageObserver, SqlObserver
from sacred.store import open_store

T0 = datetime.datetime(2024, 1, 1)

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0.0, -0.0, 1.0, float("nan"), float("inf"), float("-inf")]),
)
# Few distinct steps: repeated and out-of-order steps are the interesting cases.
points = st.lists(st.tuples(st.integers(min_value=0, max_value=12), values), min_size=1)


@st.composite
def chunked(draw: st.DrawFn) -> list[list[tuple[int, float]]]:
    """A series in logging order, cut into consecutive non-empty chunks."""
    series = draw(points)
    cuts = (
        draw(st.sets(st.integers(min_value=1, max_value=len(series) - 1)))
        if len(series) > 1
        else set()
    )
    bounds = [0, *sorted(cuts), len(series)]
    return [series[a:b] for a, b in itertools.pairwise(bounds)]


def _incremental(chunks: list[list[tuple[int, float]]]) -> dict:
    fold = None
    for chunk in chunks:
        steps, vals = zip(*chunk)
        batch = fold_points(list(steps), list(vals))
        fold = batch if fold is None else merge_folds(fold, batch)
    assert fold is not None
    return fold


def _in_step_order(chunks: list[list[tuple[int, float]]]) -> tuple[list, list]:
    series = [point for chunk in chunks for point in chunk]
    ordered = sorted(series, key=lambda point: point[0])  # stable: logging order in a step
    return [s for s, _ in ordered], [v for _, v in ordered]


@settings(max_examples=300, deadline=None, database=None)
@given(chunked())
@pytest.mark.slow
def test_the_fold_chunk_by_chunk_is_the_fold_of_the_whole_series(chunks):
    steps, vals = _in_step_order(chunks)
    whole = fold_series(vals, steps)
    assert _incremental(chunks) == whole
    logged = [point for chunk in chunks for point in chunk]
    logged_steps, logged_values = [s for s, _ in logged], [v for _, v in logged]
    assert fold_points(logged_steps, logged_values) == whole
    # A reader may return the points as logged (the file store does): same fold.
    assert fold_series(logged_values, logged_steps) == whole


@settings(max_examples=100, deadline=None, database=None)
@given(chunked())
def test_without_numpy_the_whole_series_folds_the_same(chunks):
    import sys

    steps, vals = _in_step_order(chunks)
    with_numpy = fold_series(vals, steps)
    saved = sys.modules.get("numpy")
    sys.modules["numpy"] = None  # type: ignore[assignment]  # import numpy raises ImportError
    try:
        assert fold_series(vals, steps) == with_numpy
    finally:
        sys.modules["numpy"] = saved  # type: ignore[assignment]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A SQLite store and a file store that record the same runs: each run hands its
    chunks to both observers, as its heartbeats would."""
    base = tmp_path_factory.mktemp("fold")
    sql_url = f"sqlite:///{base / 'runs.db'}"
    directory = str(base / "runs")
    ex = Experiment("fold", save_git_info=False)
    sql, files = SqlObserver(sql_url), FileStorageObserver(directory)
    ex.observers += [sql, files]
    pending: list = []

    @ex.config
    def cfg():
        example = 0  # tells the runs apart in both stores

    @ex.main
    def main():
        for chunk in pending:
            steps, vals = zip(*chunk)
            stamps = [T0] * len(steps)
            batch = {"metric": {"steps": list(steps), "values": list(vals), "timestamps": stamps}}
            sql.log_metrics(batch, {})
            files.log_metrics(batch, {})

    examples = itertools.count()

    def record(chunks):
        pending[:] = chunks
        example = next(examples)
        ex.run(config_updates={"example": example}, options={"--loglevel": "ERROR"})
        return f"config.example == {example}"

    record([])  # both stores exist from here on
    with open_store(sql_url) as sql_store, open_store(directory) as file_store:
        yield record, sql_store, file_store


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(chunked())
@pytest.mark.slow
def test_the_stores_report_the_fold(stores, chunks):
    record, sql_store, file_store = stores
    this_run = record(chunks)
    steps, vals = _in_step_order(chunks)
    expected = as_summary(fold_series(vals, steps))
    for store in (sql_store, file_store):
        (run,) = store.find(this_run)
        assert store.backend.metric_summaries([run.id], ["metric"])[run.id] == {"metric": expected}
        # What a user's query on the summary finds: the run, by its extreme.
        if expected["min"] is not None:
            query = f"{this_run} and metrics.metric.min == {expected['min']!r}"
            assert [found.id for found in store.find(query)] == [run.id]
