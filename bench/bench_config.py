"""Defining and resolving a config scope with 2,000 entries plus 100 dotted updates.

Budget (issue 2): under 100 ms for definition and resolution together (the original
took 430 ms for the definition alone, growing linearly to 1.9 s at 8,000 entries).
The baseline is an ``exec`` of the same scope body in plain Python.

    python bench/bench_config.py
"""

from __future__ import annotations

import importlib.util
import linecache
import sys
import tempfile
from pathlib import Path

from _common import report, time_call

from sacred.config import ConfigNode, ConfigScope, config_scope, resolve_config


def scope_source(entries: int) -> str:
    lines = ["def cfg():", '    """A generated configuration."""']
    for i in range(entries):
        if i % 10 == 0:
            lines.append(f"    group_{i} = {{'a': {i}, 'b': 'text {i}', 'c': [1, 2, {i}]}}")
        elif i % 10 > 1 and i % 3 == 0:
            lines.append(f"    value_{i} = value_{i - 1} * 2  # depends on the previous entry")
        else:
            lines.append(f"    value_{i} = {i}.5")
    return "\n".join(lines) + "\n"


def load_function(source: str, directory: str):
    path = Path(directory) / "generated_scope.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("generated_scope", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cfg


def updates(entries: int, count: int = 100) -> dict:
    result: dict = {}
    for i in range(0, entries, 10)[:count]:
        result[f"group_{i}.b"] = f"updated {i}"
    return result


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entries in (2000, 8000):
            source = scope_source(entries)
            function = load_function(source, tmp)
            body = "\n".join(line[4:] for line in source.splitlines()[2:])
            code = compile(body, "<plain>", "exec")
            the_updates = updates(entries)

            def define_and_resolve(function=function, the_updates=the_updates):
                # As in a fresh process: the source is read and parsed again each time.
                config_scope._module_trees.clear()
                linecache.clearcache()
                scope = ConfigScope(function)
                return resolve_config(ConfigNode("", [scope]), dict(the_updates))

            def plain_exec(code=code):
                namespace: dict = {}
                exec(code, namespace)

            resolved = define_and_resolve()
            assert resolved.config["group_0"]["b"] == "updated 0"
            assert len(resolved.config) == entries + 1
            ours = time_call(define_and_resolve, repeat=7)
            plain = time_call(plain_exec, repeat=7)
            budget = " (budget 100 ms)" if entries == 2000 else ""
            rows.append(
                (
                    f"{entries} entries + 100 dotted updates",
                    f"{ours * 1000:.1f} ms{budget}; plain exec {plain * 1000:.2f} ms; "
                    f"ratio {ours / plain:.0f}x",
                )
            )
    report("config scope: define + resolve (median of 7)", rows)


if __name__ == "__main__":
    sys.exit(main())
