"""Pruning: report() logs the value, judges it against the study's finished trials
at that step, and a pruned run is recorded COMPLETED with its trial PRUNED."""

from __future__ import annotations

import pytest

import labwatch
from labwatch import LabAssistant
from labwatch.hyperparameters import UniformFloat
from labwatch.optimizers import TPE, RandomSearch
from labwatch.pruners import HyperbandPruner, MedianPruner, SuccessiveHalvingPruner
from labwatch.trials import TrialStatus
from sacred import Experiment
from sacred.store import open_store

pytest.importorskip("optuna")

QUIET = {"--loglevel": "ERROR"}
EPOCHS = 8


def curve_experiment(location, pruner, optimizer=RandomSearch):
    """A learning curve: loss(epoch) = rate-dependent floor + decay; a worse rate is
    worse at every epoch, so a pruner can tell early."""
    ex = Experiment("lw_prune", save_git_info=False)
    a = LabAssistant(ex, store=location, optimizer=optimizer, pruner=pruner)
    epochs_run = []

    @ex.config
    def cfg():
        rate = 0.5

    @a.searchspace
    def space():
        rate = UniformFloat(0.0, 1.0)

    @ex.main
    def main(rate, _run):
        loss = None
        for epoch in range(EPOCHS):
            epochs_run.append(epoch)
            loss = abs(rate - 0.3) + 1.0 / (epoch + 1)
            if a.report(_run, loss, epoch):
                raise labwatch.TrialPruned()
        return loss

    return ex, a, epochs_run


def run_trials(ex, n):
    for seed in range(n):
        try:
            ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
        except labwatch.TrialPruned:
            pass


@pytest.mark.slow
def test_a_pruned_run_is_completed_and_its_trial_pruned(sqlite_location):
    ex, a, epochs_run = curve_experiment(sqlite_location, MedianPruner(n_startup_trials=3))
    run_trials(ex, 12)
    trials = a.trials("space")
    statuses = [t.status for t in trials]
    assert statuses[:3] == [TrialStatus.COMPLETED] * 3  # n_startup_trials
    assert TrialStatus.PRUNED in statuses
    assert set(statuses) <= {TrialStatus.COMPLETED, TrialStatus.PRUNED}
    assert len(epochs_run) < 12 * EPOCHS
    pruned = next(t for t in trials if t.status == TrialStatus.PRUNED)
    stored = open_store(sqlite_location).get(pruned.id)
    assert stored.status == "COMPLETED"
    assert stored.info["labwatch"]["state"] == "PRUNED"
    last = stored.info["labwatch"]
    assert pruned.cost == pytest.approx(last["value"])
    # the reported values are the run's metric, step by step
    store = open_store(sqlite_location)
    assert (
        list(store.backend.metrics(pruned.id, ["objective"])["objective"]["steps"])[-1]
        == (last["step"])
    )
    assert a.best("space").status == TrialStatus.COMPLETED


@pytest.mark.slow
def test_budget_counts_pruned_trials_and_tpe_is_told_them(sqlite_location):
    ex, a, _ = curve_experiment(sqlite_location, MedianPruner(n_startup_trials=2), optimizer=TPE)
    a.budget = 10
    run_trials(ex, 10)
    with pytest.raises(labwatch.BudgetExhausted):
        ex.run(named_configs=["space"], options=QUIET)
    trials = a.trials("space")
    assert len(trials) == 10
    optimizer = a._studies[a.study_of("space")].optimizer
    states = [t.state.name for t in optimizer._study.trials]
    assert states.count("PRUNED") == sum(t.status == TrialStatus.PRUNED for t in trials)


@pytest.mark.parametrize(
    "pruner",
    [
        SuccessiveHalvingPruner(min_resource=1, reduction_factor=2),
        HyperbandPruner(min_resource=1, max_resource=EPOCHS),
    ],
    ids=["successive_halving", "hyperband"],
)
@pytest.mark.slow
def test_other_pruners_with_optunas_parameter_names(sqlite_location, pruner):
    ex, a, epochs_run = curve_experiment(sqlite_location, pruner)
    run_trials(ex, 10)
    assert TrialStatus.PRUNED in [t.status for t in a.trials("space")]
    assert len(epochs_run) < 10 * EPOCHS


def test_a_pruner_takes_exactly_optunas_arguments():
    assert repr(MedianPruner(n_startup_trials=5, n_warmup_steps=0)) == (
        "MedianPruner(n_startup_trials=5, n_warmup_steps=0)"
    )
    with pytest.raises(TypeError):
        MedianPruner(startup=5)


def test_report_without_a_pruner_only_logs(sqlite_location):
    ex, a, epochs_run = curve_experiment(sqlite_location, None)
    run_trials(ex, 3)
    assert len(epochs_run) == 3 * EPOCHS
    store = open_store(sqlite_location)
    (first, *_) = store.find(sort="id")
    assert len(store.backend.metrics(first.id, ["objective"])["objective"]["steps"]) == EPOCHS
