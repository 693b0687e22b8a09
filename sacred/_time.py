"""Timestamps as sacred stores them: naive datetimes holding UTC."""

from __future__ import annotations

import datetime

__all__ = ["utc_now", "from_timestamp"]


def utc_now() -> datetime.datetime:
    """The current time in UTC, without tzinfo (the documented record format)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def from_timestamp(seconds: float) -> datetime.datetime:
    """A ``time.time()`` value as a naive UTC datetime."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)
