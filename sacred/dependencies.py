"""Sources, package dependencies and version control state of an experiment.

``gather_sources_and_dependencies(globs, save_git_info, base_dir)`` inspects the
imported modules (``sys.modules``) once:

* **Sources**: the main file (``globs['__file__']``) plus every imported module
  whose ``.py`` file lies inside ``base_dir``'s tree (default: the main file's
  directory), except files under site-packages/dist-packages (a virtualenv inside
  the project) and sacred's own package. Each with its md5 digest.
* **Dependencies**: every imported top-level third-party package: not in the
  standard library (``sys.stdlib_module_names``), not private (``_name``), not a
  local source, not a namespace package without a file. The version comes from
  the module (``__version__``, ``version``, ``VERSION``) first, then from the
  installed distribution's metadata (see ``sacred._package_versions``); modules
  without any version (loose files on ``sys.path``) are not listed.
  ``sacred==<version>`` is always listed, and so is numpy whenever it is installed
  (it changes how randomness works), found without importing it.
* **Git** (only with ``save_git_info``): the origin url, commit and dirty flag of
  each source's repository, see ``sacred._git``.

The whole gathering costs a few milliseconds for a small script (it runs on every
start): no ``importlib.metadata``, no ``hashlib`` (the builtin ``_md5`` is used),
digests are cached while a file's size and mtime do not change, and git runs in
parallel under a deadline.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sacred import _git
from sacred._package_versions import distribution_version

__all__ = [
    "Source",
    "PackageDependency",
    "get_digest",
    "gather_sources_and_dependencies",
    "get_repositories",
    "get_commit_if_possible",
]

_SACRED_DIR = os.path.dirname(os.path.abspath(__file__))
_SITE_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
_digests: dict[tuple[str, int, int], str] = {}


def _md5() -> Any:
    try:
        from _md5 import md5  # builtin: ~1 ms to import, hashlib (OpenSSL) ~5 ms
    except ImportError:
        from hashlib import md5
    return md5()


def get_digest(filename: str) -> str:
    """md5 hex digest of the file's content (cached while size and mtime are unchanged)."""
    stat = os.stat(filename)
    key = (filename, stat.st_mtime_ns, stat.st_size)
    digest = _digests.get(key)
    if digest is None:
        h = _md5()
        with open(filename, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = _digests[key] = h.hexdigest()
    return digest


def get_commit_if_possible(filename: str, save_git_info: bool = True) -> tuple:
    """(url, commit, dirty) of the git repository containing filename, or Nones."""
    if not save_git_info:
        return None, None, None
    root = _git.find_repository_root(os.path.dirname(os.path.abspath(filename)))
    info = _git.repository_info([root])[root] if root else None
    if info is None:
        return None, None, None
    return info["url"], info["commit"], info["dirty"]


@dataclass(frozen=True)
class Source:
    """A source file of the experiment with its md5 digest and git state.

    Two sources are equal when file and digest are equal; the git fields are
    descriptive only.
    """

    filename: str
    digest: str
    repo: str | None = field(default=None, compare=False)
    commit: str | None = field(default=None, compare=False)
    is_dirty: bool | None = field(default=None, compare=False)

    @staticmethod
    def create(filename: str | os.PathLike, save_git_info: bool = True) -> Source:
        """Source for an existing file (absolute path, digest and, optionally, git state)."""
        path = os.path.abspath(os.fsdecode(filename))
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"Source file {path!r} does not exist (or is not a file); "
                "pass the path of an existing Python file."
            )
        repo, commit, dirty = get_commit_if_possible(path, save_git_info)
        return Source(path, get_digest(path), repo, commit, dirty)

    def to_json(self, base_dir: str | None = None) -> list[str]:
        """[path relative to base_dir (absolute if outside it), md5]."""
        name = self.filename
        if base_dir:
            try:
                relative = os.path.relpath(self.filename, base_dir)
            except ValueError:  # another drive on Windows
                relative = os.pardir
            if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
                name = relative
        return [name, self.digest]

    def __repr__(self) -> str:
        return f"<Source: {self.filename}>"


# PEP 440's own pattern (its Appendix B), so that a version given to
# add_package_dependency is checked at the call without needing `packaging`.
PEP440_VERSION_PATTERN = re.compile(
    r"""
    v?
    (?:
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?P<pre>[-_\.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_\.]?(?P<pre_n>[0-9]+)?)?
        (?P<post>
            (?:-(?P<post_n1>[0-9]+))
            |
            (?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?)
        )?
        (?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?
    )
    (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
    """,
    re.VERBOSE | re.IGNORECASE,
)


def check_version(package_name: str, version: object) -> None:
    """Raise ValueError unless ``version`` is a PEP 440 version string."""
    if not isinstance(version, str):
        raise ValueError(
            f'version of {package_name!r} must be a string such as "1.2.0", not {version!r}.'
        )
    if not PEP440_VERSION_PATTERN.fullmatch(version.strip()):
        raise ValueError(
            f'Invalid Version: "{version}": the version of {package_name!r} must be a '
            'PEP 440 version such as "1.2.0" or "2.0rc1".'
        )


@functools.total_ordering
@dataclass(frozen=True)
class PackageDependency:
    """An installed package the experiment uses: ``name==version``."""

    name: str
    version: str | None

    @classmethod
    def create(cls, module: ModuleType) -> PackageDependency:
        """Dependency for an imported top-level module, with its version if known."""
        name = module.__name__.partition(".")[0]
        version = _module_version(module) or distribution_version(
            name, getattr(module, "__file__", None)
        )
        return cls(name, version)

    def fill_missing_version(self) -> PackageDependency:
        if self.version is not None:
            return self
        return PackageDependency(self.name, distribution_version(self.name))

    def to_json(self) -> str:
        return f"{self.name}=={self.version if self.version is not None else '<unknown>'}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PackageDependency):
            return NotImplemented
        return (self.name.lower(), self.version or "") < (other.name.lower(), other.version or "")

    def __repr__(self) -> str:
        return f"<PackageDependency: {self.to_json()}>"


def _module_version(module: ModuleType) -> str | None:
    for attribute in ("__version__", "version", "VERSION"):
        try:
            with warnings.catch_warnings():  # some packages deprecate __version__
                warnings.simplefilter("ignore")
                value = getattr(module, attribute, None)
        except Exception:  # lazy modules may raise anything on attribute access
            continue
        if isinstance(value, str):
            value = value.strip()
            if value[:1].isdigit():
                return value
        elif isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
            return ".".join(map(str, value))
    return None


def _module_file(module: Any) -> str | None:
    try:
        path = getattr(module, "__file__", None)
    except Exception:
        return None
    return path if isinstance(path, str) and path else None


def _numpy_version() -> str | None:
    """numpy's version if it is installed, without importing it."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        return _module_version(numpy)
    import importlib.util

    try:
        spec = importlib.util.find_spec("numpy")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return distribution_version("numpy", spec.origin)


def gather_sources_and_dependencies(
    globs: dict, save_git_info: bool, base_dir: str | os.PathLike | None = None
) -> tuple[Source | None, set[Source], set[PackageDependency]]:
    """Sources and dependencies of the experiment defined in the module of ``globs``.

    Args:
        globs: the globals of the experiment's main module (``__file__`` is used).
        save_git_info: also record the git state of the sources.
        base_dir: the project directory; default the main file's directory, or the
            working directory when there is no main file (interactive sessions).

    Returns:
        (mainfile or None, sources including the main file, dependencies).
    """
    import sacred

    main_path = globs.get("__file__")
    if isinstance(main_path, (str, os.PathLike)):
        main_path = os.path.abspath(os.fsdecode(main_path))
        if not os.path.isfile(main_path):
            main_path = None
    else:
        main_path = None
    if base_dir is None:
        base_dir = os.path.dirname(main_path) if main_path else os.getcwd()
    base_dir = os.path.abspath(os.fsdecode(base_dir))
    base_prefix = base_dir.rstrip(os.sep) + os.sep

    # The interpreter's own files (stdlib, a virtualenv) are never sources, even when
    # the interpreter lives inside base_dir (pyenv in the home directory).
    interpreter_prefixes = tuple(
        prefix
        for prefix in {
            os.path.abspath(p).rstrip(os.sep) + os.sep
            for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
        }
        if not base_prefix.startswith(prefix)
    )

    source_paths: set[str] = {main_path} if main_path else set()
    dependencies: dict[str, str | None] = {"sacred": sacred.__version__}
    stdlib = sys.stdlib_module_names
    nonlocal_tops: set[str] = set()  # top-level modules outside base_dir: skip submodules
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        if top in nonlocal_tops or top == "sacred":
            continue
        path = _module_file(module)
        if path is None:
            continue
        if not os.path.isabs(path):
            path = os.path.abspath(path)
        if (
            path.startswith(base_prefix)
            and not path.startswith(interpreter_prefixes)
            and not any(marker in path for marker in _SITE_MARKERS)
        ):
            if path.endswith(".py") and not path.startswith(_SACRED_DIR + os.sep):
                source_paths.add(path)
            continue
        if name != top:
            continue
        nonlocal_tops.add(top)
        if top in stdlib or top.startswith("_"):
            continue
        version = _module_version(module) or distribution_version(top, path)
        if version is not None:
            dependencies[top] = version
    if "numpy" not in dependencies:
        version = _numpy_version()
        if version is not None:
            dependencies["numpy"] = version

    sources = _create_sources(source_paths, save_git_info)
    mainfile = next((s for s in sources if s.filename == main_path), None)
    return (
        mainfile,
        set(sources),
        {PackageDependency(name, version) for name, version in dependencies.items()},
    )


def _create_sources(paths: Iterable[str], save_git_info: bool) -> list[Source]:
    """Sources for existing files; the git state of all repositories in one batch."""
    paths = [p for p in paths if os.path.isfile(p)]
    roots: dict[str, str | None] = {}
    infos: dict[str, dict[str, Any] | None] = {}
    if save_git_info:
        roots = {p: _git.find_repository_root(os.path.dirname(p)) for p in paths}
        infos = _git.repository_info({r for r in roots.values() if r is not None})
    sources = []
    for path in paths:
        root = roots[path] if save_git_info else None
        info = infos.get(root) if root else None
        if info is None:
            sources.append(Source(path, get_digest(path)))
        else:
            sources.append(
                Source(path, get_digest(path), info["url"], info["commit"], info["dirty"])
            )
    return sources


def get_repositories(sources: Iterable[Source]) -> list[dict[str, Any]]:
    """The git repositories of the sources, as documented: a deduplicated list of
    ``{'url': URL, 'commit': COMMIT_HASH, 'dirty': bool}`` in order of appearance.

    Sources created without git information are looked up (cached per process).
    """
    sources = list(sources)
    roots = {
        s.filename: _git.find_repository_root(os.path.dirname(s.filename))
        for s in sources
        if s.commit is None
    }
    infos = _git.repository_info({r for r in roots.values() if r is not None})
    repositories: list[dict[str, Any]] = []
    for source in sources:
        if source.commit is not None:
            repository = {"url": source.repo, "commit": source.commit, "dirty": source.is_dirty}
        else:
            root = roots.get(source.filename)
            info = infos.get(root) if root else None
            if info is None:
                continue
            repository = dict(info)
        if repository not in repositories:
            repositories.append(repository)
    return repositories
