"""``=~`` patterns rewritten for database regex engines, or refused.

The reference meaning of ``=~`` is Python's ``re.search`` (SQLite's REGEXP and
mongomock call exactly that). PostgreSQL (ARE) and PCRE (MariaDB, MongoDB) read
some patterns differently: ``.`` matches a newline in PostgreSQL, ``$`` matches
before a final newline in Python but not in PostgreSQL, ``a{,3}`` is a literal in
PostgreSQL, ``\\d``/``\\w``/``\\s``/``\\b`` follow each engine's own idea of Unicode,
``(?i)`` folds case differently, and PostgreSQL repeats at most 255 times.

So a pattern is pushed down only when it is made of parts that mean the same
everywhere, each rewritten in the target's syntax: literal characters (punctuation
escaped, control characters as code escapes), ``.`` (as ``[^\\n]``), ``^``/``\\A``,
``$`` (as "before an optional final newline at the end"), ``\\Z``, bracket classes
of characters and ranges, groups (``(...)``, ``(?:...)``, ``(?P<name>...)``, all
emitted non-capturing), alternation, and the quantifiers ``* + ? {m} {m,} {m,n}
{,n}`` (lazy or greedy; at most 255). Anything else raises :class:`RegexUnsupported`
and the backend evaluates that query in Python.
"""

from __future__ import annotations

__all__ = ["RegexUnsupported", "translate_regex"]

_META = set(".^$*+?()[]{}|\\")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_MAX_REPEAT = 255  # PostgreSQL's RE_DUP_MAX


class RegexUnsupported(Exception):
    """A pattern whose meaning differs between Python and the target engine."""


def translate_regex(pattern: str, dialect: str) -> str:
    """pattern (Python syntax, already validated by re.compile) for dialect
    'postgresql', 'pcre' or 're2' (PCRE's syntax without lookahead: see
    end_or_final_newline), with the same matches as Python's re.search."""
    if dialect not in ("postgresql", "pcre", "re2"):
        raise ValueError(f"unknown regex dialect {dialect!r}")
    return _Translator(pattern, dialect).run()


class _Translator:
    def __init__(self, pattern: str, dialect: str) -> None:
        self.p = pattern
        self.i = 0
        self.dialect = dialect
        self.out: list[str] = []

    def refuse(self, why: str) -> RegexUnsupported:
        return RegexUnsupported(f"{why} (at {self.i} in the pattern {self.p!r})")

    def run(self) -> str:
        p = self.p
        if "\x00" in p and self.dialect == "postgresql":
            raise self.refuse("NUL (PostgreSQL text cannot hold it)")
        # Whether the last emitted item can take a quantifier.
        repeatable = False
        depth = 0
        while self.i < len(p):
            c = p[self.i]
            if c in "*+?{":
                if not repeatable:
                    raise self.refuse("a quantifier after nothing repeatable")
                self.quantifier()
                repeatable = False
                continue
            self.i += 1
            repeatable = True
            if c == "\\":
                repeatable = self.escape()
            elif c == "[":
                self.out.append(self.bracket())
            elif c == "(":
                self.group_open()
                depth += 1
                repeatable = False
            elif c == ")":
                if depth == 0:
                    raise self.refuse("an unbalanced ')'")
                depth -= 1
                self.out.append(")")
            elif c == "|":
                self.out.append("|")
                repeatable = False
            elif c == ".":
                self.out.append("[^\\n]")  # Python's dot: anything but a newline
            elif c == "^":
                self.out.append("^")
                repeatable = False
            elif c == "$":
                self.out.append(self.end_or_final_newline())
                repeatable = False
            elif c in "]}":
                raise self.refuse(f"a lone {c!r}")
            else:
                self.out.append(self.literal(c))
        if depth:
            raise self.refuse("an unclosed group")
        return "".join(self.out)

    def end_or_final_newline(self) -> str:
        """Python's '$': the end, or just before a newline that ends the string."""
        if self.dialect == "re2":
            # RE2 has no lookahead: the final newline is consumed instead, which
            # matches the same strings when nothing but the end of a group or of
            # a branch follows the '$' (nothing after it can match a newline).
            if not _nothing_follows(self.p, self.i):
                raise self.refuse("'$' followed by more pattern (RE2 has no lookahead)")
            return "(?:\\n?\\z)"
        end = "\\Z" if self.dialect == "postgresql" else "\\z"
        return f"(?=\\n?{end})"

    def literal(self, char: str) -> str:
        code = ord(char)
        if char.isalnum() and code < 128 or code > 127 and char.isprintable():
            return char
        if code < 128 and char.isprintable():
            return "\\" + char  # escaped punctuation is itself in every engine
        if self.dialect == "postgresql":
            return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        return f"\\x{{{code:x}}}"

    def escape(self) -> bool:
        """After a backslash; True when the result can take a quantifier."""
        if self.i >= len(self.p):
            raise self.refuse("a trailing backslash")
        c = self.p[self.i]
        self.i += 1
        if c == "A":
            self.out.append("^")
            return False
        if c == "Z":
            self.out.append("\\Z" if self.dialect == "postgresql" else "\\z")
            return False
        char = self.escaped_char(c)
        self.out.append(self.literal(char))
        return True

    def escaped_char(self, c: str) -> str:
        """The character an escape outside or inside a class stands for."""
        if not c.isalnum() and ord(c) < 128:
            return c
        if c in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[c]
        for letter, width in (("x", 2), ("u", 4), ("U", 8)):
            if c == letter:
                digits = self.p[self.i : self.i + width]
                if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                    raise self.refuse(f"an incomplete \\{letter} escape")
                self.i += width
                char = chr(int(digits, 16))
                if char == "\x00" and self.dialect == "postgresql":
                    raise self.refuse("NUL (PostgreSQL text cannot hold it)")
                return char
        raise self.refuse(f"the escape \\{c}, whose meaning differs between engines")

    def bracket(self) -> str:
        """A class like [a-z_.] (the '[' is consumed), re-emitted with every
        character escaped."""
        p = self.p
        negate = p.startswith("^", self.i)
        if negate:
            self.i += 1
        items: list[str] = []
        first = True
        while True:
            if self.i >= len(p):
                raise self.refuse("an unclosed '['")
            c = p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            if c in "[&~|" or (c == "-" and p.startswith("--", self.i)):
                raise self.refuse(f"{c!r} inside a class (nested sets are read differently)")
            low = self.class_char()
            if p.startswith("-", self.i) and not p.startswith("-]", self.i):
                self.i += 1
                high = self.class_char()
                if ord(high) < ord(low):
                    raise self.refuse("a reversed range")
                items.append(f"{self.class_literal(low)}-{self.class_literal(high)}")
            else:
                items.append(self.class_literal(low))
            first = False
        if not items:
            raise self.refuse("an empty class")
        return "[" + ("^" if negate else "") + "".join(items) + "]"

    def class_char(self) -> str:
        c = self.p[self.i]
        self.i += 1
        if c != "\\":
            return c
        if self.i >= len(self.p):
            raise self.refuse("a trailing backslash")
        escaped = self.p[self.i]
        self.i += 1
        if escaped == "b":  # a backspace inside a class, in Python
            return "\b"
        return self.escaped_char(escaped)

    def class_literal(self, char: str) -> str:
        code = ord(char)
        if char.isalnum() and code < 128:
            return char
        if code < 128 and char.isprintable():
            return "\\" + char
        return self.literal(char) if char.isprintable() and code > 127 else self.code(char)

    def code(self, char: str) -> str:
        code = ord(char)
        if self.dialect == "postgresql":
            return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        return f"\\x{{{code:x}}}"

    def group_open(self) -> None:
        p = self.p
        if not p.startswith("?", self.i):
            self.out.append("(?:")  # nothing refers back to groups: keep none
            return
        if p.startswith("?:", self.i):
            self.i += 2
        elif p.startswith("?P<", self.i):
            end = p.find(">", self.i)
            if end < 0:
                raise self.refuse("an unclosed group name")
            self.i = end + 1
        else:
            raise self.refuse("a group extension (flags, lookaround, backreference)")
        self.out.append("(?:")

    def quantifier(self) -> None:
        p = self.p
        c = p[self.i]
        self.i += 1
        if c == "{":
            close = p.find("}", self.i)
            body = p[self.i : close] if close >= 0 else ""
            low, comma, high = body.partition(",")
            if close < 0 or not (low or high) or not (low + high).isdigit():
                raise self.refuse("a '{' that is not a counted repeat")
            self.i = close + 1
            low_n = int(low) if low else 0
            if max(low_n, int(high) if high else 0) > _MAX_REPEAT:
                raise self.refuse(f"a repeat count above {_MAX_REPEAT}")
            text = "{" + str(low_n) + ("," + high if comma else "") + "}"
        else:
            text = c
        if p.startswith("?", self.i):
            self.i += 1
            text += "?"
        elif p.startswith("+", self.i):
            raise self.refuse("a possessive quantifier")
        if self.i < len(p) and p[self.i] in "*+{" or p.startswith("??", self.i):
            raise self.refuse("a repeated quantifier")
        self.out.append(text)


def _tokens(pattern: str, start: int) -> list[tuple[int, str]]:
    """(position, token) from start: '(' ')' '|' or 'x' for any other atom (escapes
    and bracket classes are one atom; the caller only needs the structure)."""
    out, i = [], start
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append((i, "x"))
            i += 2
        elif c == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "^":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append((i, "x"))
            i = j + 1
        elif c in "()|":
            out.append((i, c))
            i += 1
        else:
            out.append((i, "x"))
            i += 1
    return out


def _nothing_follows(pattern: str, after: int) -> bool:
    """Whether a '$' ending at after is the last thing its match can need: only
    group ends follow it, up to the end of the pattern or of an alternation branch
    (whose other branches do not follow it) at the top level."""
    # How many groups enclose the '$'.
    depth = 0
    for _, token in _tokens(pattern[:after], 0):
        depth += {"(": 1, ")": -1}.get(token, 0)
    tokens = _tokens(pattern, after)
    k = 0
    while k < len(tokens):
        token = tokens[k][1]
        if token == ")":
            depth -= 1
            k += 1
        elif token == "|":
            if depth == 0:
                return True  # the rest are other top-level branches
            # skip the other branches of this group, to its ')'
            inner = 0
            k += 1
            while k < len(tokens):
                t = tokens[k][1]
                if t == "(":
                    inner += 1
                elif t == ")":
                    if inner == 0:
                        break
                    inner -= 1
                k += 1
        else:
            return False
    return True
