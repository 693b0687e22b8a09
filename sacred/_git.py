"""Git state (origin url, commit, dirty flag) of the repositories holding sources.

Decisions:

* The repository of a file is found by walking up to the nearest directory
  holding a ``.git`` entry (a directory, or a file for worktrees and submodules);
  no process is started for files outside any repository.
* The state is read with the ``git`` command line, which is faster than importing
  GitPython (GitPython is used only when there is no ``git`` executable). For
  every repository two commands run *at the same time*: ``status --porcelain=v2
  --branch --untracked-files=no`` (the commit, and the dirty flag: uncommitted
  changes to tracked files, as GitPython's ``is_dirty()``) and ``config --get
  remote.origin.url``. All repositories are queried in parallel under one
  deadline (``GIT_TIMEOUT`` seconds): a slow repository never blocks a run for
  long. When status fails or is too slow, ``rev-parse HEAD`` (fast even in huge
  repositories) still gets the commit; the dirty flag is then None and a warning
  is logged.
* ``GIT_OPTIONAL_LOCKS=0`` keeps ``git status`` from taking the index lock, so
  gathering never disturbs a ``git commit`` running at the same time.
* The url is that of the remote 'origin', else None; a password (or token) in an
  http(s) url is removed before it is stored.
* Results are cached per repository root for the life of the process
  (``clear_cache()`` forgets them): the code a process runs does not change when
  files change on disk after it started.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["GIT_TIMEOUT", "find_repository_root", "repository_info", "clear_cache"]

GIT_TIMEOUT = 3.0
"""Seconds all git queries of one gathering may take together."""

logger = logging.getLogger(__name__)

_roots: dict[str, str | None] = {}
_infos: dict[str, dict[str, Any] | None] = {}
_lock = threading.Lock()
_HEX = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
# Variables that would point git at another repository than the one we ask about.
_GIT_LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")


def clear_cache() -> None:
    """Forget every repository root and state found so far."""
    with _lock:
        _roots.clear()
        _infos.clear()


def find_repository_root(directory: str) -> str | None:
    """The working-tree root of the git repository containing directory, or None."""
    directory = os.path.abspath(directory)
    visited = []
    root: str | None = None
    current = directory
    while True:
        if current in _roots:
            root = _roots[current]
            break
        visited.append(current)
        if os.path.exists(os.path.join(current, ".git")):
            root = current
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in visited:
        _roots[path] = root
    return root


def repository_info(roots: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """{root: {'url', 'commit', 'dirty'} or None} for repository roots (cached)."""
    roots = list(dict.fromkeys(roots))
    with _lock:
        missing = [root for root in roots if root not in _infos]
        if missing:
            import shutil

            if shutil.which("git") is not None:
                _infos.update(_query_with_git(missing))
            else:
                _infos.update({root: _query_with_gitpython(root) for root in missing})
        return {root: _infos[root] for root in roots}


def sanitize_url(url: str | None) -> str | None:
    """Remove a password or token from an http(s) url (user@host urls stay)."""
    if not url:
        return None
    return re.sub(r"^(https?://)[^/@]*@", r"\1", url.strip())


def _run_all(
    jobs: dict[tuple[str, str], list[str]], env: dict[str, str], timeout: float
) -> tuple[dict[tuple[str, str], str], set[str]]:
    """Run git commands concurrently (key: (root, what)); answers of those that
    succeeded, and the roots where a command did not finish within timeout."""
    import subprocess

    started = {}
    for (root, what), argv in jobs.items():
        try:
            started[root, what] = subprocess.Popen(
                ["git", *argv],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            logger.debug("cannot run git %s in %s: %s", " ".join(argv), root, exc)
    deadline = time.monotonic() + timeout
    answers: dict[tuple[str, str], str] = {}
    timed_out: set[str] = set()
    for (root, what), proc in started.items():
        try:
            out, _ = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            timed_out.add(root)
            continue
        if proc.returncode == 0:
            answers[root, what] = out.decode("utf-8", "replace")
    return answers, timed_out


def _query_with_git(roots: list[str]) -> dict[str, dict[str, Any] | None]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARIABLES}
    env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    # One `git status` answers both the commit (branch.oid) and the dirty flag.
    jobs = {}
    for root in roots:
        jobs[root, "status"] = ["status", "--porcelain=v2", "--branch", "--untracked-files=no"]
        jobs[root, "url"] = ["config", "--get", "remote.origin.url"]
    answers, timed_out = _run_all(jobs, env, GIT_TIMEOUT)
    commits: dict[str, str | None] = {}
    dirty: dict[str, bool | None] = {}
    for root in roots:
        status = answers.get((root, "status"))
        commits[root], dirty[root] = _parse_status(status) if status is not None else (None, None)
    # A status that failed or was too slow (a huge repository): the commit alone is
    # cheap to ask for.
    retry = {(root, "commit"): ["rev-parse", "--verify", "--quiet", "HEAD"] for root in roots}
    retry = {key: argv for key, argv in retry.items() if (key[0], "status") not in answers}
    if retry:
        more, _ = _run_all(retry, env, min(1.0, GIT_TIMEOUT))
        for (root, _what), out in more.items():
            commits[root] = out.strip()
    results: dict[str, dict[str, Any] | None] = {}
    for root in roots:
        if root in timed_out:
            logger.warning(
                "git status did not answer within %.1f s in %s: the dirty flag is not "
                "recorded (raise sacred._git.GIT_TIMEOUT for very large repositories)",
                GIT_TIMEOUT,
                root,
            )
        elif (root, "status") not in answers and not commits[root]:
            logger.debug("%s is not a usable git repository", root)
            results[root] = None
            continue
        commit = commits[root]
        url = answers.get((root, "url"))
        results[root] = {
            "url": sanitize_url(url),
            "commit": commit if commit and _HEX.fullmatch(commit) else None,
            "dirty": dirty[root],
        }
    return results


def _parse_status(output: str) -> tuple[str | None, bool]:
    """(commit, dirty) from `git status --porcelain=v2 --branch` output."""
    commit = None
    dirty = False
    for line in output.splitlines():
        if line.startswith("# branch.oid "):
            commit = line[len("# branch.oid ") :].strip()
        elif line and not line.startswith("#"):
            dirty = True
    return commit, dirty


def _query_with_gitpython(root: str) -> dict[str, Any] | None:
    try:
        import git

        repo = git.Repo(root)
        try:
            commit = repo.head.commit.hexsha
        except ValueError:  # no commit yet
            commit = None
        try:
            url = repo.remote("origin").url
        except ValueError:
            url = None
        return {"url": sanitize_url(url), "commit": commit, "dirty": repo.is_dirty()}
    except Exception as exc:  # GitPython missing, or unusable without a git executable
        logger.debug("cannot read the git repository %s with GitPython: %s", root, exc)
        return None
