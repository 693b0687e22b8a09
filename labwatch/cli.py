"""The ``labwatch`` command (also ``python -m labwatch``)::

    labwatch worker SCRIPT SPACE [--store STORE] --n-trials N [--dead-after S]
    labwatch trials STORE SPACE [--experiment NAME] [--best-config out.json] [--json]
    labwatch enqueue SCRIPT SPACE NAME=VALUE ... [--store STORE]
    labwatch import SCRIPT SPACE [--store STORE]
    labwatch export SCRIPT SPACE sqlite:///optuna.db [--study-name NAME] [--store STORE]
    labwatch importance STORE SPACE [--experiment NAME] [--evaluator fanova|mdi]

``worker`` loads the experiment script (without running its automain), then
claims, runs and records trials of the search space SPACE until the study holds N
trials; the budget is counted in the store, so any number of workers on any number
of machines share it. A trial whose worker died is retried once.

Errors print one line ``labwatch: error: ...`` and exit with status 2 (usage) or 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, NoReturn

from labwatch.exceptions import BudgetExhausted, LabwatchError, TrialPruned
from sacred._extras import missing_extra, one_line_for_missing_extras

__all__ = ["main"]


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"labwatch: error: {message}", file=sys.stderr)
    sys.exit(code)


def _load_assistant(script: str, space: str) -> Any:
    import os
    import runpy

    from labwatch.assistant import LabAssistant

    if not os.path.isfile(script):
        _fail(f"no such experiment script: {script!r}")
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    # Any name but "__main__": the script's automain then defines, and does not run.
    namespace = runpy.run_path(script, run_name="__labwatch_worker__")
    assistants = [v for v in namespace.values() if isinstance(v, LabAssistant)]
    matching = [a for a in assistants if space in a.search_spaces]
    if not matching:
        known = sorted({name for a in assistants for name in a.search_spaces})
        if not assistants:
            _fail(f"{script} creates no LabAssistant; see docs/labwatch.md")
        from sacred.exceptions import did_you_mean

        _fail(
            f"{script} has no search space {space!r}.{did_you_mean(space, known)} "
            f"Its search spaces: {', '.join(known) or 'none'}."
        )
    return matching[0]


def _objective_text(run: Any) -> str:
    from labwatch.trials import objective_of

    value = objective_of(getattr(run, "result", None))
    return "no objective" if value is None else f"{value:.6g}"


def _fenced_off(run: Any) -> bool:
    """The run's claim was taken away (sacred.observers.claiming.Fence)."""
    observers = getattr(run, "observers", None) or []
    return any(getattr(getattr(o, "_fence", None), "is_lost", False) for o in observers)


def worker(args: argparse.Namespace) -> int:
    assistant = _load_assistant(args.script, args.space)
    if args.store:
        assistant.use_store(args.store)
    assistant.budget = args.n_trials
    assistant.dead_after = args.dead_after
    from labwatch._progress import progress_for

    progress = progress_for(assistant, args.space, args.n_trials)
    try:
        done = _work(args, assistant, progress)
    finally:
        progress.close()
    print(f"labwatch: worker finished after {done} trial(s)", flush=True)
    return 0


def _work(args: argparse.Namespace, assistant: Any, progress: Any) -> int:
    """Claim, run and record trials until the budget is used; returns how many ran."""
    options: dict = {"--loglevel": args.loglevel}
    if args.beat_interval:
        options["--beat_interval"] = args.beat_interval
    ex = assistant.experiment
    done = 0
    failures_in_a_row = 0
    while args.max_runs is None or done < args.max_runs:
        try:
            run = ex.run(named_configs=[args.space], options=options)
        except BudgetExhausted as exc:
            if exc.pending == 0:
                break
            # Trials still running may die and need their retry: wait for them.
            time.sleep(args.poll)
            continue
        except TrialPruned:  # stopped early by the pruner: recorded COMPLETED, PRUNED
            done += 1
            failures_in_a_row = 0
            progress.report(f"run {ex.current_run._id}: pruned")
            continue
        except Exception as exc:  # the trial failed (and is recorded as FAILED)
            if missing_extra(exc) is not None:
                raise  # no trial can run here: said in one line by main
            if _fenced_off(ex.current_run):
                # presumed dead while frozen and retried elsewhere: the observer said so
                # in one line and wrote nothing; it is not this worker's failure
                progress.report(f"run {ex.current_run._id}: fenced off")
                continue
            done += 1
            failures_in_a_row += 1
            progress.warn(f"labwatch: trial failed: {type(exc).__name__}: {exc}")
            progress.report(f"run {ex.current_run._id}: failed")
            if failures_in_a_row >= args.max_failures:
                _fail(f"{failures_in_a_row} trials in a row failed; stopping this worker", 1)
            continue
        done += 1
        failures_in_a_row = 0
        progress.report(f"run {run._id}: {_objective_text(run)}")
    return done


def _study_trials(store_location: str, space: str, experiment: str | None) -> list[tuple]:
    """[(study, SearchSpace, [Trial])] of the studies of ``space`` in the store."""
    from labwatch.searchspace import SearchSpace
    from labwatch.trials import read_trials
    from sacred.store import open_store

    store = open_store(store_location)
    query = f'meta.labwatch.space == "{space}"'
    if experiment:
        query += f' and experiment.name == "{experiment}"'
    studies: dict[str, dict] = {}
    for run in store.find(query, sort="id"):
        meta = run.meta["labwatch"]
        studies.setdefault(meta["study"], meta)
    out = []
    for study, meta in studies.items():
        definition = SearchSpace.from_dict(space, meta["space_def"])
        direction: Any = meta.get("direction", "minimize")
        if isinstance(meta.get("objectives"), dict):
            from labwatch._objectives import Objectives

            direction = Objectives(
                meta["objectives"].get("targets"),
                meta["objectives"]["directions"],
                meta["objectives"].get("constraints"),
            )
        out.append((study, definition, direction, read_trials(store, study, definition, direction)))
    if not out:
        from sacred.exceptions import did_you_mean

        names = {run.meta["labwatch"].get("space") for run in store.find("meta.labwatch exists")}
        known = sorted(n for n in names if isinstance(n, str))
        _fail(
            f"no trials of a search space {space!r} in {store_location}."
            f"{did_you_mean(space, known)} Search spaces with trials there: "
            f"{', '.join(known) or 'none'}.",
            1,
        )
    return out


# How each trial state reads in `labwatch trials` (a claimed trial not started yet
# and a running one are both PENDING to the optimizers).
_STATE_WORDS = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "PRUNED": "pruned",
    "DEAD": "dead",
}


def _state_word(trial: Any) -> str:
    if trial.status == "COMPLETED" and not trial.feasible:
        return "infeasible"  # completed, but breaks one of the study's constraints
    if trial.status == "COMPLETED" and trial.imported is not None:
        return "imported"  # a completed run of the experiment, made a trial by import
    if trial.status == "PENDING":
        if trial.enqueued:
            return "enqueued"
        return "running" if getattr(trial.run, "status", None) == "RUNNING" else "queued"
    return _STATE_WORDS.get(trial.status, trial.status.lower())


def trials(args: argparse.Namespace) -> int:
    from labwatch.trials import TrialStatus

    rows = []
    best_overall = None
    best_space = None
    for study, definition, direction, found in _study_trials(
        args.store, args.space, args.experiment
    ):
        multi = not isinstance(direction, str) and direction.multi
        if not isinstance(direction, str):
            direction = direction if multi else direction.directions[0]
        sign = 1 if direction == "minimize" else -1
        done = [t for t in found if t.status == TrialStatus.COMPLETED and t.feasible]
        if multi:
            from labwatch._objectives import pareto_front

            front = pareto_front([(t, t.costs) for t in done])
            found = front if args.pareto else found
            for t in sorted(found, key=lambda t: (t.costs is None, t.costs or (), t.number)):
                values = None if t.costs is None else direction.values(t.costs)
                rows.append((study, t.number, t.id, _state_word(t), values, t.config, t in front))
            continue
        best = min(done, key=lambda t: t.cost) if done else None
        if args.pareto:
            found = [best] if best is not None else []
        if best is not None and (best_overall is None or best.number >= 0):
            best_overall, best_space = best, definition
        # best first: by cost (the minimized objective), then trials without one
        for t in sorted(found, key=lambda t: (t.cost is None, t.cost or 0.0, t.number)):
            objective = None if t.cost is None else sign * t.cost
            rows.append((study, t.number, t.id, _state_word(t), objective, t.config, t is best))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "study": s,
                        "trial": n,
                        "id": i,
                        "status": st,
                        "objective": o,
                        "config": c,
                        "best": b,
                    }
                    for s, n, i, st, o, c, b in rows
                ],
                default=str,
            )
        )
    else:
        print(f"{'study':<28} {'trial':>5} {'run':>6} {'status':<10} {'objective':>12}  config")
        for s, n, i, st, o, c, b in rows:
            if isinstance(o, list):
                text = ",".join(f"{v:.4g}" for v in o)
                mark = "  * pareto" if b else ""
            else:
                text = "" if o is None else f"{o:.6g}"
                mark = "  * best" if b else ""
            print(f"{s:<28} {n:>5} {i!s:>6} {st:<10} {text:>12}  {json.dumps(c)}{mark}")
    if args.best_config:
        if best_overall is None:
            _fail("no completed trial: no best configuration to write", 1)
        assert best_space is not None  # set together with best_overall
        nested = best_space.nest(best_overall.config)
        from sacred.config import save_config_file

        save_config_file(nested, args.best_config)
        print(f"best: run {best_overall.id} -> {args.best_config}", file=sys.stderr)
    return 0


def _value(text: str) -> Any:
    """A command-line value: JSON when it parses (numbers, true, lists), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def enqueue(args: argparse.Namespace) -> int:
    assistant = _load_assistant(args.script, args.space)
    if args.store:
        assistant.use_store(args.store)
    values = {}
    for item in args.values:
        name, sep, text = item.partition("=")
        if not sep or not name:
            _fail(f"enqueue takes NAME=VALUE pairs (e.g. lr=0.01), not {item!r}")
        values[name] = _value(text)
    run_id = assistant.enqueue(args.space, values)
    print(f"labwatch: enqueued run {run_id}: {json.dumps(values)}", flush=True)
    return 0


def import_runs(args: argparse.Namespace) -> int:
    assistant = _load_assistant(args.script, args.space)
    if args.store:
        assistant.use_store(args.store)
    report = assistant.import_runs(args.space)
    print(f"labwatch: {report.line()}", flush=True)
    return 0


def export(args: argparse.Namespace) -> int:
    assistant = _load_assistant(args.script, args.space)
    if args.store:
        assistant.use_store(args.store)
    if not assistant.trials(args.space):
        _fail(f"the study of {args.space!r} has no trials in {assistant.location}", 1)
    report = assistant.export_optuna(args.space, args.storage, args.study_name)
    print(f"labwatch: {report.line(args.storage)}", flush=True)
    return 0


def importance(args: argparse.Namespace) -> int:
    try:
        import optuna
    except ImportError:
        _fail("importance needs Optuna and scikit-learn: pip install 'sacred[optim]'", 1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from labwatch.optimizers._optuna import _distribution, _encode
    from labwatch.trials import TrialStatus

    studies = _study_trials(args.store, args.space, args.experiment)
    study_name, space, _, found = studies[-1]
    study = optuna.create_study(storage=None, direction="minimize")
    for t in found:
        if t.status != TrialStatus.COMPLETED:
            continue
        names = [
            n for n in t.config if n in space.parameters and space.parameters[n].kind != "constant"
        ]
        study.add_trial(
            optuna.trial.create_trial(
                params={n: _encode(space.parameters[n], t.config[n]) for n in names},
                distributions={n: _distribution(optuna, space.parameters[n]) for n in names},
                value=t.cost,
            )
        )
    if len(study.trials) < 2:
        _fail(
            f"importance needs at least 2 completed trials; {study_name} has {len(study.trials)}", 1
        )
    evaluator: optuna.importance.BaseImportanceEvaluator
    if args.evaluator == "fanova":
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    else:
        evaluator = optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0)
    result = optuna.importance.get_param_importances(study, evaluator=evaluator)
    print(
        f"Hyperparameter importance ({args.evaluator}) in {study_name}, {len(study.trials)} trials:"
    )
    for name, value in result.items():
        print(f"  {name:<30} {value:.3f}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labwatch",
        description="Hyperparameter optimization of sacred experiments through the run store "
        "(docs/labwatch.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="claim, run and record trials until the budget is used")
    w.add_argument("script", help="the experiment script (with a LabAssistant)")
    w.add_argument("space", help="the name of the search space")
    w.add_argument("--store", help="store location (default: the assistant's)")
    w.add_argument("--n-trials", type=int, required=True, help="the study's total budget")
    w.add_argument("--dead-after", type=float, default=120.0, help="seconds (default 120)")
    w.add_argument("--beat-interval", type=float, default=None, help="heartbeat seconds")
    w.add_argument("--poll", type=float, default=1.0, help="seconds between budget checks")
    w.add_argument("--max-runs", type=int, default=None, help="stop after this many runs")
    w.add_argument("--max-failures", type=int, default=5, help="stop after N failures in a row")
    w.add_argument("--loglevel", default="WARNING")
    w.set_defaults(func=worker)
    t = sub.add_parser("trials", help="list the trials of a search space with their objective")
    t.add_argument("store")
    t.add_argument("space")
    t.add_argument("--experiment", help="only this experiment's studies")
    t.add_argument("--best-config", help="write the best configuration to this file")
    t.add_argument("--json", action="store_true")
    t.add_argument(
        "--pareto", action="store_true", help="only the Pareto front (the best, with one objective)"
    )
    t.set_defaults(func=trials)
    e = sub.add_parser("enqueue", help="put a configuration first in the study's queue")
    e.add_argument("script", help="the experiment script (with a LabAssistant)")
    e.add_argument("space", help="the name of the search space")
    e.add_argument("values", nargs="*", metavar="NAME=VALUE", help="e.g. lr=0.01 (JSON values)")
    e.add_argument("--store", help="store location (default: the assistant's)")
    e.set_defaults(func=enqueue)
    m = sub.add_parser(
        "import", help="make trials of the experiment's completed runs that fit the space"
    )
    m.add_argument("script", help="the experiment script (with a LabAssistant)")
    m.add_argument("space", help="the name of the search space")
    m.add_argument("--store", help="store location (default: the assistant's)")
    m.set_defaults(func=import_runs)
    x = sub.add_parser("export", help="write the study as an Optuna study (Optuna's plots)")
    x.add_argument("script", help="the experiment script (with a LabAssistant)")
    x.add_argument("space", help="the name of the search space")
    x.add_argument("storage", help="an Optuna storage URL, e.g. sqlite:///optuna.db")
    x.add_argument("--study-name", help="the Optuna study's name (default: the study's)")
    x.add_argument("--store", help="store location (default: the assistant's)")
    x.set_defaults(func=export)
    i = sub.add_parser("importance", help="hyperparameter importance (Optuna's evaluators)")
    i.add_argument("store")
    i.add_argument("space")
    i.add_argument("--experiment")
    i.add_argument("--evaluator", choices=("fanova", "mdi"), default="fanova")
    i.set_defaults(func=importance)
    return parser


@one_line_for_missing_extras("labwatch")
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "n_trials", 1) is not None and getattr(args, "n_trials", 1) < 1:
        _fail("--n-trials must be at least 1")
    from sacred.exceptions import SacredError

    try:
        return args.func(args)
    except (LabwatchError, SacredError) as exc:
        _fail(str(exc), 1)
    return 1


if __name__ == "__main__":
    sys.exit(main())
