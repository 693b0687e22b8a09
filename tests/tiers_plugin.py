"""A pytest plugin for tests/test_test_tiers.py: after collection, it writes every
test's node id and whether it is marked slow, as JSON, to $SACRED_TIERS_REPORT."""

from __future__ import annotations

import json
import os

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    report = [
        {"nodeid": item.nodeid, "slow": item.get_closest_marker("slow") is not None}
        for item in session.items
    ]
    with open(os.environ["SACRED_TIERS_REPORT"], "w", encoding="utf-8") as out:
        json.dump(report, out)
