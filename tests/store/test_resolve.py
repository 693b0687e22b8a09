"""Bare names in queries typed by people (`sacred runs --filter`, the board's query
box): a configuration entry when the runs have it, suggestions when not."""

from __future__ import annotations

import json

import pytest

from sacred.exceptions import QueryError
from sacred.store import open_store
from sacred.store.resolve import resolve_query
from tests.store.test_store_cli import _record, run_cli


@pytest.fixture
def store(tmp_path) -> str:
    basedir = str(tmp_path / "runs")
    _record(basedir)
    return basedir


def test_bare_config_names_are_config_paths(store):
    with open_store(store) as opened:
        assert resolve_query(opened, "lr > 0.1") == "config.lr > 0.1"
        assert (
            resolve_query(opened, 'net.act == "relu" and lr < 0.3 and status exists')
            == 'config.net.act == "relu" and config.lr < 0.3 and status exists'
        )
        assert resolve_query(opened, "config.lr > 0.1") == "config.lr > 0.1"
        assert resolve_query(opened, None) is None


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("lrr > 0.1", 'Did you mean "config.lr"?'),
        ("nett.act == 1", 'Did you mean "config.net"?'),
        ("resutl > 1", 'Did you mean "result"?'),
    ],
)
def test_unknown_names_suggest_the_nearest(store, query, fragment):
    with open_store(store) as opened, pytest.raises(QueryError) as error:
        resolve_query(opened, query)
    assert fragment in str(error.value)
    assert str(error.value).splitlines()[-1].strip() == "^"  # points at the name


def test_sacred_runs_filter_reads_bare_names(store, capsys):
    code, out, _ = run_cli(capsys, "runs", store, "--filter", "lr >= 0.2", "--json")
    assert code == 0
    assert sorted(r["config"]["lr"] for r in json.loads(out)) == [0.2, 0.3]
    code, _, err = run_cli(capsys, "runs", store, "--filter", "lrr >= 0.2")
    assert code != 0 and 'Did you mean "config.lr"?' in err
