"""The two test tiers the README documents. `-m "not slow"` (the fast tier) leaves out
what is marked slow and keeps a representative of every kind of test: each test module
keeps at least one test unless it declares itself slow as a whole, a test parametrized
over store backends runs on one of them (SQLite first), one test still runs on every
backend, a few of the seeded kill trials and one browser test stay.

One collection of the whole suite (in a new process, through tests/tiers_plugin.py)
is what every test here reads; it takes a few seconds, so this module is itself left
to the whole suite, which is what CI runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, EVERY_BACKEND_IN_FAST_TIER, FAST_BACKENDS

pytestmark = pytest.mark.slow  # a collection of the whole suite

ROOT = Path(__file__).resolve().parent.parent
KILLS = {
    "tests/faults/test_kill_sqlite.py::test_a_killed_run_leaves_a_sound_database": 50,
    "tests/faults/test_kill_file_store.py::test_a_killed_run_leaves_a_readable_record": 50,
}
FAST_KILLS = 3
BROWSER_MODULES = re.compile(r"tests/sacredboard/test_browser\w*\.py")
# Modules whose tests are each marked slow (each says why), besides those that declare
# `pytestmark = pytest.mark.slow`: pools of workers, processes racing on one database.
SLOW_MODULES = {
    "tests/compat/test_sql_layout.py",
    "tests/faults/test_sql_concurrency.py",
    "tests/labwatch/test_example.py",
    "tests/labwatch/test_parallel_workers.py",
    "tests/worker/test_worker_pool.py",
}
WHOLLY_SLOW = re.compile(r"^pytestmark = (pytest\.mark\.slow|\[[^]]*pytest\.mark\.slow)", re.M)


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict[str, bool]:
    """Every test of the whole suite: node id -> marked slow."""
    report = tmp_path_factory.mktemp("tiers") / "tests.json"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0"]
        + ["-p", "no:cacheprovider", "-p", "tests.tiers_plugin"],
        cwd=ROOT,
        env={**os.environ, "SACRED_TIERS_REPORT": str(report)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return {test["nodeid"]: test["slow"] for test in json.loads(report.read_text())}


def fast(suite: dict[str, bool]) -> list[str]:
    return [nodeid for nodeid, slow in suite.items() if not slow]


def module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def backend_variants(suite: dict[str, bool]) -> dict[tuple[str, str], dict[str, bool]]:
    """(test function, its other parameters) -> {backend: slow} of the tests
    parametrized over store backends."""
    groups: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
    for nodeid, slow in suite.items():
        function, _, params = nodeid.partition("[")
        parts = params[:-1].split("-") if params else []
        backends = [part for part in parts if part in BACKENDS]
        if backends:
            others = "-".join(part for part in parts if part not in BACKENDS)
            groups[(function, others)][backends[0]] = slow
    return groups


def test_the_fast_tier_is_a_part_of_the_whole_suite(suite):
    assert 0 < len(fast(suite)) < len(suite)


def test_every_module_keeps_a_fast_test_unless_it_is_slow_as_a_whole(suite):
    modules_with_fast = {module(nodeid) for nodeid in fast(suite)}
    without = sorted({module(nodeid) for nodeid in suite} - modules_with_fast)
    undeclared = [
        path
        for path in without
        if path not in SLOW_MODULES and not WHOLLY_SLOW.search((ROOT / path).read_text())
    ]
    assert undeclared == [], (
        f"no test of {undeclared} is in the fast tier: unmark the cheapest one, or "
        "declare the module slow with `pytestmark = pytest.mark.slow`"
    )


def test_a_test_over_backends_runs_on_one_backend_in_the_fast_tier(suite):
    groups = backend_variants(suite)
    assert len(groups) > 100
    for (function, others), variants in groups.items():
        kept = sorted(backend for backend, slow in variants.items() if not slow)
        if function in EVERY_BACKEND_IN_FAST_TIER:
            assert kept == sorted(variants), function
        elif not all(slow for slow in variants.values()):
            first = next((b for b in FAST_BACKENDS if b in variants), next(iter(variants)))
            assert kept == [first], f"{function}[{others}] runs on {kept} in the fast tier"


def test_every_backend_still_runs_a_test_in_the_fast_tier(suite):
    kept = {
        backend
        for variants in backend_variants(suite).values()
        for backend, slow in variants.items()
        if not slow
    }
    # mongodb needs a real server (SACRED_TEST_MONGO_URI), skipped without one.
    assert kept >= set(BACKENDS)


def test_the_fast_tier_keeps_a_few_kill_trials_per_backend(suite):
    for function, trials in KILLS.items():
        variants = {nodeid: slow for nodeid, slow in suite.items() if nodeid.startswith(function)}
        assert len(variants) == trials
        assert sorted(nodeid for nodeid, slow in variants.items() if not slow) == sorted(
            f"{function}[{trial}]" for trial in range(FAST_KILLS)
        )


def test_the_fast_tier_keeps_one_browser_test(suite):
    browser = [nodeid for nodeid in suite if BROWSER_MODULES.match(module(nodeid))]
    assert len(browser) > 30
    assert len([nodeid for nodeid in browser if not suite[nodeid]]) == 1
