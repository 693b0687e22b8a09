"""Timestamps as sacred stores them: naive datetimes holding UTC."""

from __future__ import annotations

import datetime
from typing import Any

__all__ = ["utc_now", "from_timestamp", "parse_stored_time"]


def utc_now() -> datetime.datetime:
    """The current time in UTC, without tzinfo (the documented record format)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def from_timestamp(seconds: float) -> datetime.datetime:
    """A ``time.time()`` value as a naive UTC datetime."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)


def parse_stored_time(value: Any) -> Any:
    """An ISO time string as stored in JSON records, as a datetime; anything else (or a
    string that is no ISO time) as it is."""
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value
