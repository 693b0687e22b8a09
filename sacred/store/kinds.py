"""The kind of a value in a query or a stored record: one rule for every backend.

A query compares values of one kind only, on every store (docs/store.md): ``1 ==
1.0``, but ``1`` is not ``true`` and not ``"1"``, and missing is null. The Python
evaluation (:mod:`sacred.store.query`), the SQL translation (``observers/sql``), the
Mongo translation (``observers/mongo/query.py``), the sort and the page cursors
(:mod:`sacred.store.paging`, ``observers/sql/pages.py``) all ask
:func:`value_kind`, so they cannot disagree on what a value is:

========== ==================================================================
``null``   None, or no value at all (:data:`MISSING`): the same in a query
``bool``   True, False (before numbers: in Python ``True == 1``, in a query not)
``number`` int, float
``string`` str
``time``   datetime, date (compared as times with an ISO string)
``list``   list, tuple
``object`` dict
``other``  anything else
========== ==================================================================

:data:`SORT_RANK` is the order of kinds in a sort, the same on every backend.
"""

from __future__ import annotations

import datetime
from typing import Any

__all__ = ["MISSING", "value_kind", "SORT_RANK"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: What a record holds at a path it does not have (sacred.store.query.get_path).
MISSING = _Missing()


def value_kind(value: Any) -> str:
    """The kind of a query literal or a stored value (see the module's table)."""
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (datetime.datetime, datetime.date)):
        return "time"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "other"


#: Numbers, then strings (times among them, as ISO strings), then booleans (false
#: first), then lists, objects and the rest; null and missing values go last in
#: either direction (they have no rank: the sort puts them after the others). Where
#: lists and objects sort is backend-specific (MongoDB sorts a list by an element).
SORT_RANK = {"number": 0, "string": 1, "time": 1, "bool": 2, "list": 3, "object": 3, "other": 3}
