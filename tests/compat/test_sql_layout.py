"""The fixture experiment recorded by our SqlObserver, compared field by field with
what the original sacred 0.8.7 recorded for the same command lines.

Both databases are read through ``sacred.store`` (ours in our layout, the original's
``runs.db`` in its layout); times, ids, hosts, paths and hashes differ by nature and
are left out. Metrics, meta and the TIMEOUT run, which the original's SQL layout does
not hold, are compared with the original's file store. A drift fails here.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")
pytest.importorskip("numpy")  # the fixture experiment logs numpy values

from sacred.store import open_store  # noqa: E402
from tests.fixtures import SACRED_087  # noqa: E402

FIXTURES = SACRED_087
# The fixture README's command lines, in order (run 4 raises TimeoutInterrupt).
COMMANDS = [
    ["compat_exp.py"],
    ["compat_exp.py", "with", "fail=True", "lr=0.1"],
    ["compat_exp.py", "-q"],
    ["timeout_exp.py"],
]


def _writable_copy(source: Path, target: Path) -> Path:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    for path in [target, *target.rglob("*")] if target.is_dir() else [target]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def _read(url: str) -> list[dict]:
    with open_store(url) as store:
        records = []
        for run in store.find():
            record = run.to_dict()
            record["artifact_contents"] = {
                name: store.backend.read_artifact(run.id, name) for name in record["artifacts"]
            }
            record["metrics"] = {
                name: {"steps": list(m["steps"]), "values": list(m["values"])}
                for name, m in store.backend.metrics(run.id).items()
            }
            records.append(record)
        return records


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict:
    if not FIXTURES.is_dir():
        pytest.skip(f"the sacred 0.8.7 fixtures are not at {FIXTURES} (set SACRED_087_FIXTURES)")
    work = tmp_path_factory.mktemp("compat_sql")
    experiment = _writable_copy(FIXTURES / "experiment", work / "compat")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for command in COMMANDS:
        subprocess.run(
            [sys.executable, *command, "-s", "sqlite:///ours.db"],
            cwd=experiment,
            env=env,
            capture_output=True,
            timeout=300,
        )
    legacy = _writable_copy(FIXTURES / "runs.db", work / "original.db")
    file_store = FIXTURES / "file_store"
    return {
        "ours": _read(f"sqlite:///{experiment / 'ours.db'}"),
        "original": _read(f"sqlite:///{legacy}"),
        "original_files": [
            {
                "run": json.loads((file_store / str(i) / "run.json").read_text()),
                "metrics": json.loads((file_store / str(i) / "metrics.json").read_text())
                if (file_store / str(i) / "metrics.json").exists()
                else {},
            }
            for i in (1, 2, 3, 4)
        ],
        "experiment_dir": experiment,
    }


def _plain_numpy(value):
    """The original stored numpy values jsonpickle-style; ours stores plain numbers and
    lists (a documented decision, docs/observers.md, "Values that are not JSON")."""
    if isinstance(value, dict):
        if str(value.get("py/object", "")).startswith("numpy."):
            return value.get("values", value.get("value"))
        return {k: _plain_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numpy(v) for v in value]
    if hasattr(value, "tolist"):  # decoded back to numpy by sacred.store
        return value.tolist()
    return value


def _log_lines(text: str) -> str:
    text = re.sub(r'Started run with ID "[^"]*"', 'Started run with ID "ID"', text)
    return re.sub(r"Completed after \d+:\d\d:\d\d", "Completed after T", text)


FIELDS = {
    "status": lambda r: r["status"],
    "command": lambda r: r["command"],
    "meta.command": lambda r: r["meta"].get("command"),
    "config": lambda r: {k: v for k, v in r["config"].items() if k != "seed"},
    "result": lambda r: (r["result"], type(r["result"])),
    "info": lambda r: _plain_numpy(r["info"]),
    "experiment.name": lambda r: r["experiment"]["name"],
    "experiment.sources": lambda r: [name for name, _md5 in r["experiment"]["sources"]],
    "resources": lambda r: [os.path.basename(name) for name, _md5 in r["resources"]],
    "artifacts": lambda r: r["artifact_contents"],
    "times recorded": lambda r: [
        r[k] is not None for k in ("start_time", "heartbeat", "stop_time")
    ],
    "fail_trace.exception": lambda r: r["fail_trace"] and r["fail_trace"][-1],
    "fail_trace.header": lambda r: r["fail_trace"] and r["fail_trace"][0],
    "captured_out": lambda r: _log_lines(r["captured_out"]),
}
DRIFTS = {
    # (run, field): why ours differs; each fails strictly once the drift is fixed.
    # The original's SqlObserver (and its file store) kept no output of a failed run;
    # ours keeps it (docs/compatibility.md, SQL databases): compared in a test below.
    (1, "captured_out"): None,
}


def _cases():
    for run in range(3):
        for field in FIELDS:
            if (run, field) in DRIFTS and DRIFTS[(run, field)] is None:
                continue
            marks = ()
            if (run, field) in DRIFTS:
                marks = pytest.mark.xfail(strict=True, reason=DRIFTS[(run, field)])
            yield pytest.param(run, field, marks=marks, id=f"run{run + 1}-{field}")


@pytest.mark.slow
@pytest.mark.parametrize("run, field", list(_cases()))
def test_each_field_matches_what_the_original_recorded(recorded, run, field):
    ours, original = recorded["ours"], recorded["original"]
    assert len(original) == 3  # the original's SqlObserver did not store the TIMEOUT run
    get = FIELDS[field]
    assert get(ours[run]) == get(original[run])


@pytest.mark.slow
def test_dependencies_include_the_original_ones(recorded):
    for ours, original in zip(recorded["ours"], recorded["original"]):
        names = {dep.partition("==")[0] for dep in ours["experiment"]["dependencies"]}
        assert {dep.partition("==")[0] for dep in original["experiment"]["dependencies"]} <= names


@pytest.mark.slow
def test_the_output_of_a_failed_run_is_kept(recorded):
    out = recorded["ours"][1]["captured_out"]
    assert "starting data.csv:True mlp" in out and "done; lr = 0.1" in out


@pytest.mark.slow
@pytest.mark.parametrize("run", [0, 1])
def test_metrics_match_the_original_file_store(recorded, run):
    ours = recorded["ours"][run]["metrics"]
    original = recorded["original_files"][run]["metrics"]
    assert sorted(ours) == sorted(original) == ["acc", "train.loss"]
    for name in original:
        assert ours[name]["steps"] == original[name]["steps"]
        for a, b in zip(ours[name]["values"], original[name]["values"], strict=True):
            assert (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.slow
def test_the_timeout_run_is_stored_with_the_original_status(recorded):
    assert len(recorded["ours"]) == 4
    assert recorded["ours"][3]["status"] == recorded["original_files"][3]["run"]["status"]


@pytest.mark.slow
def test_meta_config_updates_match(recorded):
    for ours, original in zip(recorded["ours"], recorded["original_files"]):
        assert ours["meta"].get("config_updates") == original["run"]["meta"]["config_updates"]


@pytest.mark.slow
def test_meta_option_keys_match(recorded):
    for ours, original in zip(recorded["ours"], recorded["original_files"]):
        assert set(ours["meta"]["options"]) == set(original["run"]["meta"]["options"])
