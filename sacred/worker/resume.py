"""Resuming a stopped run in its own record: ``python exp.py --resume ID``.

The run takes the stored record up again (atomically, like a worker's claim: two
processes never resume the same run): metric steps continue after the last stored
one, captured output and artifacts are appended to the stored ones, and
``meta.attempts`` keeps the history (each entry says which status it resumed from).
The main function reads ``_run.resumed_from_step`` (the last stored step, None for
a run without metrics) to continue its loop. A worker starting a run that an earlier,
lost attempt had started continues it the same way.
"""

from __future__ import annotations

import os
from typing import Any

from sacred.commandline_options import CLIOption

__all__ = ["resume_option", "prepare_resume"]


def _apply(args: Any, run: Any) -> None:
    """Continue the stopped run ID in its own record (same store as the observer).

    Metric steps continue after the last stored one; output and artifacts are
    appended. The main function can read _run.resumed_from_step.
    """
    text = str(args).strip()
    run.resume_of = int(text) if text.isdigit() else text


def _check(value: Any) -> None:
    if not str(value).strip():
        raise ValueError("--resume needs the id of a stored run")


resume_option = CLIOption(_apply, None, "--resume", metavar="ID", check=_check)


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


def prepare_resume(run: Any) -> None:
    """Before the run starts: claim its stored record (``--resume``) or, in a worker's
    child, pick up what an earlier attempt stored; then continue from it."""
    from sacred.worker.claims import worker_name
    from sacred.worker.takeover import CLAIM_TOKEN_ENV

    claimer = _claimer(run)
    try:
        if run.resume_of is not None:
            claimed = claimer.claim_for_resume(run.resume_of, worker_name())
            # the observers take the claimed record over when they see this token
            os.environ[CLAIM_TOKEN_ENV] = claimed.token
            run._id = run.resume_of
            kept = {k: v for k, v in claimed.meta.items() if k not in ("command", "options")}
            run.meta_info.update(kept)
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
