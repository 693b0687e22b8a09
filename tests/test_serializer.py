"""Values that are not plain JSON are stored readably and never crash a run."""

from __future__ import annotations

import datetime
import json
import math

import pytest

from sacred.serializer import flatten, restore


class Custom:
    def __init__(self):
        self.a = 1
        self.b = [1, 2]


def test_plain_values_pass_through():
    value = {"a": 1, "b": [1.5, "x", None, True], "c": {"d": {}}}
    assert flatten(value) == value


def test_containers_and_keys_become_json():
    flat = flatten({1: (1, 2), "s": {3, 1, 2}, None: frozenset()})
    assert flat == {"1": [1, 2], "s": [1, 2, 3], "None": []}
    json.dumps(flat)


def test_numpy_and_pandas():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    flat = flatten(
        {
            "f": np.float32(0.5),
            "i": np.int64(3),
            "a": np.arange(4).reshape(2, 2),
            "s": pd.Series([1, 2], index=["x", "y"]),
            "df": pd.DataFrame({"c": [1, 2]}),
        }
    )
    assert flat == {
        "f": 0.5,
        "i": 3,
        "a": [[0, 1], [2, 3]],
        "s": {"x": 1, "y": 2},
        "df": {"c": {"0": 1, "1": 2}},
    }
    json.dumps(flat)


def test_datetimes_are_kept_or_iso():
    moment = datetime.datetime(2024, 1, 2, 3, 4, 5, 6)
    assert flatten({"t": moment}) == {"t": moment}
    assert flatten({"t": moment}, datetimes="iso") == {"t": "2024-01-02T03:04:05.000006"}
    assert flatten(datetime.date(2024, 1, 2)) == "2024-01-02"


def test_arbitrary_objects_round_trip_through_jsonpickle():
    flat = flatten({"obj": Custom()})
    assert flat["obj"]["py/object"].endswith("Custom")
    json.dumps(flat)
    restored = restore(flat)["obj"]
    assert isinstance(restored, Custom) and restored.b == [1, 2]


def test_bytes_and_nan():
    assert restore(flatten(b"\x00\xff")) == b"\x00\xff"
    assert math.isnan(flatten(float("nan")))


def test_never_raises():
    class Broken:
        def __getstate__(self):
            raise RuntimeError("cannot pickle me")

        def __repr__(self):
            return "<Broken>"

    flat = flatten({"x": Broken()})
    json.dumps(flat)


def test_what_jsonpickle_cannot_name_becomes_its_repr_never_none():
    value = lambda x: x  # noqa: E731 - the point is a lambda
    with pytest.warns(UserWarning, match="stored as its repr"):
        flat = flatten({"result": value})
    assert flat["result"] == {"py/repr": repr(value)}
