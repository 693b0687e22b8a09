"""Packaging: a fresh ``pip install -e '.[all,test]'`` provides every module the
tests import. A third-party import that no extra declares works on a developer's
machine (where it happens to be installed) and fails at collection on a fresh one."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Directories whose Python files the test suite imports or runs.
SCANNED = ("tests", "examples", "bench")
# Our own import packages (and the test suite's own, imported as ``tests.…``).
OWN = {"sacred", "labwatch", "sacredboard", "tests"}
# Imported only by a script that runs in a venv of its own, never in the project's:
# MLflow pins its own versions of packages we use (bench_mlflow_compare.py, its
# docstring says how to make that venv).
OUTSIDE = {"mlflow": "bench/bench_mlflow_compare.py"}


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10: tomli comes with the `test` extra
        import tomli as tomllib
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalize(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1))


def declared_distributions() -> set[str]:
    """Names of the distributions the core, `all` and `test` install."""
    project = _pyproject()["project"]
    requirements = list(project.get("dependencies", []))
    extras = project.get("optional-dependencies", {})
    for extra in ("all", "test"):
        requirements += extras.get(extra, [])
    return {_requirement_name(r) for r in requirements}


def _imports_of(path: Path) -> set[str]:
    """Top-level names of the modules a file imports (``import x.y``, ``from x import y``
    and ``pytest.importorskip("x.y")``), wherever in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "importorskip"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def _is_local(name: str, directory: Path) -> bool:
    """A module that lives in the repository (a test helper, an example's module)."""
    for base in (directory, *directory.parents):
        if (base / f"{name}.py").exists() or (base / name / "__init__.py").exists():
            return True
        if base == ROOT:
            return False
    return False


def third_party_imports() -> dict[str, list[str]]:
    """{top-level module: [files importing it]} for every non-stdlib, non-local import."""
    found: dict[str, list[str]] = {}
    for directory in SCANNED:
        for path in sorted((ROOT / directory).rglob("*.py")):
            for name in _imports_of(path):
                if name in sys.stdlib_module_names or name in OWN or name == "__future__":
                    continue
                if _is_local(name, path.parent):
                    continue
                if OUTSIDE.get(name) == str(path.relative_to(ROOT)):
                    continue
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_scan_sees_the_test_dependencies():
    # Guards the scan itself: if it found nothing, the next test could not fail.
    imports = third_party_imports()
    assert {"pytest", "hypothesis", "mongomock"} <= set(imports)
    assert "_common" not in imports and "sacred" not in imports


@pytest.mark.slow
def test_every_module_the_tests_import_is_installed_by_the_test_or_all_extra():
    declared = declared_distributions()
    providers = importlib.metadata.packages_distributions()
    problems = []
    for module, files in sorted(third_party_imports().items()):
        distributions = {_normalize(d) for d in providers.get(module, [])}
        if not distributions and _normalize(module) in declared:
            continue  # declared for other Pythons only (tomli: python_version < '3.11')
        if not distributions:
            problems.append(
                f"{module!r} (imported by {files[0]}) is not installed here, so no "
                "distribution provides it: add the package that provides it to the "
                "`test` extra in pyproject.toml and install it"
            )
        elif not distributions & declared:
            problems.append(
                f"{module!r} (imported by {files[0]}) comes from "
                f"{' or '.join(sorted(distributions))}, which neither the core "
                "dependencies nor the `all` or `test` extra of pyproject.toml install: "
                "add it to the `test` extra"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "requirement, name",
    [("psycopg[binary]>=3.1", "psycopg"), ("PyYAML>=6.0", "pyyaml"), ("tomli_w", "tomli-w")],
)
def test_requirement_names_are_normalized(requirement, name):
    assert _requirement_name(requirement) == name
