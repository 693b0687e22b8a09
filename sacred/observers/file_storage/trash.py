"""The trash and the saved views of a file store (mixed into FileStoreReader).

A trashed run's directory moves to ``<basedir>/.trash/<id>`` (a rename: nothing is
copied), next to ``.trash/_<id>.json`` with when it was trashed. Readers skip names
that start with ``.``, so the run leaves every listing, and the FileStorageObserver
counts the ids in ``.trash`` when it picks the next one, so an id is never given
again while its run can still be restored. Saved views live in
``<basedir>/_views.json`` (also skipped by readers), replaced atomically."""

from __future__ import annotations

import datetime
import json
import os
import shutil
from typing import Any

from sacred.exceptions import StoreError
from sacred.observers.file_storage.files import TRASH_DIR, atomic_write

__all__ = ["FileTrash", "VIEWS_FILE"]

VIEWS_FILE = "_views.json"


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class FileTrash:
    root: str
    basedir: str

    def _dir(self, run_id: Any) -> str:  # FileStoreReader's
        raise NotImplementedError

    @property
    def _trash_root(self) -> str:
        return os.path.join(self.root, TRASH_DIR)

    def _trashed_dir(self, run_id: Any) -> str:
        name = str(run_id)
        path = os.path.join(self._trash_root, name)
        plain = name and not name.startswith((".", "_")) and os.sep not in name
        if not plain or os.path.islink(path) or not os.path.isdir(path):
            raise StoreError(f"No run with id {run_id!r} in the trash of {self.basedir}.")
        return path

    def _note_path(self, name: str) -> str:
        return os.path.join(self._trash_root, f"_{name}.json")

    def trash_run(self, run_id: Any, when: datetime.datetime) -> None:
        run_dir = self._dir(run_id)
        name = os.path.basename(run_dir)
        target = os.path.join(self._trash_root, name)
        if os.path.lexists(target):
            raise StoreError(
                f"Run {run_id} cannot go to the trash of {self.basedir}: the trash already "
                f"holds a run {name} (empty it first: sacred empty-trash STORE)."
            )
        os.makedirs(self._trash_root, exist_ok=True)
        experiment = (_read_json(os.path.join(run_dir, "run.json")) or {}).get("experiment")
        note = {
            "trashed_at": when.isoformat(),
            "experiment": experiment.get("name") if isinstance(experiment, dict) else None,
        }
        atomic_write(self._note_path(name), json.dumps(note))
        try:
            os.rename(run_dir, target)
        except OSError as exc:
            os.remove(self._note_path(name))
            raise StoreError(
                f"Run {run_id} could not be moved to the trash: {exc.strerror or exc}."
            ) from None

    def restore_run(self, run_id: Any) -> None:
        source = self._trashed_dir(run_id)
        name = os.path.basename(source)
        target = os.path.join(self.root, name)
        if os.path.lexists(target):
            raise StoreError(
                f"Run {run_id} cannot be restored: {target} exists again (written by an "
                "observer that does not know the trash). Move one of them elsewhere first."
            )
        os.rename(source, target)
        try:
            os.remove(self._note_path(name))
        except FileNotFoundError:
            pass

    def trashed_runs(self) -> list[dict]:
        try:
            names = os.listdir(self._trash_root)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            path = os.path.join(self._trash_root, name)
            if name.startswith((".", "_")) or os.path.islink(path) or not os.path.isdir(path):
                continue
            note = _read_json(self._note_path(name))
            note = note if isinstance(note, dict) else {}
            when = note.get("trashed_at")
            try:
                trashed_at = datetime.datetime.fromisoformat(when) if when else None
            except (TypeError, ValueError):
                trashed_at = None
            if trashed_at is None:  # the note is lost: the rename time is close enough
                stamp = os.stat(path).st_ctime
                trashed_at = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
                trashed_at = trashed_at.replace(tzinfo=None)
            found.append(
                {
                    "id": int(name) if name.isdigit() else name,
                    "experiment": note.get("experiment"),
                    "trashed_at": trashed_at,
                }
            )
        return found

    def purge_trashed(self, run_id: Any) -> None:
        path = self._trashed_dir(run_id)
        shutil.rmtree(path)
        try:
            os.remove(self._note_path(os.path.basename(path)))
        except FileNotFoundError:
            pass

    # -- saved views ------------------------------------------------------------------

    def _views_path(self) -> str:
        return os.path.join(self.root, VIEWS_FILE)

    def saved_views(self) -> dict[str, dict]:
        path = self._views_path()
        try:
            with open(path, encoding="utf-8") as f:
                views = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"The saved views of {self.basedir} cannot be read ({path}: {exc}); repair "
                "or remove that file."
            ) from None
        if not isinstance(views, dict):
            raise StoreError(f"{path} holds no object of views; repair or remove that file.")
        return {k: v for k, v in views.items() if isinstance(v, dict)}

    def write_view(self, name: str, state: dict | None) -> None:
        from sacred.store.locking import path_lock

        # Two boards saving at once must not lose one another's view.
        with path_lock(self.root, "sacred-views"):
            views = self.saved_views()
            if state is None:
                views.pop(name, None)
            else:
                views[name] = state
            atomic_write(self._views_path(), json.dumps(views, indent=2, sort_keys=True))
