"""Interpreting carriage returns and backspaces in captured output like a terminal.

``apply_backspaces_and_linefeeds`` is the documented captured-output filter
(``ex.captured_out_filter = apply_backspaces_and_linefeeds``). It keeps what a
terminal would finally show: a progress bar that redraws its line with ``'\\r'``
collapses to its last state.

Decisions (the spec only says "like a terminal"):

* ``'\\r'`` moves the cursor to the start of the line; later text *overwrites*
  earlier text character by character, so ``'100%\\r50'`` gives ``'500%'`` as on a
  terminal (progress bars redraw the full width, so this rarely shows).
* ``'\\b'`` moves the cursor one character back without erasing, and never past
  the start of the line (a terminal does not go back to the previous line either).
* ``'\\r\\n'`` is a plain newline (the ``'\\r'`` moves to the start, nothing is
  written before the newline).
* A ``'\\r'`` at the very end of the text is kept (``"abc\\r"`` stays
  ``"abc\\r"``): a carriage return only erases once text follows it.
* The function is *line-local*: for any text ``a`` ending with ``'\\n'``,
  ``f(a + b) == f(a) + f(b)``. It carries the attribute ``line_local = True`` so the
  run filters captured output incrementally (complete lines once, only the
  unfinished last line again) instead of re-filtering everything on every
  heartbeat.

Speed: the text is cut into blocks of about 64 KB at newlines; blocks without
control characters are kept untouched (checked at memchr speed), the others are
split into lines and only lines with a control character are resolved, by
overlaying their '\\r'-separated segments with string slices.
"""

from __future__ import annotations

__all__ = ["apply_backspaces_and_linefeeds"]

_BLOCK = 1 << 16  # characters per block of the fast path


def _overlay(segments: list[str]) -> str:
    """What remains of a line whose segments were each written from column 0.

    Column c shows the last segment longer than c, so the segments are read from
    the end and reading stops once the longest segment is covered: a progress bar
    updated a million times costs one pass of ``max`` in C.
    """
    shown = segments[-1]
    longest = max(map(len, segments))
    index = len(segments) - 2
    while len(shown) < longest:
        segment = segments[index]
        if len(segment) > len(shown):
            shown += segment[len(shown) :]
        index -= 1
    return shown


def _write_with_backspaces(segments: list[str]) -> str:
    """Like _overlay, for segments that move the cursor back with '\\b' inside."""
    shown = ""
    for segment in segments:
        position = 0
        for index, part in enumerate(segment.split("\b")):
            if index and position:  # one backspace before every part but the first
                position -= 1
            if part:
                end = position + len(part)
                shown = shown[:position] + part + shown[end:]
                position = end
    return shown


def _apply_line(line: str) -> str:
    """Resolve one line (no '\\n' in it) holding at least one '\\r' or '\\b'."""
    segments = line.split("\r")
    if "\b" in line:
        # Backspaces at the end of a segment only move the cursor before the next
        # '\r' (Keras erases its bar like that): they change nothing on screen.
        segments = [segment.rstrip("\b") for segment in segments]
        if any("\b" in segment for segment in segments):
            return _write_with_backspaces(segments)
    return _overlay(segments)


def _apply_lines(text: str) -> str:
    return "\n".join(
        [_apply_line(line) if "\r" in line or "\b" in line else line for line in text.split("\n")]
    )


def apply_backspaces_and_linefeeds(text: str) -> str:
    """Interpret backspaces and carriage returns in text like a terminal would.

    Progress bars that redraw their line collapse to their final state; ``\\r\\n``
    is a newline; a backspace never crosses a line start. Works line by line, so
    filtering a text in pieces split after a newline gives the same result as
    filtering it whole.

    Args:
        text: captured output, possibly with ``'\\r'`` and ``'\\b'`` characters.

    Returns:
        The text as a terminal would finally show it.
    """
    if "\r" not in text and "\b" not in text:
        return text
    if text.endswith("\r"):
        # A carriage return erases nothing until text follows it: "abc\r" stays as it
        # is, so that output filtered before the rest of its line arrives loses nothing.
        body = text.rstrip("\r")
        return apply_backspaces_and_linefeeds(body) + text[len(body) :]
    length = len(text)
    if length <= _BLOCK:
        return _apply_lines(text)
    # Blocks end right after a newline, so no line is cut; blocks without control
    # characters (found at memchr speed) are kept as they are.
    pieces: list[str] = []
    start = 0
    while start < length:
        end = text.find("\n", start + _BLOCK)
        end = length if end == -1 else end + 1
        block = text[start:end]
        pieces.append(_apply_lines(block) if "\r" in block or "\b" in block else block)
        start = end
    return "".join(pieces)


# The run filters captured output incrementally only for filters that promise this.
apply_backspaces_and_linefeeds.line_local = True  # type: ignore[attr-defined]
