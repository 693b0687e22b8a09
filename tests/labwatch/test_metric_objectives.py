"""Objectives that are metric summaries (``metrics.val_loss.min``), as sacred.store
names them, on every store: one objective and several."""

from __future__ import annotations

import pytest

from labwatch import LabAssistant
from labwatch.exceptions import LabwatchError
from labwatch.hyperparameters import UniformFloat
from labwatch.optimizers import RandomSearch
from labwatch.trials import TrialStatus
from sacred import Experiment

QUIET = {"--loglevel": "ERROR"}


def curve_experiment(location, options, **kwargs):
    ex = Experiment("lw_metric_target", save_git_info=False)
    a = LabAssistant(ex, store=location, optimizer=RandomSearch, **kwargs, **options)

    @ex.config
    def cfg():
        x = 0.5

    @a.searchspace
    def space():
        x = UniformFloat(0.0, 1.0)

    @ex.main
    def main(x, _run):
        # the validation loss dips to x / 2 at step 1, then rises: min != last
        for step, loss in enumerate([x, x / 2, x + 1.0]):
            _run.log_scalar("val.loss", loss, step)
            _run.log_scalar("throughput", 10.0 * x + step, step)
        return "no number here"

    return ex, a


def test_a_metric_summary_is_the_objective_on_every_store(store_location):
    location, options = store_location
    ex, a = curve_experiment(location, options, optimization_target="metrics.val.loss.min")
    for seed in range(4):
        ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
    trials = a.trials("space")
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 4
    for t in trials:
        assert t.cost == pytest.approx(t.config["x"] / 2)
    assert a.best("space").config["x"] == min(t.config["x"] for t in trials)


def test_several_objectives_from_metric_summaries(sqlite_location):
    ex, a = curve_experiment(
        sqlite_location,
        {},
        optimization_target=["metrics.val.loss.last", "metrics.throughput.max"],
        directions=["minimize", "maximize"],
    )
    for seed in range(3):
        ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
    for t in a.trials("space"):
        x = t.config["x"]
        # throughput is maximized: its cost is negated
        assert t.costs == (pytest.approx(x + 1.0), pytest.approx(-(10.0 * x + 2)))
    # lower loss comes with lower throughput: every trial is on the front
    assert len(a.pareto_front("space")) == 3


def test_a_missing_metric_fails_the_trial_and_a_bad_path_is_one_line(sqlite_location):
    ex, a = curve_experiment(sqlite_location, {}, optimization_target="metrics.accuracy.max")
    ex.run(named_configs=["space"], options=QUIET)
    assert [t.status for t in a.trials("space")] == [TrialStatus.FAILED]
    with pytest.raises(LabwatchError, match=r"metrics\.val\.loss names no metric summary"):
        LabAssistant(Experiment("x"), store=sqlite_location, optimization_target="metrics.val.loss")
