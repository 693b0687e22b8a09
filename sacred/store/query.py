"""The query language of ``sacred.store``: small, safe, the same for every backend.

Grammar::

    query      := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" query ")" | path "exists" | path OP literal | path "in" list
                | "inputs" "contains" literal      runs that consumed that run
    OP         := "==" | "!=" | "<" | "<=" | ">" | ">=" | "=~"
    path       := NAME ("." NAME)*          e.g. config.optimizer.lr, experiment.name
    literal    := "string" | number | true | false | null
    list       := "[" [literal ("," literal)*] "]"

Strings are in double quotes (``\\"`` and ``\\\\`` escape); ``=~`` matches a regular
expression anywhere in the value (like re.search). Dates are compared as ISO
strings: ``start_time >= "2024-01-01"``. ``id`` (or ``_id``) is the run id.
Missing and null are the same thing: ``path exists`` is true when the field is
present and not null, ``path == null`` when it is missing or null, and every other
comparison with a missing or null field is false (``!=`` included: ``a != 1`` means
"a has a value and it is not 1"). Values compare only with values of the same kind
(numbers with numbers, strings with strings, booleans with booleans; ``1 == true`` is
false). When the stored value is a list, ``==``, ``=~`` and ``in`` match when any
element matches, one level deep (``tags == "paper"``); ``!=`` is their negation; ordering
comparisons never match lists. Stored times compare with ISO strings as times
(naive UTC; a literal with a zone is converted).

``status == "TIMEOUT"`` and ``status == "TIMED_OUT"`` (also ``!=`` and ``in``) are
one query: the original release stores the first, its documentation says the
second. Times compare with ISO strings only (``"2024"``, ``"2024-03"``,
``"2024-03-01T12:00"``); another string is a QueryError. Booleans order false < true.

Limits, the same for every backend (MAX_* below, docs/store.md "Limits"): 20,000
characters, 16 levels of parentheses and of and/or/not nesting, 256 conditions
(each value of an ``in`` list counts), integers within ±2**53, finite floats, no
lone surrogates. Any input ends in an AST or a QueryError with a position.

The parser produces a small AST (:class:`Compare`, :class:`Exists`, :class:`And`,
:class:`Or`, :class:`Not`); :func:`evaluate` is the reference semantics in Python,
and each backend may translate the AST to its database's query language.
"""

from __future__ import annotations

import datetime
import math
import operator
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sacred.exceptions import QueryError, did_you_mean
from sacred.store.kinds import MISSING, value_kind

__all__ = [
    "Compare",
    "Exists",
    "And",
    "Or",
    "Not",
    "Node",
    "parse_query",
    "evaluate",
    "compile_query",
    "get_path",
    "parse_sort",
    "MISSING",
    "FIELDS",
    "as_time",
    "query_paths",
    "booleans_ordered",
    "TIME_FIELDS",
    "MAX_DEPTH",
    "MAX_TERMS",
    "MAX_LENGTH",
    "MAX_INTEGER",
    "TIMEOUT_STATUSES",
]


@dataclass(frozen=True)
class Compare:
    path: tuple[str, ...]
    op: str  # == != < <= > >= =~ in
    value: Any


@dataclass(frozen=True)
class Exists:
    path: tuple[str, ...]


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


Node = Compare | Exists | And | Or | Not

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<op>==|!=|<=|>=|=~|<|>)
  | (?P<punct>[()\[\],])
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_0-9][A-Za-z0-9_\-]*)*)
    """,
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = {"and", "or", "not", "in", "exists", "true", "false", "null"}
_SURROGATE = re.compile("[\ud800-\udfff]")

#: The limits every query must respect, the same on every backend (docs/store.md,
#: "Limits"): deep or huge expressions overflow parsers and database expression
#: trees (SQLite stops at a depth of 1000), and numbers beyond what JSON readers,
#: 64-bit columns and BSON hold exactly would compare differently per backend.
MAX_LENGTH = 20_000  # characters in a query
MAX_DEPTH = 16  # levels of parentheses, and of and/or/not nesting in the parsed query
MAX_TERMS = 256  # conditions, counting each value of an `in` list
MAX_INTEGER = 2**53  # integers are exact within ±2**53 (float64, JSON, JavaScript)

#: The two spellings of a TimeoutInterrupt's status: the original release stores
#: TIMEOUT, its documentation says TIMED_OUT in places. Queries treat them as one.
TIMEOUT_STATUSES = ("TIMEOUT", "TIMED_OUT")


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise QueryError(
            f"The query is {len(text):,} characters long; at most {MAX_LENGTH:,} are "
            "accepted: split it into several queries",
            text[:80] + "…",
            0,
        )
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        raise QueryError(
            f"Invalid character {surrogate.group()!r} (a lone UTF-16 surrogate, which no "
            "store can hold); remove it",
            text,
            surrogate.start(),
        )
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == '"':
                raise QueryError("Unterminated string", text, pos)
            raise QueryError(f"Unexpected character {text[pos]!r}", text, pos)
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        if kind != "ws":
            value = match.group()
            if kind == "name" and value in _KEYWORDS:
                kind = value
            tokens.append(_Token(kind, value, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent over the tokens. Recursion is bounded: parentheses nest at
    most MAX_DEPTH levels and chains of `not` are read in a loop."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.parens = 0  # open parentheses around the current token
        self.terms = 0
        self.depth: dict[int, int] = {}  # id(node) -> and/or/not levels below it

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, kind: str, what: str) -> _Token:
        token = self.peek()
        if token.kind != kind:
            found = "the end of the query" if token.kind == "end" else repr(token.text)
            raise QueryError(f"Expected {what}, found {found}", self.text, token.pos)
        return self.next()

    def parse(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token.kind != "end":
            raise QueryError(
                f"Unexpected {token.text!r}; combine conditions with 'and' or 'or'",
                self.text,
                token.pos,
            )
        return node

    def combine(self, node: Node, children: list[Node], token: _Token) -> Node:
        """node, after checking how deep it nests (token: where to point)."""
        depth = 1 + max(self.depth.get(id(child), 0) for child in children)
        if depth > MAX_DEPTH:
            raise QueryError(
                f"The query nests 'and', 'or' and 'not' more than {MAX_DEPTH} levels "
                "deep; write it flatter",
                self.text,
                token.pos,
            )
        self.depth[id(node)] = depth
        return node

    def or_expr(self) -> Node:
        first = self.peek()
        items = [self.and_expr()]
        while self.peek().kind == "or":
            self.next()
            items.append(self.and_expr())
        if len(items) == 1:
            return items[0]
        return self.combine(Or(tuple(items)), items, first)

    def and_expr(self) -> Node:
        first = self.peek()
        items = [self.not_expr()]
        while self.peek().kind == "and":
            self.next()
            items.append(self.not_expr())
        if len(items) == 1:
            return items[0]
        return self.combine(And(tuple(items)), items, first)

    def not_expr(self) -> Node:
        # `not not x` is x: a chain of any length is one `not` or none.
        first = self.peek()
        negations = 0
        while self.peek().kind == "not":
            self.next()
            negations += 1
        node = self.primary()
        if negations % 2:
            return self.combine(Not(node), [node], first)
        return node

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            if self.parens >= MAX_DEPTH:
                raise QueryError(
                    f"More than {MAX_DEPTH} levels of parentheses; write the query flatter",
                    self.text,
                    token.pos,
                )
            self.next()
            self.parens += 1
            node = self.or_expr()
            closing = self.peek()
            if not (closing.kind == "punct" and closing.text == ")"):
                raise QueryError("Expected ')'", self.text, closing.pos)
            self.next()
            self.parens -= 1
            return node
        if token.kind != "name":
            found = "the end of the query" if token.kind == "end" else repr(token.text)
            raise QueryError(
                f"Expected a field path like config.lr or status, found {found}",
                self.text,
                token.pos,
            )
        self.next()
        if token.text == INPUTS_FIELD:
            return self.inputs_contains(token)
        self.check_field(token.text.split(".")[0], token.pos)
        path = _canonical_path(token.text)
        if isinstance(path, str):
            raise QueryError(path, self.text, token.pos)
        op = self.peek()
        if op.kind == "exists":
            self.next()
            self.count_terms(1, token)
            return Exists(path)
        if op.kind == "in":
            self.next()
            start = self.peek()
            values = self.list_literal()
            for value in values:
                self.check_time(path, value, start)
            self.count_terms(max(1, len(values)), token)
            return self.status_alias(Compare(path, "in", values), token)
        if op.kind != "op":
            found = "the end of the query" if op.kind == "end" else repr(op.text)
            raise QueryError(
                f"Expected a comparison (== != < <= > >= =~ in exists) after "
                f"{token.text!r}, found {found}",
                self.text,
                op.pos,
            )
        self.next()
        value_token = self.peek()
        value = self.literal()
        if op.text != "=~":
            self.check_time(path, value, value_token)
        if op.text == "=~":
            if not isinstance(value, str):
                raise QueryError(
                    "=~ needs a regular expression in double quotes", self.text, op.pos
                )
            try:
                with warnings.catch_warnings():  # "possible nested set": still valid
                    warnings.simplefilter("ignore", FutureWarning)
                    re.compile(value)
            except (re.error, RecursionError, OverflowError) as exc:
                reason = exc if isinstance(exc, re.error) else "too complex"
                raise QueryError(
                    f"Invalid regular expression: {reason}", self.text, op.pos
                ) from None
            from sacred.store.saferegex import check_pattern

            try:  # a pattern that could backtrack for minutes is refused
                check_pattern(value)
            except QueryError as exc:
                message = str(exc).split("\n")[0]
                raise QueryError(message, self.text, op.pos) from None
        self.count_terms(1, token)
        return self.status_alias(Compare(path, op.text, value), token)

    def inputs_contains(self, token: _Token) -> Node:
        """``inputs contains 12``: runs that consumed run 12 (``use_run``), i.e. whose
        ``meta.input_runs`` list holds 12 (sacred/store/lineage.py)."""
        word = self.peek()
        if not (word.kind == "name" and word.text == "contains"):
            raise QueryError(
                "inputs is only used as 'inputs contains RUN_ID' (runs that consumed that run)",
                self.text,
                word.pos,
            )
        self.next()
        value_token = self.peek()
        value = self.literal()
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            raise QueryError("inputs contains needs a run id", self.text, value_token.pos)
        self.count_terms(1, token)
        return Compare(("meta", "input_runs"), "==", value)

    def status_alias(self, node: Compare, token: _Token) -> Node:
        """status == "TIMEOUT" also matches "TIMED_OUT" (and the other way round); so
        do != and in. Ordering and =~ compare the stored text."""
        if node.path != ("status",) or node.op not in ("==", "!=", "in"):
            return node
        values = node.value if node.op == "in" else (node.value,)
        if not any(isinstance(value, str) and value in TIMEOUT_STATUSES for value in values):
            return node
        if node.op == "in":
            extra = tuple(status for status in TIMEOUT_STATUSES if status not in values)
            return Compare(node.path, "in", values + extra)
        both: list[Node] = [Compare(node.path, node.op, status) for status in TIMEOUT_STATUSES]
        combined = Or(tuple(both)) if node.op == "==" else And(tuple(both))
        return self.combine(combined, both, token)

    def check_time(self, path: tuple[str, ...], value: Any, token: _Token) -> None:
        """A time compares with ISO date/time strings; any other string is a mistake."""
        if path[0] in TIME_FIELDS and len(path) == 1 and isinstance(value, str):
            if as_time(value) is None:
                raise QueryError(
                    f"{path[0]} is a time: {_shorten(repr(value))} is not an ISO date or "
                    'time in range; write e.g. "2024-03", "2024-03-01" or '
                    '"2024-03-01T12:00:00+01:00"',
                    self.text,
                    token.pos,
                )

    def count_terms(self, count: int, token: _Token) -> None:
        self.terms += count
        if self.terms > MAX_TERMS:
            raise QueryError(
                f"The query has more than {MAX_TERMS} conditions (each value of an 'in' "
                "list counts); split it into several queries",
                self.text,
                token.pos,
            )

    def check_field(self, head: str, pos: int) -> None:
        if head == "captured_out":
            raise QueryError(
                "captured_out cannot be queried (it is not loaded for every run); "
                "read run.captured_out instead",
                self.text,
                pos,
            )
        if head not in FIELDS:
            raise QueryError(
                f"Unknown field {head!r}; a path starts with one of "
                f"{', '.join(sorted(FIELDS - {'_id'}))}.{did_you_mean(head, FIELDS)}",
                self.text,
                pos,
            )

    def literal(self) -> Any:
        token = self.next()
        if token.kind == "string":
            return _unescape(token.text[1:-1])
        if token.kind == "number":
            return self.number(token)
        if token.kind == "true":
            return True
        if token.kind == "false":
            return False
        if token.kind == "null":
            return None
        found = "the end of the query" if token.kind == "end" else repr(token.text)
        hint = " (strings need double quotes)" if token.kind == "name" else ""
        raise QueryError(f"Expected a value, found {found}{hint}", self.text, token.pos)

    def number(self, token: _Token) -> int | float:
        text = token.text
        if not any(c in text for c in ".eE"):
            # Check the length first: int() of thousands of digits is refused anyway.
            digits = text.lstrip("-").lstrip("0")
            if len(digits) <= len(str(MAX_INTEGER)) and abs(int(text)) <= MAX_INTEGER:
                return int(text)
            raise QueryError(
                f"The integer {_shorten(text)} is out of range: integers are exact within "
                f"±{MAX_INTEGER:,} (2**53) on every store; write a float such as "
                f"{_as_float_hint(text)} for a larger bound",
                self.text,
                token.pos,
            )
        value = float(text)
        if math.isinf(value):
            raise QueryError(
                f"The number {_shorten(text)} is out of range: numbers are 64-bit floats "
                "(at most about 1.8e308)",
                self.text,
                token.pos,
            )
        return value

    def list_literal(self) -> tuple:
        self.expect_punct("[")
        values = []
        if self.peek().kind == "punct" and self.peek().text == "]":
            self.next()
            return ()
        while True:
            values.append(self.literal())
            token = self.next()
            if token.kind == "punct" and token.text == "]":
                return tuple(values)
            if not (token.kind == "punct" and token.text == ","):
                raise QueryError("Expected ',' or ']' in the list", self.text, token.pos)

    def expect_punct(self, char: str) -> None:
        token = self.peek()
        if not (token.kind == "punct" and token.text == char):
            raise QueryError(f"Expected '{char}'", self.text, token.pos)
        self.next()


def _shorten(text: str) -> str:
    return text if len(text) <= 30 else f"{text[:12]}…{text[-6:]} ({len(text)} characters)"


def _as_float_hint(text: str) -> str:
    """A power of ten beyond the integer: 1e23 for a 23-digit number."""
    digits = text.lstrip("-").lstrip("0")
    return f"{'-' if text.startswith('-') else ''}1e{len(digits)}"


#: The top-level fields of a stored record (the Mongo run document's shape).
RECORD_FIELDS = (
    "_id",
    "experiment",
    "command",
    "host",
    "start_time",
    "stop_time",
    "heartbeat",
    "queue_time",
    "config",
    "meta",
    "status",
    "result",
    "info",
    "captured_out",
    "fail_trace",
    "resources",
    "artifacts",
    "tags",
    "note",
)

#: ``inputs contains ID``: the runs that consumed run ID (not a record field).
INPUTS_FIELD = "inputs"

#: The top-level fields that hold times (compared with ISO strings as times).
TIME_FIELDS = frozenset({"start_time", "stop_time", "heartbeat", "queue_time"})

#: The fields a query or sort key may start with: every record field but the captured
#: output (not loaded for every run), ``id`` for ``_id``, and ``metrics`` for the
#: summaries of a run's metrics (``metrics.loss.min``: sacred.store.metric_summary).
FIELDS = frozenset(RECORD_FIELDS) - {"captured_out"} | {"id", "metrics"}


#: The statistics of a metric summary a query or sort key may name
#: (``metrics.<name>.<stat>``; what they are: sacred.store.metric_summary).
STATS = ("last", "min", "max")


def metric_path(path: tuple[str, ...]) -> tuple[str, str, str] | str:
    """``("metrics", *name parts, stat)`` as ``("metrics", name, stat)``; a string
    saying what is wrong when path names no summary."""
    if len(path) < 3 or path[-1] not in STATS:
        example = ".".join(path[1:]) or "loss"
        return (
            f"{'.'.join(path)} names no metric summary: write metrics.<name>.last, "
            f".min or .max (e.g. metrics.{example}.min)"
        )
    return ("metrics", ".".join(path[1:-1]), path[-1])


def _canonical_path(text: str) -> tuple[str, ...] | str:
    """'id' and '_id' both mean the run id, stored as '_id' (the Mongo document's key);
    ``metrics.train.loss.min`` is ("metrics", "train.loss", "min"). A string says
    what is wrong with a metrics path."""
    path = tuple(text.split("."))
    if path[0] in ("id", "_id"):
        return ("_id",) + path[1:]
    if path[0] == "metrics":
        return metric_path(path)
    return path


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), text, flags=re.DOTALL)


def parse_query(text: str | None) -> Node | None:
    """Parse a query string; None or an empty string matches every run."""
    if text is None or not str(text).strip():
        return None
    return _Parser(str(text)).parse()


def get_path(record: dict, path: tuple[str, ...]) -> Any:
    """The value at path in a record, or MISSING."""
    current: Any = record
    for part in path:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


_YEAR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")


def as_time(value: Any) -> datetime.datetime | None:
    """A datetime or an ISO date/time string as a naive UTC datetime, else None.

    Stored times are naive UTC; a literal with a time zone is converted to UTC."""
    if isinstance(value, str):
        text = value.strip()
        month = _YEAR_MONTH.fullmatch(text)  # "2024" or "2024-03": its first instant
        if month is not None:
            year, number = int(month.group(1)), int(month.group(2) or 1)
            return datetime.datetime(year, number, 1) if year and 1 <= number <= 12 else None
        try:
            value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            try:
                value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            except OverflowError:  # "0001-01-01T00:00+01:00" is before year 1 in UTC
                return None
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day)
    return None


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    if isinstance(a, (datetime.datetime, datetime.date)):
        other = as_time(b)
        if other is not None:  # a stored time against an ISO literal: compare times
            return as_time(a), other
        a = a.isoformat()
    kind = value_kind(a)  # values of two kinds never compare (sacred.store.kinds)
    return (a, b) if kind in _ORDERED and value_kind(b) == kind else None


_ORDERED = ("bool", "number", "string")


def booleans_ordered(op: str, literal: bool) -> tuple[bool, ...]:
    """The stored booleans b for which `b op literal` holds (false < true), for
    backends that translate ordering comparisons with a boolean."""
    order = _ORDER[op]
    return tuple(b for b in (False, True) if order(b, literal))


def _scalar_equal(value: Any, literal: Any) -> bool:
    """value (not a list: a list inside a list is just unequal) == literal."""
    if value is None or value is MISSING:
        return literal is None
    if literal is None or isinstance(value, list):
        return False
    pair = _comparable(value, literal)
    return pair is not None and pair[0] == pair[1]


def _search(value: Any, pattern: str) -> bool:
    if isinstance(value, (datetime.datetime, datetime.date)):
        value = value.isoformat()
    from sacred.store.saferegex import compile_search

    return isinstance(value, str) and compile_search(pattern)(value)


def _compare(value: Any, op: str, literal: Any) -> bool:
    if value is MISSING or value is None:  # missing and null are the same thing
        if op == "==":
            return literal is None
        if op == "in":
            return any(item is None for item in literal)
        return False
    if op == "==":
        if isinstance(value, list):  # tags == "x": one level deep, like every database
            return any(_scalar_equal(v, literal) for v in value)
        return _scalar_equal(value, literal)
    if op == "!=":
        return not _compare(value, "==", literal)
    if op == "in":
        return any(_compare(value, "==", item) for item in literal)
    if op == "=~":
        if isinstance(value, list):
            return any(_search(v, literal) for v in value)
        return _search(value, literal)
    pair = _comparable(value, literal)
    if pair is None:
        return False
    a, b = pair
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def evaluate(node: Node | None, record: dict) -> bool:
    """Does record match the query? (The reference semantics for every backend.)"""
    if node is None:
        return True
    if isinstance(node, Compare):
        return _compare(get_path(record, node.path), node.op, node.value)
    if isinstance(node, Exists):  # present and not null, the same in every database
        return get_path(record, node.path) not in (MISSING, None)
    if isinstance(node, And):
        return all(evaluate(item, record) for item in node.items)
    if isinstance(node, Or):
        return any(evaluate(item, record) for item in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, record)
    raise TypeError(f"not a query node: {node!r}")


def _getter(path: tuple[str, ...]) -> Callable[[dict], Any]:
    if len(path) == 1:
        key = path[0]
        return lambda record: record.get(key, MISSING) if isinstance(record, dict) else MISSING
    if len(path) == 2 and not path[1].isdigit():
        first, second = path

        def two(record: dict) -> Any:
            inner = record.get(first, MISSING)
            return inner.get(second, MISSING) if isinstance(inner, dict) else MISSING

        return two
    return lambda record: get_path(record, path)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def compile_query(node: Node | None) -> Callable[[dict], bool]:
    """The query as one function of a record, with exactly the semantics of
    :func:`evaluate` but several times faster over thousands of records (the file
    store evaluates every query in Python): the AST is walked once, and plain numbers
    and strings take a shortcut past the general comparison."""
    if node is None:
        return lambda record: True
    if isinstance(node, (And, Or)):
        parts = [compile_query(item) for item in node.items]
        if isinstance(node, And):

            def all_of(record: dict) -> bool:
                for part in parts:
                    if not part(record):
                        return False
                return True

            return all_of

        def any_of(record: dict) -> bool:
            for part in parts:
                if part(record):
                    return True
            return False

        return any_of
    if isinstance(node, Not):
        inner = compile_query(node.item)
        return lambda record: not inner(record)
    get = _getter(node.path)
    if isinstance(node, Exists):
        return lambda record: get(record) not in (MISSING, None)
    if not isinstance(node, Compare):
        raise TypeError(f"not a query node: {node!r}")
    op, literal = node.op, node.value
    if op in _ORDER and type(literal) in (int, float):
        order = _ORDER[op]

        def compare_number(record: dict) -> bool:
            value = get(record)
            if type(value) in (int, float):
                return order(value, literal)
            return _compare(value, op, literal)

        return compare_number
    if op in ("==", "!=") and type(literal) is str:
        equal = op == "=="

        def compare_string(record: dict) -> bool:
            value = get(record)
            if type(value) is str:
                return (value == literal) is equal
            return _compare(value, op, literal)

        return compare_string
    return lambda record: _compare(get(record), op, literal)


def query_paths(node: Node | None) -> list[tuple[str, ...]]:
    """Every field path a query mentions."""
    if node is None:
        return []
    if isinstance(node, (Compare, Exists)):
        return [node.path]
    if isinstance(node, Not):
        return query_paths(node.item)
    return [path for item in node.items for path in query_paths(item)]


def parse_sort(sort: str | list[str] | tuple | None) -> list[tuple[tuple[str, ...], bool]]:
    """'-result' or ['config.lr', '-result'] -> [(path, descending), ...]."""
    if sort is None:
        return []
    keys = [sort] if isinstance(sort, str) else list(sort)
    out = []
    for key in keys:
        for part in str(key).split(","):
            part = part.strip()
            if not part:
                continue
            descending = part.startswith("-")
            name = part.lstrip("+-")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*", name):
                raise QueryError(
                    f"Invalid sort key {part!r}: use a field path like -result", part, 0
                )
            head = name.split(".")[0]
            if head not in FIELDS:
                raise QueryError(
                    f"Unknown sort key {part!r}; a key starts with one of "
                    f"{', '.join(sorted(FIELDS - {'_id'}))}.{did_you_mean(head, FIELDS)}",
                    part,
                    0,
                )
            path = _canonical_path(name)
            if isinstance(path, str):
                raise QueryError(f"Invalid sort key {part!r}: {path}", part, 0)
            out.append((path, descending))
    return out
