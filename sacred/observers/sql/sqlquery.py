"""The query language translated to SQL for the SqlObserver's schema.

Why a translator: filters and sorting must run in the database (SQLite, PostgreSQL,
MariaDB/MySQL), not by loading every run into Python, and they must give exactly
the answers of the Python reference (:func:`sacred.store.query.evaluate`).

Paths map to plain columns (``status``, ``command``, times, ``note``,
``experiment.name``, ``host.hostname``, ``metrics.<name>.<stat>`` from the
``metric_summaries`` rows, ...) or into JSON columns (``config.*``,
``info.*``, ``meta.*``, ``result``, ``tags``, ``fail_trace``, ``host.os``,
``experiment.repositories``; other ``host.*`` keys live in ``hosts.info``).
A JSON value is read with the dialect's functions and typed, so that numbers compare
with numbers and strings with strings like in Python:

=========== ============================ ====================================
dialect     type of the value            element of a list (``tags == "x"``)
=========== ============================ ====================================
SQLite      json_type / json_extract     json_each
PostgreSQL  jsonb_typeof, ``#>``/``#>>`` jsonb_array_elements
MariaDB     JSON_TYPE / JSON_EXTRACT     JSON_TABLE
=========== ============================ ====================================

Regular expressions: SQLite uses the REGEXP function SQLAlchemy registers (Python's
re), PostgreSQL ``~``, MariaDB ``REGEXP`` with ``(?-i)`` so it is case-sensitive
like everywhere else. ``status`` is the effective status (a RUNNING run with an old
heartbeat reads PROBABLY_DEAD), computed in SQL.

Anything without a translation (``experiment.sources``, ``resources``, ``=~`` on a
time, a regex that PostgreSQL or MariaDB would read differently, NUL characters on
PostgreSQL) raises :class:`Unsupported`; the reader then falls back to
the Python reference for that query.
"""

from __future__ import annotations

import datetime
import itertools
import math
from typing import Any

from sacred.store.kinds import value_kind
from sacred.store.query import And, Compare, Exists, Node, Not, Or, as_time, booleans_ordered
from sacred.store.regex import RegexUnsupported, translate_regex

__all__ = ["Unsupported", "SqlTranslator", "json_path_text"]


class Unsupported(Exception):
    """A query part that cannot be translated: evaluated in Python instead."""


# Plain columns of the runs table, by the kind of value they hold.
_RUN_COLUMNS = {
    "status": "string",
    "command": "string",
    "note": "string",
    "start_time": "time",
    "stop_time": "time",
    "heartbeat": "time",
    "queue_time": "time",
}
_RUN_JSON = {"config", "info", "meta", "result", "fail_trace", "tags"}
_EXPERIMENT_COLUMNS = {"name", "doc", "base_dir", "mainfile"}
_HOST_COLUMNS = {"hostname", "cpu", "python_version"}
_HOST_JSON = {"os": "os", "gpu": "gpu", "ENV": "env"}
_MYSQL_NUMBER_TYPES = ("INTEGER", "DOUBLE", "DECIMAL", "UNSIGNED INTEGER")
_aliases = itertools.count()


class _JsonValue:
    """A value inside a JSON column (or an element of a JSON list), typed per dialect."""

    def __init__(
        self, sa: Any, dialect: str, jtype: Any, text: Any, number: Any, node: Any = None
    ) -> None:
        self.sa, self.dialect = sa, dialect
        self.jtype, self.text, self.number = jtype, text, number
        self.node = node  # PostgreSQL: the jsonb value itself

    def is_(self, kind: str) -> Any:
        sa, d, jtype = self.sa, self.dialect, self.jtype
        if d == "sqlite":
            names = {
                "string": ["text"],
                "number": ["integer", "real"],
                "true": ["true"],
                "false": ["false"],
                "null": ["null"],
                "array": ["array"],
            }[kind]
            return jtype.in_(names) if len(names) > 1 else jtype == names[0]
        if d == "postgresql":
            if kind in ("true", "false"):
                return sa.and_(jtype == "boolean", self.text == kind)
            return jtype == kind
        if kind == "number":
            return jtype.in_(_MYSQL_NUMBER_TYPES)
        if kind in ("true", "false"):
            return sa.and_(jtype == "BOOLEAN", self.text == kind)
        return jtype == {"string": "STRING", "null": "NULL", "array": "ARRAY"}[kind]

    def absent(self) -> Any:
        return self.jtype.is_(None)

    def rank(self) -> Any:
        """0 numbers, 1 strings, 2 booleans, 3 lists and objects, 4 null or missing:
        the order of kinds when sorting, from one look at the type."""
        sa = self.sa
        names = {
            "sqlite": {"integer": 0, "real": 0, "text": 1, "true": 2, "false": 2, "null": 4},
            "postgresql": {"number": 0, "string": 1, "boolean": 2, "null": 4},
            "mysql": {
                **{name: 0 for name in _MYSQL_NUMBER_TYPES},
                "STRING": 1,
                "BOOLEAN": 2,
                "NULL": 4,
            },
        }[self.dialect]
        return sa.case((self.absent(), 4), else_=sa.case(names, value=self.jtype, else_=3))


class SqlTranslator:
    """AST -> SQLAlchemy expressions over the SqlObserver's tables."""

    def __init__(self, sa: Any, dialect: str, tables: dict, dead_after: float) -> None:
        self.sa = sa
        self.dialect = "mysql" if dialect in ("mysql", "mariadb") else dialect
        if self.dialect not in ("sqlite", "postgresql", "mysql"):
            raise Unsupported(dialect)
        self.t = tables
        self.dead_after = dead_after

    # -- effective status ------------------------------------------------------------

    def _dead(self) -> Any:
        """A RUNNING run whose last sign of life is older than dead_after."""
        from sacred._time import utc_now

        sa = self.sa
        runs = self.t["runs"]
        limit = utc_now() - datetime.timedelta(seconds=self.dead_after)
        last = sa.func.coalesce(runs.c.heartbeat, runs.c.start_time)
        return sa.and_(runs.c.status == "RUNNING", last < limit)

    def status(self) -> Any:
        """The status column, with old RUNNING runs reading PROBABLY_DEAD."""
        return self.sa.case((self._dead(), "PROBABLY_DEAD"), else_=self.t["runs"].c.status)

    def status_is(self, value: str) -> Any:
        """Effective status == value, written on the stored column so that its index
        answers it (pages.py reads a page sorted by status value by value)."""
        sa = self.sa
        stored = self.t["runs"].c.status
        if value == "PROBABLY_DEAD":
            return sa.or_(stored == value, self._dead())
        if value == "RUNNING":
            return sa.and_(stored == value, _not_true(sa, self._dead()))
        return stored == value

    # -- JSON access -----------------------------------------------------------------

    def _json_path_text(self, path: tuple[str, ...]) -> str:
        return json_path_text(path)

    def json_value(self, column: Any, path: tuple[str, ...]) -> _JsonValue:
        sa, d = self.sa, self.dialect
        if d == "postgresql":
            from sqlalchemy.dialects import postgresql

            array = sa.cast(list(path), postgresql.ARRAY(sa.Text))
            node = column.op("#>")(array) if path else column
            return self._pg_value(node)
        json_path = self._json_path_text(path)
        if d == "sqlite":
            # The path is written into the SQL, not bound: SQLite uses an index on an
            # expression only for the identical expression (see pages.py).
            literal = sqlite_literal(self.sa, json_path)
            value = sa.type_coerce(sa.func.json_extract(column, literal), sa.Text)
            number = sa.type_coerce(value, sa.Float)
            return _JsonValue(sa, d, sa.func.json_type(column, literal), value, number)
        extracted = sa.func.JSON_EXTRACT(column, json_path)
        return self._mysql_value(extracted)

    def _pg_value(self, node: Any) -> _JsonValue:
        sa = self.sa
        from sqlalchemy.dialects import postgresql

        jtype = sa.func.jsonb_typeof(node)
        text = node.op("#>>")(sa.cast([], postgresql.ARRAY(sa.Text)))
        text = sa.type_coerce(text, sa.Text)
        number = sa.case((jtype == "number", sa.cast(text, sa.Float)), else_=None)
        return _JsonValue(sa, "postgresql", jtype, text, number, node)

    def _mysql_value(self, extracted: Any) -> _JsonValue:
        sa = self.sa
        jtype = sa.func.JSON_TYPE(extracted)
        text = sa.type_coerce(sa.func.JSON_UNQUOTE(extracted), sa.Text)
        number = sa.case(
            (jtype.in_(_MYSQL_NUMBER_TYPES), sa.type_coerce(text, sa.Float) + 0.0), else_=None
        )
        return _JsonValue(sa, "mysql", jtype, text, number)

    def any_element(self, column: Any, path: tuple[str, ...], predicate: Any) -> Any:
        """EXISTS an element of the JSON list at path for which predicate(element)."""
        sa, d = self.sa, self.dialect
        alias = f"sacred_e{next(_aliases)}"
        outer = self.json_value(column, path)
        if d == "sqlite":
            each = sa.func.json_each(column, self._json_path_text(path))
            elements = each.table_valued("type", "value").alias(alias)
            element = _JsonValue(sa, d, elements.c.type, elements.c.value, elements.c.value)
            inner = sa.select(sa.literal_column("1")).select_from(elements)
        elif d == "postgresql":
            from sqlalchemy.dialects import postgresql

            array = sa.cast(list(path), postgresql.ARRAY(sa.Text))
            node = column.op("#>")(array) if path else column
            source = sa.case(
                (outer.is_("array"), node), else_=sa.cast(sa.literal("[]"), postgresql.JSONB)
            )
            elements = sa.func.jsonb_array_elements(source).table_valued("value").alias(alias)
            element = self._pg_value(elements.c.value)
            inner = sa.select(sa.literal_column("1")).select_from(elements)
        else:
            table = f"{column.table.name}.{column.name}"
            json_path = self._json_path_text(path).replace("'", "''")
            source = sa.text(
                f"JSON_TABLE(JSON_EXTRACT({table}, '{json_path}'), '$[*]' "
                f"COLUMNS (v JSON PATH '$')) AS {alias}"
            )
            element = self._mysql_value(sa.literal_column(f"{alias}.v"))
            inner = sa.select(sa.literal_column("1")).select_from(source)
        return sa.and_(outer.is_("array"), sa.exists(inner.where(predicate(element))))

    # -- comparisons -----------------------------------------------------------------

    def _regex(self, text: Any, pattern: str) -> Any:
        # SQLite's REGEXP is Python's re.search itself; PostgreSQL and MariaDB get
        # the pattern rewritten to mean the same, or the query runs in Python.
        try:
            if self.dialect == "postgresql":
                pattern = translate_regex(pattern, "postgresql")
            elif self.dialect == "mysql":  # REGEXP follows the collation: force case
                pattern = "(?-i)" + translate_regex(pattern, "pcre")
        except RegexUnsupported as exc:
            raise Unsupported(str(exc)) from None
        if self.dialect == "sqlite":
            # SQLite need not skip REGEXP when the type test before it fails, and
            # Python's re.search refuses numbers: give it text.
            text = self.sa.cast(text, self.sa.Text)
        return text.regexp_match(pattern)

    def _text(self, text: Any) -> Any:
        """A string compared like Python compares strings: code point by code point,
        trailing spaces and case significant (the database's collation may ignore
        case, pad with spaces or order by language)."""
        if self.dialect == "postgresql":
            return text.collate("C")
        if self.dialect == "mysql":
            from sqlalchemy.dialects import mysql

            # utf8mb4 bytes order like code points, and BINARY never pads.
            return self.sa.cast(text, mysql.BINARY())
        return text

    def _compare_text(self, text: Any, op: str, literal: str) -> Any:
        if self.dialect == "mysql":
            return _binary(self._text(text), op, self._text(self.sa.literal(literal)))
        return _binary(self._text(text), op, literal)

    def _check_literal(self, literal: Any) -> None:
        """PostgreSQL text cannot hold NUL: its driver refuses such a parameter. No
        stored string has one there, but the answer is Python's to give (a != on a
        NUL string is true for every stored string)."""
        if self.dialect != "postgresql":
            return
        values = literal if isinstance(literal, tuple) else (literal,)
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise Unsupported("NUL in a string on PostgreSQL")

    def _scalar(self, value: _JsonValue, op: str, literal: Any) -> Any:
        """The JSON value (not a list) compares true with literal."""
        sa = self.sa
        kind = value_kind(literal)
        if op == "==" and kind == "null":
            return sa.or_(value.absent(), value.is_("null"))
        if op == "=~":
            return sa.and_(value.is_("string"), self._regex(value.text, literal))
        if kind == "bool":
            if op == "==":
                return value.is_("true" if literal else "false")
            matched = [value.is_("true" if b else "false") for b in booleans_ordered(op, literal)]
            return sa.or_(*matched) if matched else sa.false()
        if kind not in ("number", "string"):  # null, or nothing a query can write
            return sa.false()
        if kind == "number":
            return sa.and_(
                value.is_(kind),
                self._number_compare(value, op, literal),
                *self._indexable_bound(value, op, literal),
            )
        return sa.and_(value.is_(kind), self._compare_text(value.text, op, literal))

    def _json_compare(self, column: Any, path: tuple[str, ...], op: str, literal: Any) -> Any:
        sa = self.sa
        value = self.json_value(column, path)
        if op == "in":
            parts = [self._json_compare(column, path, "==", item) for item in literal]
            return sa.or_(*parts) if parts else sa.false()
        if op == "!=":
            if literal is None:
                return self._present(value)
            equal = self._json_compare(column, path, "==", literal)
            return sa.and_(self._present(value), _not_true(sa, equal))
        scalar = self._scalar(value, op, literal)
        if op in ("==", "=~"):  # a list matches when one of its elements does
            elementwise = self.any_element(
                column, path, lambda element: self._scalar(element, op, literal)
            )
            return sa.or_(scalar, elementwise)
        return scalar

    def _number_compare(self, value: _JsonValue, op: str, literal: Any) -> Any:
        """A JSON number against a number, as Python compares the value the reader
        returns: an integer exactly (PostgreSQL prints 1e300 as 301 digits, which
        Python reads as an int; MariaDB keeps 64-bit integers), a float as a float."""
        sa = self.sa
        if self.dialect == "sqlite":  # compares integers with reals exactly itself
            return _binary(value.number, op, literal)
        # Python's json reads a number without '.', 'e' or 'E' as an int (MariaDB's
        # JSON_TYPE says INTEGER for 1e+300 too).
        is_integer = sa.not_(value.text.regexp_match("[.eE]"))
        if self.dialect == "postgresql":
            integer = sa.cast(value.text, sa.Numeric)
        else:
            from sqlalchemy.dialects import mysql

            integer = sa.cast(value.text, mysql.DECIMAL(65, 0))
        as_float = _binary(value.number, op, literal)
        return sa.case((is_integer, _integer_compare(sa, integer, op, literal)), else_=as_float)

    def _indexable_bound(self, value: _JsonValue, op: str, literal: Any) -> list:
        """On PostgreSQL, the range a number compared with a whole-number literal lies
        in, said on the jsonb value itself (jsonb orders numbers exactly): implied by
        the comparison, and what an index on the value's path (Labwatch's trial
        numbers: sacred.observers.sql.claim.index_trial_numbers) can find. Only for
        whole numbers a double holds exactly: rounding a stored number to a double
        then never moves it across the literal."""
        if (
            self.dialect != "postgresql"
            or value.node is None
            or op not in ("<", "<=", ">", ">=")
            or not isinstance(literal, int)
            or abs(literal) >= 2**53
        ):
            return []
        from sqlalchemy.dialects import postgresql

        bound = self.sa.cast(self.sa.literal(str(literal)), postgresql.JSONB)
        return [_binary(value.node, op, bound)]

    def _present(self, value: _JsonValue) -> Any:
        sa = self.sa
        return sa.and_(sa.not_(value.absent()), sa.not_(value.is_("null")))

    def _column_compare(self, column: Any, kind: str, op: str, literal: Any) -> Any:
        """A plain column (NULL = missing) of kind string/number/time."""
        sa = self.sa
        if op == "in":
            parts = [self._column_compare(column, kind, "==", item) for item in literal]
            return sa.or_(*parts) if parts else sa.false()
        if literal is None:
            if op == "==":
                return column.is_(None)
            return column.is_not(None) if op == "!=" else sa.false()
        if op == "=~":
            if kind == "time":
                raise Unsupported("=~ on a time")
            return self._regex(column, literal) if kind == "string" else sa.false()
        if kind == "time":
            time = as_time(literal) if isinstance(literal, str) else None
            if isinstance(literal, str) and time is None:
                raise Unsupported("a time compared with a non-ISO string")
            literal = time
        elif value_kind(literal) != kind:
            literal = None
        if literal is None:  # values of another kind never compare equal or ordered
            return column.is_not(None) if op == "!=" else sa.false()
        if kind == "string":
            compare = self._compare_text(column, op, literal)
        else:
            compare = _binary(column, op, literal)
        if op == "!=":
            return sa.and_(column.is_not(None), compare)
        return compare  # NULL (missing) compares as false

    def _id_compare(self, op: str, literal: Any) -> Any:
        """The run id: runs.id, or runs.run_uid when a string id was given."""
        sa = self.sa
        runs = self.t["runs"]
        if op == "in":
            parts = [self._id_compare("==", item) for item in literal]
            return sa.or_(*parts) if parts else sa.false()
        if literal is None:
            return sa.true() if op == "!=" else sa.false()
        if op == "=~":
            return sa.and_(runs.c.run_uid.is_not(None), self._regex(runs.c.run_uid, literal))
        kind = value_kind(literal)
        if kind == "string":
            as_uid = sa.and_(
                runs.c.run_uid.is_not(None), self._compare_text(runs.c.run_uid, op, literal)
            )
            return sa.or_(as_uid, runs.c.run_uid.is_(None)) if op == "!=" else as_uid
        if kind == "number":
            # Typed, or PostgreSQL casts the literal to the column's 32-bit integer.
            bound = sa.literal(literal, sa.Float if isinstance(literal, float) else sa.BigInteger)
            as_int = sa.and_(runs.c.run_uid.is_(None), _binary(runs.c.id, op, bound))
            return sa.or_(as_int, runs.c.run_uid.is_not(None)) if op == "!=" else as_int
        return sa.true() if op == "!=" else sa.false()

    # -- paths -----------------------------------------------------------------------

    def target(self, path: tuple[str, ...]) -> tuple[str, Any, Any]:
        """('id', None, None) | ('column', column, kind) | ('json', column, inner path)
        | ('missing', None, None)."""
        runs, experiments, hosts = self.t["runs"], self.t["experiments"], self.t["hosts"]
        head, rest = path[0], path[1:]
        if head == "_id":
            return ("id", None, None) if not rest else ("missing", None, None)
        if head in _RUN_COLUMNS:
            if rest:
                return "missing", None, None
            column = self.status() if head == "status" else runs.c[head]
            return "column", column, _RUN_COLUMNS[head]
        if head in _RUN_JSON:
            return "json", runs.c[head], rest
        if head == "experiment" and rest:
            if rest[0] in _EXPERIMENT_COLUMNS:
                if len(rest) > 1:
                    return "missing", None, None
                return "column", experiments.c[rest[0]], "string"
            if rest[0] == "repositories":
                return "json", experiments.c.repositories, rest[1:]
        if head == "metrics" and len(rest) == 2:  # ("metrics", name, stat)
            # Aliased: a page sorted by a metric joins the table itself (pages.py).
            summaries = self.t["metric_summaries"].alias(f"sacred_m{next(_aliases)}")
            value = (
                self.sa.select(summaries.c[f"{rest[1]}_value"])
                .where(summaries.c.run_id == runs.c.id, summaries.c.name == rest[0])
                .scalar_subquery()
            )
            return "column", value, "number"
        if head == "host" and rest:
            if rest[0] in _HOST_COLUMNS:
                if len(rest) > 1:
                    return "missing", None, None
                return "column", hosts.c[rest[0]], "string"
            if rest[0] in _HOST_JSON:
                return "json", hosts.c[_HOST_JSON[rest[0]]], rest[1:]
            return "json", hosts.c.info, rest
        raise Unsupported(".".join(path))

    # -- the AST ---------------------------------------------------------------------

    def where(self, node: Node) -> Any:
        sa = self.sa
        if isinstance(node, And):
            return sa.and_(*[self.where(n) for n in node.items])
        if isinstance(node, Or):
            return sa.or_(*[self.where(n) for n in node.items])
        if isinstance(node, Not):
            return _not_true(sa, self.where(node.item))
        if node.path[0] == "artifacts":
            return self._artifacts(node)
        kind, column, extra = self.target(node.path)
        tags = node.path == ("tags",)  # never missing: a run without tags has []
        if isinstance(node, Exists):
            if kind == "id" or tags:
                return sa.true()
            if kind == "missing":
                return sa.false()
            if kind == "column":
                return column.is_not(None)
            return self._present(self.json_value(column, extra))
        op, literal = node.op, node.value
        self._check_literal(literal)
        if kind == "missing":
            none_matches = (op == "==" and literal is None) or (
                op == "in" and any(item is None for item in literal)
            )
            return sa.true() if none_matches else sa.false()
        if kind == "id":
            return self._id_compare(op, literal)
        if kind == "column":
            return self._column_compare(column, extra, op, literal)
        if tags and op == "!=" and literal is not None:
            equal = self._json_compare(column, extra, "==", literal)
            return _not_true(sa, equal)
        if tags and literal is None and op in ("==", "!="):
            return sa.false() if op == "==" else sa.true()
        return self._json_compare(column, extra, op, literal)

    def _artifacts(self, node: Compare | Exists) -> Any:
        """`artifacts`, a run's list of artifact names (never missing), from the
        artifacts table: == and =~ look for one row with a matching name."""
        sa = self.sa
        if len(node.path) > 1:
            raise Unsupported("inside artifacts")
        if isinstance(node, Exists):
            return sa.true()
        op, literal = node.op, node.value
        self._check_literal(literal)
        if op == "in":
            parts = [self._artifact_named(item) for item in literal]
            return sa.or_(*parts) if parts else sa.false()
        if op == "=~":
            return self._artifact_where(lambda name: self._regex(name, literal))
        if op in ("==", "!="):
            equal = self._artifact_named(literal)
            return equal if op == "==" else _not_true(sa, equal)
        return sa.false()  # a list is never ordered

    def _artifact_named(self, literal: Any) -> Any:
        if not isinstance(literal, str):
            return self.sa.false()
        return self._artifact_where(lambda name: self._compare_text(name, "==", literal))

    def _artifact_where(self, predicate: Any) -> Any:
        sa = self.sa
        runs, artifacts = self.t["runs"], self.t["artifacts"]
        row = artifacts.alias(f"sacred_a{next(_aliases)}")
        inner = sa.select(sa.literal_column("1")).select_from(row)
        return sa.exists(inner.where(row.c.run_id == runs.c.id, predicate(row.c.name)))

    def order(self, path: tuple[str, ...], descending: bool) -> list:
        """ORDER BY terms: numbers, then strings, missing values last either way."""
        sa = self.sa
        kind, column, extra = self.target(path)
        if kind == "missing":
            return []
        if kind == "id":
            column = self.t["runs"].c.id
        if kind != "json":
            key = self._text(column) if kind == "column" and extra == "string" else column
            return [sa.case((column.is_(None), 1), else_=0), _direction(key, descending)]
        value = self.json_value(column, extra)
        # The kind first (ascending whatever the direction), then within a kind its
        # value; each key is NULL outside its kind, so ties stay ties.
        return [
            value.rank(),
            _direction(sa.case((value.is_("number"), value.number), else_=None), descending),
            _direction(
                self._text(sa.case((value.is_("string"), value.text), else_=None)), descending
            ),
            _direction(
                sa.case((value.is_("false"), 0), (value.is_("true"), 1), else_=None), descending
            ),
        ]


def json_path_text(path: tuple[str, ...]) -> str:
    """'$."a"."b"[0]': a number in a path indexes a list (see docs/store.md)."""
    parts = []
    for part in path:
        if part.isdigit():
            parts.append(f"[{part}]")
        else:
            parts.append('."' + part.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "$" + "".join(parts)


def sqlite_literal(sa: Any, text: str) -> Any:
    """text as an SQLite string literal in the statement."""
    if "\x00" in text:
        raise Unsupported("NUL in a path on SQLite")
    return sa.literal_column("'" + text.replace("'", "''") + "'", sa.Text)


def _integer_compare(sa: Any, integer: Any, op: str, literal: int | float) -> Any:
    """integer op literal, exactly, for a column of whole numbers (at most 64 bits):
    a float literal becomes the whole number that gives the same answer."""
    if isinstance(literal, float):
        if abs(literal) > 2.0**70:  # beyond every stored integer: the answer is known
            below = literal > 0  # every integer is below the literal
            holds = {"==": False, "!=": True, "<": below, "<=": below}.get(op, not below)
            return sa.true() if holds else sa.false()
        if op in ("==", "!="):
            if not literal.is_integer():
                return sa.true() if op == "!=" else sa.false()
            literal = int(literal)
        elif op in ("<", ">="):  # n < f  <=>  n < ceil(f)
            literal = math.ceil(literal)
        else:  # n <= f  <=>  n <= floor(f);  n > f  <=>  n > floor(f)
            literal = math.floor(literal)
    return _binary(integer, op, sa.literal(int(literal), sa.Numeric))


def _not_true(sa: Any, condition: Any) -> Any:
    """NOT with NULL (unknown) read as false, like Python: `x IS NOT TRUE`, which
    nests one level less than NOT COALESCE(x, FALSE) (SQLite's parser stack is
    small)."""
    return condition.is_not(sa.true())


def _direction(key: Any, descending: bool) -> Any:
    return key.desc() if descending else key.asc()


def _binary(column: Any, op: str, literal: Any) -> Any:
    return {
        "==": lambda: column == literal,
        "!=": lambda: column != literal,
        "<": lambda: column < literal,
        "<=": lambda: column <= literal,
        ">": lambda: column > literal,
        ">=": lambda: column >= literal,
    }[op]()
