"""What a worker hands to the process it starts, through the environment.

A leaf module (nothing but ``os``): every run checks these variables, so reading them
must not import the claim machinery (:mod:`sacred.observers.claiming` re-exports them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# the claim token of the run this process was started for (fences its writes)
CLAIM_TOKEN_ENV = "SACRED_CLAIM_TOKEN"
# JSON: the stored meta entries the started run keeps (claim, attempts, rerun_of...)
WORKER_META_ENV = "SACRED_WORKER_META"


def claim_token() -> str | None:
    """The claim token this process was started with, if any."""
    return os.environ.get(CLAIM_TOKEN_ENV) or None


def hold_claim_token(token: str) -> None:
    """This process's run now holds ``token``: its observers fence their writes on it."""
    os.environ[CLAIM_TOKEN_ENV] = token


@contextmanager
def claim_token_scope() -> Iterator[None]:
    """Creating and running one run in this process: a token it took (``--resume``, a
    Labwatch trial) is given back when it ends, so the next run of the process (and
    every process it starts) does not fence on a claim that is no longer its own."""
    before = os.environ.get(CLAIM_TOKEN_ENV)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CLAIM_TOKEN_ENV, None)
        else:
            os.environ[CLAIM_TOKEN_ENV] = before


def inherited_meta() -> dict:
    """The meta entries a worker handed to this process (empty when not started by one)."""
    text = os.environ.get(WORKER_META_ENV)
    if not text:
        return {}
    import json  # only in a worker's run: a plain run never gets here

    value = json.loads(text)
    return value if isinstance(value, dict) else {}
