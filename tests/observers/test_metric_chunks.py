"""The packed layout of SQL metric points: what goes in comes back out."""

from __future__ import annotations

import datetime
import math

import pytest

from sacred._metrics import MetricsBuffer
from sacred.observers.sql import metric_chunks
from sacred.observers.sql.metric_chunks import chunks_to_arrays, pack_metric, unpack_chunk

T0 = datetime.datetime(2016, 7, 11, 15, 35, 14, 765152)


def round_trip(series: dict) -> list[dict]:
    return [unpack_chunk(*chunk[3:]) for chunk in pack_metric(series)]


def test_points_come_back_exactly_with_non_numbers_as_nan():
    stamps = [T0, T0 + datetime.timedelta(microseconds=1), None, T0]
    (chunk,) = round_trip(
        {"steps": [0, 1, 2, 2**40], "values": [1 / 3, math.inf, None, "x"], "timestamps": stamps}
    )
    assert chunk["steps"] == [0, 1, 2, 2**40]
    assert chunk["values"][:2] == [1 / 3, math.inf]
    assert all(map(math.isnan, chunk["values"][2:]))
    assert chunk["timestamps"] == stamps


def test_time_zone_aware_times_are_stored_as_utc():
    aware = datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    (chunk,) = round_trip({"steps": [0], "values": [1.0], "timestamps": [aware]})
    assert chunk["timestamps"] == [datetime.datetime(2020, 1, 1, 10)]


def test_a_drained_batch_packs_its_milliseconds_like_its_datetimes():
    buffer = MetricsBuffer()
    for i in range(50):
        buffer.append(("loss", i / 7, None, 1_600_000_000_000 + i // 3))
    series = buffer.drain()["loss"]
    assert hasattr(series["timestamps"], "unix_ms")
    plain = dict(series, timestamps=list(series["timestamps"]))  # no unix_ms
    assert list(pack_metric(series)) == list(pack_metric(plain))


def test_large_batches_are_split_into_rows(monkeypatch):
    monkeypatch.setattr(metric_chunks, "MAX_POINTS_PER_CHUNK", 4)
    steps = list(range(10))
    chunks = list(
        pack_metric({"steps": steps, "values": [float(s) for s in steps], "timestamps": [T0] * 10})
    )
    assert [chunk[:3] for chunk in chunks] == [(4, 0, 3), (4, 4, 7), (2, 8, 9)]
    assert sum((unpack_chunk(*c[3:])["steps"] for c in chunks), []) == steps


def test_chunks_read_as_arrays_sorted_by_step_keeping_logging_order():
    pytest.importorskip("numpy")
    first = next(pack_metric({"steps": [5, 6], "values": [5.0, 6.0], "timestamps": [T0, T0]}))
    second = next(pack_metric({"steps": [1, 5], "values": [1.0, 50.0], "timestamps": [None, T0]}))
    arrays = chunks_to_arrays([first[3:], second[3:]])
    assert arrays["steps"].tolist() == [1, 5, 5, 6]
    assert arrays["values"].tolist() == [1.0, 5.0, 50.0, 6.0]  # step 5: logged order
    assert str(arrays["timestamps"][0]) == "NaT"
    assert arrays["timestamps"][1].astype(datetime.datetime) == T0
