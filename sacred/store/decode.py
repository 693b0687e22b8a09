"""Stored values back to Python: the jsonpickle encodings observers write, decoded
safely.

Observers store values that JSON cannot hold in jsonpickle's form: numpy arrays
``{"py/object": "numpy.ndarray", "dtype": "int64", "values": [...]}`` (or, for big
arrays, ``values`` as base64 of zlib-compressed bytes with ``shape`` and
``byteorder``), numpy scalars ``{"py/object": "numpy.float64", "dtype": ...,
"value": ...}``, tuples ``{"py/tuple": [...]}``, datetimes ``{"py/object":
"datetime.datetime", "__reduce__": [{"py/type": ...}, [base64 state]]}``, and
pandas Series/DataFrames.

``decode_value`` turns exactly these known forms back into objects. It never
imports a module or calls a class named by the record: a record is data from a file
anyone may have written, and jsonpickle's own Unpickler would instantiate whatever
``py/object`` names. Anything else (another ``py/object``, a form that does not
parse) is returned as stored.
"""

from __future__ import annotations

import base64
import datetime
import json
import zlib
from typing import Any

__all__ = ["decode_value", "decode_keys"]

_NUMPY_KINDS = set("biufcUSMm")  # no object arrays: their items would be arbitrary
_MAX_ARRAY_BYTES = 1 << 30


def decode_value(value: Any) -> Any:
    """value with the known jsonpickle forms decoded (see the module doc)."""
    if isinstance(value, dict):
        if any(isinstance(key, str) and key.startswith("py/") for key in value):
            decoded = _decode_tagged(value)
            # an unknown form is shown exactly as stored, inner values included
            return value if decoded is _UNKNOWN else decoded
        return {key: decode_value(sub) for key, sub in value.items()}
    if isinstance(value, list):
        return [decode_value(sub) for sub in value]
    return value


def decode_keys(value: Any, replacements: dict[str, str]) -> Any:
    """value with characters in object keys replaced (e.g. the full-width dot a
    MongoDB observer stores for '.')."""
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            if isinstance(key, str):
                for old, new in replacements.items():
                    if old in key:
                        key = key.replace(old, new)
            out[key] = decode_keys(sub, replacements)
        return out
    if isinstance(value, list):
        return [decode_keys(sub, replacements) for sub in value]
    return value


class _Unknown:
    pass


_UNKNOWN = _Unknown()


def _decode_tagged(value: dict) -> Any:
    try:
        if set(value) == {"py/tuple"} and isinstance(value["py/tuple"], list):
            return tuple(decode_value(v) for v in value["py/tuple"])
        name = value.get("py/object")
        if name == "numpy.ndarray":
            return _ndarray(value)
        if isinstance(name, str) and name.startswith("numpy.") and "value" in value:
            return _numpy_scalar(value)
        if name in ("datetime.datetime", "datetime.date"):
            return _datetime(value, name)
        if name in ("pandas.Series", "pandas.core.series.Series"):
            return _series(value)
        if name in ("pandas.DataFrame", "pandas.core.frame.DataFrame"):
            return _dataframe(value)
    except Exception:  # a damaged or unexpected form: shown as stored
        return _UNKNOWN
    return _UNKNOWN


def _dtype(value: dict) -> Any:
    import numpy as np

    dtype = np.dtype(str(value["dtype"]))
    if dtype.kind not in _NUMPY_KINDS and dtype.kind != "b":
        raise ValueError(f"dtype {dtype} is not a plain numpy type")
    byteorder = value.get("byteorder")
    if byteorder in ("<", ">", "="):
        dtype = dtype.newbyteorder(byteorder)
    return dtype


def _ndarray(value: dict) -> Any:
    import numpy as np

    dtype = _dtype(value)
    if "values" not in value and isinstance(value.get("base"), dict):
        # A view of another array: numpy checks that shape, strides and offset stay
        # inside the base's buffer.
        base = _ndarray(value["base"])
        shape = [int(n) for n in value["shape"]]
        strides = value.get("strides")
        return np.ndarray(
            shape,
            dtype=dtype,
            buffer=base.tobytes(),
            offset=int(value.get("offset") or 0),
            strides=None if strides is None else [int(n) for n in strides],
        ).copy()
    values = value["values"]
    if isinstance(values, dict) and "py/b64" in values:
        values = values["py/b64"]
    if isinstance(values, str):  # jsonpickle's binary form: base64 of zlib data
        shape = [int(n) for n in value["shape"]]
        size = dtype.itemsize
        for n in shape:
            size *= n
        if size > _MAX_ARRAY_BYTES:
            raise ValueError("array too big")
        raw = base64.b64decode(values)
        try:
            raw = zlib.decompressobj().decompress(raw, size + 1)
        except zlib.error:
            pass  # stored without compression
        return np.frombuffer(raw[:size], dtype=dtype).reshape(shape).copy()
    array = np.array(decode_value(values), dtype=dtype)
    if "shape" in value:
        array = array.reshape([int(n) for n in value["shape"]])
    return array


def _numpy_scalar(value: dict) -> Any:
    dtype = _dtype(value)
    return dtype.type(value["value"])


def _datetime(value: dict, name: str) -> Any:
    reduce = value["__reduce__"]
    (state,) = reduce[1][:1]
    raw = base64.b64decode(state)
    # The bytes are the class's own pickle state, which its constructor validates.
    cls = datetime.datetime if name == "datetime.datetime" else datetime.date
    # typeshed declares only the field-wise constructors, not the pickle-state one
    return cls(raw)  # type: ignore[call-arg, arg-type]


def _series(value: dict) -> Any:
    import pandas as pd

    values = decode_value(value["values"])
    index = _index(value.get("index"))
    return pd.Series(values, index=index, name=value.get("name"))


def _index(value: Any) -> Any:
    import pandas as pd

    if value is None:
        return None
    if isinstance(value, dict) and value.get("py/object") in ("pandas.Index", "pandas.RangeIndex"):
        values = value.get("values")
        if isinstance(values, str) and value.get("txt"):
            values = json.loads(values)
        return pd.Index(decode_value(values))
    raise ValueError("unknown index form")


def _dataframe(value: dict) -> Any:
    import pandas as pd

    if not value.get("txt") or not isinstance(value.get("values"), str):
        raise ValueError("unknown DataFrame form")
    columns = json.loads(value["values"])
    if not isinstance(columns, dict):
        raise ValueError("unknown DataFrame form")
    meta = value.get("meta") or {}
    frame = pd.DataFrame(columns)
    index = meta.get("index")
    if isinstance(index, str):
        frame.index = json.loads(index)
    return frame
