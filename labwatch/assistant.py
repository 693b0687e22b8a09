"""LabAssistant: connects an experiment, its search spaces, an optimizer and a store.

    ex = Experiment()
    a = LabAssistant(ex, optimizer=RandomSearch)          # the embedded SQLite store

    @a.searchspace
    def search_space():
        learning_rate = UniformFloat(1e-4, 1e-1, log_scale=True)

    $ python my_experiment.py with search_space

How ``with search_space`` works without changing sacred: the search space is
registered on the experiment as a named config whose values are produced when the
configuration is resolved. Producing them is the *claim* (see docs/labwatch.md):
under the study's lock (sacred.store.locking) every trial of the study is read
from the store, the optimizer suggests, and the new trial is recorded as a QUEUED
run through the store's observer before the lock is released. The run then starts
under that id (a high-priority observer of the assistant hands it to the others,
which take the queued record over), with the labwatch entry in its meta.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labwatch.exceptions import BudgetExhausted, LabwatchError, OptimizerError
from labwatch.optimizers.base import Optimizer
from labwatch.optimizers.random_search import RandomSearch
from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, TrialStatus, read_trials
from sacred.config.utils import iterate_flattened, set_by_dotted_path
from sacred.observers.base import RunObserver

__all__ = ["LabAssistant"]

logger = logging.getLogger("labwatch")

DEFAULT_DEAD_AFTER = 120.0


@dataclass
class _Claim:
    id: Any
    meta: dict
    store_location: str


def _mongo_location(url: str | None, database_name: str) -> str:
    if url and "://" in url:
        base = url.split("://", 1)[0] + "://" + url.split("://", 1)[1].split("/", 1)[0]
        return f"{base}/{database_name}"
    return f"mongodb://{url or 'localhost:27017'}/{database_name}"


def _same_sql_url(a: str, b: str) -> bool:
    from sqlalchemy.engine import make_url

    ua, ub = make_url(a), make_url(b)
    if ua.get_backend_name() == "sqlite" and ub.get_backend_name() == "sqlite":
        return os.path.abspath(ua.database or "") == os.path.abspath(ub.database or "")
    keep = ("host", "port", "database", "username")
    return ua.get_backend_name() == ub.get_backend_name() and all(
        getattr(ua, k) == getattr(ub, k) for k in keep
    )


class _TrialObserver(RunObserver):
    """Runs first; hands the claimed trial's id and labwatch meta to the run."""

    priority = 10**9

    def __init__(self, assistant: LabAssistant) -> None:
        self.assistant = assistant

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        claim = self.assistant._take_claim()
        if claim is None:
            return None
        if _id is not None and str(_id) != str(claim.id):
            raise LabwatchError(
                f"This run was given the id {_id!r}, but its search space trial was recorded "
                f"as run {claim.id!r}. Do not pass --id to runs of a search space."
            )
        meta_info["labwatch"] = claim.meta
        self.assistant._last_started = claim.id
        return claim.id

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        return None


class _SearchSpaceConfig:
    """What the experiment holds as the named config of a search space."""

    def __init__(self, assistant: LabAssistant, space: SearchSpace) -> None:
        self.assistant = assistant
        self.space = space
        self.__name__ = space.name
        self.__doc__ = space.doc or f"labwatch search space ({len(space.parameters)} entries)"
        self.docstring = self.__doc__

    def evaluate(
        self,
        fixed: dict | None = None,
        preset: dict | None = None,
        fallback: dict | None = None,
        logger: Any = None,
    ) -> tuple[dict, dict]:
        return self.assistant._configure(self.space, fixed or {}), {}

    def __call__(self, fixed: dict | None = None, preset: Any = None, fallback: Any = None) -> dict:
        return self.evaluate(fixed)[0]

    def __repr__(self) -> str:
        return f"<labwatch search space {self.space.name}>"


class LabAssistant:
    """Hyperparameter optimization for a sacred Experiment, recorded in a store.

    ``experiment``: the Experiment. ``database_name``/``url``: a MongoDB store (as
    in the original). ``store``: any ``sacred.store.open_store`` location instead;
    default the embedded SQLite store ``runs.db`` next to the experiment's main
    file. ``optimizer``: an :class:`~labwatch.optimizers.Optimizer` class (made
    afresh for each suggestion). ``direction``: "minimize" (default) or "maximize"
    the objective (the run's result, or ``result["optimization_target"]``).
    ``dead_after``: seconds without heartbeat before a RUNNING trial counts as
    dead and is retried once. ``always_inject_default``/``prefix`` of the
    original are not supported.
    """

    def __init__(
        self,
        experiment: Any,
        database_name: str | None = None,
        url: str | None = None,
        optimizer: type[Optimizer] | Callable[..., Optimizer] = RandomSearch,
        store: str | os.PathLike | None = None,
        direction: str = "minimize",
        dead_after: float = DEFAULT_DEAD_AFTER,
        lock_timeout: float = 120.0,
        **store_options: Any,
    ) -> None:
        if direction not in ("minimize", "maximize"):
            raise LabwatchError(f'direction must be "minimize" or "maximize", not {direction!r}')
        if not callable(optimizer):
            raise OptimizerError(
                f"optimizer must be an Optimizer class such as RandomSearch, not {optimizer!r}"
            )
        if store is not None and (database_name or url):
            raise LabwatchError("Pass either store= or database_name=/url= (MongoDB), not both.")
        self.experiment = experiment
        self.optimizer = optimizer
        self.direction = direction
        self.dead_after = float(dead_after)
        self.lock_timeout = lock_timeout
        self.store_options = store_options
        self.search_spaces: dict[str, SearchSpace] = {}
        self.budget: int | None = None
        self._local = threading.local()
        self._store: Any = None
        self._claim_observer: Any = None
        self._attached: Any = None
        self._ex_info: dict | None = None
        self._host_info: dict | None = None
        self._trial_observer = _TrialObserver(self)
        experiment.observers.append(self._trial_observer)
        experiment.option_hook(self._on_options)
        experiment.config_hook(self._on_config)
        if database_name or url:
            location = _mongo_location(url, database_name or "labwatch")
        elif store is not None:
            location = os.fspath(store)
        else:
            location = "sqlite:///" + os.path.join(experiment.base_dir, "runs.db")
        self.use_store(location)

    # -- the store ---------------------------------------------------------------------

    def use_store(self, location: str | os.PathLike) -> None:
        """Record and read trials in the store at ``location`` (attaching its observer
        to the experiment unless one is there already)."""
        location = os.fspath(location)
        if self._attached is not None and self._attached in self.experiment.observers:
            self.experiment.observers.remove(self._attached)
        self.location = location
        self._store = None
        self._claim_observer = None
        self._attached = None
        observer = self._find_observer()
        if observer is None:
            observer = self._make_observer()
            self.experiment.observers.append(observer)
            self._attached = observer
        self._store_observer = observer

    def _kind(self) -> str:
        from sacred.store.locking import lock_kind

        return lock_kind(self.location)

    def _find_observer(self) -> Any:
        kind = self._kind()
        for observer in self.experiment.observers:
            name = type(observer).__name__
            if kind in ("sqlite", "postgresql", "mysql") and name == "SqlObserver":
                if _same_sql_url(observer.engine.url.render_as_string(False), self.location):
                    return observer
            elif kind == "file" and name == "FileStorageObserver":
                if observer.basedir == os.path.abspath(self._path()):
                    return observer
            elif kind == "tinydb" and name == "TinyDbObserver":
                if observer.basedir == os.path.abspath(self._path()):
                    return observer
            elif kind == "mongodb" and name == "MongoObserver":
                if observer.runs.database.name == self._mongo_db():
                    return observer
        return None

    def _path(self) -> str:
        return self.location.split("://", 1)[1] if "://" in self.location else self.location

    def _mongo_db(self) -> str:
        rest = self.location.split("://", 1)[1]
        if self.location.startswith("mongomock://"):
            return rest.strip("/") or "sacred"
        return (rest.split("/", 1)[1].split("?", 1)[0] if "/" in rest else "") or "sacred"

    def _make_observer(self) -> Any:
        kind = self._kind()
        if kind in ("sqlite", "postgresql", "mysql"):
            from sacred.observers import SqlObserver

            return SqlObserver(self.location)
        if kind == "file":
            from sacred.observers import FileStorageObserver

            return FileStorageObserver(self._path())
        if kind == "tinydb":
            from sacred.observers import TinyDbObserver

            return TinyDbObserver(self._path())
        from sacred.observers import MongoObserver

        client = self.store_options.get("client")
        if client is None and self.location.startswith("mongomock://"):
            raise LabwatchError(
                "A mongomock:// store needs the mongomock client: "
                "LabAssistant(ex, store='mongomock://db', client=client)"
            )
        if client is not None:
            return MongoObserver(db_name=self._mongo_db(), client=client)
        return MongoObserver(url=self.location, db_name=self._mongo_db())

    def _get_store(self) -> Any:
        if self._store is None:
            from sacred.store import open_store

            self._get_claim_observer()  # creates the database/tables before reading
            if self._kind() == "file":
                os.makedirs(self._path(), exist_ok=True)
            self._store = open_store(
                self.location, dead_after=self.dead_after, **self.store_options
            )
        self._store.dead_after = self.dead_after  # it may have changed since
        return self._store

    def _get_claim_observer(self) -> Any:
        """A separate observer instance that writes the claims (QUEUED records)."""
        if self._claim_observer is None:
            observer = self._store_observer
            name = type(observer).__name__
            if name == "SqlObserver":
                self._claim_observer = type(observer).create_from(observer.engine)
                # it opens the database at its first event: the store is read before
                self._claim_observer.connect()
            elif name == "FileStorageObserver":
                self._claim_observer = type(observer)(observer.basedir)
            elif name == "TinyDbObserver":
                # Its own database object: it writes under the store's write lock and
                # reads the file afresh, like an observer in another process.
                self._claim_observer = type(observer)(observer.basedir)
            else:
                claim = type(observer).__new__(type(observer))
                claim.initialize(observer.runs, observer.fs, metrics_collection=observer.metrics)
                self._claim_observer = claim
        return self._claim_observer

    # -- declaring search spaces --------------------------------------------------------

    def searchspace(self, function: Callable) -> SearchSpace:
        """Decorator: declare a search space (used like a named config:
        ``with search_space``)."""
        space = SearchSpace.from_function(function)
        if space.name in self.experiment.named_configs:
            raise LabwatchError(
                f'The experiment already has a named config "{space.name}"; give the search '
                "space another name."
            )
        self.experiment.named_configs[space.name] = _SearchSpaceConfig(self, space)
        self.search_spaces[space.name] = space
        return space

    search_space = searchspace

    def study_of(self, space: SearchSpace | str) -> str:
        """The study's identity: experiment name and the space's canonical hash."""
        if isinstance(space, str):
            space = self.search_spaces[space]
        return f"{self.experiment.path}/{space.hash}"

    def trials(self, space: SearchSpace | str) -> list[Trial]:
        """Every trial of the space's study in the store, oldest first."""
        if isinstance(space, str):
            space = self.search_spaces[space]
        return read_trials(self._get_store(), self.study_of(space), space, self.direction)

    def best(self, space: SearchSpace | str) -> Trial | None:
        done = [t for t in self.trials(space) if t.status == TrialStatus.COMPLETED]
        return min(done, key=lambda t: t.cost) if done else None

    # -- hooks into the experiment ------------------------------------------------------

    def _on_options(self, options: dict) -> None:
        stale = self._take_claim()
        if stale is not None:  # resolved earlier but never started: give the slot back
            self._discard(stale)
        self._local.options = dict(options)
        # ``ex.observers = [...]`` after the assistant was made drops its observers; a
        # trial must still start under its claimed id, in the store it was claimed in.
        if self._trial_observer not in self.experiment.observers:
            self.experiment.observers.append(self._trial_observer)
        if self._find_observer() is None:
            self.experiment.observers.append(self._store_observer)
        # MongoObserver keeps the id of a queued run it took over in ``overwrite`` and
        # would write the next run over it: forget the takeover of our previous trial.
        observer = self._store_observer
        last = getattr(self, "_last_started", None)
        if last is not None and getattr(observer, "overwrite", None) == last:
            observer.overwrite = None

    def _on_config(self, config: dict, command_name: str, logger: Any) -> dict:
        claim = getattr(self._local, "claim", None)
        if claim is None:
            return {}
        commands = dict(self.experiment.gather_commands())
        command = commands.get(command_name)
        if command is None or getattr(command, "unobserved", False):
            self._take_claim()
            self._discard(claim)
        return {}

    def _take_claim(self) -> _Claim | None:
        claim = getattr(self._local, "claim", None)
        self._local.claim = None
        return claim

    def _discard(self, claim: _Claim) -> None:
        try:
            self._get_store().delete(claim.id)
        except Exception as exc:  # it will read as dead after dead_after and be retried
            logger.warning("labwatch: could not remove the unused claim %s: %s", claim.id, exc)

    # -- suggesting ---------------------------------------------------------------------

    def _configure(self, space: SearchSpace, fixed: dict) -> dict:
        options = getattr(self._local, "options", None) or {}
        if options.get("--queue"):
            raise LabwatchError(
                f'A search space chooses its configuration when the run starts, so "with '
                f'{space.name}" cannot be queued (--queue). Start runs with "with {space.name}" '
                "directly, or run `labwatch worker` processes."
            )
        from sacred.randomness import get_seed

        fixed_flat = dict(iterate_flattened(fixed))
        seed = fixed_flat.get("seed")
        seed = int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else get_seed()
        if options.get("--unobserved"):
            trials = self.trials(space)
            values = self._suggest(space, trials, seed)
            return self._values(space, values, fixed_flat, seed)
        values, meta = self.claim(space, seed, fixed_flat)
        return self._values(space, values, fixed_flat, meta["sampler_seed"])

    @staticmethod
    def _values(space: SearchSpace, values: dict, fixed: dict, seed: int) -> dict:
        out: dict = {"seed": seed}
        for name, value in values.items():
            set_by_dotted_path(out, name, value)
        return out

    def _suggest(self, space: SearchSpace, trials: list[Trial], seed: int) -> dict:
        optimizer = self.optimizer(space, seed=seed)
        optimizer.update([t.config for t in trials], [t.cost for t in trials], trials)
        values = optimizer.suggest_configuration()
        self._last_state = getattr(optimizer, "state", None) or {}
        missing = [n for n in space.order if space.is_active(n, values) and n not in values]
        if missing:
            raise OptimizerError(
                f"{type(optimizer).__name__} suggested no value for {', '.join(missing)} "
                f"(search space {space.name!r})"
            )
        return space.active(values)

    def claim(self, space: SearchSpace, seed: int, fixed: dict | None = None) -> tuple[dict, dict]:
        """Suggest a configuration and record it as a new trial, atomically.

        Returns (values by dotted name, the trial's labwatch meta); the claim is kept
        for the run that starts next in this thread.
        """
        from sacred._time import utc_now
        from sacred.store.locking import store_lock

        fixed = fixed or {}
        study = self.study_of(space)
        store = self._get_store()
        observer = self._get_claim_observer()
        lock_options = (
            {"client": self.store_options["client"]} if "client" in self.store_options else {}
        )
        with store_lock(self.location, f"labwatch/{study}", self.lock_timeout, **lock_options):
            trials = read_trials(store, study, space, self.direction)
            retry = self._dead_to_retry(trials)
            if retry is None and self.budget is not None:
                used = self._slots_used(trials)
                if used >= self.budget:
                    pending = sum(t.status == TrialStatus.PENDING for t in trials)
                    raise BudgetExhausted(
                        f"The study {study} has its {self.budget} trials ({pending} still "
                        "running).",
                        pending=pending,
                    )
            state: dict = {}
            if retry is not None:
                values = dict(retry.config)
                seed = int(retry.labwatch.get("sampler_seed", seed))
                state = retry.state
                logger.info("labwatch: retrying trial %s (run %s died)", retry.number, retry.id)
            else:
                values = self._suggest(space, trials, seed)
                state = self._last_state
            for name in space.order:
                if name in fixed:
                    values[name] = fixed[name]
            values = space.active(values)
            now = utc_now()
            meta = {
                "study": study,
                "space": space.name,
                "space_hash": space.hash,
                "optimizer": getattr(self.optimizer, "__name__", type(self.optimizer).__name__),
                "sampler_seed": seed,
                "direction": self.direction,
                "space_def": space.to_dict(),
                "trial": max((t.number for t in trials), default=-1) + 1,
                "claimed_at": now.isoformat(),
                "seen_trial_ids": [t.id for t in trials],
            }
            if state:
                meta["state"] = state
            if retry is not None:
                meta["retry_of"] = retry.id
            config: dict = {"seed": seed}
            for name, value in values.items():
                set_by_dotted_path(config, name, value)
            command = self.experiment.default_command or "main"
            _id = observer.queued_event(
                ex_info=self._experiment_info(),
                command=command,
                host_info=self._host(),
                queue_time=now,
                config=copy.deepcopy(config),
                meta_info={"command": command, "queue_time": now, "labwatch": meta},
                _id=None,
            )
        self._local.claim = _Claim(_id, meta, self.location)
        logger.info("labwatch: trial %s of %s is run %s: %s", meta["trial"], study, _id, values)
        return values, meta

    @staticmethod
    def _dead_to_retry(trials: list[Trial]) -> Trial | None:
        retried = {str(t.retry_of) for t in trials if t.retry_of is not None}
        for trial in trials:
            if (
                trial.status == TrialStatus.DEAD
                and trial.retry_of is None
                and str(trial.id) not in retried
            ):
                return trial
        return None

    @staticmethod
    def _slots_used(trials: list[Trial]) -> int:
        # A retry takes the place of the trial it repeats.
        return sum(1 for t in trials if t.retry_of is None)

    def _experiment_info(self) -> dict:
        if self._ex_info is None:
            self._ex_info = self.experiment.get_experiment_info()
        return self._ex_info

    def _host(self) -> dict:
        if self._host_info is None:
            from sacred.host_info import get_host_info

            self._host_info = get_host_info(self.experiment.additional_host_info)
        return self._host_info
