"""Sources, dependencies and git state of an experiment."""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import sacred
from sacred import _git
from sacred.dependencies import (
    PackageDependency,
    Source,
    gather_sources_and_dependencies,
    get_commit_if_possible,
    get_digest,
    get_repositories,
)

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="needs the git executable")


@pytest.fixture(autouse=True)
def _isolated_modules_and_cache():
    """Modules imported by a test are forgotten afterwards; git answers too."""
    before = set(sys.modules)
    _git.clear_cache()
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]
    _git.clear_cache()


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with local modules, a package, a virtualenv inside, and a module
    outside; all imported, as the main file would."""
    proj = tmp_path / "proj"
    write(proj / "main.py", "import helpers\nimport pkg.sub\n")
    write(proj / "helpers.py", "X = 1\n")
    write(proj / "pkg" / "__init__.py")
    write(proj / "pkg" / "sub.py", "Y = 2\n")
    write(proj / "pkg" / "data.txt", "not python\n")
    write(proj / "unused.py", "never imported\n")
    venv_site = proj / ".venv" / "lib" / "python3" / "site-packages"
    write(venv_site / "vendored_pkg" / "__init__.py", "__version__ = '0.0.7'\n")
    write(tmp_path / "elsewhere" / "outside_mod.py", "Z = 3\n")
    for directory in (proj, venv_site, tmp_path / "elsewhere"):
        monkeypatch.syspath_prepend(str(directory))
    for name in ("helpers", "pkg.sub", "vendored_pkg", "outside_mod"):
        importlib.import_module(name)
    return proj


def globs_of(main: Path) -> dict:
    return {"__file__": str(main), "__name__": "__main__"}


# -- sources ---------------------------------------------------------------------------


def test_sources_are_the_local_imported_modules(project: Path) -> None:
    mainfile, sources, _ = gather_sources_and_dependencies(globs_of(project / "main.py"), False)
    assert mainfile == Source.create(project / "main.py", save_git_info=False)
    assert {s.filename for s in sources} == {
        str(project / "main.py"),
        str(project / "helpers.py"),
        str(project / "pkg" / "__init__.py"),
        str(project / "pkg" / "sub.py"),
    }
    assert sorted(s.to_json(str(project)) for s in sources) == sorted(
        [
            ["main.py", get_digest(str(project / "main.py"))],
            ["helpers.py", get_digest(str(project / "helpers.py"))],
            [os.path.join("pkg", "__init__.py"), get_digest(str(project / "pkg" / "__init__.py"))],
            [os.path.join("pkg", "sub.py"), get_digest(str(project / "pkg" / "sub.py"))],
        ]
    )


def test_base_dir_widens_the_sources(project: Path) -> None:
    _, sources, _ = gather_sources_and_dependencies(
        globs_of(project / "main.py"), False, base_dir=project.parent
    )
    names = {s.to_json(str(project.parent))[0] for s in sources}
    assert os.path.join("elsewhere", "outside_mod.py") in names
    assert not any("site-packages" in name for name in names)


def test_interpreter_files_inside_base_dir_are_not_sources(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyenv in the home directory and a script in the home directory."""
    prefix = project / "fakeprefix"
    write(prefix / "lib" / "interp_mod.py")
    monkeypatch.syspath_prepend(str(prefix / "lib"))
    importlib.import_module("interp_mod")
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(sys, "base_prefix", str(prefix))
    _, sources, _ = gather_sources_and_dependencies(globs_of(project / "main.py"), False)
    assert not any("interp_mod" in s.filename for s in sources)
    assert any(s.filename.endswith("helpers.py") for s in sources)


def test_interactive_session_has_no_mainfile(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    mainfile, sources, dependencies = gather_sources_and_dependencies({"__name__": "x"}, False)
    assert mainfile is None
    assert str(project / "helpers.py") in {s.filename for s in sources}
    assert PackageDependency("sacred", sacred.__version__) in dependencies


def test_missing_main_file_is_ignored(tmp_path: Path) -> None:
    mainfile, _, _ = gather_sources_and_dependencies(
        {"__file__": str(tmp_path / "gone.py")}, False, base_dir=tmp_path
    )
    assert mainfile is None


def test_source_create_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"Source file .*nope\.py' does not exist"):
        Source.create(tmp_path / "nope.py")


def test_source_to_json_outside_base_dir(tmp_path: Path) -> None:
    source = Source.create(write(tmp_path / "a" / "x.py", "1\n"), save_git_info=False)
    assert source.to_json(str(tmp_path / "b")) == [str(tmp_path / "a" / "x.py"), source.digest]
    assert source.to_json() == [str(tmp_path / "a" / "x.py"), source.digest]
    assert source.to_json(str(tmp_path)) == [os.path.join("a", "x.py"), source.digest]


def test_sources_compare_by_file_and_digest() -> None:
    assert Source("/a.py", "d", "url", "c" * 40, True) == Source("/a.py", "d")
    assert len({Source("/a.py", "d", "url"), Source("/a.py", "d")}) == 1
    assert Source("/a.py", "d") != Source("/a.py", "e")


def test_get_digest_is_md5_and_follows_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "f.py", "print('hello')\n")
    assert get_digest(str(path)) == hashlib.md5(path.read_bytes()).hexdigest()
    path.write_text("print('changed!!')\n")
    os.utime(path, ns=(1, 1))
    assert get_digest(str(path)) == hashlib.md5(path.read_bytes()).hexdigest()


def test_get_digest_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        get_digest(str(tmp_path / "missing.py"))


# -- dependencies ----------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake site-packages with packages versioned in different ways."""
    site = tmp_path / "lib" / "site-packages"
    write(site / "by_attr" / "__init__.py", "__version__ = '1.2.3'\n")
    write(site / "by_tuple.py", "VERSION = (2, 0, 1)\n")
    write(site / "by_meta" / "__init__.py")
    write(site / "by_meta-4.5.6.dist-info" / "METADATA", "Name: by-meta\nVersion: 4.5.6\n")
    write(site / "yamlish" / "__init__.py")  # module name differs from the distribution
    write(site / "PyYamlish-7.0.dist-info" / "METADATA", "Name: PyYamlish\nVersion: 7.0\n")
    write(site / "PyYamlish-7.0.dist-info" / "top_level.txt", "yamlish\n")
    write(site / "recmod" / "__init__.py")  # only the RECORD says who provides it
    write(site / "record_only-2.0.dist-info" / "METADATA", "Name: record-only\nVersion: 2.0\n")
    write(site / "record_only-2.0.dist-info" / "RECORD", "recmod/__init__.py,,\n")
    write(site / "egg_mod" / "__init__.py")
    write(site / "egg_mod-0.3-py3.11.egg-info" / "PKG-INFO", "Name: egg-mod\nVersion: 0.3\n")
    write(site / "loose_mod.py")  # no version anywhere
    write(site / "_private_mod" / "__init__.py", "__version__ = '9'\n")
    write(
        site / "deprecating" / "__init__.py",
        "import warnings\n"
        "def __getattr__(name):\n"
        "    if name == '__version__':\n"
        "        warnings.warn('__version__ is deprecated', DeprecationWarning, stacklevel=2)\n"
        "        return '3.0.2'\n"
        "    raise AttributeError(name)\n",
    )
    monkeypatch.syspath_prepend(str(site))
    for name in (
        "by_attr",
        "by_tuple",
        "by_meta",
        "yamlish",
        "recmod",
        "egg_mod",
        "loose_mod",
        "_private_mod",
        "deprecating",
        "json",
    ):
        importlib.import_module(name)
    return site


def test_dependencies(site: Path, tmp_path: Path) -> None:
    main = write(tmp_path / "proj" / "main.py")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading versions must not warn the user
        _, _, dependencies = gather_sources_and_dependencies(globs_of(main), False)
    found = {d.name: d.version for d in dependencies}
    assert found["by_attr"] == "1.2.3"
    assert found["by_tuple"] == "2.0.1"
    assert found["by_meta"] == "4.5.6"
    assert found["yamlish"] == "7.0"
    assert found["recmod"] == "2.0"
    assert found["egg_mod"] == "0.3"
    assert found["deprecating"] == "3.0.2"
    assert found["sacred"] == sacred.__version__
    for absent in ("loose_mod", "_private_mod", "json", "os", "sys"):
        assert absent not in found


def test_local_packages_are_not_dependencies(project: Path) -> None:
    _, _, dependencies = gather_sources_and_dependencies(globs_of(project / "main.py"), False)
    names = {d.name for d in dependencies}
    assert not names & {"helpers", "pkg", "main"}
    assert "vendored_pkg" in names  # a virtualenv inside the project is third-party


def test_numpy_is_listed_without_importing_it(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    main = write(
        tmp_path / "main.py",
        """
        import sys
        from sacred.dependencies import gather_sources_and_dependencies

        _, _, deps = gather_sources_and_dependencies(globals(), False)
        print("numpy" in sys.modules)
        print(sorted(d.to_json() for d in deps if d.name == "numpy"))
        print("importlib.metadata" in sys.modules, "hashlib" in sys.modules)
        """,
    )
    out = subprocess.run(
        [sys.executable, "-S", str(main)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:  # -S hides site-packages in some layouts: run normally
        out = subprocess.run([sys.executable, str(main)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    imported, listed, slow_imports = out.stdout.splitlines()
    assert imported == "False"
    from importlib.metadata import version

    assert listed == repr([f"numpy=={version('numpy')}"])
    assert slow_imports == "False False"


def test_package_dependency() -> None:
    assert PackageDependency("numpy", "1.11.0").to_json() == "numpy==1.11.0"
    assert PackageDependency("mystery", None).to_json() == "mystery==<unknown>"
    assert sorted([PackageDependency("b", "1"), PackageDependency("A", None)]) == [
        PackageDependency("A", None),
        PackageDependency("b", "1"),
    ]
    dep = PackageDependency.create(sacred)
    assert dep == PackageDependency("sacred", sacred.__version__)
    assert PackageDependency("sacred", None).fill_missing_version().version == sacred.__version__


# -- git -------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        [GIT, "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(root / "main.py", "import lib\n")
    write(root / "lib.py", "A = 1\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def gather_in(root: Path, monkeypatch: pytest.MonkeyPatch, save_git_info: bool = True):
    monkeypatch.syspath_prepend(str(root))
    importlib.import_module("lib")
    return gather_sources_and_dependencies(globs_of(root / "main.py"), save_git_info)


@needs_git
def test_clean_then_dirty_repository(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit = git(repo, "rev-parse", "HEAD")
    mainfile, sources, _ = gather_in(repo, monkeypatch)
    assert (mainfile.repo, mainfile.commit, mainfile.is_dirty) == (None, commit, False)
    assert get_repositories(sources) == [{"url": None, "commit": commit, "dirty": False}]

    (repo / "lib.py").write_text("A = 2\n")
    untracked = repo / "untracked.py"
    untracked.write_text("")
    _git.clear_cache()
    _, sources, _ = gather_sources_and_dependencies(globs_of(repo / "main.py"), True)
    assert get_repositories(sources) == [{"url": None, "commit": commit, "dirty": True}]


@needs_git
def test_untracked_files_do_not_make_it_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("scratch\n")
    assert get_commit_if_possible(str(repo / "main.py"))[2] is False


@needs_git
def test_origin_url_without_credentials(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://user:s3cret@example.com/group/repo.git")
    url, commit, dirty = get_commit_if_possible(str(repo / "main.py"))
    assert url == "https://example.com/group/repo.git"
    assert (commit, dirty) == (git(repo, "rev-parse", "HEAD"), False)


@needs_git
def test_ssh_origin_url_is_kept(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "git@github.com:IDSIA/sacred.git")
    assert get_commit_if_possible(str(repo / "main.py"))[0] == "git@github.com:IDSIA/sacred.git"


@needs_git
def test_repository_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    write(root / "main.py")
    git(root, "init", "-q")
    assert get_commit_if_possible(str(root / "main.py")) == (None, None, False)


@needs_git
def test_save_git_info_false_records_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mainfile, sources, _ = gather_in(repo, monkeypatch, save_git_info=False)
    assert all(s.commit is None and s.repo is None and s.is_dirty is None for s in sources)
    assert get_commit_if_possible(str(repo / "main.py"), save_git_info=False) == (
        None,
        None,
        None,
    )


def test_outside_any_repository(tmp_path: Path) -> None:
    source = Source.create(write(tmp_path / "lonely.py"), save_git_info=True)
    if _git.find_repository_root(str(tmp_path)) is not None:
        pytest.skip("the temporary directory lies inside a git repository")
    assert (source.repo, source.commit, source.is_dirty) == (None, None, None)
    assert get_repositories([source]) == []


@needs_git
def test_repositories_are_deduplicated_and_ordered(tmp_path: Path) -> None:
    roots = []
    for name in ("first", "second"):
        root = tmp_path / name
        write(root / "a.py", name)
        write(root / "sub" / "b.py", name)
        git(root, "init", "-q")
        git(root, "add", ".")
        git(root, "commit", "-q", "-m", name)
        roots.append(root)
    sources = [
        Source.create(roots[1] / "a.py", save_git_info=False),  # looked up lazily
        Source.create(roots[0] / "a.py"),
        Source.create(roots[0] / "sub" / "b.py"),
        Source.create(roots[1] / "sub" / "b.py"),
    ]
    assert [r["commit"] for r in get_repositories(sources)] == [
        git(roots[1], "rev-parse", "HEAD"),
        git(roots[0], "rev-parse", "HEAD"),
    ]


def fake_git(bin_dir: Path, slow_command: str) -> None:
    """A git that hangs on one subcommand and is the real git otherwise."""
    bin_dir.mkdir()
    path = bin_dir / "git"
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = "{slow_command}" ]; then exec sleep 30; fi\nexec "{GIT}" "$@"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@needs_git
def test_slow_status_does_not_block(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_git(tmp_path / "bin", "status")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(_git, "GIT_TIMEOUT", 0.5)
    with caplog.at_level(logging.WARNING, logger="sacred._git"):
        url, commit, dirty = get_commit_if_possible(str(repo / "main.py"))
    assert commit == git(repo, "rev-parse", "HEAD")
    assert dirty is None
    assert "git status did not answer within 0.5 s" in caplog.text
    assert "GIT_TIMEOUT" in caplog.text


@needs_git
def test_git_answers_are_cached_per_repository(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = get_commit_if_possible(str(repo / "main.py"))
    fake_git(tmp_path / "bin", "status")  # would hang if it ran again
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(_git, "GIT_TIMEOUT", 0.01)
    assert get_commit_if_possible(str(repo / "lib.py")) == first


@needs_git
def test_gitpython_when_there_is_no_git_executable(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("git")
    git(repo, "remote", "add", "origin", "https://example.com/r.git")
    (repo / "lib.py").write_text("changed\n")
    monkeypatch.setenv("GIT_PYTHON_GIT_EXECUTABLE", GIT)  # GitPython itself needs it
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    assert get_commit_if_possible(str(repo / "main.py")) == (
        "https://example.com/r.git",
        git(repo, "rev-parse", "HEAD"),
        True,
    )


def test_no_git_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()  # looks like a repository
    write(tmp_path / "main.py")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setitem(sys.modules, "git", None)  # and GitPython is not installed
    assert get_commit_if_possible(str(tmp_path / "main.py")) == (None, None, None)


@needs_git
def test_broken_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # an empty .git directory is not a repository
    write(tmp_path / "main.py")
    assert get_commit_if_possible(str(tmp_path / "main.py")) == (None, None, None)


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://user:token@github.com/a/b.git", "https://github.com/a/b.git"),
        ("https://token@github.com/a/b.git", "https://github.com/a/b.git"),
        ("http://github.com/a/b.git", "http://github.com/a/b.git"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("ssh://git@host/a/b.git", "ssh://git@host/a/b.git"),
        ("", None),
        (None, None),
    ],
)
def test_sanitize_url(url: str | None, stored: str | None) -> None:
    assert _git.sanitize_url(url) == stored
