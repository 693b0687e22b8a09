"""Several objectives: paths into the result, directions, NSGA-II and TPE through
Optuna, the Pareto front (API and `labwatch trials --pareto`)."""

from __future__ import annotations

import pytest

from labwatch import LabAssistant
from labwatch.cli import main as cli
from labwatch.exceptions import LabwatchError, OptimizerError
from labwatch.hyperparameters import UniformFloat
from labwatch.optimizers import NSGAII, SMAC, TPE, RandomSearch
from labwatch.trials import TrialStatus
from sacred import Experiment
from sacred.store import open_store

QUIET = {"--loglevel": "ERROR"}


def two_objectives(location, optimizer, **kwargs):
    ex = Experiment("lw_multi", save_git_info=False)
    a = LabAssistant(
        ex,
        store=location,
        optimizer=optimizer,
        optimization_target=["result.accuracy", "result.latency"],
        directions=["maximize", "minimize"],
        **kwargs,
    )

    @ex.config
    def cfg():
        width = 1.0

    @a.searchspace
    def space():
        width = UniformFloat(0.0, 1.0)

    @ex.main
    def main(width):
        # wider is more accurate and slower: every trial is on the front
        return {"accuracy": width, "latency": 1.0 + 2 * width**2}

    return ex, a


@pytest.mark.parametrize("optimizer", [NSGAII, TPE, RandomSearch], ids=lambda o: o.__name__)
@pytest.mark.slow
def test_a_two_objective_study_and_its_pareto_front(sqlite_location, optimizer, capsys):
    pytest.importorskip("optuna")
    ex, a = two_objectives(sqlite_location, optimizer)
    for seed in range(12):
        ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
    trials = a.trials("space")
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 12
    # costs are minimized: accuracy negated, latency as it is
    for t in trials:
        assert t.costs == (-t.config["width"], pytest.approx(1.0 + 2 * t.config["width"] ** 2))
    assert {t.id for t in a.pareto_front("space")} == {t.id for t in trials}
    with pytest.raises(LabwatchError, match="several objectives"):
        a.best("space")
    stored = open_store(sqlite_location).get(trials[0].id)
    assert stored.meta["labwatch"]["objectives"] == {
        "targets": ["result.accuracy", "result.latency"],
        "directions": ["maximize", "minimize"],
    }
    capsys.readouterr()
    assert cli(["trials", sqlite_location, "space", "--pareto"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[1:]
    assert len(lines) == 12 and all(line.endswith("* pareto") for line in lines)


def test_dominated_trials_are_off_the_front(sqlite_location):
    ex = Experiment("lw_front", save_git_info=False)
    a = LabAssistant(
        ex,
        store=sqlite_location,
        optimization_target=["result.0", "result.1"],
        directions=["minimize", "minimize"],
    )

    @ex.config
    def cfg():
        x = 0.0

    @a.searchspace
    def space():
        x = UniformFloat(0.0, 1.0)

    @ex.main
    def main(x):
        return [x, 1.0] if x > 0.5 else [x, 0.0]  # every x > 0.5 is dominated

    for x in (0.2, 0.4, 0.6, 0.9):
        a.run_config({"x": x}, loglevel="ERROR")
    front = a.pareto_front("space")
    assert [t.config["x"] for t in front] == [0.2]


def test_single_objective_engines_refuse_several_objectives(sqlite_location):
    pytest.importorskip("sklearn")
    ex, a = two_objectives(sqlite_location, SMAC)
    with pytest.raises(OptimizerError, match="SMAC optimizes one objective"):
        ex.run(named_configs=["space"], options=QUIET)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimization_target": ["result.a", "result.b"]}, None),
        (
            {"optimization_target": ["result.a", "result.b"], "directions": ["minimize"]},
            "directions= has 1 entries for 2 optimization target",
        ),
        ({"optimization_target": "config.lr"}, "must start with result, info or metrics"),
        ({"directions": ["up"]}, 'each direction must be "minimize" or "maximize"'),
    ],
)
def test_objective_arguments(kwargs, message, sqlite_location):
    ex = Experiment("lw_objective_args", save_git_info=False)
    if message is None:
        LabAssistant(ex, store=sqlite_location, **kwargs)
        return
    with pytest.raises(LabwatchError, match=message):
        LabAssistant(ex, store=sqlite_location, **kwargs)


@pytest.mark.parametrize("optimizer", [TPE, RandomSearch], ids=lambda o: o.__name__)
@pytest.mark.slow
def test_constraints_mark_infeasible_trials_and_engines_avoid_them(
    sqlite_location, optimizer, capsys
):
    pytest.importorskip("optuna")
    ex = Experiment("lw_constrained", save_git_info=False)
    a = LabAssistant(
        ex, store=sqlite_location, optimizer=optimizer, constraints=["info.memory_gb <= 8"]
    )

    @ex.config
    def cfg():
        width = 1.0

    @a.searchspace
    def space():
        width = UniformFloat(0.0, 1.0)

    @ex.main
    def main(width, _run):
        _run.info["memory_gb"] = 16 * width  # wide models do not fit
        return -width  # and would be the best

    for seed in range(16):
        ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
    trials = a.trials("space")
    for t in trials:
        assert t.feasible == (t.config["width"] <= 0.5)
        assert t.violations[0] == (0.0 if t.feasible else pytest.approx(16 * t.config["width"] - 8))
    best = a.best("space")
    assert best.feasible and best.cost == min(t.cost for t in trials if t.feasible)
    assert any(not t.feasible for t in trials)
    capsys.readouterr()
    assert cli(["trials", sqlite_location, "space"]) == 0
    out = capsys.readouterr().out
    assert "infeasible" in out
    assert f" {best.id} " in out.splitlines()[1] or "* best" in out
    if optimizer is TPE:  # TPE is told each completed trial's constraint values
        told = a._studies[a.study_of("space")].optimizer._study.trials
        completed = [t for t in told if t.state.name == "COMPLETE"]
        assert len(completed) == 16
        assert all(len(t.constraints) == 1 for t in completed)
        assert sum(t.constraints["0"] > 0 for t in completed) == sum(not t.feasible for t in trials)


def test_a_constraint_that_does_not_parse_is_one_clear_error(sqlite_location):
    ex = Experiment("lw_bad_constraint", save_git_info=False)
    with pytest.raises(LabwatchError, match="constraint 'info.memory_gb <== 8'"):
        LabAssistant(ex, store=sqlite_location, constraints=["info.memory_gb <== 8"])
