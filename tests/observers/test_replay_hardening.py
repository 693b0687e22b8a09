"""``sacred replay DUMP URL`` treats the dump as data: only the documented events,
only files inside the dump's directory, and one clear error per bad line while the
rest of the run is replayed and the bad lines are kept in ``DUMP.rejected``."""

from __future__ import annotations

import json

import pytest

from sacred.observers.queue import artifact_copy_name, dump_files_dir
from sacred.store import open_store
from sacred.store.cli import main

START = {
    "event": "started_event",
    "args": [],
    "kwargs": {
        "ex_info": {"name": "dumped", "base_dir": "/x", "sources": [], "dependencies": []},
        "command": "main",
        "host_info": {"hostname": "h"},
        "start_time": "2024-05-01T10:00:00.000001",
        "config": {"seed": 1, "lr": 0.1},
        "meta_info": {"command": "main", "options": {}},
        "_id": 7,
    },
    "format": "sacred-queue-dump/1",
}
BEAT = {
    "event": "heartbeat_event",
    "args": [],
    "kwargs": {"info": {}, "beat_time": "2024-05-01T10:00:01", "result": None},
    "captured_out_append": "hello\n",
}
METRICS = {
    "event": "log_metrics",
    "args": [
        {
            "loss": {
                "steps": [0, 1],
                "values": [0.5, 0.4],
                "timestamps": ["2024-05-01T10:00:01"] * 2,
            }
        },
        {},
    ],
    "kwargs": {},
}
END = {
    "event": "completed_event",
    "args": [],
    "kwargs": {"stop_time": "2024-05-01T10:00:02", "result": 42},
}


def _line(value) -> bytes:
    return (json.dumps(value) + "\n").encode()


def _write(path, lines: list[bytes]) -> str:
    path.write_bytes(b"".join(lines))
    return str(path)


def _replay(dump, target, capsys):
    code = main(["replay", dump, target])
    out, err = capsys.readouterr()
    return code, out, err


def _stored(target):
    with open_store(target) as store:
        (run,) = store.find()
        return run.status, run.result, list(run.metrics.raw("loss")["values"]), run.captured_out


BAD_LINES = [
    (b'["started_event", 1]\n', "a JSON list, not an event object"),
    (_line({"event": "heartbeat_event", "args": []}), "heartbeat_event without a kwargs object"),
    (_line({"event": "__init__", "args": ["sqlite:///evil.db"], "kwargs": {}}), "unknown event"),
    (_line({"event": "_emit", "args": [], "kwargs": {}}), "unknown event '_emit'"),
    (
        _line({**BEAT, "kwargs": {**BEAT["kwargs"], "beat_time": "yesterday"}}),
        "heartbeat_event: beat_time 'yesterday' is not an ISO time",
    ),
    (
        _line({**BEAT, "kwargs": {**BEAT["kwargs"], "evil": 1}}),
        "heartbeat_event with bad arguments: got an unexpected keyword argument 'evil'",
    ),
    (
        _line({"event": "completed_event", "args": [], "kwargs": {"result": 1}}),
        "completed_event with bad arguments: missing a required argument: 'stop_time'",
    ),
    (
        _line({**BEAT, "kwargs": {**BEAT["kwargs"], "info": "not a dict"}}),
        "heartbeat_event: info is a str",
    ),
    (b'{"event": "heartbeat_event", "kwargs": {"info": "\xff\xfe"}}\n', "not UTF-8 text"),
    (b"{not json\n", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "JSON nested too deeply"),
    (_line(START), "started_event on line"),
    (
        _line({"event": "artifact_event", "args": ["passwd", "/etc/passwd"], "kwargs": {}}),
        "artifact_event: '/etc/passwd' is not read",
    ),
    (
        _line({"event": "resource_event", "args": ["/etc/passwd"], "kwargs": {}}),
        "resource_event: '/etc/passwd' is not read",
    ),
    (
        _line({"event": "resource_event", "args": ["../outside.txt"], "kwargs": {}}),
        "resource_event: '../outside.txt' is not read",
    ),
]


@pytest.mark.parametrize("bad, message", BAD_LINES, ids=[m for _, m in BAD_LINES])
def test_a_bad_line_is_one_error_and_the_rest_of_the_run_is_replayed(
    bad, message, tmp_path, capsys
):
    (tmp_path / "outside.txt").write_text("not the dump's")
    (tmp_path / "dumps").mkdir()
    dump = _write(
        tmp_path / "dumps" / "d.jsonl", [_line(START), bad, _line(BEAT), _line(METRICS), _line(END)]
    )
    target = str(tmp_path / "runs")

    code, out, err = _replay(dump, target, capsys)

    assert code == 1
    assert "Traceback" not in err
    first, last = err.strip().splitlines()
    assert first.startswith(f"sacred: error: {dump} line 2: ")
    assert message in first
    assert "1 bad line(s)" in last and "the rest of the run was replayed" in last
    assert "replayed run 7 (COMPLETED)" in out
    assert _stored(target) == ("COMPLETED", 42, [0.5, 0.4], "hello\n")
    assert (tmp_path / "dumps" / "d.jsonl.rejected").read_bytes() == bad
    assert not (tmp_path / "evil.db").exists()


def test_every_bad_line_is_reported_once_with_its_number(tmp_path, capsys):
    lines = [_line(START), BAD_LINES[0][0], _line(BEAT), BAD_LINES[2][0], _line(END)]
    dump = _write(tmp_path / "d.jsonl", lines)

    code, out, err = _replay(dump, str(tmp_path / "runs"), capsys)

    assert code == 1
    reported = err.strip().splitlines()
    assert [line.split(": ")[2].split(":")[0] for line in reported[:2]] == [
        f"{dump} line 2",
        f"{dump} line 4",
    ]
    assert "2 bad line(s)" in reported[2] and len(reported) == 3
    assert (tmp_path / "d.jsonl.rejected").read_bytes() == lines[1] + lines[3]


def test_an_artifact_is_taken_from_its_copy_beside_the_dump(tmp_path, capsys):
    original = str(tmp_path / "gone" / "model.txt")
    dump = str(tmp_path / "d.jsonl")
    files = tmp_path / "d.jsonl.files"
    assert dump_files_dir(dump) == str(files)
    files.mkdir()
    (files / artifact_copy_name(original)).write_text("weights")
    artifact = {"event": "artifact_event", "args": ["model.txt", original], "kwargs": {}}
    _write(tmp_path / "d.jsonl", [_line(START), _line(artifact), _line(METRICS), _line(END)])

    code, out, err = _replay(dump, str(tmp_path / "runs"), capsys)

    assert (code, err) == (0, "")
    assert not (tmp_path / "d.jsonl.rejected").exists()
    with open_store(str(tmp_path / "runs")) as store:
        assert store.get(7).artifacts["model.txt"].read() == b"weights"


def test_a_symlinked_copy_pointing_out_of_the_dumps_directory_is_refused(tmp_path, capsys):
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "dumps").mkdir()
    dump = str(tmp_path / "dumps" / "d.jsonl")
    files = tmp_path / "dumps" / "d.jsonl.files"
    files.mkdir()
    name = str(tmp_path / "run" / "secret.txt")
    (files / artifact_copy_name(name)).symlink_to(tmp_path / "secret.txt")
    artifact = {"event": "artifact_event", "args": ["secret.txt", name], "kwargs": {}}
    _write(tmp_path / "dumps" / "d.jsonl", [_line(START), _line(artifact), _line(END)])

    code, out, err = _replay(dump, str(tmp_path / "runs"), capsys)

    assert code == 1 and "artifact_event: " in err and "is not read" in err
    with open_store(str(tmp_path / "runs")) as store:
        assert list(store.get(7).artifacts) == []


def test_a_first_line_that_is_not_a_start_is_no_dump(tmp_path, capsys):
    dump = _write(tmp_path / "d.jsonl", [b"\xff\xfe\n", _line(END)])

    code, out, err = _replay(dump, str(tmp_path / "runs"), capsys)

    assert code == 1
    (line,) = err.strip().splitlines()
    assert "is not a QueueObserver dump: its first line is not the run's start event" in line
    assert "not UTF-8" in line
    assert not (tmp_path / "runs").exists()
