"""The binary form of ``/api/points`` (``?format=binary``) that the scatter page reads.

80,000 points as JSON lists cost the server building and encoding a Python object per
value and the page parsing 240,000 numbers; as typed arrays both sides copy memory.
The layout (little-endian; docs/sacredboard.md, *Groups, points, varying keys*):

* 4 bytes: the length L of a JSON header, then the header, padded with spaces so
  that the arrays after it start at a multiple of 8 bytes;
* the header: ``{"n", "missing", "ids", "color", "columns"}`` where ``ids`` is
  ``"int32"`` or ``"float64"`` (an array) or the list of run ids (ids that are not
  numbers, e.g. given by an earlier observer), ``color`` is null, ``{"kind":
  "number"}`` or ``{"kind": "category", "values": [...]}`` (a dictionary: the array
  holds an index into it, -1 where a run has no value), and ``columns`` lists
  ``{"name", "type", "offset"}`` (offset in bytes from the start of the reply) of
  ``x``, ``y`` (float64), ``ids`` and ``color`` (float64 numbers, NaN where a run
  has none, or int32 codes);
* the arrays, n entries each, float64 ones first (their offsets stay aligned).

``decode`` reads it back as the JSON form (integers as floats): the tests and a
Python client use it.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

from sacred.store.pointcolumns import Categories, Numbers, PointColumns

__all__ = ["encode", "decode", "MEDIA_TYPE"]

MEDIA_TYPE = "application/octet-stream"
_INT32 = (-(2**31), 2**31 - 1)


def _id_column(ids: Any) -> tuple[str | list, np.ndarray | None]:
    if not isinstance(ids, np.ndarray):
        return list(ids), None
    if not len(ids) or (ids.min() >= _INT32[0] and ids.max() <= _INT32[1]):
        return "int32", ids.astype("<i4")
    return "float64", ids.astype("<f8")


def encode(points: PointColumns) -> bytes:
    """The reply's bytes."""
    arrays: list[tuple[str, np.ndarray]] = [
        ("x", points.x.values.astype("<f8")),
        ("y", points.y.values.astype("<f8")),
    ]
    color: dict[str, Any] | None = None
    if isinstance(points.color, Numbers):
        color = {"kind": "number"}
        arrays.append(("color", points.color.values.astype("<f8")))
    ids, id_array = _id_column(points.ids)
    if id_array is not None:
        arrays.append(("ids", id_array))
    if isinstance(points.color, Categories):
        color = {"kind": "category", "values": points.color.values}
        arrays.append(("color", points.color.codes.astype("<i4")))
    # The offsets depend on the header's length, which holds them: a fixed-width
    # placeholder first, the real numbers in the same width after.
    columns = [{"name": name, "type": _TYPES[a.dtype.str], "offset": 0} for name, a in arrays]
    header = {"n": len(points), "missing": points.missing, "ids": ids, "color": color}
    header["columns"] = columns
    for column in columns:
        column["offset"] = 10**11  # wider than any real offset
    width = len(_header_bytes(header))
    offset = 4 + width + (-(4 + width) % 8)
    for column, (_, array) in zip(columns, arrays):
        column["offset"] = offset
        offset += array.nbytes
    text = _header_bytes(header)
    text += b" " * (width - len(text) + (-(4 + width) % 8))
    return b"".join([struct.pack("<I", len(text)), text, *(a.tobytes() for _, a in arrays)])


_TYPES = {"<f8": "float64", "<i4": "int32"}


def _header_bytes(header: dict) -> bytes:
    from sacredboard.jsonout import dumps

    return dumps(header)


def decode(data: bytes) -> dict:
    """The JSON form of the points, ``{"ids", "x", "y", "color", "missing"}``."""
    (length,) = struct.unpack_from("<I", data, 0)
    header = orjson.loads(data[4 : 4 + length])
    n = header["n"]
    found = {
        c["name"]: np.frombuffer(data, dtype={"float64": "<f8", "int32": "<i4"}[c["type"]],
                                 count=n, offset=c["offset"])
        for c in header["columns"]
    }  # fmt: skip
    ids = header["ids"] if isinstance(header["ids"], list) else found["ids"].tolist()
    if header["ids"] == "float64":
        ids = [int(i) for i in ids]
    color = header["color"]
    colors: list | None = None
    if color and color["kind"] == "number":
        colors = [None if v != v else v for v in found["color"].tolist()]
    elif color:
        values = color["values"]
        colors = [values[c] if c >= 0 else None for c in found["color"].tolist()]
    return {
        "ids": ids,
        "x": found["x"].tolist(),
        "y": found["y"].tolist(),
        "color": colors,
        "missing": header["missing"],
    }
