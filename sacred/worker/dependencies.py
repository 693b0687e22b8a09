"""Checking that the packages a stored run used are installed here, in the same versions."""

from __future__ import annotations

from importlib import metadata

__all__ = ["dependency_problems"]


def dependency_problems(dependencies: list[str]) -> tuple[list[str], list[str]]:
    """``(missing, different)`` for stored ``"name==version"`` entries: packages that
    are not installed, and packages installed in another version (as messages)."""
    missing, different = [], []
    for entry in dependencies or []:
        name, sep, version = str(entry).partition("==")
        if not sep:
            continue
        installed = _installed_version(name)
        if installed is None:
            missing.append(f"{name}=={version} is not installed (pip install '{name}=={version}')")
            continue
        if installed == "":
            continue  # importable, but no distribution says which version it is
        if not _same_version(installed, version) and not _same_module_version(name, version):
            different.append(f"{name}: the run used {version}, {installed} is installed")
    return missing, different


def _installed_version(name: str) -> str | None:
    """The installed version of a recorded dependency; the recorded names are import
    names (``attr``, ``yaml``), which may differ from the distribution's (``attrs``,
    ``PyYAML``). ``""``: importable, version unknown; None: not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
    for dist in metadata.packages_distributions().get(name, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    import importlib.util

    try:
        return "" if importlib.util.find_spec(name) is not None else None
    except (ImportError, ValueError):
        return None


def _same_version(a: str, b: str) -> bool:
    """Equal as versions: ``2026.05.20`` is ``2026.5.20`` (how some packages report
    themselves differs from their normalized metadata)."""
    if a == b:
        return True
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:  # pragma: no cover - packaging comes with pip's toolchain
        return _numeric(a) == _numeric(b)
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def _numeric(version: str) -> list:
    return [int(p) if p.isdigit() else p for p in version.split(".")]


def _same_module_version(name: str, version: str) -> bool:
    """Runs record a module's own ``__version__`` (or ``version``/``VERSION``) before
    its distribution's, and the two can disagree (pymysql): compare that one too."""
    import importlib

    from sacred.dependencies import _module_version

    try:
        module = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - any import failure: nothing to compare with
        return False
    found = _module_version(module)
    return found is not None and _same_version(str(found), version)
