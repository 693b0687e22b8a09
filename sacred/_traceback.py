"""Stack traces without sacred's own frames, so users see their code first."""

from __future__ import annotations

import os
import traceback

__all__ = ["format_filtered_stacktrace", "is_sacred_frame", "raised_by_sacred"]

_SACRED_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_sacred_frame(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_SACRED_DIR)


def format_filtered_stacktrace(exc: BaseException, filter_traceback: bool = True) -> list[str]:
    """The formatted trace of ``exc`` as a list of strings.

    With ``filter_traceback`` every frame that belongs to sacred itself is removed
    (chained exceptions included), and the header says so.
    """
    if not filter_traceback:
        return traceback.format_exception(type(exc), exc, exc.__traceback__)
    tb_exc = traceback.TracebackException.from_exception(exc)
    _drop_sacred_frames(tb_exc, seen=set())
    lines = list(tb_exc.format())
    return [
        line.replace(
            "Traceback (most recent call last):",
            "Traceback (most recent calls WITHOUT Sacred internals):",
        )
        for line in lines
    ]


def _drop_sacred_frames(tb_exc: traceback.TracebackException, seen: set) -> None:
    if id(tb_exc) in seen:
        return
    seen.add(id(tb_exc))
    frames = [f for f in tb_exc.stack if not is_sacred_frame(f.filename)]
    if frames:  # an error raised by sacred itself keeps its frames, to stay explicable
        tb_exc.stack = traceback.StackSummary.from_list(frames)
    for chained in (tb_exc.__cause__, tb_exc.__context__):
        if chained is not None:
            _drop_sacred_frames(chained, seen)


def raised_by_sacred(exc: BaseException) -> bool:
    """Whether every frame of ``exc``'s traceback is sacred's own: an error about the
    user's input or setup (an existing run id, an unknown file extension) that a
    trace "without Sacred internals" would show as nothing but sacred internals."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb is not None:
        if not is_sacred_frame(tb.tb_frame.f_code.co_filename):
            return False
        tb = tb.tb_next
    return True
