"""The binary scatter reply (sacredboard/pointbytes.py) round-trips every kind of
colour and of run id: numbers with gaps, a dictionary of mixed values, string ids,
ids past 32 bits, no point at all."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from sacred.store.pointcolumns import PointColumns

pytest.importorskip("starlette")
from sacredboard.pointbytes import decode, encode  # noqa: E402


@pytest.mark.parametrize(
    "found",
    [
        {"ids": [3, 2, 1], "x": [1, 2.5, -3], "y": [0.5, 1, 2], "color": None, "missing": 2},
        {"ids": [3, 2], "x": [1, 2], "y": [3, 4], "color": [1.5, None], "missing": 0},
        {
            "ids": ["a", "b", "c", "d", "e"],
            "x": [1, 2, 3, 4, 5],
            "y": [1, 2, 3, 4, 5],
            "color": ["sgd", 1, True, None, {"k": [1]}],
            "missing": 0,
        },
        {"ids": [], "x": [], "y": [], "color": [], "missing": 7},
    ],
)
def test_decode_gives_the_json_form(found):
    assert decode(encode(PointColumns.from_dict(found))) == found


def test_ids_past_32_bits_and_arrays_aligned():
    columns = PointColumns.from_dict(
        {"ids": [], "x": [1.0, 2.0], "y": [3.0, 4.0], "color": ["a", "b"], "missing": 0}
    )
    columns.ids = np.array([2**40, 5], dtype=np.int64)
    data = encode(columns)
    assert decode(data)["ids"] == [2**40, 5]
    assert decode(data)["color"] == ["a", "b"]
    # Float64Array and Int32Array views need offsets that are multiples of 8 and 4.
    (length,) = struct.unpack_from("<I", data)
    header = json.loads(data[4 : 4 + length])
    assert (4 + length) % 8 == 0
    assert all(c["offset"] % 8 == 0 for c in header["columns"] if c["type"] == "float64")
