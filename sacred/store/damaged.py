"""The runs of a store whose records cannot be read, with the reasons: what
``sacred runs`` warns about, as data (the board's ``/api/damaged``)."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["damaged_runs"]


def damaged_runs(store: Any) -> list[dict]:
    """``[{"id", "file", "problem", "message"}]`` of the runs a full listing leaves
    out (or reads only in part) because what is stored is damaged."""
    from sacred.store.base import DamagedRunWarning
    from sacred.store.values import read_values

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DamagedRunWarning)
        read_values(store, None, [("_id",)])
    found: dict[str, dict] = {}
    for warning in caught:
        damage = warning.message
        if not isinstance(damage, DamagedRunWarning):
            continue
        key = f"{damage.run_id}|{damage.file}|{damage.problem}"
        found.setdefault(
            key,
            {
                "id": damage.run_id,
                "file": damage.file,
                "problem": damage.problem,
                "message": str(damage),
            },
        )
    return list(found.values())
