"""How a worker's child process is allowed to take over the record the worker claimed.

A claimed run is no longer QUEUED (so no other worker claims it), yet the run that the
worker starts must take its record over like it would take over a queued one. The
claim writes a random token into ``meta.claim.token``; the worker passes the same token
to the child in ``SACRED_CLAIM_TOKEN``. An observer takes over a non-queued record only
when both match, so nothing else can overwrite a running run by accident.

``SACRED_WORKER_META`` (JSON) carries the stored meta entries the run must keep
(the claim, the list of attempts, ``rerun_of``...): the child merges them into its own
meta, which replaces the stored one on takeover.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "CLAIM_TOKEN_ENV",
    "WORKER_META_ENV",
    "claim_token",
    "claimed_by_this_process",
    "inherited_meta",
]

CLAIM_TOKEN_ENV = "SACRED_CLAIM_TOKEN"
WORKER_META_ENV = "SACRED_WORKER_META"


def claim_token() -> str | None:
    """The claim token this process was started with, if any."""
    return os.environ.get(CLAIM_TOKEN_ENV) or None


def claimed_by_this_process(meta: Any) -> bool:
    """True when a stored run's meta holds the claim token this process was given."""
    token = claim_token()
    if token is None or not isinstance(meta, dict):
        return False
    claim = meta.get("claim")
    return isinstance(claim, dict) and claim.get("token") == token


def inherited_meta() -> dict:
    """The meta entries a worker handed to this process (empty when not started by one)."""
    text = os.environ.get(WORKER_META_ENV)
    if not text:
        return {}
    import json  # only in a worker's run: a plain run never gets here

    value = json.loads(text)
    return value if isinstance(value, dict) else {}
