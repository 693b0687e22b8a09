"""The claim rules live in one low module (sacred.observers.claiming): the backends'
claimers and observers use it and never reach up into sacred.worker."""

from __future__ import annotations

import ast
from pathlib import Path

import sacred
from sacred.observers import claiming
from sacred.worker import claims, takeover

PACKAGE = Path(sacred.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_observer_module_imports_the_worker_package_even_inside_a_function():
    offenders = {}
    for path in (PACKAGE / "observers").rglob("*.py"):
        upward = sorted(m for m in _imported_modules(path) if m.startswith("sacred.worker"))
        if upward:
            offenders[str(path.relative_to(PACKAGE))] = upward
    assert offenders == {}


def test_the_claim_rules_module_imports_nothing_above_it():
    imported = _imported_modules(PACKAGE / "observers" / "claiming.py")
    assert {m for m in imported if m.startswith("sacred")} == {"sacred._time"}


def test_the_worker_side_names_the_same_rules():
    assert claims.ClaimedRun is claiming.ClaimedRun
    assert claims.Claimer is claiming.Claimer
    assert claims.lost_run is claiming.lost_run
    assert takeover.WORKER_META_ENV == claiming.WORKER_META_ENV == "SACRED_WORKER_META"
    assert takeover.CLAIM_TOKEN_ENV == claiming.CLAIM_TOKEN_ENV == "SACRED_CLAIM_TOKEN"


def test_experiment_names_the_worker_meta_variable_through_takeover():
    source = (PACKAGE / "experiment.py").read_text(encoding="utf-8")
    assert '"SACRED_WORKER_META"' not in source


def test_a_claim_carries_a_token_and_its_attempt_number():
    meta = claiming.new_claim({}, "host:1")
    again = claiming.new_claim(claiming.lost_claim(meta, "worker lost"), "host:2")
    assert meta["claim"]["attempt"] == 1 and again["claim"]["attempt"] == 2
    assert meta["claim"]["token"] != again["claim"]["token"]
    assert [a["worker"] for a in again["attempts"]] == ["host:1", "host:2"]
    assert again["attempts"][0]["outcome"] == "worker lost"
    assert claiming.holds_claim(again, again["claim"]["token"])
    assert not claiming.holds_claim(again, meta["claim"]["token"])
    assert not claiming.holds_claim(claiming.lost_claim(again, "x"), again["claim"]["token"])
