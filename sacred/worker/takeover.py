"""How a worker's child process is allowed to take over the record the worker claimed.

A claimed run is no longer QUEUED (so no other worker claims it), yet the run that the
worker starts must take its record over like it would take over a queued one. The
claim writes a random token into ``meta.claim.token``; the worker passes the same token
to the child in ``SACRED_CLAIM_TOKEN``. An observer takes over a non-queued record only
when both match, so nothing else can overwrite a running run by accident; every later
write of the run is fenced by the same token (:mod:`sacred.observers.claiming`).

``SACRED_WORKER_META`` (JSON) carries the stored meta entries the run must keep
(the claim, the list of attempts, ``rerun_of``...): the child merges them into its own
meta, which replaces the stored one on takeover.

The rules live in :mod:`sacred.observers.claiming`; this module names them for the
worker side.
"""

from __future__ import annotations

from sacred.observers.claiming import (
    CLAIM_TOKEN_ENV,
    WORKER_META_ENV,
    claim_token,
    claimed_by_this_process,
    inherited_meta,
)

__all__ = [
    "CLAIM_TOKEN_ENV",
    "WORKER_META_ENV",
    "claim_token",
    "claimed_by_this_process",
    "inherited_meta",
]
