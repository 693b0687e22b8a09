"""The query language translated to a MongoDB filter, for the MongoObserver's layout.

Same answers as the Python reference (:func:`sacred.store.query.evaluate`):

- missing and null are one thing (``{f: null}`` matches both); ``!=`` needs a value
  (``$nin: [v, null]``); ordering comparisons exclude lists
  (``$not: {$type: "array"}``);
- ``status`` is the effective status: RUNNING with a heartbeat (or, without one, a
  start) older than ``dead_after`` reads PROBABLY_DEAD;
- ``artifacts`` are matched by name; times compare with ISO strings as times;
- ``=~`` becomes ``$regex`` only when the pattern means the same to PCRE (MongoDB)
  as to Python's ``re`` (see :mod:`sacred.store.regex`); mongomock evaluates
  regexes with Python's ``re`` and gets every pattern as it is.

Anything without a faithful translation (``experiment.sources`` and ``resources``,
pairs of name and file id; ``=~`` and ordering on ``status``; ``=~`` on a time; a
regex PCRE would read differently) raises :class:`Unsupported`, and the reader evaluates that query
in Python instead.
"""

from __future__ import annotations

import datetime
from typing import Any

from sacred.store.kinds import value_kind
from sacred.store.query import And, Exists, Node, Not, Or, as_time, booleans_ordered
from sacred.store.regex import RegexUnsupported, translate_regex

__all__ = ["MongoTranslator", "Unsupported"]

_TIME_FIELDS = {"start_time", "stop_time", "heartbeat", "queue_time"}
_ALL = {"_id": {"$exists": True}}
_NONE = {"_id": {"$exists": False}}


class Unsupported(Exception):
    """A query part without a faithful Mongo translation: evaluated in Python."""


class MongoTranslator:
    """AST -> a Mongo filter (``match``) and the effective status for sorting."""

    def __init__(self, dead_after: float, client: Any = None) -> None:
        from sacred._time import utc_now

        self.dead_after = dead_after
        #: RUNNING runs whose last sign of life is older than this are PROBABLY_DEAD.
        # (dead_after may be infinite: no run reads as dead, e.g. for a change token)
        self.dead_limit: datetime.datetime = (
            datetime.datetime.min
            if dead_after >= datetime.timedelta.max.total_seconds()
            else utc_now() - datetime.timedelta(seconds=dead_after)
        )
        # mongomock matches $regex with Python's re, the reference itself.
        self.python_regex = type(client).__module__.startswith("mongomock")

    def match(self, node: Node | None) -> dict:
        """The filter for node ({} matches every run)."""
        return {} if node is None else self._translate(node)

    # -- effective status --------------------------------------------------------------

    def _dead(self) -> dict:
        limit = self.dead_limit
        return {
            "status": "RUNNING",
            "$or": [
                {"heartbeat": {"$lt": limit}},
                {"heartbeat": None, "start_time": {"$lt": limit}},
            ],
        }

    def _status_eq(self, value: Any) -> dict:
        if value == "PROBABLY_DEAD":
            return self._dead()
        if value == "RUNNING":
            return {"$and": [{"status": "RUNNING"}, {"$nor": [self._dead()]}]}
        return {"status": value}

    def effective_status(self) -> dict:
        """The effective status as an aggregation expression (for sorting)."""
        last = {"$ifNull": ["$heartbeat", "$start_time"]}
        dead = {
            "$and": [
                {"$eq": ["$status", "RUNNING"]},
                {"$ne": [last, None]},
                {"$lt": [last, self.dead_limit]},
            ]
        }
        return {"$cond": [dead, "PROBABLY_DEAD", "$status"]}

    # -- the AST -----------------------------------------------------------------------

    def _translate(self, node: Node) -> dict:
        if isinstance(node, And):
            return {"$and": [self._translate(n) for n in node.items]}
        if isinstance(node, Or):
            return {"$or": [self._translate(n) for n in node.items]}
        if isinstance(node, Not):
            return {"$nor": [self._translate(node.item)]}
        path = node.path
        if path[0] == "metrics":  # summaries of the metrics collection's points
            raise Unsupported("metric summaries")
        if path[0] in ("resources",) or path[:2] == ("experiment", "sources"):
            raise Unsupported("pairs of name and file id")
        if path[0] == "artifacts":
            if len(path) > 1:
                raise Unsupported("inside artifacts")
            path = ("artifacts", "name")
        if path == ("queue_time",):  # stored in meta only, as the original does
            path = ("meta", "queue_time")
        field = ".".join(path)
        # A run's tags and artifacts are lists, never missing: `exists` always holds.
        listed = path[0] in ("tags", "artifacts")
        if isinstance(node, Exists):
            return _ALL if listed else {"$nor": [_absent(field)]}
        op, value = node.op, node.value
        if node.path == ("status",):
            if op == "==":
                return self._status_eq(value)
            if op == "!=":
                if value is None:
                    return {"status": {"$ne": None}}
                return {"$nor": [self._status_eq(value), {"status": None}]}
            if op == "in":
                return {"$or": [self._status_eq(v) for v in value] or [_NONE]}
            raise Unsupported("status " + op)
        if (path[0] in _TIME_FIELDS and len(path) == 1) or path == ("meta", "queue_time"):
            value = _time_literal(op, value)
        if op == "==":
            if value is None:
                return _NONE if listed else _null_like(field)
            return _equal(field, value)
        if op == "!=":
            if value is None:
                return _ALL if listed else {"$nor": [_null_like(field)]}
            if listed:
                return {"$nor": [_equal(field, value)]}
            return {"$nor": [_equal(field, value), _absent(field)]}
        if op == "in":
            values = [v for v in value if v is not None]
            plain = [v for v in values if not _ambiguous(v)]
            parts = [{field: {"$in": plain}}] if plain else []
            parts += [_equal(field, v) for v in values if _ambiguous(v)]
            if None in value and not listed:
                parts.append(_null_like(field))
            return {"$or": parts} if parts else _NONE
        if op == "=~":
            return {field: {"$regex": self._regex(value)}}
        if isinstance(value, bool):
            matched = booleans_ordered(op, value)
            if not matched or listed:
                return _NONE
            return {field: {"$in": list(matched), "$type": "bool", "$not": {"$type": "array"}}}
        if value is None or path[0] == "artifacts":  # a list: never ordered
            return _NONE
        mongo_op = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}[op]
        # Ordering never matches a list, nor a value of another kind (mongomock
        # would order True against 1 like Python does).
        return {field: {mongo_op: value, "$type": _bson_type(value), "$not": {"$type": "array"}}}

    def _regex(self, pattern: str) -> str:
        if self.python_regex:
            return pattern
        try:
            return translate_regex(pattern, "pcre")
        except RegexUnsupported as exc:
            raise Unsupported(str(exc)) from None


def _absent(field: str) -> dict:
    """Missing, or null itself (a list holding a null is present)."""
    scalar_null = {"$and": [{field: None}, {field: {"$not": {"$type": "array"}}}]}
    # $exists too: mongomock misses {field: null} for paths through a scalar.
    return {"$or": [{field: {"$exists": False}}, scalar_null]}


def _null_like(field: str) -> dict:
    """`field == null`: missing, null, or a list holding a null."""
    return {"$or": [{field: {"$exists": False}}, {field: None}]}


def _ambiguous(value: Any) -> bool:
    """Python (and so mongomock) finds True == 1 and False == 0.0; MongoDB does not."""
    return isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1))


def _equal(field: str, value: Any) -> dict:
    """field == value, for a value that is not null: the value itself or, when field
    holds a list, one of its elements."""
    if not _ambiguous(value):
        return {field: value}
    exact = {"$eq": value, "$type": _bson_type(value), "$not": {"$type": "array"}}
    scalar = {"$and": [{field: exact}, {field: {"$not": {"$type": "array"}}}]}
    return {"$or": [scalar, {field: {"$elemMatch": exact}}]}


#: The $type alias of each kind of literal (sacred.store.kinds) a query compares.
_BSON_TYPES = {"bool": "bool", "number": "number", "string": "string", "time": "date"}


def _bson_type(value: Any) -> str:
    bson = _BSON_TYPES.get(value_kind(value))
    if bson is None:
        raise Unsupported(f"a literal of type {type(value).__name__}")
    return bson


def _time_literal(op: str, value: Any) -> Any:
    if op == "=~":
        raise Unsupported("=~ on a time")
    if op == "in":
        return tuple(_time_literal("==", v) for v in value)
    if isinstance(value, str):
        time = as_time(value)
        if time is None:
            raise Unsupported("a time compared with a non-ISO string")
        return time
    return value
