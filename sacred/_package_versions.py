"""Versions of installed distributions, found without importing importlib.metadata.

``import importlib.metadata`` alone costs ~20 ms and
``importlib.metadata.packages_distributions()`` ~200 ms with a hundred installed
distributions; the dependency scan runs on every experiment start. Installed
distributions leave a ``<name>-<version>.dist-info`` (or ``.egg-info``) entry next
to their code, so most versions are one cached directory listing away. The
lookup goes, cheapest first:

1. the listing of the directory holding the module (its site-packages),
2. the listings of all ``sys.path`` directories (editable installs keep their
   code elsewhere but their dist-info in site-packages),
3. the ``top_level.txt`` files of those distributions (module name differs from
   the distribution name: ``yaml`` -> PyYAML),
4. ``importlib.metadata`` (slow, but complete), only if all the above fail.

Listings are cached per directory and refreshed when the directory changes.
"""

from __future__ import annotations

import functools
import os
import re
import sys

__all__ = ["distribution_version", "site_directory_of"]

_NORMALIZE = re.compile(r"[-_.]+")
_listings: dict[str, tuple[int, dict[str, tuple[str, str]]]] = {}


def _normalize(name: str) -> str:
    return _NORMALIZE.sub("-", name).lower()


def _listing(directory: str) -> dict[str, tuple[str, str]]:
    """normalized distribution name -> (version, metadata path) for one directory."""
    try:
        mtime = os.stat(directory).st_mtime_ns
    except OSError:
        return {}
    cached = _listings.get(directory)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    found: dict[str, tuple[str, str]] = {}
    try:
        entries = os.listdir(directory)
    except OSError:
        entries = []
    for entry in entries:
        if entry.endswith(".dist-info"):
            name, _, version = entry[: -len(".dist-info")].partition("-")
        elif entry.endswith(".egg-info"):
            name, _, rest = entry[: -len(".egg-info")].partition("-")
            version = rest.split("-", 1)[0]
        else:
            continue
        if name and version:
            found.setdefault(_normalize(name), (version, os.path.join(directory, entry)))
    _listings[directory] = (mtime, found)
    return found


def _path_directories() -> list[str]:
    return [os.path.abspath(p or os.curdir) for p in sys.path if isinstance(p, str)]


def site_directory_of(module_file: str) -> str:
    """The directory holding a top-level module or package given its file."""
    directory = os.path.dirname(os.path.abspath(module_file))
    if os.path.basename(module_file).startswith("__init__."):
        return os.path.dirname(directory)
    return directory


def _top_level_names(metadata_path: str) -> list[str]:
    try:
        with open(os.path.join(metadata_path, "top_level.txt"), encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


@functools.cache
def _top_level_map(directories: tuple[str, ...]) -> dict[str, str]:
    """module name -> version, from the top_level.txt of every distribution."""
    mapping: dict[str, str] = {}
    for directory in directories:
        for version, metadata_path in _listing(directory).values():
            for name in _top_level_names(metadata_path):
                mapping.setdefault(name, version)
    return mapping


@functools.cache
def _metadata_version(module_name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(module_name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        pass
    try:
        distributions = importlib.metadata.packages_distributions().get(module_name, [])
    except Exception:  # broken metadata of some unrelated distribution
        distributions = []
    for distribution in distributions:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def distribution_version(
    module_name: str, module_file: str | None = None, thorough: bool = True
) -> str | None:
    """Version of the installed distribution providing the top-level module.

    Args:
        module_name: a top-level module name, e.g. 'numpy' or 'yaml'.
        module_file: the module's ``__file__``, to look next to it first.
        thorough: also try top_level.txt files and importlib.metadata (slower).
    """
    key = _normalize(module_name)
    if module_file:
        hit = _listing(site_directory_of(module_file)).get(key)
        if hit:
            return hit[0]
    directories = _path_directories()
    for directory in directories:
        hit = _listing(directory).get(key)
        if hit:
            return hit[0]
    if not thorough:
        return None
    version = _top_level_map(tuple(directories)).get(module_name)
    return version or _metadata_version(module_name)
