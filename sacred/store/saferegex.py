"""``=~`` evaluated without catastrophic backtracking.

Python's ``re`` backtracks: ``^(a|aa)+$`` against 41 ``a`` and a ``!`` takes
minutes, holding the GIL, so one filter typed in a board froze every request. Here
a pattern is evaluated by:

1. RE2 (``google-re2``, in the ``store`` and ``board`` extras), a linear-time
   engine, when the pattern is in the subset that means the same in every engine
   (sacred.store.regex: literals, ``.``, anchors, classes, groups, alternation,
   bounded quantifiers) — nearly every pattern people type;
2. otherwise Python's ``re`` (backreferences, lookarounds, ``\\d``/``\\w``/``\\s``/``\\b``
   with Python's Unicode meaning), but only for patterns that do not nest
   repetitions or repeat an alternation whose branches can overlap — the shapes
   whose backtracking explodes. Such a pattern is refused with a QueryError
   saying how to write it.

Without google-re2 every pattern takes the second way. The meaning of ``=~`` is
Python's ``re.search`` either way (RE2 gets the pattern rewritten to match the same
strings), so answers do not depend on the engine.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from sacred.exceptions import QueryError

__all__ = ["compile_search", "check_pattern", "engine_of"]

try:  # re._parser in Python 3.11+, sre_parse before
    from re import _constants as _sre_constants  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _sre_constants
    import sre_parse as _sre_parse


def _re2() -> Any:
    try:
        import re2
    except ImportError:
        return None
    return re2


@functools.lru_cache(maxsize=256)
def _re2_pattern(pattern: str) -> Any:
    """The RE2 program of pattern, or None when it has no exact RE2 equivalent."""
    re2 = _re2()
    if re2 is None:
        return None
    from sacred.store.regex import RegexUnsupported, translate_regex

    try:
        translated = translate_regex(pattern, "re2")
    except RegexUnsupported:
        return None
    try:
        options = re2.Options()
        options.max_mem = 32 << 20
        return re2.compile(translated, options)
    except Exception:  # noqa: BLE001 - whatever RE2 refuses goes the other way
        return None


def _repeats(items: Any) -> bool:
    """Whether a parsed (sub)pattern contains a repetition of more than one."""
    for op, arg in items:
        if op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT):
            if arg[1] > 1 or _repeats(arg[2]):
                return True
        elif op == _sre_constants.SUBPATTERN:
            if _repeats(arg[-1]):
                return True
        elif op == _sre_constants.BRANCH:
            if any(_repeats(branch) for branch in arg[1]):
                return True
        elif op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT):
            if _repeats(arg[1]):
                return True
    return False


def _branches(items: Any) -> bool:
    """Whether a parsed (sub)pattern holds an alternation of more than one branch."""
    for op, arg in items:
        if op == _sre_constants.BRANCH and len(arg[1]) > 1:
            return True
        if op == _sre_constants.SUBPATTERN and _branches(arg[-1]):
            return True
        if op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT) and _branches(arg[2]):
            return True
    return False


def _explosive(items: Any) -> bool:
    """A repetition whose body repeats or alternates: (a+)+, (a|aa)*, (\\w+\\s?)*."""
    for op, arg in items:
        if op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT):
            body = arg[2]
            if arg[1] > 1 and (_repeats(body) or _branches(body)):
                return True
            if _explosive(body):
                return True
        elif op == _sre_constants.SUBPATTERN:
            if _explosive(arg[-1]):
                return True
        elif op == _sre_constants.BRANCH:
            if any(_explosive(branch) for branch in arg[1]):
                return True
        elif op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT):
            if _explosive(arg[1]):
                return True
    return False


def engine_of(pattern: str) -> str:
    """``"re2"`` or ``"re"``: which engine evaluates pattern (for tests and docs)."""
    return "re2" if _re2_pattern(pattern) is not None else "re"


def check_pattern(pattern: str) -> None:
    """QueryError for a pattern that could backtrack for minutes (see the module
    docstring); nothing for a safe one. The pattern compiles with ``re``."""
    if _re2_pattern(pattern) is not None:
        return
    try:
        parsed = _sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return  # the caller reports it as invalid
    if _explosive(list(parsed)):
        raise QueryError(
            f"The regular expression {pattern!r} repeats a group that itself repeats or "
            "alternates, which can take minutes on a long value. Write it without the "
            "nested repetition (e.g. ^a+$ for ^(a|aa)+$)"
            + (
                ""
                if _re2() is not None
                else ", or install google-re2 (pip install "
                "'sacred[store]') to evaluate such patterns in linear time"
            )
            + ".",
            pattern,
            0,
        )


@functools.lru_cache(maxsize=256)
def compile_search(pattern: str) -> Callable[[str], bool]:
    """A function text -> whether pattern matches somewhere in text (re.search);
    QueryError for a pattern check_pattern refuses."""
    program = _re2_pattern(pattern)
    if program is not None:
        return lambda text: program.search(text) is not None
    check_pattern(pattern)
    compiled = re.compile(pattern)
    return lambda text: compiled.search(text) is not None
