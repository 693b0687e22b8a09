"""LabAssistant: connects an experiment, its search spaces, an optimizer and a store.

    ex = Experiment()
    a = LabAssistant(ex, optimizer=RandomSearch)          # the embedded SQLite store

    @a.searchspace
    def search_space():
        learning_rate = UniformFloat(1e-4, 1e-1, log_scale=True)

    $ python my_experiment.py with search_space

How ``with search_space`` works: the search space is registered on the experiment
as a *claimed* named config (``sacred.claimed_config``). When a run is created with
it, before its configuration is resolved, the assistant claims a trial: under the
study's lock (sacred.store.locking) it reads what changed in the study since its
last claim, the optimizer suggests, and the new trial is recorded as a QUEUED run
through the store's observer. The suggested values enter the configuration as a
mapping in the named config's place, and the run starts under the claimed record's
id (its observers take the queued record over) with the labwatch entry in its meta.
Configuration evaluation stays pure, and nothing passes through thread-locals.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from labwatch._export import ExportReport, export_study
from labwatch._import import ImportReport, misfit, record_imported
from labwatch._objectives import Objectives, pareto_front
from labwatch._study import StudyTrials
from labwatch.exceptions import BudgetExhausted, LabwatchError, OptimizerError
from labwatch.optimizers.base import Optimizer, takes_whole_trials
from labwatch.optimizers.random_search import RandomSearch
from labwatch.searchspace import SearchSpace
from labwatch.trials import Trial, TrialStatus, trial_of_run
from sacred.claimed_config import ClaimedConfig, ClaimedStart
from sacred.config.utils import set_by_dotted_path

if TYPE_CHECKING:
    from sacred.observers._registry import Backend

__all__ = ["LabAssistant"]

logger = logging.getLogger("labwatch")

DEFAULT_DEAD_AFTER = 120.0


@dataclass
class ClaimedTrial:
    """A trial recorded by :meth:`LabAssistant.claim`: its values (by dotted name),
    its ``meta.labwatch`` entry, and the id of its QUEUED record."""

    values: dict
    meta: dict
    run_id: Any
    # ``{"claim": ..., "attempts": [...]}`` (sacred.observers.claiming.new_claim): the
    # token the trial's writes are fenced on
    claim: dict = field(default_factory=dict)


@dataclass
class _Study:
    """What this process keeps of one study: its trials, and its optimizer."""

    trials: StudyTrials
    optimizer: Optimizer | None = None


def _spec_key(spec: Any) -> Any:
    return spec if isinstance(spec, str) else spec.key()


class _Pruning:
    """The in-memory Optuna study a pruner judges from: the study's finished trials
    with their intermediate values (each read once per process), and the running
    trials of this process."""

    def __init__(self, optuna: Any) -> None:
        self.optuna = optuna
        self.study = optuna.create_study(storage=None, direction="minimize")
        self.added: set[int] = set()  # trial numbers told as finished
        self.live: dict[str, int] = {}  # run id -> Optuna trial id, this process's runs

    def running(self, run_id: Any) -> int:
        key = str(run_id)
        if key not in self.live:
            trial = self.optuna.trial.create_trial(state=self.optuna.trial.TrialState.RUNNING)
            self.study.add_trial(trial)
            self.live[key] = self.study._storage.get_all_trials(
                self.study._study_id, deepcopy=False
            )[-1]._trial_id
        return self.live[key]


#: Seconds a RandomSearch claim trusts the last read of the study's open trials (a
#: worker's progress line has just read them): it reads the new trials under the
#: lock all the same, and every open trial there when it would retry, take an
#: enqueued configuration or stop for the budget. A model-based engine's claim reads
#: them each time, so that its model has every trial finished before its suggestion.
FRESH_VIEW = 2.0


def _lasting(observer: Any) -> Any:
    """The assistant writes every claim and trial of the process through one observer
    of each kind: on a database server, one that keeps its connection between them
    (its backend's ``lasting_observer``), since a worker that reconnected for each
    claim did it while holding the study's lock."""
    from sacred.observers._registry import backend_for_observer

    backend = backend_for_observer(observer)
    return backend.lasting(observer) if backend is not None else observer


def _mongo_location(url: str | None, database_name: str) -> str:
    if url and "://" in url:
        base = url.split("://", 1)[0] + "://" + url.split("://", 1)[1].split("/", 1)[0]
        return f"{base}/{database_name}"
    return f"mongodb://{url or 'localhost:27017'}/{database_name}"


class _SearchSpaceConfig(ClaimedConfig):
    """What the experiment holds as the named config of a search space."""

    def __init__(self, assistant: LabAssistant, space: SearchSpace) -> None:
        self.assistant = assistant
        self.space = space
        self.__name__ = space.name
        self.__doc__ = space.doc or f"labwatch search space ({len(space.parameters)} entries)"
        self.docstring = self.__doc__

    def claim(
        self,
        experiment: Any,
        command_name: str,
        config_updates: Mapping,
        options: Mapping[str, Any],
    ) -> ClaimedStart:
        return self.assistant._start(self.space, command_name, config_updates, options)

    def release(self, claimed: ClaimedStart) -> None:
        if claimed.run_id is not None:
            self.assistant._discard(claimed.run_id, self.space)

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
        pruner: Any = None,
        optimization_target: str | list[str] | None = None,
        directions: list[str] | None = None,
        constraints: list[str] | None = None,
        **store_options: Any,
    ) -> None:
        if direction not in ("minimize", "maximize"):
            raise LabwatchError(f'direction must be "minimize" or "maximize", not {direction!r}')
        self.objectives: Objectives | None = None
        if optimization_target is not None or directions is not None or constraints:
            count = (
                1
                if isinstance(optimization_target, str) or optimization_target is None
                else (len(optimization_target))
            )
            self.objectives = Objectives(
                optimization_target, directions or [direction] * count, constraints
            )
            direction = self.objectives.directions[0]
            if self.objectives.multi and pruner is not None:
                raise LabwatchError(
                    "Pruning needs one objective: drop pruner= or give one optimization target"
                )
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
        self.pruner = pruner
        self._pruning: dict[str, _Pruning] = {}
        self.store_options = store_options
        self.search_spaces: dict[str, SearchSpace] = {}
        self.budget: int | None = None
        self._studies: dict[str, _Study] = {}
        self._store: Any = None
        self._claim_observer: Any = None
        self._attached: Any = None
        self._ex_info: dict | None = None
        self._host_info: dict | None = None
        if database_name or url:
            location = _mongo_location(url, database_name or "labwatch")
        elif store is not None:
            location = os.fspath(store)
        else:
            location = "sqlite:///" + os.path.join(experiment.base_dir, "runs.db")
        self.use_store(location)
        experiment.post_run_hook(self._check_result)

    def _check_result(self, _run: Any) -> None:
        """A trial's result must give one objective: several values are refused in
        one line naming the fix, instead of a trial silently counted as failed."""
        if "labwatch" not in (_run.meta_info or {}):
            return
        if self.objectives is not None and self.objectives.targets is not None:
            return  # the targets are paths into the result: a list there may be fine
        result = _run.result
        target = result.get("optimization_target") if isinstance(result, dict) else result
        if isinstance(target, (list, tuple)) and len(target) > 1:
            raise LabwatchError(
                f"This trial's result has several values ({target!r}), but the study optimizes "
                "one objective: return one number, or a dict whose 'optimization_target' is "
                "one number (its other entries are kept in the result); for several "
                "objectives, LabAssistant(ex, optimization_target=['result.0', 'result.1'], "
                "directions=[...])."
            )

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
        self.__dict__.pop("_claimer_obj", None)  # the claimer of the previous store
        self._attached = None
        observer = self._find_observer()
        if observer is None:
            observer = self._make_observer()
            self.experiment.observers.append(observer)
            self._attached = observer
        self._store_observer = observer

    def _backend(self) -> Backend:
        from sacred.observers._registry import backend_for_url

        return backend_for_url(self.location)

    def _observer_options(self) -> dict:
        client = self.store_options.get("client")
        return {} if client is None else {"client": client}

    def _find_observer(self) -> Any:
        """The experiment's observer that writes to this store, if it has one."""
        from sacred.observers._registry import backend_for_observer

        backend = self._backend()
        for observer in self.experiment.observers:
            if backend_for_observer(observer) is backend and backend.same_store(
                backend.observer_location(observer), self.location
            ):
                return observer
        return None

    def _make_observer(self) -> Any:
        return _lasting(self._backend().observer_for(self.location, **self._observer_options()))

    def _get_store(self) -> Any:
        if self._store is None:
            from sacred.store import open_store

            self._check_reachable()
            self._get_claim_observer()  # creates the database/tables before reading
            backend = self._backend()
            if backend.path_location:
                os.makedirs(backend.target(self.location), exist_ok=True)
            self._store = open_store(
                self.location, dead_after=self.dead_after, **self.store_options
            )
        self._store.dead_after = self.dead_after  # it may have changed since
        return self._store

    def _check_reachable(self) -> None:
        """A MongoDB store (``database_name=``, as in the original) must answer; else
        one line saying so and pointing at ``store=``, not a driver's traceback."""
        backend = self._backend()
        if backend.kind != "mongodb" or "client" in self.store_options:
            return
        hint = (
            "Keep the trials in another store instead: LabAssistant(ex, store="
            "'sqlite:///runs.db') (any sacred.store location; without database_name= and "
            "store= it is runs.db next to the experiment)."
        )
        try:
            import pymongo
        except ImportError:
            raise LabwatchError(
                f"The store {self.location} is a MongoDB database, and pymongo is not "
                f"installed (pip install 'sacred[mongo]'). {hint}"
            ) from None
        try:
            client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
                self.location, serverSelectionTimeoutMS=2000
            )
            try:
                client.admin.command("ping")
            finally:
                client.close()
        except Exception as exc:
            reason = type(exc).__name__
            raise LabwatchError(
                f"No MongoDB answers at {self.location} ({reason}). Start one, or: {hint}"
            ) from None

    def _get_claim_observer(self) -> Any:
        """An observer of its own that writes the claims (QUEUED records): the run's
        observer keeps the state of the run it records, the claim must not touch it.
        (A TinyDB one also reads the file afresh, like an observer in another process.)"""
        if self._claim_observer is None:
            self._claim_observer = _lasting(
                self._backend().queueing_observer_for(self.location, **self._observer_options())
            )
            self._claim_observer.connect()  # _get_store reads it before any event
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
        base = f"{self.experiment.path}/{self._space(space).hash}"
        if self.objectives is None:
            return base
        # what is optimized is part of the study: a multi-objective study of a space
        # does not mix with a single-objective one
        import hashlib
        import json

        text = json.dumps(self.objectives.to_meta(), sort_keys=True)
        return f"{base}/{hashlib.sha256(text.encode()).hexdigest()[:8]}"

    def _space(self, space: SearchSpace | str) -> SearchSpace:
        if isinstance(space, SearchSpace):
            return space
        if space not in self.search_spaces:
            from sacred.exceptions import did_you_mean

            raise LabwatchError(
                f"No search space {space!r}.{did_you_mean(space, self.search_spaces)} "
                f"Search spaces: {', '.join(self.search_spaces) or 'none'}."
            )
        return self.search_spaces[space]

    def _study(self, space: SearchSpace) -> _Study:
        study = self.study_of(space)
        known = self._studies.get(study)
        spec: Any = self.objectives if self.objectives is not None else self.direction
        if known is None or _spec_key(known.trials.direction) != _spec_key(spec):
            known = self._studies[study] = _Study(StudyTrials(study, space, spec))
        return known

    def _refresh(self, space: SearchSpace, only_new: bool = False) -> tuple[_Study, list[Trial]]:
        """The study with what changed in the store since this process last looked,
        told to its optimizer if it has one (``only_new``: StudyTrials.refresh)."""
        state = self._study(space)
        changed = state.trials.refresh(self._get_store(), only_new=only_new)
        if state.optimizer is not None and changed:
            self._tell(state, changed)
        return state, changed

    def _tell(self, state: _Study, changed: list[Trial]) -> None:
        optimizer = state.optimizer
        assert optimizer is not None
        if takes_whole_trials(optimizer):
            optimizer.update(changed)
        else:  # the paper's adapter: every trial, as three lists
            every = state.trials.trials
            optimizer.update([t.config for t in every], [t.cost for t in every], every)
        for trial in changed:
            if trial.final:
                optimizer.after_trial(trial)

    def trials(self, space: SearchSpace | str) -> list[Trial]:
        """Every trial of the space's study in the store, in claim order."""
        state, _ = self._refresh(self._space(space))
        return state.trials.trials

    def best(self, space: SearchSpace | str) -> Trial | None:
        """The completed trial with the lowest cost (None before the first)."""
        if self.objectives is not None and self.objectives.multi:
            raise LabwatchError(
                "This study has several objectives, so no single best trial: use "
                "assistant.pareto_front(space)"
            )
        front = self.front_of(self.trials(space))
        return front[0] if front else None

    def pareto_front(self, space: SearchSpace | str) -> list[Trial]:
        """The completed trials no other completed trial dominates (every objective
        at least as good, one better), in claim order. With one objective: the best."""
        return self.front_of(self.trials(space))

    def front_of(self, trials: Sequence[Trial]) -> list[Trial]:
        """Of these trials, the best (one objective: a list of one, or none) or the
        Pareto front (several objectives), without reading the store."""
        done = [t for t in trials if t.status == TrialStatus.COMPLETED and t.feasible]
        if self.objectives is None or not self.objectives.multi:
            # a completed trial of a study with one objective has its cost
            return [min(done, key=lambda t: cast(float, t.cost))] if done else []
        # a completed trial of a study with several objectives has its costs
        return pareto_front([(t, cast(tuple, t.costs)) for t in done])

    # -- pruning ----------------------------------------------------------------------------

    def report(self, _run: Any, value: float, step: int, name: str = "objective") -> bool:
        """Report an intermediate value of a trial; True when the pruner says to stop.

        ``value`` is logged as the run's metric ``name`` at ``step``, recorded in
        ``info.labwatch`` (metric, step, value), and judged against the values the
        study's finished trials reported at that step (read from the store). Use as
        ``if a.report(_run, loss, epoch): raise labwatch.TrialPruned()``. Without a
        pruner, or in a run that is not a trial, it only logs and answers False.
        """
        _run.log_scalar(name, value, step)
        meta = (getattr(_run, "meta_info", None) or {}).get("labwatch")
        info = _run.info.setdefault("labwatch", {})
        info.update({"metric": name, "step": int(step), "value": float(value)})
        if self.pruner is None or not meta or _run._id is None:
            return False
        space = self.search_spaces.get(meta.get("space")) or SearchSpace.from_dict(
            meta.get("space", "space"), meta["space_def"]
        )
        pruning = self._pruning_of(space, name)
        cost = float(value) if self.direction == "minimize" else -float(value)
        trial_id = pruning.running(_run._id)
        storage = pruning.study._storage
        storage.set_trial_intermediate_value(trial_id, int(step), cost)
        frozen = storage.get_trial(trial_id)
        if not self.pruner.engine().prune(pruning.study, frozen):
            return False
        info["state"] = "PRUNED"
        storage.set_trial_state_values(trial_id, pruning.optuna.trial.TrialState.PRUNED, None)
        logger.info("labwatch: trial %s pruned at step %s (%s)", meta.get("trial"), step, value)
        return True

    def _pruning_of(self, space: SearchSpace, name: str) -> _Pruning:
        """The pruning study, with the trials that finished since the last report."""
        from labwatch.optimizers._optuna import _optuna

        study = self.study_of(space)
        pruning = self._pruning.get(study)
        if pruning is None:
            pruning = self._pruning[study] = _Pruning(_optuna())
        state, _ = self._refresh(space)
        states = pruning.optuna.trial.TrialState
        store = self._get_store()
        for trial in state.trials.trials:
            if trial.number in pruning.added or trial.status not in (
                TrialStatus.COMPLETED,
                TrialStatus.PRUNED,
            ):
                continue
            pruning.added.add(trial.number)
            final = states.PRUNED if trial.status == TrialStatus.PRUNED else states.COMPLETE
            value = None if final == states.PRUNED else trial.cost
            known = pruning.live.pop(str(trial.id), None)
            if known is not None:  # a run of this process: its values are there already
                if not pruning.study._storage.get_trial(known).state.is_finished():
                    pruning.study._storage.set_trial_state_values(
                        known, final, None if value is None else [value]
                    )
                continue
            metric = trial.reported.get("metric", name)
            curve = store.backend.metrics(trial.id, [metric]).get(metric) or {}
            sign = 1.0 if self.direction == "minimize" else -1.0
            steps = [int(s) for s in curve.get("steps", [])]
            values = [sign * float(v) for v in curve.get("values", [])]
            self._replay(pruning, steps, values, final, value)
        return pruning

    def _replay(self, pruning: _Pruning, steps: list, values: list, final: Any, value: Any) -> None:
        """Add a finished trial of another process as if it had reported here: the
        pruner sees each step (successive halving records its rungs on the trial)."""
        storage = pruning.study._storage
        trial_id = pruning.running(f"replay-{len(pruning.added)}")
        engine = self.pruner.engine()
        for step, reported in zip(steps, values):
            storage.set_trial_intermediate_value(trial_id, step, reported)
            engine.prune(pruning.study, storage.get_trial(trial_id))
        storage.set_trial_state_values(trial_id, final, None if value is None else [value])

    # -- enqueued configurations ------------------------------------------------------------

    def enqueue(self, space: SearchSpace | str, values: Mapping | None = None) -> Any:
        """Put a configuration in the study's queue: the next claim (of any process)
        runs it before any suggestion. ``values``: by dotted name or nested (entries
        left out are suggested when it is taken). Returns the queued record's id.
        """
        from sacred._time import utc_now
        from sacred.store.locking import store_lock

        space = self._space(space)
        given = space.flatten(dict(values or {}))
        for name in [n for n in (values or {}) if "." in n and n in space.parameters]:
            given[name] = values[name]  # type: ignore[index]
        unknown = sorted(set(space.flatten(space.nest(given))) ^ set(given))
        bad = [n for n, v in given.items() if not space.parameters[n].contains(v)]
        if unknown or bad:
            raise LabwatchError(
                f"enqueue: {', '.join(unknown + bad)} is not a value of the search space "
                f"{space.name!r} (its entries: {', '.join(space.order)})"
            )
        study = self.study_of(space)
        with store_lock(self.location, f"labwatch/{study}", self.lock_timeout, **self._locks()):
            state, _ = self._refresh(space)
            known = state.trials
            if self.budget is not None and known.slots_used() >= self.budget:
                raise BudgetExhausted(f"The study {study} has its {self.budget} trials.")
            now = utc_now()
            meta = self._meta(space, known.next_number(), 0, now, len(known.by_number))
            meta["enqueued"] = True
            run_id = self._record_claim(space.nest(space.active(given)), meta, now)
        logger.info("labwatch: enqueued %s in %s as run %s", given, study, run_id)
        return run_id

    # -- importing runs -----------------------------------------------------------------------

    def import_runs(self, space: SearchSpace | str | None = None) -> ImportReport:
        """Make trials of the experiment's completed runs that were not started through
        a search space and whose config fits ``space`` (each active hyperparameter
        present and in its domain). The runs are left as they are: each trial is a new
        record holding its run's config, result and info, ``meta.labwatch.imported``
        naming the run. Runs imported before are not imported again. Imported trials
        are observations for the optimizer; they do not count in the budget."""
        from sacred._time import utc_now
        from sacred.store.locking import store_lock

        space = self._only_space(space)
        study = self.study_of(space)
        store = self._get_store()
        name = self.experiment.path.replace("\\", "\\\\").replace('"', '\\"')
        report = ImportReport()
        with store_lock(self.location, f"labwatch/{study}", self.lock_timeout, **self._locks()):
            state, _ = self._refresh(space)
            known = state.trials
            done = {str(t.imported) for t in known.by_number.values() if t.imported is not None}
            spec: Any = self.objectives if self.objectives is not None else self.direction
            observer = None
            now = utc_now()
            query = f'experiment.name == "{name}" and status == "COMPLETED"'
            for run in store.find(query, sort="id"):
                if "labwatch" in run.meta:
                    continue  # a trial (of this study or another), or a trial's import
                if str(run.id) in done:
                    report.already += 1
                    continue
                reason = misfit(space, run.config)
                if reason is None:
                    as_trial = trial_of_run(run, space, spec, store.dead_after, now)
                    if as_trial.status != TrialStatus.COMPLETED:
                        reason = "its result gives no objective"
                if reason is not None:
                    report.skip(run.id, reason)
                    continue
                if observer is None:
                    observer = self._make_observer()
                seed = run.config.get("seed")
                seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else 0
                number = known.next_number() + len(report.imported)
                meta = self._meta(space, number, seed, now, len(known.by_number))
                meta["imported"] = run.id
                report.imported.append(
                    record_imported(observer, self._experiment_info(), run, meta, now)
                )
            # read them back (above the high-water mark) and tell the optimizer
            self._refresh(space)
        logger.info("labwatch: %s into %s", report.line(), study)
        return report

    def export_optuna(
        self, space: SearchSpace | str | None, storage: str, study_name: str | None = None
    ) -> ExportReport:
        """Write the space's study as a new Optuna study in ``storage`` (an Optuna
        storage URL such as ``sqlite:///optuna.db``), through Optuna's API; the name
        defaults to the study's (``<experiment>/<space hash>``). A study of that name
        there already is an error (nothing is written)."""
        chosen = self._only_space(space)
        found = self.trials(chosen)
        objectives = self.objectives
        directions = objectives.directions if objectives is not None else [self.direction]
        sign = 1.0 if directions[0] == "minimize" else -1.0

        def reported(trial: Trial) -> list[float]:
            if objectives is not None and objectives.multi:
                return objectives.values(trial.costs or ())
            return [sign * float(trial.cost)]  # type: ignore[arg-type]

        constraints = (
            objectives.constraints.texts if objectives and objectives.constraints else None
        )
        return export_study(
            self._get_store(),
            chosen,
            found,
            directions,
            reported,
            storage,
            study_name or self.study_of(chosen),
            constraints,
        )

    # -- the original Labwatch's methods ------------------------------------------------------

    def _only_space(self, space: SearchSpace | str | None) -> SearchSpace:
        if space is not None:
            return self._space(space)
        if len(self.search_spaces) == 1:
            return next(iter(self.search_spaces.values()))
        if not self.search_spaces:
            raise LabwatchError("Declare a search space first: @assistant.searchspace")
        raise LabwatchError(
            f"This assistant has several search spaces ({', '.join(self.search_spaces)}): "
            "name one, e.g. assistant.run_suggestion(space='...')"
        )

    def get_suggestion(self, space: SearchSpace | str | None = None) -> dict:
        """A configuration the optimizer suggests now (nested; nothing is recorded)."""
        from sacred.randomness import get_seed

        space = self._only_space(space)
        return space.nest(self._suggest_unrecorded(space, get_seed()))

    def get_current_best(
        self, space: SearchSpace | str | None = None, return_run: bool = False
    ) -> Any:
        """The configuration of the best completed trial (None before the first);
        with ``return_run=True`` also its stored run: ``(config, run)``."""
        space = self._only_space(space)
        best = self.best(space)
        config = None if best is None else space.nest(best.config)
        if return_run:
            return config, (None if best is None else best.run)
        return config

    def _run_with(
        self,
        space: SearchSpace | str | None,
        command: str | None,
        updates: dict | None,
        options: dict | None,
    ) -> Any:
        space = self._only_space(space)
        return self.experiment.run(
            command, config_updates=updates, named_configs=[space.name], options=options
        )

    def run_suggestion(
        self, space: SearchSpace | str | None = None, command: str | None = None, **options: Any
    ) -> Any:
        """Run the experiment with the optimizer's next suggestion (a new trial)."""
        return self._run_with(space, command, None, options or None)

    def run_random(
        self, space: SearchSpace | str | None = None, command: str | None = None, **options: Any
    ) -> Any:
        """Run a configuration drawn from the priors (recorded as a trial of the study)."""
        import random

        chosen = self._only_space(space)
        values = chosen.sample(random.Random())
        return self._run_with(chosen, command, chosen.nest(values), options or None)

    def run_default(
        self, space: SearchSpace | str | None = None, command: str | None = None, **options: Any
    ) -> Any:
        """Run the hyperparameters' defaults (recorded as a trial of the study)."""
        chosen = self._only_space(space)
        return self._run_with(chosen, command, chosen.nest(chosen.default()), options or None)

    def run_config(
        self,
        config: Mapping,
        space: SearchSpace | str | None = None,
        command: str | None = None,
        **options: Any,
    ) -> Any:
        """Run the given configuration (recorded as a trial of the study; entries of
        the space it leaves out are suggested)."""
        return self._run_with(space, command, dict(config), options or None)

    def enqueue_suggestion(self, space: SearchSpace | str | None = None) -> Any:
        """Enqueue the optimizer's suggestion of now; returns the queued record's id."""
        chosen = self._only_space(space)
        return self.enqueue(chosen, self.get_suggestion(chosen))

    def run_from_queue(
        self, space: SearchSpace | str | None = None, command: str | None = None, **options: Any
    ) -> Any:
        """Run the oldest enqueued configuration (LabwatchError when none waits)."""
        chosen = self._only_space(space)
        state, _ = self._refresh(chosen)
        if state.trials.next_enqueued() is None:
            raise LabwatchError(
                f"No configuration is enqueued in the study of {chosen.name!r}: "
                "enqueue one with assistant.enqueue(space, {...}) or enqueue_suggestion()."
            )
        return self._run_with(chosen, command, None, options or None)

    def set_database(
        self,
        database_name: str | None = None,
        url: str | None = None,
        store: str | os.PathLike | None = None,
    ) -> None:
        """Record and read trials elsewhere: a MongoDB database (as in the original)
        or any store location (``store=``)."""
        if store is not None and (database_name or url):
            raise LabwatchError("Pass either store= or database_name=/url= (MongoDB), not both.")
        if store is None:
            store = _mongo_location(url, database_name or "labwatch")
        self._studies.clear()
        self.use_store(store)

    def update_optimizer(self, space: SearchSpace | str | None = None) -> list[Trial]:
        """Read what changed in the study and tell the optimizer; returns every trial."""
        chosen = self._only_space(space)
        state, _ = self._refresh(chosen)
        if state.optimizer is None:
            from sacred.randomness import get_seed

            state.optimizer = self._new_optimizer(chosen, get_seed())
            if state.trials.by_number:
                self._tell(state, state.trials.trials)
        return state.trials.trials

    # -- claiming a trial when a run is created -------------------------------------------

    def _start(
        self,
        space: SearchSpace,
        command_name: str,
        config_updates: Mapping,
        options: Mapping[str, Any],
    ) -> ClaimedStart:
        """The claim of a run of ``command_name`` with ``with <space>``."""
        if options.get("--queue"):
            raise LabwatchError(
                f'A search space chooses its configuration when the run starts, so "with '
                f'{space.name}" cannot be queued (--queue). Start runs with "with {space.name}" '
                "directly, or run `labwatch worker` processes."
            )
        if options.get("--id") not in (None, False):
            raise LabwatchError(
                f"A run of the search space {space.name!r} gets the id of its trial's record: "
                "do not pass --id to it."
            )
        from sacred.randomness import get_seed

        updates = dict(config_updates)
        for name, value in list(updates.items()):  # dotted keys: ex.run(config_updates=...)
            if "." in name:
                del updates[name]
                set_by_dotted_path(updates, name, value)
        fixed = space.flatten(updates)
        seed = updates.get("seed")
        seed = int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else get_seed()
        command = dict(self.experiment.gather_commands()).get(command_name)
        if options.get("--unobserved") or getattr(command, "unobserved", False):
            values = self._suggest_unrecorded(space, seed)
            return ClaimedStart(self._values(space, values, seed))
        self._attach_store_observer()
        claimed = self.claim(space, seed, fixed)
        config = self._values(space, claimed.values, claimed.meta["sampler_seed"])
        # The run holds the trial's claim token (the way a worker's child does), so its
        # observer fences every write on it (sacred.observers.claiming).
        from sacred._worker_env import hold_claim_token

        hold_claim_token(claimed.claim["claim"]["token"])
        return ClaimedStart(config, claimed.run_id, {"labwatch": claimed.meta, **claimed.claim})

    def _attach_store_observer(self) -> None:
        # ``ex.observers = [...]`` after the assistant was made drops its observer; a
        # trial must still start in the store it was claimed in.
        if self._find_observer() is None:
            self.experiment.observers.append(self._store_observer)
        # MongoObserver keeps the id of a queued run it took over in ``overwrite`` and
        # would write the next run over it: forget the takeover of our previous trial.
        observer = self._store_observer
        last = getattr(self, "_last_claimed", None)
        if last is not None and getattr(observer, "overwrite", None) == last:
            observer.overwrite = None

    def _discard(self, run_id: Any, space: SearchSpace | None = None) -> None:
        """Remove the record of a claim whose run was never created."""
        try:
            self._get_store().delete(run_id, purge=True)
        except Exception as exc:  # it will read as dead after dead_after and be retried
            logger.warning("labwatch: could not remove the unused claim %s: %s", run_id, exc)
            return
        if space is not None:
            known = self._study(space).trials
            for trial in known.open_trials():
                if str(trial.id) == str(run_id):
                    known.forget(trial.number)

    @staticmethod
    def _values(space: SearchSpace, values: dict, seed: int) -> dict:
        """The nested mapping that enters the configuration (the run's updates stay on top)."""
        return {"seed": seed, **space.nest(values)}

    # -- suggesting ---------------------------------------------------------------------

    def _new_optimizer(self, space: SearchSpace, seed: int | None) -> Optimizer:
        optimizer = self.optimizer(space, seed=seed)
        if self.objectives is not None and self.objectives.multi:
            if not getattr(optimizer, "multi_objective", False):
                raise OptimizerError(
                    f"{type(optimizer).__name__} optimizes one objective; this study has "
                    f"{len(self.objectives.directions)}: use NSGAII, TPE or RandomSearch"
                )
            optimizer.n_objectives = len(self.objectives.directions)
        if self.objectives is not None and self.objectives.constraints is not None:
            optimizer.n_constraints = len(self.objectives.constraints.texts)
        if not isinstance(optimizer, Optimizer) and not hasattr(optimizer, "suggest_configuration"):
            raise OptimizerError(
                f"optimizer {self.optimizer!r} made {optimizer!r}, which is not an Optimizer "
                "(it needs suggest_configuration())"
            )
        return optimizer

    def _checked(self, space: SearchSpace, optimizer: Any, values: Any) -> dict:
        if not isinstance(values, dict):
            raise OptimizerError(
                f"{type(optimizer).__name__}.suggest_configuration() returned {values!r}, "
                "not a dict of hyperparameter values"
            )
        missing = [n for n in space.order if space.is_active(n, values) and n not in values]
        if missing:
            raise OptimizerError(
                f"{type(optimizer).__name__} suggested no value for {', '.join(missing)} "
                f"(search space {space.name!r})"
            )
        return space.active(values)

    def _suggest_unrecorded(self, space: SearchSpace, seed: int) -> dict:
        """A suggestion for a run that records nothing (a throwaway optimizer, so the
        study's own optimizer does not wait for a trial that never comes)."""
        state, _ = self._refresh(space)
        optimizer = self._new_optimizer(space, seed)
        every = state.trials.trials
        if takes_whole_trials(optimizer):
            optimizer.update(every)
        else:
            optimizer.update([t.config for t in every], [t.cost for t in every], every)
        if hasattr(optimizer, "before_trial"):
            optimizer.before_trial(state.trials.next_number(), seed)
        return self._checked(space, optimizer, optimizer.suggest_configuration())

    def _suggest(self, space: SearchSpace, state: _Study, number: int, seed: int) -> dict:
        if state.optimizer is None:
            state.optimizer = self._new_optimizer(space, seed)
            every = state.trials.trials
            if every:
                self._tell(state, every)
        optimizer = state.optimizer
        if hasattr(optimizer, "before_trial"):
            optimizer.before_trial(number, seed)
        return self._checked(space, optimizer, optimizer.suggest_configuration())

    def claim(
        self,
        space: SearchSpace | str,
        seed: int,
        fixed: dict | None = None,
        take_enqueued: bool = True,
    ) -> ClaimedTrial:
        """Suggest a configuration and record it as a new trial (a QUEUED run), atomically.

        ``fixed``: values by dotted name that the run sets itself (they replace the
        suggestion's). An enqueued configuration (:meth:`enqueue`) is taken first,
        then a dead trial is retried, then the optimizer suggests. Raises
        BudgetExhausted when the study has its ``budget``.
        """
        from sacred._time import utc_now
        from sacred.store.locking import store_lock

        space = self._space(space)
        fixed = fixed or {}
        study = self.study_of(space)
        self._get_store()
        # Most of what changed is read before the lock (the 8 workers of a study wait
        # for each other's critical sections, not for their reads): inside it, only
        # the trials claimed meanwhile.
        blind = self.optimizer is RandomSearch
        state = self._study(space)
        fresh = blind and state.trials.read_within(FRESH_VIEW, self.dead_after)
        if not fresh or self._budget_used(state.trials):
            # (a worker told the budget is used waits for the pending trials: it is
            # told so from a read of now, or it would wait FRESH_VIEW too long)
            state, _ = self._refresh(space)
        if not self._needs_full_view(state.trials, take_enqueued, budget=False):
            # the budget used and nothing to take or retry: no lock needed to say so
            # (places only come free by a claim given back, which reads as pending)
            self._check_budget(study, state.trials)
        early = None
        if blind:
            # Its suggestion depends on the seed alone, not on the trials: asked before
            # the lock, which then needs the numbers of the trials claimed meanwhile
            # and nothing else of them (one query on an SQL store).
            early = self._suggest(space, state, state.trials.next_number(), seed)
        with store_lock(self.location, f"labwatch/{study}", self.lock_timeout, **self._locks()):
            if early is None or not state.trials.note_new(self._get_store()):
                state, _ = self._refresh(space, only_new=True)
            known = state.trials
            if self._needs_full_view(known, take_enqueued):
                # an enqueued or dead trial to take, or the budget used: decided on
                # every open trial as it is now
                state, _ = self._refresh(space)
                known = state.trials
            queued = known.next_enqueued() if take_enqueued else None
            retry = None if queued is not None else known.dead_to_retry()
            if retry is not None and not self._fence_off(retry):
                retry = None  # it beat again meanwhile: alive after all
            if queued is None and retry is None:
                self._check_budget(study, known)
            number = known.next_number()
            if queued is not None:
                # An enqueued configuration is taken by deleting its record under the
                # lock and claiming a trial of its values (fixed, so a partial one is
                # completed by the optimizer).
                fixed = {**queued.config, **fixed}
                self._get_store().delete(queued.id, purge=True)
                known.forget(queued.number)
            if retry is not None:
                values = dict(retry.config)
                seed = int(retry.labwatch.get("sampler_seed", seed))
                logger.info("labwatch: retrying trial %s (run %s died)", retry.number, retry.id)
            elif all(n in fixed for n in space.order if space.is_active(n, fixed)):
                values = {}  # the run sets every entry itself: nothing to ask the optimizer
            elif early is not None:
                values = early
            else:
                values = self._suggest(space, state, number, seed)
            for name in space.order:
                if name in fixed:
                    values[name] = fixed[name]
            values = space.active(values)
            now = utc_now()
            meta = self._meta(space, number, seed, now, known.seen())
            if retry is not None:
                meta["retry_of"] = retry.id
            if queued is not None:
                meta["from_queue"] = queued.id
            from sacred.observers.claiming import new_claim, worker_name

            claim = new_claim({}, worker_name())
            _id = self._record_claim(self._values(space, values, seed), meta, now, claim)
        self._last_claimed = _id
        logger.info("labwatch: trial %s of %s is run %s: %s", number, study, _id, values)
        return ClaimedTrial(values, meta, _id, claim)

    def _budget_used(self, known: StudyTrials) -> bool:
        return self.budget is not None and known.slots_used() >= self.budget

    def _check_budget(self, study: str, known: StudyTrials) -> None:
        """BudgetExhausted when the study's trials fill its budget."""
        if self._budget_used(known):
            pending = known.count(TrialStatus.PENDING)
            raise BudgetExhausted(
                f"The study {study} has its {self.budget} trials ({pending} still running).",
                pending=pending,
            )

    def _needs_full_view(
        self, known: StudyTrials, take_enqueued: bool, budget: bool = True
    ) -> bool:
        """Whether a claim must read the open trials again under the lock: when it
        would take an enqueued configuration or retry a dead trial (they may have
        been taken or come alive since the read before the lock), or (``budget``)
        finds the budget used (a claim given back meanwhile frees a place). A read of
        the new trials only is enough to number the trial and to know the budget is
        not used."""
        return (
            (take_enqueued and known.next_enqueued() is not None)
            or known.dead_to_retry() is not None
            or (budget and self._budget_used(known))
        )

    def _fence_off(self, dead: Trial) -> bool:
        """Before a dead trial is retried, take its claim away through the store's
        claimer (``requeue_stale``, the re-queue of ``sacred worker``), so a process that
        was only frozen can write nothing more into it (it says so and stops). With no
        retries left the lost run ends FAILED, its last attempt saying why (it reads
        DEAD). A trial still QUEUED under its claim (its process never took the record
        over) loses that claim the same way, so a process that starts late is fenced
        too. False: the run beat again meanwhile (or started) and is not dead."""
        claimer = self._claimer()
        if claimer is None:
            return True  # a backend without claims: no fence (the retry is all there is)
        changed = claimer.requeue_stale(self.dead_after, max_retries=0, only=dead.id)
        if any(str(run_id) == str(dead.id) for run_id, _ in changed):
            return True
        try:
            record = self._get_store().get(dead.id)
        except Exception:  # gone: nothing to fence
            return True
        if record.status == "QUEUED":  # still claimed: not stale to the store yet
            return "claim" not in (record.meta or {})
        return record.status not in ("RUNNING", "PROBABLY_DEAD")

    def _claimer(self) -> Any:
        if not hasattr(self, "_claimer_obj"):
            from sacred.worker.claims import claimer_for_observer

            try:
                self._claimer_obj = claimer_for_observer(self._get_claim_observer())
            except NotImplementedError:
                self._claimer_obj = None
        return self._claimer_obj

    def _meta(self, space: SearchSpace, number: int, seed: int, now: Any, seen: int) -> dict:
        """A trial's ``meta.labwatch`` (its size does not grow with the study)."""
        return {
            "study": self.study_of(space),
            "space": space.name,
            "space_hash": space.hash,
            "optimizer": getattr(self.optimizer, "__name__", type(self.optimizer).__name__),
            "sampler_seed": seed,
            "direction": self.direction,
            **({"objectives": self.objectives.to_meta()} if self.objectives else {}),
            "space_def": space.to_dict(),
            "trial": number,
            "claimed_at": now.isoformat(),
            # how much of the study the suggestion was made from: a count, not a list
            "seen_trials": seen,
        }

    def _record_claim(self, config: dict, meta: dict, now: Any, claim: dict | None = None) -> Any:
        """Write the QUEUED record of a claim (``claim``: its ``meta.claim`` and
        ``meta.attempts``); returns its id."""
        command = self.experiment.default_command or "main"
        return self._get_claim_observer().queued_event(
            ex_info=self._experiment_info(),
            command=command,
            host_info=self._host(),
            queue_time=now,
            config=copy.deepcopy(config),
            meta_info={"command": command, "queue_time": now, "labwatch": meta, **(claim or {})},
            _id=None,
        )

    def _locks(self) -> dict:
        client = self.store_options.get("client")
        return {} if client is None else {"client": client}

    def _experiment_info(self) -> dict:
        if self._ex_info is None:
            self._ex_info = self.experiment.get_experiment_info()
        return self._ex_info

    def _host(self) -> dict:
        if self._host_info is None:
            from sacred.host_info import get_host_info

            self._host_info = get_host_info(self.experiment.additional_host_info)
        return self._host_info
