"""capture_output: the three modes, nothing lost, the console still sees everything.

The fd mode needs real file descriptors 1 and 2, which pytest's own capture takes
away, so those tests run a small script in a subprocess and inspect both what it
captured (written to a file) and what reached its stdout/stderr (the console).
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from sacred.stdout_capturing import CAPTURE_MODES, capture_output

LINES = 100_000


def expected_lines() -> str:
    """What the lossless scripts print: 80-byte lines with '\\r' progress updates."""
    parts = []
    for i in range(LINES):
        if i % 100 == 0:
            parts.append(f"\r{i // 1000:3d}% working")
        parts.append(f"{i:08d} " + "x" * 70 + "\n")
    return "".join(parts)


def run_script(tmp_path: Path, body: str, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "captured.txt"), *args],
        capture_output=True,
        timeout=300,
    )


def captured(tmp_path: Path) -> str:
    with open(tmp_path / "captured.txt", encoding="utf-8", newline="") as f:
        return f.read()


# -- no / sys (in-process) -------------------------------------------------------------


def test_no_mode_records_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with capture_output("no") as cap:
        print("shown but not recorded")
        assert cap.read_new() == ""
    assert cap.mode == "no"
    assert cap.read_new() == ""
    assert capsys.readouterr().out == "shown but not recorded\n"


def test_sys_mode_tees(capsys: pytest.CaptureFixture[str]) -> None:
    with capture_output("sys") as cap:
        print("to stdout")
        print("to stderr", file=sys.stderr)
        first = cap.read_new()
        sys.stdout.write("more")
    assert cap.mode == "sys"
    assert first == "to stdout\nto stderr\n"
    assert cap.read_new() == "more"
    assert cap.read_new() == ""
    console = capsys.readouterr()
    assert console.out == "to stdout\nmore"
    assert console.err == "to stderr\n"


def test_sys_mode_restores_streams() -> None:
    before = sys.stdout, sys.stderr
    with pytest.raises(RuntimeError), capture_output("sys"):
        raise RuntimeError("boom")
    assert (sys.stdout, sys.stderr) == before


def test_sys_mode_binary_writes(capsys: pytest.CaptureFixture[str]) -> None:
    with capture_output("sys") as cap:
        sys.stdout.buffer.write("bïnary\n".encode()[:2])
        sys.stdout.buffer.write("bïnary\n".encode()[2:])
        sys.stdout.flush()
    assert cap.read_new() == "bïnary\n"


def test_sys_mode_stream_attributes_are_forwarded() -> None:
    original = io.TextIOWrapper(io.BytesIO(), encoding="latin-1", line_buffering=True)
    saved = sys.stdout
    sys.stdout = original
    try:
        with capture_output("sys"):
            tee = sys.stdout
            assert tee.encoding == "latin-1"
            assert tee.line_buffering is True
            assert tee.isatty() is False
            with pytest.raises(TypeError):
                tee.write(b"bytes are not text")
    finally:
        sys.stdout = saved


def test_sys_mode_without_original_stream() -> None:
    """pythonw and some services run with sys.stdout = None."""
    saved = sys.stdout
    sys.stdout = None
    try:
        with capture_output("sys") as cap:
            print("nowhere to go")
    finally:
        sys.stdout = saved
    assert cap.read_new() == "nowhere to go\n"


def test_sys_mode_loses_nothing_while_read_concurrently() -> None:
    text = expected_lines()
    pieces: list[str] = []
    saved = sys.stdout
    sys.stdout = io.StringIO()  # a console that does not slow the test down
    try:
        with capture_output("sys") as cap:
            stop = threading.Event()

            def heartbeat() -> None:
                while not stop.wait(0.1):
                    pieces.append(cap.read_new())

            beat = threading.Thread(target=heartbeat)
            beat.start()
            for line in text.splitlines(keepends=True):
                print(line, end="")
            stop.set()
            beat.join()
        pieces.append(cap.read_new())
        console = sys.stdout.getvalue()
    finally:
        sys.stdout = saved
    assert "".join(pieces) == text
    assert console == text


def test_nested_captures() -> None:
    saved = sys.stdout
    sys.stdout = io.StringIO()
    try:
        with capture_output("sys") as outer:
            print("outer only")
            with capture_output("sys") as inner:
                print("both")
            print("outer again")
    finally:
        sys.stdout = saved
    assert inner.read_new() == "both\n"
    assert outer.read_new() == "outer only\nboth\nouter again\n"


def test_fd_falls_back_to_sys_without_real_descriptors() -> None:
    saved = sys.stdout
    sys.stdout = io.StringIO()
    try:
        with capture_output("fd") as cap:
            print("hello")
    finally:
        sys.stdout = saved
    assert cap.mode == "sys"
    assert cap.requested_mode == "fd"
    assert "sys.stdout has no file descriptor" in cap.fallback_reason
    assert cap.read_new() == "hello\n"


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [
        ("fdd", "Unknown capture mode 'fdd': use 'no', 'sys' or 'fd'. Did you mean \"fd\"?"),
        ("all", "Unknown capture mode 'all': use 'no', 'sys' or 'fd'."),
    ],
)
def test_unknown_mode(mode: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info, capture_output(mode):
        pass
    assert fragment in str(info.value)


def test_modes_constant() -> None:
    assert CAPTURE_MODES == ("no", "sys", "fd")


# -- fd (in a subprocess with real descriptors) ----------------------------------------

LOSSLESS = """
import sys, threading
from sacred.stdout_capturing import capture_output

LINES = 100_000
pieces = []
with capture_output(sys.argv[2]) as cap:
    assert cap.mode == sys.argv[2], cap.fallback_reason
    stop = threading.Event()

    def heartbeat():
        while not stop.wait(0.1):
            pieces.append(cap.read_new())

    beat = threading.Thread(target=heartbeat)
    beat.start()
    for i in range(LINES):
        if i % 100 == 0:
            print(f"\\r{i // 1000:3d}% working", end="")
        print(f"{i:08d} " + "x" * 70)
    stop.set()
    beat.join()
pieces.append(cap.read_new())
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write("".join(pieces))
"""


@pytest.mark.parametrize("mode", ["fd", "sys"])
def test_loses_nothing_in_a_real_process(tmp_path: Path, mode: str) -> None:
    proc = run_script(tmp_path, LOSSLESS, mode)
    assert proc.returncode == 0, proc.stderr.decode()
    text = expected_lines()
    assert captured(tmp_path) == text
    assert proc.stdout.decode() == text  # the console saw all of it too


FD_SOURCES = """
import ctypes, os, subprocess, sys
from sacred.stdout_capturing import capture_output

with capture_output("fd") as cap:
    # One write per line: the two descriptors are read by two threads, so a line
    # written in two pieces (print unbuffered: text, then newline) may have the other
    # stream's text recorded between its pieces.
    sys.stdout.write("python print\\n")
    sys.stdout.flush()
    sys.stderr.write("python stderr\\n")
    sys.stderr.flush()
    subprocess.run([sys.executable, "-c", "print('child stdout')"], check=True)
    subprocess.run(
        [sys.executable, "-c", "import sys; sys.stderr.write('child stderr\\\\n')"], check=True
    )
    os.write(1, "ünï".encode()[:3])  # a character split across two writes
    os.write(1, "ünï".encode()[3:] + b"\\n")
    ctypes.CDLL(None).printf(b"from C\\n")  # stays in C's buffer: stdout is a pipe
    print("no newline at the end", end="")
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write(cap.mode + "\\n" + cap.read_new())
"""


def test_fd_mode_captures_children_c_code_and_both_streams(tmp_path: Path) -> None:
    proc = run_script(tmp_path, FD_SOURCES)
    assert proc.returncode == 0, proc.stderr.decode()
    mode, _, text = captured(tmp_path).partition("\n")
    assert mode == "fd"
    for fragment in [
        "python print\n",
        "python stderr\n",
        "child stdout\n",
        "child stderr\n",
        "ünï\n",
        "from C\n",
        "no newline at the end",
    ]:
        assert fragment in text
    assert "\ufffd" not in text
    stdout, stderr = proc.stdout.decode(), proc.stderr.decode()
    for fragment in ["python print", "child stdout", "ünï", "from C", "no newline at the end"]:
        assert fragment in stdout
        assert fragment not in stderr
    for fragment in ["python stderr", "child stderr"]:
        assert fragment in stderr
        assert fragment not in stdout


LINGERING_CHILD = """
import subprocess, sys, threading
from sacred.stdout_capturing import capture_output

with capture_output("fd") as cap:
    print("before", flush=True)
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read(); print('late', flush=True)"],
        stdin=subprocess.PIPE,
    )
text = cap.read_new()
child.communicate(b"go")  # the child prints only after the capture has ended
for thread in threading.enumerate():
    if thread.name.startswith("sacred-fd"):
        thread.join()
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write(text)
"""


def test_child_outliving_the_capture(tmp_path: Path) -> None:
    """The exit does not wait for a child still holding stdout; its later output is
    echoed to the console but not recorded."""
    proc = run_script(tmp_path, LINGERING_CHILD)
    assert proc.returncode == 0, proc.stderr.decode()
    assert captured(tmp_path) == "before\n"
    assert proc.stdout.decode() == "before\nlate\n"


RESTORES = """
import os, sys
from sacred.stdout_capturing import capture_output

before = os.fstat(1).st_ino, os.fstat(2).st_ino
try:
    with capture_output("fd") as cap:
        print("inside")
        raise KeyboardInterrupt
except KeyboardInterrupt:
    pass
after = os.fstat(1).st_ino, os.fstat(2).st_ino
print("after")
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write(f"{before == after} {cap.read_new()!r}")
"""


def test_fd_mode_restores_descriptors_after_an_interrupt(tmp_path: Path) -> None:
    proc = run_script(tmp_path, RESTORES)
    assert proc.returncode == 0, proc.stderr.decode()
    assert captured(tmp_path) == "True 'inside\\n'"
    assert proc.stdout.decode() == "inside\nafter\n"


NESTED_FD = """
import sys
from sacred.stdout_capturing import capture_output

with capture_output("fd") as outer:
    print("outer", flush=True)
    with capture_output("fd") as inner:
        print("inner", flush=True)
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write(repr((outer.read_new(), inner.read_new())))
"""


def test_nested_fd_captures(tmp_path: Path) -> None:
    proc = run_script(tmp_path, NESTED_FD)
    assert proc.returncode == 0, proc.stderr.decode()
    assert captured(tmp_path) == repr(("outer\ninner\n", "inner\n"))
    assert proc.stdout.decode() == "outer\ninner\n"


CLOSED_CONSOLE = """
import sys
from sacred.stdout_capturing import capture_output

with capture_output("fd") as cap:
    print("recorded even if nobody reads the console", flush=True)
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write(cap.read_new())
"""


def test_console_gone_still_records(tmp_path: Path) -> None:
    """The console is a pipe whose reader has gone: writes fail, recording goes on."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(CLOSED_CONSOLE))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "captured.txt")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # nobody reads the console any more
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert captured(tmp_path) == "recorded even if nobody reads the console\n"
