"""The file store written by this package, compared with sacred 0.8.7's
(fixture ``file_store/``), file by file and field by field."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import copy_experiment, fixture_path, localized, run_fixture_commands, same

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
FAIL_LINE = "RuntimeError: deliberate failure for the compat test\n"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    original = fixture_path("file_store")
    directory = copy_experiment(tmp_path_factory.mktemp("compat") / "experiment")
    run_fixture_commands(directory, ["-F", "file_store"])
    return original, directory / "file_store", directory


def load(path):
    return json.loads(path.read_text())


def test_the_same_directories_and_shared_files(stores):
    original, ours, _ = stores

    def names(directory):  # hidden files are readers' caches, not the layout
        return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))

    assert names(ours) == names(original)
    for shared in ("_sources", "_resources"):  # names hold the md5 of the content
        assert sorted(p.name for p in (ours / shared).iterdir()) == sorted(
            p.name for p in (original / shared).iterdir()
        )


@pytest.mark.parametrize("run", ["1", "2", "4"])
def test_the_same_files_in_each_started_run(stores, run):
    original, ours, _ = stores
    assert sorted(p.name for p in (ours / run).iterdir()) == sorted(
        p.name for p in (original / run).iterdir()
    )


def test_a_queued_run_holds_its_record_and_config(stores):
    original, ours, _ = stores
    # Documented difference: the original also copies the sources into a queued
    # run's directory (and records them as [name, md5]); we record them like a
    # started run's, as [name, "_sources/<file>"] copies.
    assert sorted(p.name for p in (ours / "3").iterdir()) == ["config.json", "run.json"]
    assert {"compat_exp.py", "helper.py"} <= {p.name for p in (original / "3").iterdir()}
    ours_run, original_run = load(ours / "3" / "run.json"), load(original / "3" / "run.json")
    assert set(ours_run) == set(original_run)  # queue_time in meta only, as the original
    assert ours_run["status"] == original_run["status"] == "QUEUED"
    assert ours_run["meta"]["queue_time"]
    assert (
        ours_run["experiment"]["sources"] == load(ours / "1" / "run.json")["experiment"]["sources"]
    )


@pytest.mark.parametrize("run", ["1", "2", "4"])
def test_run_json_fields(stores, run):
    original, ours, directory = stores
    ours_run, original_run = load(ours / run / "run.json"), load(original / run / "run.json")
    assert set(ours_run) == set(original_run)
    for key in ("artifacts", "command", "result"):
        assert ours_run[key] == original_run[key], key
    assert ours_run["resources"] == localized(original_run["resources"], directory)
    for key in ("start_time", "heartbeat", "stop_time"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?", ours_run[key])
    experiment, original_experiment = ours_run["experiment"], original_run["experiment"]
    for key in ("name", "mainfile", "sources", "repositories"):
        assert experiment[key] == original_experiment[key], key
    assert experiment["base_dir"] == str(directory)
    assert set(original_experiment) <= set(experiment)
    assert set(ours_run["host"]) >= set(original_run["host"]) - {"ENV"}
    if run == "2":
        assert isinstance(ours_run["fail_trace"], list)
        assert ours_run["fail_trace"][-1] == original_run["fail_trace"][-1] == FAIL_LINE


def test_fail_trace_header(stores):
    original, ours, _ = stores
    first = load(ours / "2" / "run.json")["fail_trace"][0]
    assert first == load(original / "2" / "run.json")["fail_trace"][0]


def test_the_timeout_status(stores):
    original, ours, _ = stores
    assert load(ours / "4" / "run.json")["status"] == load(original / "4" / "run.json")["status"]


@pytest.mark.parametrize("run", ["1", "2"])
def test_status(stores, run):
    original, ours, _ = stores
    assert load(ours / run / "run.json")["status"] == load(original / run / "run.json")["status"]


@pytest.mark.parametrize("run", ["1", "2", "3", "4"])
def test_meta(stores, run):
    original, ours, _ = stores
    meta, original_meta = (
        load(ours / run / "run.json")["meta"],
        load(original / run / "run.json")["meta"],
    )
    assert set(meta) == set(original_meta)
    for key in ("command", "config_updates", "named_configs"):
        assert meta[key] == original_meta[key], key
    if "options" in original_meta:
        assert sorted(meta["options"]) == sorted(original_meta["options"])


@pytest.mark.parametrize("run", ["1", "2", "3", "4"])
def test_config_json_is_written_alike(stores, run):
    original, ours, _ = stores
    ours_text = (ours / run / "config.json").read_text()
    original_text = (original / run / "config.json").read_text()
    seed = str(load(original / run / "config.json")["seed"])
    assert re.sub(r'"seed": \d+', f'"seed": {seed}', ours_text) == original_text


@pytest.mark.parametrize("run", ["1", "2"])
def test_info_json_is_written_alike(stores, run):
    original, ours, _ = stores
    assert (ours / run / "info.json").read_text() == (original / run / "info.json").read_text()


@pytest.mark.parametrize("run", ["1", "2", "4"])
def test_metrics_json_is_written_alike(stores, run):
    original, ours, _ = stores
    ours_metrics, original_metrics = (
        load(ours / run / "metrics.json"),
        load(original / run / "metrics.json"),
    )
    assert list(ours_metrics) == list(original_metrics)
    for name, series in original_metrics.items():
        assert list(ours_metrics[name]) == list(series)
        assert ours_metrics[name]["steps"] == series["steps"]
        assert same(ours_metrics[name]["values"], series["values"])
        assert len(ours_metrics[name]["timestamps"]) == len(series["timestamps"])
        assert all(STAMP.match(t) for t in ours_metrics[name]["timestamps"])

    def without_times(path):
        return re.sub(r'"\d{4}-[^"]+"', '"T"', path.read_text())

    assert without_times(ours / run / "metrics.json") == without_times(
        original / run / "metrics.json"
    )


@pytest.mark.parametrize("run", ["1", "2"])
def test_artifacts_are_copied(stores, run):
    original, ours, _ = stores
    for name in ("notes.txt", "plot.png"):
        assert (ours / run / name).read_bytes() == (original / run / name).read_bytes()


def test_captured_output_holds_what_the_run_printed(stores):
    original, ours, _ = stores
    ours_lines = (ours / "1" / "cout.txt").read_text().splitlines()
    for line in ("starting data.csv:True mlp", "done; lr = 0.01"):
        assert line in ours_lines


def test_captured_output_is_the_originals(stores):
    original, ours, _ = stores
    assert (ours / "1" / "cout.txt").read_text() == (original / "1" / "cout.txt").read_text()
