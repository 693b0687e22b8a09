"""Config scopes: functions whose local variables become configuration entries.

The body of the decorated function is compiled once (with the line numbers of the
user's file, so tracebacks point there) and executed at "module level" in a
namespace that starts as a copy of the function's globals. Assignments go through
the namespace's ``__setitem__``, which is where *fixed* values (config updates)
win over what the scope assigns — so values computed from them follow.
Comprehensions and nested functions see earlier entries because they live in the
namespace's real dict storage, which is also what global lookups read.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, TypeGuard

from sacred.config.utils import _MISSING, check_keys, normalize_value
from sacred.exceptions import ConfigError, ConfigScopeError
from sacred.settings import SETTINGS

if TYPE_CHECKING:  # pragma: no cover
    import ast

# ast, inspect, textwrap and tokenize are imported where a scope is defined or its
# docs are read: every experiment imports this module, not every one has a scope.

__all__ = ["ConfigScope", "dogmatize", "undogmatize"]


class _FixedDict(dict):
    """A dict assigned by a scope whose entries are partly fixed by updates: writes to
    a fixed key are ignored (fixed values win), so ``d['x'] = ...`` later in the scope
    cannot undo an update of ``d.x``."""

    def __init__(self, fixed: dict) -> None:
        super().__init__()
        self._fixed = fixed
        for key, value in fixed.items():
            dict.__setitem__(self, key, dogmatize(value) if isinstance(value, dict) else value)

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self._fixed:
            fixed = self._fixed[key]
            current = dict.get(self, key)
            if isinstance(fixed, dict) and isinstance(value, dict):
                merged = _FixedDict(fixed)
                for k, v in value.items():
                    merged[k] = v
                dict.__setitem__(self, key, merged)
            elif isinstance(current, _FixedDict) and isinstance(value, dict):
                for k, v in value.items():
                    current[k] = v
            return
        dict.__setitem__(self, key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


def dogmatize(fixed: dict) -> _FixedDict:
    return _FixedDict(fixed)


def undogmatize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: undogmatize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [undogmatize(v) for v in value]
    return value


class _ScopeNamespace(dict):
    """The namespace a scope body runs in; records assignments and applies fixed values."""

    def __init__(self, base: dict, fixed: dict) -> None:
        super().__init__(base)
        self.fixed = fixed
        self.assigned: dict[str, None] = {}  # ordered set
        self.attempted: dict[str, Any] = {}  # fixed key -> value the scope tried to set

    def __setitem__(self, key: str, value: Any) -> None:
        self.assigned[key] = None
        if key in self.fixed:
            fixed = self.fixed[key]
            self.attempted[key] = value
            if isinstance(fixed, dict) and isinstance(value, dict):
                merged = _FixedDict(fixed)
                for k, v in value.items():
                    merged[k] = v
                value = merged
            else:
                value = dogmatize(fixed) if isinstance(fixed, dict) else fixed
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        self.assigned.pop(key, None)
        dict.__delitem__(self, key)


def _nested_scopes() -> tuple:
    import ast

    return (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _find_return(body: list[ast.stmt]) -> ast.stmt | None:
    """A return statement of this function (not of nested ones). Only statements are
    visited: yields are found through the code object's flags instead, which is far
    cheaper than walking every expression of a 2,000-line scope."""
    import ast

    nested_scopes = _nested_scopes()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            return node
        if isinstance(node, nested_scopes):
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if children:
                stack.extend(children)
    return None


def _find_yield(body: list[ast.stmt]) -> ast.expr | None:
    import ast

    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return node
    return None


_module_trees: dict[tuple[str, float], Any] = {}


def _compile_body(
    body: list[ast.stmt],
    funcdef: ast.FunctionDef | ast.AsyncFunctionDef,
    lines: list[str],
    filename: str,
) -> Any:
    """Compile the statements of a function body as module code, keeping the file's
    line numbers (so tracebacks point at the user's lines).

    Compiling the dedented source text is several times faster than compiling the
    AST; the AST is the fallback for bodies whose text cannot be dedented cleanly."""
    import ast
    import textwrap

    if not body:
        return compile("pass", filename, "exec")
    first, last = body[0].lineno, funcdef.end_lineno or body[-1].end_lineno
    if first > funcdef.lineno and body[0].col_offset > 0:
        text = textwrap.dedent("".join(lines[first - 1 : last]))
        try:
            return compile("\n" * (first - 1) + text, filename, "exec")
        except SyntaxError:
            pass
    module = ast.Module(body=body, type_ignores=[])
    return compile(module, filename, "exec")


def _function_node(func: Any) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[str]]:
    """The function's AST node with the file's own line numbers, and the file's lines.

    The whole file is parsed once (cached per modification time) instead of asking
    inspect for the function's source, which tokenizes it in pure Python."""
    import ast
    import linecache
    import os

    filename = func.__code__.co_filename
    linecache.checkcache(filename)  # the file may have changed since it was cached
    lines = linecache.getlines(filename, func.__globals__)
    if not lines:
        raise OSError(f"no source for {filename}")
    try:
        key = (filename, os.stat(filename).st_mtime)
    except OSError:
        key = (filename, float(len(lines)))
    tree = _module_trees.get(key)
    if tree is None:
        tree = ast.parse("".join(lines), filename)
        _module_trees[key] = tree
    first = func.__code__.co_firstlineno
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func.__name__:
            start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if first in (start, node.lineno):
                return node, lines
    raise OSError(f"the definition of {func.__name__} was not found in {filename}")


class ConfigScope:
    """A function turned into a configuration: its JSON-serializable locals are entries.

    Calling it returns its configuration as a plain dict; ``fixed`` values (updates)
    win over assignments, ``preset`` and ``fallback`` provide the values of the
    function's parameters (earlier configuration, other ingredients' configs).
    """

    def __init__(self, func: Any) -> None:
        import ast
        import inspect

        self._func = func
        self.__name__ = getattr(func, "__name__", "config")
        self.__doc__ = func.__doc__
        self.docstring: str | None = inspect.getdoc(func)
        signature = inspect.signature(func)
        self.args: list[str] = []
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ConfigScopeError(
                    f"config scope {self.__name__!r} cannot take *args or **kwargs; declare "
                    "the entries it reads as named parameters"
                )
            self.args.append(param.name)
        self._filename = func.__code__.co_filename
        try:
            funcdef, file_lines = _function_node(func)
        except (OSError, TypeError, SyntaxError) as exc:
            raise ConfigScopeError(
                f"cannot read the source of config scope {self.__name__!r}; config scopes must "
                "be defined in a file (use ex.add_config(dict) in interactive sessions)"
            ) from exc
        offending: ast.stmt | ast.expr | None = _find_return(funcdef.body)
        if offending is None and func.__code__.co_flags & (
            inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR
        ):
            offending = _find_yield(funcdef.body)
        if offending is not None:
            kind = "return" if isinstance(offending, ast.Return) else "yield"
            raise ConfigScopeError(
                f'config scope {self.__name__!r} contains a "{kind}" statement '
                f"({self._filename}, line {offending.lineno}); config scopes "
                "collect their local variables and cannot return or yield. Remove it."
            )
        body = funcdef.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body = body[1:]
        self._code = _compile_body(body, funcdef, file_lines, self._filename)
        self._body_ast = body
        self._file_lines = file_lines
        self._docs: dict[str, str] | None = None

    # -- documentation of entries, computed on demand (tokenizing costs time) --------

    @property
    def docs(self) -> dict[str, str]:
        """Comments of entries: inline on the assignment line, or on the lines above."""
        if self._docs is None:
            self._docs = _extract_docs(self._file_lines, self._body_ast)
        return self._docs

    def __call__(
        self,
        fixed: dict | None = None,
        preset: dict | None = None,
        fallback: dict | None = None,
    ) -> dict:
        return self.evaluate(fixed, preset, fallback)[0]

    def evaluate(
        self,
        fixed: dict | None = None,
        preset: dict | None = None,
        fallback: dict | None = None,
        logger: Any = None,
    ) -> tuple[dict, dict[str, Any]]:
        """Run the scope; return (its config, {fixed key: value the scope assigned}).

        A parameter ``_log`` receives ``logger`` (by default the logger named after
        the scope), as in the documented ``def cfg(_log):``."""
        fixed = fixed or {}
        preset = preset or {}
        fallback = fallback or {}
        namespace = _ScopeNamespace(self._func.__globals__, fixed)
        # Names from enclosing functions (closures) are visible too, like in the function.
        for name, cell in zip(self._func.__code__.co_freevars, self._func.__closure__ or ()):
            try:
                dict.__setitem__(namespace, name, cell.cell_contents)
            except ValueError:  # an empty cell: the name is not bound yet
                pass
        for arg in self.args:
            if arg == "_log":
                value = logger if logger is not None else logging.getLogger(self.__name__)
            elif arg in preset:  # earlier configs of this ingredient (fixed values applied)
                value = preset[arg]
            elif arg in fallback:  # other ingredients' configs, by name
                value = fallback[arg]
            elif arg in fixed:
                value = fixed[arg]
            else:
                available = sorted(set(preset) | set(fallback))
                raise ConfigError(
                    f"config scope {self.__name__!r} takes the parameter {arg!r}, but no earlier "
                    f"config entry or ingredient of that name exists. Available: "
                    f"{', '.join(available) or 'nothing'}.",
                    conflicting_configs=[arg],
                )
            dict.__setitem__(namespace, arg, value)
        exec(self._code, namespace)
        result: dict[str, Any] = {}
        for key in namespace.assigned:
            value = dict.__getitem__(namespace, key)
            plain = normalize_value(undogmatize(value))
            if plain is _MISSING:
                continue
            result[key] = plain
        for key in self.args:  # parameters that were not reassigned are not entries
            if key not in namespace.assigned:
                result.pop(key, None)
        check_keys(result)
        attempted = {k: normalize_value(undogmatize(v)) for k, v in namespace.attempted.items()}
        return result, attempted

    def __repr__(self) -> str:
        return f"<ConfigScope {self.__name__}>"


def _comment(line: str) -> tuple[str | None, bool]:
    """(the comment on this source line or None, whether the line is only a comment)."""
    if "#" not in line:
        return None, False
    import io
    import tokenize

    stripped = line.strip()
    if stripped.startswith("#"):
        return stripped.lstrip("#").strip(), True
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line).readline):
            if tok.type == tokenize.COMMENT:
                return tok.string.lstrip("#").strip(), False
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # the line opens a bracket closed later: no '#' outside strings was reached
    return None, False


def _assignments(body: list[ast.stmt]) -> list[tuple[int, str]]:
    import ast

    nested_scopes = _nested_scopes()
    found: list[tuple[int, str]] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nested_scopes):
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, lineno = list(node.targets), node.lineno
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets, lineno = [node.target], node.lineno
        for target in targets:
            if isinstance(target, ast.Name):
                found.append((lineno, target.id))
            elif isinstance(target, (ast.Tuple, ast.List)):
                found.extend((lineno, t.id) for t in target.elts if isinstance(t, ast.Name))
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if children:
                stack.extend(children)
    return sorted(found)


def _extract_docs(lines: list[str], body: list[ast.stmt]) -> dict[str, str]:
    """Docs of entries: the inline comment of the (first) assignment, or the block of
    comment lines right above it. Only those lines are read, so this stays cheap."""
    ignored = [re.compile(p) for p in SETTINGS.CONFIG.IGNORED_COMMENTS]

    def usable(text: str | None) -> TypeGuard[str]:
        return bool(text) and not any(p.search(text) for p in ignored)

    docs: dict[str, str] = {}
    for lineno, name in _assignments(body):
        if name in docs:
            continue
        text, _ = _comment(lines[lineno - 1])
        if usable(text):
            docs[name] = text
            continue
        above: list[str] = []
        row = lineno - 1
        while row >= 1:
            text, only = _comment(lines[row - 1])
            if not only:
                break
            if usable(text):
                above.append(text)
            row -= 1
        if above:
            docs[name] = " ".join(reversed(above))
    return docs
