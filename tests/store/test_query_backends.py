"""Queries at the edges, on every backend, over runs recorded by real experiments:
the answers of the database translations must be those of the Python reference,
and queries past the documented limits must end in a QueryError, never in a
database or driver error."""

from __future__ import annotations

import shutil

import pytest

from sacred import Experiment
from sacred._time import utc_now
from sacred.exceptions import QueryError, SacredInterrupt
from sacred.store import open_store
from sacred.store.base import effective_status
from sacred.store.query import evaluate, parse_query
from tests.fixtures import SACRED_087
from tests.store.backends import observer_and_location

BACKENDS = ["file", "sqlite", "postgresql", "mysql", "mongomock", "tinydb"]


class OriginalTimeout(SacredInterrupt):
    """The status the original release stores for a TimeoutInterrupt (so do we)."""

    STATUS = "TIMEOUT"


class DocumentedTimeout(SacredInterrupt):
    """The spelling the documentation uses, which a store may also hold."""

    STATUS = "TIMED_OUT"


NAMES = ["adam", "adam ", "Adam", "b", "line\n", "é", "Z"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    observer, location, options = observer_and_location(request.param, tmp_path, request)
    ex = Experiment("edges", save_git_info=False)

    @ex.config
    def cfg():
        name = "x"
        n = 0
        flag = False
        ending = "complete"

    @ex.main
    def main(name, n, ending):
        if ending == "timeout":
            raise DocumentedTimeout()
        if ending == "original_timeout":
            raise OriginalTimeout()
        return n

    ex.observers.append(observer)
    endings = ["complete", "timeout", "original_timeout"]
    for n, name in enumerate(NAMES):
        config = {"name": name, "n": n, "flag": n % 2 == 1, "ending": endings[n % 3]}
        try:
            ex.run(config_updates=config, options={"--loglevel": "ERROR"})
        except SacredInterrupt:
            pass
    with open_store(location, **options) as opened:
        yield opened


def names(runs) -> list[str]:
    return sorted(run.config["name"] for run in runs)


def reference(store, query: str) -> list[str]:
    node = parse_query(query)
    now = utc_now()
    found = []
    for record in store.backend.iter_records():
        record["status"] = effective_status(record, now, store.dead_after)
        if evaluate(node, record):
            found.append(record["config"]["name"])
    return sorted(found)


def test_both_timeout_spellings_find_both_stored_statuses(store):
    timed_out = names(store.find('status == "TIMED_OUT"'))
    assert timed_out == sorted(NAMES[1::3] + NAMES[2::3])
    assert names(store.find('status == "TIMEOUT"')) == timed_out
    assert names(store.find('status in ["TIMEOUT"]')) == timed_out
    assert names(store.find('status != "TIMEOUT"')) == sorted(NAMES[0::3])
    assert names(store.find('not status == "TIMED_OUT"')) == sorted(NAMES[0::3])
    stored = {run.config["name"]: run.status for run in store.find()}
    assert stored["adam "] == "TIMED_OUT" and stored["Adam"] == "TIMEOUT"


LIMITS = [
    ("(" * 300 + "config.n == 1" + ")" * 300, "levels of parentheses"),
    (" and ".join(["config.n == 1"] * 1000), "more than 256 conditions"),
    ("config.n < 99999999999999999999999", "out of range"),
    ("config.n in [" + ",".join(["1"] * 300) + "]", "more than 256 conditions"),
    ('start_time > "yesterday"', "not an ISO date"),
]


@pytest.mark.slow
def test_queries_past_the_limits_are_query_errors(store):
    for query, message in LIMITS:
        with pytest.raises(QueryError, match=message) as info:
            store.find(query)
        assert isinstance(info.value.position, int)


def _deepest(levels: int) -> str:
    """A query nesting `not`, `or` and `and` `levels` deep around a list compare:
    the most SQL per level the translations produce."""
    query = 'config.name != "b"'
    for i in range(levels):
        query = f"not (config.n == {i} {'or' if i % 2 else 'and'} {query})"
    return query


AT_THE_LIMITS = [
    "not " * 1000 + "config.flag == true",
    _deepest(8),  # 16 levels: the most the parser accepts
    " or ".join(f"config.n == {i}" for i in range(0, 512, 2)),  # 256 conditions
    "config.n in [" + ", ".join(str(i) for i in range(256)) + "]",
    'config.name != "a\\u0000b" and config.name != "a\x00b"',  # NUL: PostgreSQL
    'config.name in ["\x00", "b"]',
    'config.name < "a\x00"',
    "config.n < 9007199254740992 and config.n > -1e300",
]


@pytest.mark.slow
def test_queries_at_the_limits_give_the_reference_answer(store):
    for query in AT_THE_LIMITS:
        assert names(store.find(query)) == reference(store, query), query[:100]


LIKE_PYTHON = [
    ('config.name == "adam"', ["adam"]),  # MariaDB: 'adam' = 'adam ' (PAD SPACE)
    ('config.name == "ADAM"', []),  # MariaDB: case-insensitive collations
    ('config.name in ["Adam", "z"]', ["Adam"]),
    ('config.name < "a"', ["Adam", "Z"]),  # code points, not a language's order
    ('config.name > "b"', ["line\n", "é"]),
    ('config.name =~ "^line$"', ["line\n"]),  # Python's $: before a final newline
    ('config.name =~ "line."', []),  # Python's dot: never a newline
    ('config.name =~ "^.$"', ["Z", "b", "é"]),
    ('config.name =~ "^[a-c]"', ["adam", "adam ", "b"]),
    ('config.name =~ "^a{,4}$"', []),  # {,n} is a repeat, not a literal
    ('config.name =~ "m\\\\ $"', ["adam "]),
    ('config.name =~ "\\\\w$"', ["Adam", "Z", "adam", "b", "line\n", "é"]),  # in Python
    ('config.name =~ "(?i)^ADAM$"', ["Adam", "adam"]),
    ("config.flag < true", ["Adam", "adam", "line\n", "Z"]),
    ("config.flag >= true", ["adam ", "b", "é"]),
    ('start_time > "2000-01"', NAMES),
]


@pytest.mark.slow
def test_strings_regexes_and_booleans_compare_like_python(store):
    for query, expected in LIKE_PYTHON:
        assert names(store.find(query)) == sorted(expected), query
        assert reference(store, query) == sorted(expected), query


ORIGINAL = SACRED_087


def _original_stores(tmp_path):
    """(location, options) of the stores sacred 0.8.7 wrote that this reader reads."""
    shutil.copytree(ORIGINAL / "file_store", tmp_path / "file_store")
    yield str(tmp_path / "file_store"), {}
    mongomock = pytest.importorskip("mongomock")
    bson = pytest.importorskip("bson")
    from mongomock.gridfs import enable_gridfs_integration

    enable_gridfs_integration()
    client = mongomock.MongoClient()
    with open(ORIGINAL / "mongo.bson", "rb") as dump:
        for item in bson.decode_file_iter(dump):
            client["sacred"][item["coll"]].insert_one(item["doc"])
    yield "mongomock://sacred", {"client": client}


@pytest.mark.skipif(not ORIGINAL.is_dir(), reason="the sacred-0.8.7 fixtures are not here")
def test_the_original_releases_timeout_runs_are_found_with_either_spelling(tmp_path):
    for location, options in _original_stores(tmp_path):
        with open_store(location, **options) as opened:
            timeout = [run.id for run in opened.find() if run.status == "TIMEOUT"]
            assert timeout == [4], location
            assert [run.id for run in opened.find('status == "TIMED_OUT"')] == timeout
            assert [run.id for run in opened.find('status == "TIMEOUT"')] == timeout
            assert 4 not in [run.id for run in opened.find('status != "TIMED_OUT"')]


# -- regex rewriting, checked against the engines themselves ------------------------

SUBJECTS = [
    "", "a", "A", "ab", "ab\n", "a\nb", "\n", "line\n", "é", "É", "日本", "😀", "a.b",
    "a-b", "a]b", "[x]", "{1}", "aaa", "a{,3}", "x\x01y", "tab\there", "a b ", "\\",
    "$", "^", "ab\r\n", "b\n\n", "_", "a^b",
]  # fmt: skip
ATOMS = [
    "a", "b", "A", "é", "日", "😀", ".", " ", "\\n", "\\t", "\\.", "\\-", "\\\\", "\\$",
    "\\^", "\\[", "\\]", "\\{", "\\x01", "[ab]", "[^a]", "[a-c]", "[\\]\\-]", "[.]",
    "[é-ü]", "[\\n]", "[]a]", "[-a]", "[a-]", "_", "\\u00e9",
]  # fmt: skip


def _pattern(rng) -> str:
    parts = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        if r < 0.1:
            part = "(" + "|".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 3))) + ")"
        elif r < 0.15:
            part = "(?:" + rng.choice(ATOMS) + rng.choice(ATOMS) + ")"
        else:
            part = rng.choice(ATOMS)
        if rng.random() < 0.3:
            part += rng.choice(["*", "+", "?", "{2}", "{,2}", "{1,}", "{0,3}", "*?", "+?"])
        parts.append(part)
    if rng.random() < 0.3:
        parts.insert(0, rng.choice(["^", "\\A"]))
    if rng.random() < 0.3:
        parts.append(rng.choice(["$", "\\Z"]))
    return "".join(parts)


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_rewritten_patterns_match_what_python_matches(server, request):
    """300 random patterns of the rewritable subset, each against tricky strings
    (newlines, brackets, unicode, control characters), in the database itself."""
    import random
    import re

    import sqlalchemy as sa

    from sacred.store.regex import translate_regex

    url = request.getfixturevalue("postgres_url" if server == "postgresql" else "mysql_url")
    engine = sa.create_engine(url)
    dialect = "postgresql" if server == "postgresql" else "pcre"
    rng = random.Random(5)
    mismatches = []
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE subjects (i INTEGER, v TEXT)"))
        conn.execute(
            sa.text("INSERT INTO subjects VALUES (:i, :v)"),
            [{"i": i, "v": v} for i, v in enumerate(SUBJECTS)],
        )
        operator = "~" if server == "postgresql" else "REGEXP"
        select = sa.text(f"SELECT i FROM subjects WHERE v {operator} :p ORDER BY i")
        for _ in range(300):
            pattern = _pattern(rng)
            try:
                compiled = re.compile(pattern)
            except re.error:
                continue
            rewritten = translate_regex(pattern, dialect)
            if server == "mysql":
                rewritten = "(?-i)" + rewritten
            expected = [i for i, v in enumerate(SUBJECTS) if compiled.search(v)]
            got = [i for (i,) in conn.execute(select, {"p": rewritten})]
            if got != expected:
                mismatches.append((pattern, rewritten, got, expected))
    engine.dispose()
    assert not mismatches, mismatches[:5]
