"""The query language: grammar, semantics of the Python reference, and errors that
point at the offending position."""

from __future__ import annotations

import datetime
import re

import pytest

from sacred.exceptions import QueryError
from sacred.store.query import (
    And,
    Compare,
    Exists,
    Not,
    Or,
    compile_query,
    evaluate,
    parse_query,
    parse_sort,
)

RECORD = {
    "_id": 7,
    "status": "COMPLETED",
    "result": 0.25,
    "config": {
        "hidden_size": 300,
        "optimizer": {"lr": 0.01, "name": "adam"},
        "flag": True,
        "nothing": None,
    },
    "experiment": {"name": "German credit"},
    "start_time": datetime.datetime(2024, 3, 1, 12, 0, 0),
    "tags": ["best", "paper"],
    "meta": {"comment": "first try"},
}


def test_parse_builds_the_ast():
    node = parse_query('config.a >= 2 and not (status == "FAILED" or tags exists)')
    assert node == And(
        (
            Compare(("config", "a"), ">=", 2),
            Not(Or((Compare(("status",), "==", "FAILED"), Exists(("tags",))))),
        )
    )
    assert parse_query("") is None and parse_query(None) is None
    assert parse_query("id == 3") == Compare(("_id",), "==", 3)


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            'config.hidden_size >= 250 and status == "COMPLETED" and experiment.name =~ "German"',
            True,
        ),
        ("config.optimizer.lr < 0.1", True),
        ("config.optimizer.lr > 0.1", False),
        ('config.optimizer.name in ["adam", "sgd"]', True),
        ("config.hidden_size in [1, 2]", False),
        ("config.flag == true", True),
        ("config.flag != true", False),
        ("config.nothing == null", True),
        ("config.missing exists", False),
        ("not config.missing exists", True),
        ("config.missing == 1", False),
        ("config.missing != 1", False),
        ('status != "FAILED"', True),
        ('tags == "best"', True),
        ('tags =~ "pap"', True),
        ('start_time >= "2024-01-01"', True),
        ('start_time < "2024-03-01T11:00"', False),
        ('meta.comment =~ "^first"', True),
        ("id == 7", True),
        ("_id == 7", True),
        ('result >= 0.25 or status == "X"', True),
        ("config.hidden_size == 300.0", True),
        ('config.hidden_size == "300"', False),
    ],
)
def test_reference_semantics(query, expected):
    assert evaluate(parse_query(query), RECORD) is expected
    assert compile_query(parse_query(query))(RECORD) is expected


@pytest.mark.parametrize(
    "query, message, position",
    [
        ("config.a >", "Expected a value", 10),
        ("config.a == adam", "strings need double quotes", 12),
        ('config.a == "open', "Unterminated string", 12),
        ("config.a = 3", "Unexpected character", 9),
        ("(config.a == 1", "Expected ')'", 14),
        ("config.a == 1 config.b == 2", "combine conditions", 14),
        ("== 3", "Expected a field path", 0),
        ("config.a", "Expected a comparison", 8),
        ('config.a =~ "("', "Invalid regular expression", 9),
        ("config.a in [1, 2", "Expected ',' or ']'", 17),
        ("config.a =~ 3", "=~ needs a regular expression", 9),
    ],
)
def test_malformed_queries_point_at_the_position(query, message, position):
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert message in str(info.value)
    assert info.value.position == position
    assert str(info.value).splitlines()[-1] == " " * (position + 2) + "^"


def test_sort_keys():
    assert parse_sort("-result") == [(("result",), True)]
    assert parse_sort(["config.lr", "-id"]) == [(("config", "lr"), False), (("_id",), True)]
    with pytest.raises(QueryError):
        parse_sort("res ult")


# -- limits: every string ends in results or a QueryError with a position ----------


def _error(query: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert isinstance(info.value.position, int)
    return info.value


def test_deep_parentheses_are_refused_at_the_first_one_too_many():
    query = "(" * 300 + "config.a == 1" + ")" * 300
    error = _error(query)
    assert "More than 16 levels of parentheses" in str(error)
    assert error.position == 16
    assert parse_query("(" * 16 + "config.a == 1" + ")" * 16) == Compare(("config", "a"), "==", 1)


def test_a_chain_of_nots_is_read_without_recursion():
    assert parse_query("not " * 1000 + "config.a == 1") == Compare(("config", "a"), "==", 1)
    assert parse_query("not " * 1001 + "config.a == 1") == Not(Compare(("config", "a"), "==", 1))
    assert evaluate(parse_query("not " * 999 + "config.missing exists"), RECORD) is True


def test_nesting_of_and_or_not_is_limited():
    def nested(levels: int) -> str:  # each level: a `not` and an `or`
        query = "config.a == 1"
        for i in range(levels):
            query = f"not (config.b == {i} or {query})"
        return query

    error = _error(nested(9))
    assert "more than 16 levels" in str(error)
    assert error.position == len("not (")  # the `or` that goes one level too deep
    assert evaluate(parse_query(nested(8)), RECORD) is False  # an even number of nots


def test_the_number_of_conditions_is_limited():
    error = _error(" and ".join(["config.a == 1"] * 1000))
    assert "more than 256 conditions" in str(error)
    assert error.position == len("config.a == 1 and ") * 256
    _error("config.a in [" + ", ".join(str(i) for i in range(257)) + "]")
    assert parse_query(" or ".join(["config.a == 1"] * 256)) is not None


def test_the_length_of_a_query_is_limited():
    error = _error('config.s == "' + "x" * 30_000 + '"')
    assert "at most 20,000" in str(error)


@pytest.mark.parametrize(
    "literal",
    ["99999999999999999999999", "-99999999999999999999999", "9007199254740993", "1" * 5000],
)
def test_integers_beyond_2_to_the_53_are_refused(literal):
    error = _error(f"config.n < {literal}")
    assert "out of range" in str(error) and "write a float such as" in str(error)
    assert error.position == len("config.n < ")


def test_integers_up_to_2_to_the_53_and_finite_floats_are_accepted():
    assert parse_query("config.n == 9007199254740992").value == 2**53
    assert parse_query("config.n == -9007199254740992").value == -(2**53)
    assert parse_query("config.n < 1e23").value == 1e23
    assert "out of range" in str(_error("config.n < 1e999"))
    assert "out of range" in str(_error("config.n > -1e999"))


def test_lone_surrogates_are_refused_with_their_position():
    error = _error('config.s == "a\ud800"')
    assert error.position == 14 and "surrogate" in str(error)


def test_an_escaped_newline_in_a_string_is_the_newline():
    assert parse_query('config.s == "a\\\nb"').value == "a\nb"


def test_times_compare_with_iso_strings_only():
    assert "is not an ISO date" in str(_error('start_time > "adam"'))
    assert _error('stop_time in ["2024-01-01", "soon"]').position == 13
    assert _error('start_time > "0001-01-01T00:00:00+01:00"').position == 13
    assert evaluate(parse_query('start_time >= "2024-03"'), RECORD) is True
    assert evaluate(parse_query('start_time < "2024"'), RECORD) is False
    assert evaluate(parse_query('config.optimizer.name > "2024"'), RECORD) is True


@pytest.mark.parametrize("spelling", ["TIMEOUT", "TIMED_OUT"])
def test_both_timeout_spellings_match_both_stored_statuses(spelling):
    original = {**RECORD, "status": "TIMEOUT"}
    ours = {**RECORD, "status": "TIMED_OUT"}
    for record in (original, ours):
        assert evaluate(parse_query(f'status == "{spelling}"'), record) is True
        assert evaluate(parse_query(f'status != "{spelling}"'), record) is False
        assert evaluate(parse_query(f'status in ["FAILED", "{spelling}"]'), record) is True
        assert compile_query(parse_query(f'status == "{spelling}"'))(record) is True
    assert evaluate(parse_query(f'status != "{spelling}"'), RECORD) is True
    assert evaluate(parse_query('status =~ "^TIMED"'), original) is False


def test_lists_match_one_level_deep():
    record = {"config": {"lst": [[1], 2, None]}}
    assert evaluate(parse_query("config.lst == 2"), record) is True
    assert evaluate(parse_query("config.lst == 1"), record) is False
    assert evaluate(parse_query("config.lst != 1"), record) is True
    assert evaluate(parse_query("config.lst == null"), record) is True


def test_booleans_are_ordered_false_before_true():
    assert evaluate(parse_query("config.flag > false"), RECORD) is True
    assert evaluate(parse_query("config.flag < true"), RECORD) is False
    assert evaluate(parse_query("config.flag >= true"), RECORD) is True


@pytest.mark.parametrize(
    "pattern, postgresql, pcre",
    [
        ("^adam$", "^adam(?=\\n?\\Z)", "^adam(?=\\n?\\z)"),
        ("a.b", "a[^\\n]b", "a[^\\n]b"),
        ("a{,3}", "a{0,3}", "a{0,3}"),
        ("(x|y)+?", "(?:x|y)+?", "(?:x|y)+?"),
        ("[a-z_.]", "[a-z\\_\\.]", "[a-z\\_\\.]"),
        ("naïve 日本", "na\u00efve\\ 日本", "na\u00efve\\ 日本"),
        ("\\x01", "\\u0001", "\\x{1}"),
    ],
)
def test_regexes_are_rewritten_for_postgresql_and_pcre(pattern, postgresql, pcre):
    from sacred.store.regex import translate_regex

    assert translate_regex(pattern, "postgresql") == postgresql
    assert translate_regex(pattern, "pcre") == pcre


@pytest.mark.parametrize(
    "pattern", ["\\d+", "\\bx", "(?i)adam", "(?=a)", "(a)\\1", "a{300}", "[[:alpha:]]", "{x}"]
)
def test_regexes_read_differently_by_other_engines_are_not_rewritten(pattern):
    from sacred.store.regex import RegexUnsupported, translate_regex

    for dialect in ("postgresql", "pcre"):
        with pytest.raises(RegexUnsupported):
            translate_regex(pattern, dialect)


def test_mongodb_gets_patterns_rewritten_for_pcre_and_mongomock_gets_them_as_they_are():
    mongomock = pytest.importorskip("mongomock")
    from sacred.observers.mongo.query import MongoTranslator, Unsupported

    node = parse_query('config.s =~ "^a.$"')
    server = MongoTranslator(120.0, client=None)  # any client that is not mongomock
    assert server.match(node) == {"config.s": {"$regex": "^a[^\\n](?=\\n?\\z)"}}
    with pytest.raises(Unsupported):
        server.match(parse_query('config.s =~ "(?i)a"'))
    mock = MongoTranslator(120.0, client=mongomock.MongoClient())
    assert mock.match(node) == {"config.s": {"$regex": "^a.$"}}


def test_mongodb_never_equates_booleans_and_numbers():
    from sacred.observers.mongo.query import MongoTranslator

    match = MongoTranslator(120.0).match(parse_query("config.flag == true"))
    exact = {"$eq": True, "$type": "bool", "$not": {"$type": "array"}}
    assert match == {
        "$or": [
            {"$and": [{"config.flag": exact}, {"config.flag": {"$not": {"$type": "array"}}}]},
            {"config.flag": {"$elemMatch": exact}},
        ]
    }
    assert MongoTranslator(120.0).match(parse_query("config.n == 5")) == {"config.n": 5}


@pytest.mark.parametrize("key", ["metrics.loss", "metrics.loss.mean", "metrics"])
def test_a_metric_summary_needs_a_statistic(key):
    from sacred.store.query import parse_sort

    message = "names no metric summary: write metrics.<name>.last, .min or .max"
    with pytest.raises(QueryError, match=re.escape(message)):
        parse_sort(key)
    with pytest.raises(QueryError, match=re.escape(message)) as raised:
        parse_query(f"status exists and {key} > 1")
    assert raised.value.position == len("status exists and ")


def test_metric_summary_paths_keep_dots_in_the_name():
    from sacred.store.query import Compare, parse_sort

    assert parse_sort("-metrics.training.loss.min") == [(("metrics", "training.loss", "min"), True)]
    assert parse_query("metrics.acc.last >= 0.5") == Compare(("metrics", "acc", "last"), ">=", 0.5)
