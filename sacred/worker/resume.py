"""Resuming a stopped run in its own record: ``python exp.py --resume ID``.

The run takes the stored record up again (atomically, like a worker's claim: two
processes never resume the same run): metric steps continue after the last stored
one, captured output and artifacts are appended to the stored ones, and
``meta.attempts`` keeps the history (each entry says which status it resumed from).
The main function reads ``_run.resumed_from_step`` (the last stored step, None for
a run without metrics) to continue its loop. A worker starting a run that an earlier,
lost attempt had started continues it the same way.

A run is only continued by the experiment that recorded it, from the same sources:
a run of another experiment, or one whose stored sources differ from the running
ones, is refused before anything is built or written, unless ``--force`` is given;
the forced attempt then records what differed (``meta.attempts[-1].forced``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sacred.commandline_options import CLIOption

__all__ = ["resume_option", "resume_start", "create_resumed", "prepare_resume"]


def _apply(args: Any, run: Any) -> None:
    """Continue the stopped run ID in its own record (same store as the observer).

    Metric steps continue after the last stored one; output and artifacts are
    appended. The main function can read _run.resumed_from_step.
    """
    run.resume_of = _resume_id(args)


def _check(value: Any) -> None:
    if not str(value).strip():
        raise ValueError("--resume needs the id of a stored run")


resume_option = CLIOption(_apply, None, "--resume", metavar="ID", check=_check)


def _resume_id(value: Any) -> Any:
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _claimer(run: Any) -> Any:
    from sacred.worker.claims import claimer_for_observer

    for observer in run.observers:
        claimer = claimer_for_observer(observer)
        if claimer is not None:
            return claimer
    from sacred.exceptions import ObserverError

    raise ObserverError(
        "--resume needs the observer of the store holding the run: add -F DIR, -s URL "
        "or -m DB (the same flag the run was recorded with)."
    )


def resume_start(
    experiment: Any, options: dict, all_options: list, command: str | None
) -> tuple[str, dict]:
    """The command and configuration that continue the run ``--resume`` names: its
    stored command (unless one is given) and its stored configuration, seed included.

    The configuration goes in first, like a named config: the named configs and
    updates of this command line apply on top of it. Its values are fixed like any
    update, so an entry a config scope computes from another keeps its stored value
    unless it is given too.
    """
    from types import SimpleNamespace

    # The observers this command line attaches, made here only to find the store:
    # constructing one does not connect (the run makes its own when it starts).
    probe = SimpleNamespace(observers=list(experiment.observers))
    for option in all_options:
        value = options.get(option.key)
        if getattr(option, "observer_class", None) and value not in (None, False):
            option(value, probe)
    claimer = _claimer(probe)
    run_id = _resume_id(options["--resume"])
    try:
        stored_command, config, _meta = claimer.stored_start(run_id)
        mismatches = stored_mismatches(claimer, run_id, experiment.get_experiment_info())
    finally:
        claimer.close()
    if mismatches and not options.get("--force"):
        from sacred.exceptions import StoreError

        raise StoreError(
            f"--resume {run_id}: refusing to continue the run: {'; '.join(mismatches)}. "
            "Add --force to continue it anyway (the attempt records what differed)."
        )
    return command or stored_command or experiment.default_command, config


def _md5(content: bytes) -> str:
    import hashlib  # only for a resumed run: `import sacred` stays light

    return hashlib.md5(content).hexdigest()  # the digest sacred records for sources


def stored_mismatches(claimer: Any, run_id: Any, experiment_info: dict) -> list[str]:
    """Why the stored run ``run_id`` is not this experiment's to continue (empty: it
    is): another experiment's name, or sources that differ from the running ones
    (``experiment_info`` as ``Ingredient.get_experiment_info()`` gives it)."""
    stored = claimer.stored_run(run_id)
    out = []
    name, stored_name = experiment_info.get("name"), stored.experiment.get("name")
    if stored_name is not None and stored_name != name:
        out.append(f"it belongs to the experiment {stored_name!r}, not {name!r}")
    contents = claimer.sources(stored)
    stored_names = {entry[0] for entry in stored.experiment.get("sources") or []} | set(contents)
    if not stored_names:
        return out  # nothing recorded to compare with (a record without sources)
    stored_md5 = {path: _md5(content) for path, content in contents.items()}
    running = {path: md5 for path, md5 in experiment_info.get("sources") or []}
    changed = sorted(p for p in running if p in stored_md5 and stored_md5[p] != running[p])
    for what, paths in (
        ("source files changed since it was recorded", changed),
        ("source files not in the record", sorted(set(running) - stored_names)),
        ("recorded source files no longer used", sorted(stored_names - set(running))),
    ):
        if paths:
            out.append(f"{what}: {', '.join(paths)}")
    return out


def create_resumed(
    create: Callable[[list], Any], stored: dict, named_configs: Sequence, updates: dict
) -> Any:
    """``create(named_configs)`` with the stored configuration first. An entry of it
    that the experiment no longer defines (its code changed since) is dropped with a
    warning: it is not a typo of this command line, and the run can go on without it."""
    from sacred.exceptions import ConfigAddedError
    from sacred.utils import get_by_dotted_path

    stored = copy.deepcopy(stored)
    try:
        return create([stored, *named_configs])
    except ConfigAddedError as exc:
        stale = list(exc.conflicting_configs)
        missing = object()
        if not stale or any(
            get_by_dotted_path(stored, path, default=missing) is missing
            or get_by_dotted_path(_undotted(updates), path, default=missing) is not missing
            for path in stale
        ):
            raise
    for path in stale:
        parent, _, key = path.rpartition(".")
        (get_by_dotted_path(stored, parent) if parent else stored).pop(key)
    logging.getLogger("sacred").warning(
        "The stored configuration has entries this experiment no longer defines; "
        "resuming without them: %s",
        ", ".join(stale),
    )
    return create([stored, *named_configs])


def _undotted(updates: dict) -> dict:
    """``{"a.b": 1}`` as ``{"a": {"b": 1}}``."""
    from sacred.utils import set_by_dotted_path

    nested: dict = {}
    for key, value in updates.items():
        set_by_dotted_path(nested, key, value)
    return nested


def prepare_resume(run: Any) -> None:
    """Before the run starts: claim its stored record (``--resume``) or, in a worker's
    child, pick up what an earlier attempt stored; then continue from it."""
    from sacred._worker_env import hold_claim_token
    from sacred.worker.claims import worker_name

    claimer = _claimer(run)
    try:
        if run.resume_of is not None:
            # --force let resume_start through: the attempt says what it overrode
            forced = run.force and stored_mismatches(claimer, run.resume_of, run.experiment_info)
            claimed = claimer.claim_for_resume(run.resume_of, worker_name())
            # the observers take the claimed record over when they see this token
            hold_claim_token(claimed.token)
            run._id = run.resume_of
            # The record keeps the original start's meta; what this command line
            # changed on top of the stored configuration goes with its attempt.
            given = {
                key: run.meta_info[key]
                for key in ("named_configs", "config_updates")
                if run.meta_info.get(key)
            }
            kept = {k: v for k, v in claimed.meta.items() if k not in ("command", "options")}
            run.meta_info.update(kept)
            if forced:
                given["forced"] = forced
            if given and run.meta_info.get("attempts"):
                run.meta_info["attempts"][-1].update(given)
        output, last_steps = claimer.resume_state(run._id)
    finally:
        claimer.close()
    run._metrics._last_step.update(last_steps)
    run.resumed_from_step = max(last_steps.values()) if last_steps else None
    if output:
        run._out_chunks.append(output)
        run._filtered_chunks.append(output)
        run.captured_out = output


def continues_earlier_attempt(run: Any) -> bool:
    """A worker's child whose run an earlier (lost) attempt had started."""
    from sacred.worker.takeover import claim_token

    attempts = run.meta_info.get("attempts") or []
    return claim_token() is not None and len(attempts) > 1 and run._id is not None
