"""The Store: one query interface over every backend."""

from __future__ import annotations

from typing import Any

from sacred.exceptions import QueryError, StoreError
from sacred.store.base import DamagedRunError, MissingExtraError, StoreBackend, effective_status
from sacred.store.query import parse_query, parse_sort
from sacred.store.run import StoredRun

__all__ = ["Store", "DEFAULT_DEAD_AFTER"]

# A RUNNING run whose last heartbeat is older than this (seconds) reads as
# PROBABLY_DEAD: twelve times the default beat interval of 10 s.
DEFAULT_DEAD_AFTER = 120.0


class Store:
    """Runs recorded by any observer, read the same way.

    ``find(query, sort=, limit=)``, ``get(run_id)``, ``to_dataframe(query)``,
    ``delete(run_id)`` (to the trash: ``restore``, ``trash``, ``empty_trash``),
    ``tag(run_id, *tags)``, ``set_note(run_id, text)``, saved board views
    (``views``, ``save_view``, ``delete_view``).
    """

    def __init__(
        self, backend: StoreBackend, location: str = "", dead_after: float = DEFAULT_DEAD_AFTER
    ) -> None:
        self.backend = backend
        self.location = location
        self.dead_after = dead_after

    def find(
        self, query: str | None = None, *, sort: Any = None, limit: int | None = None
    ) -> list[StoredRun]:
        """Runs matching the query (see sacred.store.query), sorted, at most limit."""
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise QueryError(f"limit must be a whole number >= 0, not {limit!r}")
        node = parse_query(query)
        records = self.backend.find_records(node, parse_sort(sort), limit, self.dead_after)
        return [StoredRun(r, self.backend) for r in records]

    def get(self, run_id: Any) -> StoredRun:
        """The run with this id; StoreError if there is none."""
        record = self.backend.get_record(run_id)
        if record is None:
            raise StoreError(f"No run with id {run_id!r} in {self.location or 'the store'}.")
        from sacred._time import utc_now

        record["status"] = effective_status(record, utc_now(), self.dead_after)
        return StoredRun(record, self.backend)

    def to_dataframe(self, query: str | None = None, *, sort: Any = None, limit: int | None = None):
        """One row per run, config/result flattened into columns like config.lr."""
        from sacred.store.frame import runs_to_dataframe

        MissingExtraError.check("pandas", "store.to_dataframe()")
        return runs_to_dataframe(self.find(query, sort=sort, limit=limit))

    def groups(
        self,
        by: str | list[str],
        filter: str | None = None,
        metrics: str | list[str] | None = None,
        *,
        sort: str | None = None,
    ):
        """One row per group of the runs filter matches, grouped by the values at
        the paths by (``"config.optimizer"``, ``["optimizer", "model.layers"]``: a
        bare name is a config entry): the key columns, ``count``, ``ids_sample``, and
        ``<stat>.mean/.std/.min/.max/.n`` for ``result`` and each metric summary in
        metrics (``"loss:min,acc"``: a bare name is the last value). A DataFrame
        (sacred.store.groups; ``group_runs`` gives the same as JSON-able dicts)."""
        from sacred.store.groups import group_runs

        MissingExtraError.check("pandas", "store.groups()")
        import pandas as pd

        found = group_runs(self, by, filter, metrics, sort)
        rows = []
        for group in found["groups"]:
            row = dict(group["key"])
            row["count"] = group["count"]
            row["ids_sample"] = group["ids_sample"]
            for stat, figures in group["stats"].items():
                for figure, value in figures.items():
                    row[f"{stat}.{figure}"] = value
            rows.append(row)
        return pd.DataFrame(rows)

    def points(self, x: str, y: str, color: str | None = None, filter: str | None = None) -> dict:
        """``{"ids", "x", "y", "color", "missing"}`` for a scatter plot of the runs
        filter matches (sacred.store.points)."""
        from sacred.store.points import points

        return points(self, x, y, color, filter)

    def delete(self, run_id: Any, *, purge: bool = False) -> None:
        """Move the run to the trash (also a damaged one): it leaves every query until
        restore(run_id). purge=True deletes it for good with its metrics and files."""
        from sacred.store.trash import find_trashed

        try:
            self.get(run_id)
        except DamagedRunError:
            pass  # deleting is one way to deal with it
        except StoreError:
            if find_trashed(self, run_id) is None:
                raise
            if not purge:
                raise StoreError(f"Run {run_id} is already in the trash.") from None
            self.backend.purge_trashed(run_id)
            return
        if purge:
            self.backend.delete(run_id)
            return
        from sacred._time import utc_now

        self.backend.trash_run(run_id, utc_now())

    def restore(self, run_id: Any) -> None:
        """Bring a trashed run back into every query and view."""
        from sacred.store.trash import restore

        restore(self, run_id)

    def trash(self) -> list[dict]:
        """The trashed runs, ``[{"id", "experiment", "trashed_at"}]``, newest first."""
        from sacred.store.trash import trashed

        return trashed(self)

    def empty_trash(self, older_than: Any = None) -> list[Any]:
        """Delete the trashed runs for good (only those trashed longer ago than
        older_than: a timedelta, seconds, or ``"30d"``/``"12h"``); returns their ids."""
        from sacred.store.trash import empty_trash

        return empty_trash(self, older_than)

    def views(self) -> dict[str, dict]:
        """The saved board views, ``{name: state}`` sorted by name."""
        return dict(sorted(self.backend.saved_views().items()))

    def save_view(self, name: str, state: dict) -> None:
        """Save a board view (its URL state) under name, replacing one of that name."""
        from sacred.store.views import MAX_VIEWS, check_name, check_state

        name, state = check_name(name), check_state(state)
        if name not in self.backend.saved_views() and len(self.backend.saved_views()) >= MAX_VIEWS:
            raise StoreError(f"The store already holds {MAX_VIEWS} views; delete some first.")
        self.backend.write_view(name, state)

    def delete_view(self, name: str) -> None:
        if name not in self.backend.saved_views():
            raise StoreError(f"No saved view named {name!r}.")
        self.backend.write_view(name, None)

    def tag(self, run_id: Any, *tags: str) -> list[str]:
        """Add tags to a run (duplicates ignored); returns the run's tags."""
        run = self.get(run_id)
        merged = list(dict.fromkeys([*run.tags, *map(str, tags)]))
        self.backend.set_tags(run_id, merged)
        return merged

    def untag(self, run_id: Any, *tags: str) -> list[str]:
        run = self.get(run_id)
        remaining = [t for t in run.tags if t not in set(tags)]
        self.backend.set_tags(run_id, remaining)
        return remaining

    def set_note(self, run_id: Any, text: str) -> None:
        self.get(run_id)
        self.backend.set_note(run_id, str(text))

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.location}>"
