"""The query language: grammar, semantics of the Python reference, and errors that
point at the offending position."""

from __future__ import annotations

import datetime

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
