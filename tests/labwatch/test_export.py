"""`labwatch export` / LabAssistant.export_optuna: the study written as an Optuna
study through Optuna's API, read back with optuna.load_study."""

from __future__ import annotations

import textwrap

import pytest

import labwatch
from labwatch import LabAssistant
from labwatch.cli import main as cli
from labwatch.exceptions import LabwatchError
from labwatch.hyperparameters import UniformFloat

optuna = pytest.importorskip("optuna")

QUIET = {"--loglevel": "ERROR"}

SCRIPT = textwrap.dedent(
    """
    import os
    import labwatch
    from sacred import Experiment
    from labwatch import LabAssistant
    from labwatch.hyperparameters import Categorical, UniformFloat, UniformInt
    from labwatch.pruners import MedianPruner

    ex = Experiment("lw_export", save_git_info=False)
    a = LabAssistant(ex, store=os.environ["LW_STORE"],
                     pruner=MedianPruner(n_startup_trials=1, n_warmup_steps=0))

    @ex.config
    def cfg():
        lr = 0.01
        layers = 2
        kind = "a"

    @a.searchspace
    def space():
        lr = UniformFloat(1e-4, 1.0, log_scale=True)
        layers = UniformInt(1, 8)
        kind = Categorical(["a", "b"])

    @ex.automain
    def main(lr, layers, kind, _run):
        if layers == 8:
            raise ValueError("too deep")
        loss = None
        for step in range(3):
            loss = abs(lr - 0.01) + layers + (0.5 if kind == "b" else 0.0) + 1.0 / (step + 1)
            if a.report(_run, loss, step):
                raise labwatch.TrialPruned()
        return loss
    """
)


@pytest.mark.slow
def test_export_then_load_with_optuna(tmp_path, monkeypatch, capsys):
    import runpy

    location = f"sqlite:///{tmp_path / 'runs.db'}"
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    script = tmp_path / "study.py"
    script.write_text(SCRIPT)
    monkeypatch.setenv("LW_STORE", location)
    ns = runpy.run_path(str(script), run_name="setup")
    ex, a = ns["ex"], ns["a"]
    fixed = [
        {"lr": 0.01, "layers": 1, "kind": "a"},  # the best
        {"lr": 0.1, "layers": 3, "kind": "b"},  # worse at every step: pruned
        {"lr": 0.001, "layers": 8, "kind": "a"},  # fails
        {"lr": 0.02, "layers": 2, "kind": "a"},  # pruned too (worse than the median)
    ]
    for updates in fixed:
        try:
            ex.run(named_configs=["space"], config_updates=updates, options=QUIET)
        except (labwatch.TrialPruned, ValueError):
            pass
    for seed in range(4):
        try:
            ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
        except (labwatch.TrialPruned, ValueError):
            pass
    trials = a.trials("space")
    best = a.best("space")

    capsys.readouterr()
    assert cli(["export", str(script), "space", storage, "--study-name", "mine"]) == 0
    assert capsys.readouterr().out.startswith(
        f"labwatch: exported {len(trials)} trial(s) to the Optuna study 'mine' in {storage}"
    )
    study = optuna.load_study(study_name="mine", storage=storage)
    assert len(study.trials) == len(trials)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert study.best_value == pytest.approx(best.cost)
    assert study.best_params == best.config
    assert study.best_trial.user_attrs["sacred_run_id"] == best.id
    states = optuna.trial.TrialState
    by_run = {t.user_attrs["sacred_run_id"]: t for t in study.trials}
    for t in trials:
        exported = by_run[t.id]
        expected = {"COMPLETED": states.COMPLETE, "PRUNED": states.PRUNED, "FAILED": states.FAIL}
        assert exported.state == expected[t.status]
    pruned = [by_run[t.id] for t in trials if t.status == "PRUNED"]
    assert pruned and all(0 in t.intermediate_values for t in pruned)
    assert by_run[trials[0].id].intermediate_values == pytest.approx({0: 2.0, 1: 1.5, 2: 1 + 1 / 3})
    lr = study.best_trial.distributions["lr"]
    assert (lr.low, lr.high, lr.log) == (1e-4, 1.0, True)
    assert isinstance(
        study.best_trial.distributions["layers"], optuna.distributions.IntDistribution
    )
    assert study.best_trial.distributions["kind"].choices == ("a", "b")
    # Optuna's own tools work on it
    importances = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
    )
    assert set(importances) == {"lr", "layers", "kind"}

    # a study of that name is there already: one line, nothing written
    with pytest.raises(SystemExit) as failed:
        cli(["export", str(script), "space", storage, "--study-name", "mine"])
    assert failed.value.code == 1
    err = capsys.readouterr().err
    assert "already has a study named 'mine'" in err
    assert len(optuna.load_study(study_name="mine", storage=storage).trials) == len(trials)


@pytest.mark.slow
def test_a_two_objective_study_exports_its_directions(sqlite_location, tmp_path):
    from labwatch.optimizers import RandomSearch
    from sacred import Experiment

    ex = Experiment("lw_export_multi", save_git_info=False)
    a = LabAssistant(
        ex,
        store=sqlite_location,
        optimizer=RandomSearch,
        optimization_target=["result.accuracy", "result.latency"],
        directions=["maximize", "minimize"],
    )

    @ex.config
    def cfg():
        width = 1.0

    @a.searchspace
    def space():
        width = UniformFloat(0.0, 1.0)

    @ex.main
    def main(width):
        return {"accuracy": width, "latency": 1.0 + 2 * width**2}

    for seed in range(5):
        ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    report = a.export_optuna("space", storage)
    assert report.study_name == a.study_of("space") and report.written == 5
    study = optuna.load_study(study_name=report.study_name, storage=storage)
    assert study.directions == [
        optuna.study.StudyDirection.MAXIMIZE,
        optuna.study.StudyDirection.MINIMIZE,
    ]
    for t in study.trials:
        width = t.params["width"]
        assert t.values == pytest.approx([width, 1.0 + 2 * width**2])
    assert len(study.best_trials) == 5
    with pytest.raises(LabwatchError, match="already has a study named"):
        a.export_optuna("space", storage)


def test_gaussians_and_constants_map_to_optuna(sqlite_location, tmp_path):
    from labwatch.hyperparameters import Categorical, Gaussian
    from labwatch.optimizers import RandomSearch
    from sacred import Experiment

    ex = Experiment("lw_export_kinds", save_git_info=False)
    a = LabAssistant(ex, store=sqlite_location, optimizer=RandomSearch)

    @ex.config
    def cfg():
        noise = 0.0
        shape = "wide"
        fixed = 3

    @a.searchspace
    def space():
        noise = Gaussian(mu=0.0, sigma=1.0)
        shape = Categorical(["wide", "deep", 3])
        fixed = 3

    @ex.main
    def main(noise, shape, fixed):
        return noise**2 + len(str(shape)) + fixed

    for seed in range(4):
        ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    a.export_optuna("space", storage, study_name="kinds")
    study = optuna.load_study(study_name="kinds", storage=storage)
    noise = study.trials[0].distributions["noise"]
    assert isinstance(noise, optuna.distributions.FloatDistribution)
    assert noise.low <= -6.0 and noise.high >= 6.0
    assert study.trials[0].distributions["shape"].choices == ("wide", "deep", 3)
    assert set(study.trials[0].params) == {"noise", "shape"}  # a constant is no parameter
    for ours, theirs in zip(a.trials("space"), study.trials):
        assert theirs.params["noise"] == pytest.approx(ours.config["noise"])
        assert theirs.params["shape"] == ours.config["shape"]
