"""A study's trials as this process knows them, brought up to date by reading only
what changed.

Trial numbers are given out under the study's lock, one after the other, so the
highest number read is a high-water mark: a refresh asks the store for the trials
above it, plus the few trials this process holds as not final (pending or dead:
their runs may still finish). Completed and failed trials never change, so they are
read once per process. A claim therefore costs the same at 100 trials as at 5,000
on the stores that evaluate queries in the database (SQL, MongoDB). The file store's
reader parses only the run directories whose mtime changed (its index), so a claim
there reads the records that changed, though it still lists every directory; a
TinyDB store is one JSON file that every write changes, so each claim parses all of
it (docs/labwatch.md, "Flat cost").

A claim reads before taking the study's lock; under it, only the trials claimed
meanwhile (``refresh(only_new=True)``, or for a suggestion that needs no trials
their number and meta alone, ``note_new``: trials ``unread`` until the next read).
"""

from __future__ import annotations

import json
import time
from typing import Any

from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, _claimed_at, study_query, trial_of_run

__all__ = ["StudyTrials"]


class StudyTrials:
    """The trials of ``study`` read so far, by trial number."""

    def __init__(self, study: str, space: SearchSpace, direction: str) -> None:
        self.study = study
        self.space = space
        self.direction = direction
        self.by_number: dict[int, Trial] = {}
        # The numbers of the trials not final (pending, dead, enqueued), and how many
        # trials take no place in the budget (retries, imports): kept as trials come
        # and go, so that a claim does not walk every trial of the study.
        self._open: set[int] = set()
        self._outside_budget = 0
        self.high_water = -1
        # Run ids of trials claimed to retry a dead one (a dead trial is retried once).
        self.retried: set[str] = set()
        # Trials above the high-water mark known by their number and meta only
        # (note_new): counted and numbered past, read in full by the next refresh.
        self.unread: dict[int, tuple[Any, dict]] = {}
        # time.monotonic() of the last read of every open trial (None: never read),
        # and the store's dead_after it judged them by
        self.read_at: float | None = None
        self.read_dead_after: float | None = None

    @property
    def trials(self) -> list[Trial]:
        """Every trial, in claim order."""
        return [self.by_number[n] for n in sorted(self.by_number)]

    def open_trials(self) -> list[Trial]:
        return [self.by_number[n] for n in self._open]

    def _put(self, trial: Trial) -> None:
        self.forget(trial.number)
        self.by_number[trial.number] = trial
        if not trial.final:
            self._open.add(trial.number)
        if trial.retry_of is not None or trial.imported is not None:
            self._outside_budget += 1

    def refresh(self, store: Any, only_new: bool = False) -> list[Trial]:
        """Read what changed since the last refresh; returns the new and changed trials.

        ``only_new``: read only the trials numbered above the high-water mark, not
        the open ones again (a claim, under the study's lock, right after a full
        refresh made outside it: the numbers and the budget depend on new trials
        only, since trials are never added below the mark)."""
        from sacred._time import utc_now

        if not only_new:
            self.read_at, self.read_dead_after = time.monotonic(), store.dead_after
        _sql_reader(store)  # (its trial numbers indexed before the first query)
        open_ids = {} if only_new else {str(t.id): t.number for t in self.open_trials()}
        query = f"{study_query(self.study)} and (meta.labwatch.trial > {self.high_water}"
        if open_ids:
            ids = [t.id for t in self.open_trials()]
            query += f" or id in [{', '.join(json.dumps(i) for i in ids)}]"
        query += ")"
        now = utc_now()
        changed: list[Trial] = []
        # every unread trial is above the mark: this read brings each one still there
        self.unread.clear()
        for run in store.find(query):
            trial = trial_of_run(run, self.space, self.direction, store.dead_after, now)
            open_ids.pop(str(trial.id), None)
            known = self.by_number.get(trial.number)
            self._put(trial)
            self.high_water = max(self.high_water, trial.number)
            self._note(trial.labwatch)
            if known is None or (known.status, known.cost) != (trial.status, trial.cost):
                changed.append(trial)
        # An open trial the query did not return was deleted (an unused claim given
        # back), or is being rewritten this instant (a store whose takeover replaces
        # the document): it is forgotten only once it would read as dead anyway.
        for number in open_ids.values():
            trial = self.by_number[number]
            claimed = _claimed_at(trial.labwatch)
            if claimed is None or (now - claimed).total_seconds() > store.dead_after:
                self.forget(number)
        return changed

    def read_within(self, seconds: float, dead_after: float) -> bool:
        """Whether every open trial was read in the last ``seconds``, judged dead or
        alive by the same ``dead_after``."""
        return (
            self.read_at is not None
            and time.monotonic() - self.read_at < seconds
            and self.read_dead_after == dead_after
        )

    def note_new(self, store: Any) -> bool:
        """Learn the numbers (and retries, imports, taken enqueued configurations) of
        the trials claimed since the last read, from their meta alone, in one query
        (sacred.observers.sql.claim.metas_of); they are read in full by the next
        refresh. False when the store cannot answer so (not SQL): nothing done."""
        reader = _sql_reader(store)
        if reader is None:
            return False
        from sacred.observers.sql.claim import metas_of
        from sacred.store.query import parse_query

        top = self.next_number() - 1
        query = parse_query(f"{study_query(self.study)} and meta.labwatch.trial > {top}")
        found = metas_of(reader, query, store.dead_after)
        if found is None:
            return False
        for run_id, meta in found:
            labwatch = meta.get("labwatch") or {}
            number = labwatch.get("trial")
            if isinstance(number, int) and number not in self.by_number:
                self.unread[number] = (run_id, labwatch)
                self._note(labwatch)
        return True

    def _note(self, labwatch: dict) -> None:
        """What a trial's meta says about others: the dead trial it retries, the
        enqueued configuration it took."""
        retry_of = labwatch.get("retry_of")
        if retry_of is not None:
            self.retried.add(str(retry_of))
        taken = labwatch.get("from_queue")
        if taken is not None:
            # another claim took this enqueued configuration (and deleted its
            # record): it no longer waits, even before its deletion is seen
            self._forget_id(str(taken))

    def forget(self, number: int) -> None:
        """Drop a trial whose record was deleted."""
        trial = self.by_number.pop(number, None)
        self._open.discard(number)
        if trial is not None and (trial.retry_of is not None or trial.imported is not None):
            self._outside_budget -= 1

    def _forget_id(self, run_id: str) -> None:
        for trial in self.open_trials():
            if str(trial.id) == run_id:
                self.forget(trial.number)

    def seen(self) -> int:
        """How many trials of the study this process knows of (read or unread)."""
        return len(self.by_number) + len(self.unread)

    def next_number(self) -> int:
        return max(self.high_water, max(self.unread, default=-1)) + 1

    def next_enqueued(self) -> Trial | None:
        """The oldest enqueued configuration not taken yet."""
        waiting = [t for t in self.open_trials() if t.enqueued]
        return min(waiting, key=lambda t: t.number) if waiting else None

    def dead_to_retry(self) -> Trial | None:
        """The oldest dead trial that is not a retry and was not retried yet."""
        for trial in sorted(self.open_trials(), key=lambda t: t.number):
            if (
                trial.status == "DEAD"
                and trial.retry_of is None
                and str(trial.id) not in self.retried
            ):
                return trial
        return None

    def slots_used(self) -> int:
        # A retry takes the place of the trial it repeats; imported runs were not
        # run for the study, so they are not part of its budget.
        return (
            len(self.by_number)
            - self._outside_budget
            + sum(
                1
                for _, meta in self.unread.values()
                if meta.get("retry_of") is None and meta.get("imported") is None
            )
        )

    def count(self, status: str) -> int:
        return sum(1 for t in self.by_number.values() if t.status == status)


def _sql_reader(store: Any) -> Any:
    """The reader of an SQL store, which Labwatch asks more than queries (the trials'
    meta alone), with the trial numbers indexed (once per database and process:
    sacred.observers.sql.claim.index_trial_numbers); None for any other store."""
    from sacred.observers._registry import backend_for_url

    if store.location is None or backend_for_url(store.location).kind != "sql":
        return None  # (and sqlalchemy, an extra, may not be installed)
    from sacred.observers.sql.claim import index_trial_numbers

    index_trial_numbers(store.backend)
    return store.backend
