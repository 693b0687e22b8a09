"""apply_backspaces_and_linefeeds: terminal semantics, line locality, documented import."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sacred._output_filter import apply_backspaces_and_linefeeds


def terminal(text: str) -> str:
    """Reference model: a terminal with a cursor, one character at a time."""
    lines: list[list[str]] = [[]]
    cursor = 0
    for char in text:
        line = lines[-1]
        if char == "\n":
            lines.append([])
            cursor = 0
        elif char == "\r":
            cursor = 0
        elif char == "\b":
            cursor = max(0, cursor - 1)
        else:
            if cursor < len(line):
                line[cursor] = char
            else:
                line.append(char)
            cursor += 1
    return "\n".join("".join(line) for line in lines)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("", ""),
        ("plain text\nwith lines\n", "plain text\nwith lines\n"),
        ("10%\r20%\r30%\n", "30%\n"),
        ("abc\rX", "Xbc"),
        ("100%\r50", "500%"),
        ("line\r\nnext\r\n", "line\nnext\n"),
        ("ab\b\bcd", "cd"),
        ("abc\b", "abc"),
        ("abc\bX", "abX"),
        ("ab\b \b", "a "),
        ("\bx", "x"),
        ("a\n\b\bb", "a\nb"),  # a backspace never goes back to the previous line
        ("abc\b\b\b\b\bX\rY", "Ybc"),
        ("progress\r", "progress\r"),  # a trailing \r erases nothing until text follows
        ("abc\r", "abc\r"),
        ("ab\rc\r", "cb\r"),
        ("abc\r\n", "abc\n"),
        ("a\rb\bc\n\n\rx\by", "c\n\ny"),
        ("[###   ]" + "\b" * 8 + "\r[######]\n", "[######]\n"),  # Keras-style erase
        ("ünïcödé 50%\rünïcödé 99%\n", "ünïcödé 99%\n"),
    ],
)
def test_examples(text: str, shown: str) -> None:
    assert apply_backspaces_and_linefeeds(text) == shown


def test_progress_bar_collapses_to_final_state() -> None:
    bar = "".join(f"\r{pct:3d}%|{'#' * (pct // 10):<10}|" for pct in range(0, 101, 5))
    text = "epoch 1\n" + bar + "\n" + "epoch 2\n"
    assert apply_backspaces_and_linefeeds(text) == "epoch 1\n100%|##########|\nepoch 2\n"


def test_declares_line_locality() -> None:
    assert apply_backspaces_and_linefeeds.line_local is True


def test_documented_import_path() -> None:
    from sacred.utils import apply_backspaces_and_linefeeds as documented

    assert documented is apply_backspaces_and_linefeeds


def test_large_text_crosses_block_boundaries() -> None:
    lines = []
    for i in range(20_000):
        if i % 7 == 0:
            lines.append(f"\r{i % 100:3d}%\r{i:08d} " + "x" * 30 + "\b\b\bEND\n")
        else:
            lines.append(f"{i:08d} " + "x" * 33 + "\n")
    text = "".join(lines)
    assert len(text) > 10 * (1 << 16)
    assert apply_backspaces_and_linefeeds(text) == terminal(text)


def test_one_long_line_with_many_updates() -> None:
    text = "".join(f"\r{i % 1000:4d}/1000" for i in range(200_000)) + "\ndone\n"
    assert apply_backspaces_and_linefeeds(text) == " 999/1000\ndone\n"


_ALPHABET = st.sampled_from(["a", "b", "xyz", "é", " ", "\r", "\b", "\n", "\r\n", "\b\b"])
_TEXT = st.lists(_ALPHABET, max_size=60).map("".join)


@given(_TEXT)
@settings(max_examples=400, deadline=None)
def test_matches_a_terminal(text: str) -> None:
    # What a terminal shows, plus the carriage returns at the very end still pending.
    body = text.rstrip("\r")
    assert apply_backspaces_and_linefeeds(text) == terminal(body) + text[len(body) :]


@given(_TEXT, _TEXT)
@settings(max_examples=400, deadline=None)
@pytest.mark.slow
def test_line_local(first: str, second: str) -> None:
    """f(a + b) == f(a) + f(b) whenever a ends with a newline."""
    a = first + "\n"
    assert apply_backspaces_and_linefeeds(a + second) == (
        apply_backspaces_and_linefeeds(a) + apply_backspaces_and_linefeeds(second)
    )


@given(_TEXT)
@settings(max_examples=200, deadline=None)
def test_incremental_filtering_equals_whole(text: str) -> None:
    """The run's incremental scheme: complete lines once, the open line redone."""
    done: list[str] = []
    pending = ""
    for i in range(0, len(text), 3):
        pending += text[i : i + 3]
        cut = pending.rfind("\n") + 1
        if cut:
            done.append(apply_backspaces_and_linefeeds(pending[:cut]))
            pending = pending[cut:]
    result = "".join(done) + apply_backspaces_and_linefeeds(pending)
    assert result == apply_backspaces_and_linefeeds(text)
