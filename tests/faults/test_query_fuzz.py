"""Fuzzing the query language on every backend.

500 generated queries per backend (fixed seed): valid grammar productions over
the fields of real runs, random token soup, deep nesting, long chains, huge
numbers, NUL/unicode/escape characters, regexes valid and invalid. Each query must
either give results or raise QueryError with a position; results must be exactly
the Python reference's answer over the same records, and, for fields that hold the
same values in every store, the same runs as in the file store.
"""

from __future__ import annotations

import os
import random

from sacred._time import utc_now
from sacred.exceptions import QueryError
from sacred.store.base import effective_status
from sacred.store.query import evaluate, parse_query, query_paths

SEED = int(os.environ.get("QUERY_FUZZ_SEED", "20261125"))  # another seed finds more
COUNT = 500

# Paths whose values are identical in every store (other fields hold ids, times,
# hosts or file references that differ from store to store).
PORTABLE = {"config", "result", "status", "tags", "note", "info", "meta", "command"}
PATHS = [
    "config.key",
    "config.n",
    "config.x",
    "config.s",
    "config.flag",
    "config.lst",
    "config.lst.0",
    "config.lst.1",
    "config.nested",
    "config.nested.a",
    "config.nested.b.c",
    "config.missing",
    "config.outcome",
    "result",
    "result.acc",
    "status",
    "tags",
    "note",
    "info.score",
    "info.tags",
    "meta.comment",
    "command",
    "id",
    "experiment.name",
    "host.hostname",
    "start_time",
    "stop_time",
    "heartbeat",
    "fail_trace",
    "artifacts",
]
STRINGS = [
    "adam",
    "Adam",
    "adam ",
    "ADAM",
    "",
    " ",
    "naïve — 日本 😀",
    "日本",
    'quote " and back\\slash',
    "line\nbreak\n",
    "line",
    "tab\there",
    "a\x00b",
    "\x00",
    "paper",
    "Paper ",
    "k1",
    "COMPLETED",
    "FAILED",
    "TIMEOUT",
    "TIMED_OUT",
    "INTERRUPTED",
    "QUEUED",
    "RUNNING",
    "PROBABLY_DEAD",
    "main",
    "fuzz_target",
    "ghost",
    "note 3\nsecond line",
    "variant 3",
    "result 5",
    "model_1.txt",
    "3",
    "1e3",
    "Z",
    "\\",
    '"',
    "ÄÖ",
    "x\ny",
    "2024-01-01",
    "2000-01-01T00:00:00+02:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999",
    "1000-01-01",
    "not a date",
    "\u200b",
    "\ufeff",
]
NUMBERS = [
    "0",
    "-0",
    "1",
    "3",
    "-7",
    "12",
    "41",
    "1000",
    "0.5",
    "3.0",
    "12.5",
    "-1e-9",
    "1e300",
    "2.5e-308",
    "1e-400",
    "9007199254740992",
    "-9007199254740992",
    "9007199254740993",
    "99999999999999999999999",
    "-99999999999999999999999",
    "1" * 5000,
    "1e999",
    "-1e999",
    ".5",
    "5.",
    "1E3",
    "0.1",
]
REGEX_PARTS = [
    "a",
    "A",
    "adam",
    "^",
    "$",
    ".",
    ".*",
    "a+",
    "d?",
    "a{,3}",
    "a{2}",
    "x{300}",
    "[a-z]",
    "[^a]",
    "[]a]",
    "[\\-a]",
    "[à-ÿ]",
    "\\d",
    "\\w",
    "\\s",
    "\\b",
    "\\.",
    "\\n",
    "\\x41",
    "\\u65e5",
    "(?i)",
    "(a|b)",
    "(?:ad)",
    "(?P<g>a)",
    "(?=a)",
    "\\1",
    "\\Z",
    "\\A",
    "|",
    "日本",
    "😀",
    " ",
    "\n",
    "\x00",
    "$\\n",
    "k",
    "[",
    "(",
    ")",
    "*",
    "\\",
    "a{3,2}",
    "{",
    "}",
    "]",
]
TOKENS = [
    "(",
    ")",
    "[",
    "]",
    ",",
    "and",
    "or",
    "not",
    "in",
    "exists",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=~",
    "=",
    "true",
    "false",
    "null",
    '"',
    '"x"',
    "\\",
    "@",
    "$",
    "\x00",
    "ÿ",
    "1e",
    "-",
    ".",
    "config.",
    "..",
    "captured_out",
    "confg.n",
    "_id",
]
OPS = ["==", "!=", "<", "<=", ">", ">="]


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class QueryGenerator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def literal(self) -> str:
        r = self.rng.random()
        if r < 0.4:
            return quote(self.rng.choice(STRINGS))
        if r < 0.8:
            # Mostly numbers in range; sometimes one out of range (a QueryError).
            numbers = NUMBERS if self.rng.random() < 0.15 else NUMBERS[:18] + NUMBERS[-5:]
            return self.rng.choice(numbers)
        return self.rng.choice(["true", "false", "null"])

    def regex(self) -> str:
        parts = self.rng.choices(REGEX_PARTS, k=self.rng.randint(0, 4))
        if self.rng.random() < 0.6:  # mostly valid ones: drop the breaking parts
            parts = [p for p in parts if p not in ("[", "(", ")", "*", "\\", "a{3,2}", "]")]
        return quote("".join(parts))

    def condition(self) -> str:
        path = self.rng.choice(PATHS)
        r = self.rng.random()
        if r < 0.1:
            return f"{path} exists"
        if r < 0.25:
            items = [self.literal() for _ in range(self.rng.randint(0, 4))]
            return f"{path} in [{', '.join(items)}]"
        if r < 0.45:
            return f"{path} =~ {self.regex()}"
        return f"{path} {self.rng.choice(OPS)} {self.literal()}"

    def expression(self, depth: int = 0) -> str:
        r = self.rng.random()
        if depth > 4 or r < 0.35:
            return self.condition()
        if r < 0.5:
            return "not " + self.expression(depth + 1)
        if r < 0.65:
            return f"({self.expression(depth + 1)})"
        joiner = self.rng.choice([" and ", " or "])
        return joiner.join(self.expression(depth + 1) for _ in range(self.rng.randint(2, 4)))

    def soup(self) -> str:
        pool = TOKENS + PATHS + OPS + [self.literal() for _ in range(3)]
        return " ".join(self.rng.choices(pool, k=self.rng.randint(1, 8)))

    def mutate(self, text: str) -> str:
        """Delete, duplicate or insert one character."""
        if not text:
            return text
        i = self.rng.randrange(len(text))
        kind = self.rng.random()
        if kind < 0.33:
            return text[:i] + text[i + 1 :]
        if kind < 0.66:
            return text[:i] + text[i] + text[i:]
        return text[:i] + self.rng.choice('()[]"\\=~<>,.\x00 é') + text[i:]

    def extreme(self) -> str:
        condition = self.condition()
        n = self.rng.choice([15, 16, 17, 300, 1000])
        return self.rng.choice(
            [
                "(" * n + condition + ")" * n,
                "not " * n + condition,
                " and ".join([condition] * n),
                " or ".join(self.condition() for _ in range(n)),
                f"config.n in [{', '.join(str(i) for i in range(n))}]",
                "not (" * n + condition + ")" * n,
                "(" * n + condition,
                f"config.s == {quote('x' * 25_000)}",
            ]
        )

    def query(self) -> str:
        r = self.rng.random()
        if r < 0.6:
            return self.expression()
        if r < 0.75:
            return self.mutate(self.expression())
        if r < 0.9:
            return self.soup()
        return self.extreme()


_GENERATOR = QueryGenerator(SEED)
QUERIES = [_GENERATOR.query() for _ in range(COUNT)]


def test_the_generator_covers_what_it_should():
    """The queries are varied: a fuzz suite of errors only (or results only) would
    not test much."""
    valid = 0
    for query in QUERIES:
        try:
            parse_query(query)
            valid += 1
        except QueryError as error:
            assert isinstance(error.position, int)
    assert COUNT * 0.4 < valid < COUNT * 0.9
    assert any("=~" in q for q in QUERIES) and any("\x00" in q for q in QUERIES)
    assert any(q.count("(") >= 300 for q in QUERIES)
    assert any(q.count("not") >= 1000 for q in QUERIES)


def _reference(store) -> list[dict]:
    now = utc_now()
    records = list(store.backend.iter_records())
    for record in records:
        record["status"] = effective_status(record, now, store.dead_after)
    return records


def _answers(store, reference: list[dict]) -> tuple[dict[str, object], int]:
    """(query -> sorted config.key of the runs found, or "QueryError"; how many
    queries were answered by loading every record, i.e. not pushed down)."""
    answers: dict[str, object] = {}
    failures = []
    backend = store.backend
    load_all = backend.iter_records
    loads = []

    def counted():
        loads.append(1)
        return load_all()

    backend.iter_records = counted
    for query in QUERIES:
        try:
            found = store.find(query)
        except QueryError as error:
            if not isinstance(error.position, int):
                failures.append(f"{query!r}: QueryError without a position: {error}")
            answers[query] = "QueryError"
            continue
        except Exception as error:  # noqa: BLE001 -- the point: nothing else may escape
            failures.append(f"{query!r}: {type(error).__name__}: {error}"[:300])
            continue
        node = parse_query(query)
        expected = {str(r["_id"]) for r in reference if evaluate(node, r)}
        got = {str(run.id) for run in found}
        if got != expected:
            failures.append(f"{query!r}: got {sorted(got)}, reference {sorted(expected)}")
        answers[query] = sorted(run.config.get("key") for run in found)
    backend.iter_records = load_all
    assert not failures, f"{len(failures)} of {COUNT} queries failed:\n" + "\n".join(failures[:12])
    return answers, len(loads)


# Values a store gives back differently (none: PostgreSQL's jsonb used to print the
# float 1e300 back as an int; sacred.observers.sql.urls.dumps_keeping_floats).
DIFFERENT_DATA: dict[str, set] = {}


def _portable(query: str, dialect: str) -> bool:
    paths = query_paths(parse_query(query))
    return (
        all(path[0] in PORTABLE for path in paths)
        and not any(path[0] == "meta" and path[1:] != ("comment",) for path in paths)
        and not any(path in DIFFERENT_DATA.get(dialect, ()) for path in paths)
    )


def test_every_query_gives_results_or_a_query_error(filled_store, canonical_store):
    """On every backend: results equal to the Python reference, or QueryError."""
    answers, fallbacks = _answers(filled_store, _reference(filled_store))
    answered = sum(1 for answer in answers.values() if answer != "QueryError")
    if filled_store.backend.pushes_down:
        # The translations are what is being tested: most queries must use them.
        print(f"{filled_store.location}: {fallbacks} of {answered} answered in Python")
        assert fallbacks < answered * 0.25
    canonical = {}
    dialect = filled_store.location.partition(":")[0].partition("+")[0]
    for query in QUERIES:
        if answers.get(query) == "QueryError" or not _portable(query, dialect):
            continue
        if not canonical:
            canonical = {q: None for q in QUERIES}
        found = canonical_store.find(query)
        canonical[query] = sorted(run.config.get("key") for run in found)
        assert answers[query] == canonical[query], (
            f"{query!r}: {filled_store.location} found keys {answers[query]}, "
            f"the file store {canonical[query]}"
        )
