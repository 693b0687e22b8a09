"""One rule for the kind of a value (sacred.store.kinds): the same query finds the
same runs on the file store, SQLite and MongoDB (mongomock) when the stored values
mix kinds: an int, a float, booleans, the string "1", null, lists and objects."""

from __future__ import annotations

import pytest

from sacred import Experiment
from sacred.store import open_store
from tests.store.backends import observer_and_location

# name -> the config value v of one run
VALUES = {
    "int": 1,
    "float": 1.0,
    "half": 0.5,
    "zero": 0,
    "true": True,
    "false": False,
    "text": "1",
    "word": "true",
    "null": None,
    "list": [1, "x"],
    "texts": ["1"],
    "object": {"a": 1},
}

# query -> the runs it finds (what a user of any store sees)
QUERIES = {
    "config.v == 1": ["float", "int", "list"],  # 1 == 1.0; a list holding 1
    "config.v == 1.0": ["float", "int", "list"],
    "config.v == true": ["true"],  # never 1
    "config.v == false": ["false"],  # never 0
    'config.v == "1"': ["text", "texts"],  # never the number
    "config.v == null": ["null"],
    "config.v != 1": sorted(
        set(VALUES) - {"float", "int", "list", "null"}
    ),  # null: ==/!= null only
    "config.v < 1": ["half", "zero"],  # numbers only: not false, not "0"
    "config.v >= 0": ["float", "half", "int", "zero"],
    "config.v > false": ["true"],  # booleans only
    'config.v >= "1"': ["text", "word"],  # strings only
    'config.v in [0, "1", true]': ["text", "texts", "true", "zero"],
    "config.v exists": sorted(set(VALUES) - {"null"}),
}


@pytest.fixture(params=["file", "sqlite", "mongomock"])
def store(request, tmp_path):
    observer, location, options = observer_and_location(request.param, tmp_path, request)
    ex = Experiment("kinds", save_git_info=False)

    @ex.config
    def cfg():
        name = ""
        v = None

    @ex.main
    def main(name, v):
        return name

    ex.observers.append(observer)
    for name, value in VALUES.items():
        ex.run(config_updates={"name": name, "v": value}, options={"--loglevel": "ERROR"})
    with open_store(location, **options) as opened:
        yield opened


@pytest.mark.parametrize("query", list(QUERIES))
def test_a_query_finds_the_same_runs_on_every_store(store, query):
    found = sorted(run.config["name"] for run in store.find(query))
    assert found == QUERIES[query]


def test_a_sort_orders_the_kinds_the_same_on_every_store(store):
    order = [run.config["name"] for run in store.find(sort="config.v")]
    # (where lists and objects sort is backend-specific: docs/store.md, Sorting)
    scalars = [name for name in order if not isinstance(VALUES[name], (list, dict))]
    # numbers (1 and 1.0 tie: by run id), strings, booleans, null last
    assert scalars == ["zero", "half", "int", "float", "text", "word", "false", "true", "null"]
