"""`labwatch import` / LabAssistant.import_runs: completed runs of the experiment
that fit the space become trials (the runs themselves untouched), the others are
counted with the first reason, and importing twice adds nothing."""

from __future__ import annotations

import runpy

import pytest

from labwatch import LabAssistant
from labwatch.cli import main as cli
from labwatch.hyperparameters import Categorical, Condition, UniformFloat
from labwatch.optimizers import RandomSearch
from labwatch.trials import TrialStatus
from sacred import Experiment
from sacred.store import open_store
from tests.child_process import study_script

QUIET = {"--loglevel": "ERROR"}
TOLD: list = []


class Recording(RandomSearch):
    """RandomSearch that remembers what it was told."""

    def update(self, trials):
        TOLD.extend(trials)
        super().update(trials)


def experiment(location, optimizer=RandomSearch):
    ex = Experiment("lw_import", save_git_info=False)
    a = LabAssistant(ex, store=location, optimizer=optimizer)

    @ex.config
    def cfg():
        x = 0.0
        kind = "a"
        width = 0.5
        explode = False  # not in the space: only the failing plain run sets it

    @a.searchspace
    def space():
        x = UniformFloat(-2.0, 2.0)
        kind = Categorical(["a", "b"])
        width = UniformFloat(0.0, 1.0, condition=Condition("kind", ["b"]))

    @ex.main
    def main(x, kind, width, explode):
        if explode:
            raise ValueError("fails")
        return x * x + (width if kind == "b" else 0.0)

    return ex, a


def plain_runs(ex):
    """Runs started without the space: two fit, three do not, one fails."""
    updates = [
        {"x": 0.5, "kind": "a", "width": 5.0},  # fits: width is inactive with kind a
        {"x": 3.0},  # x outside its domain
        {"x": 1.0, "kind": "b", "width": 0.25},  # fits
        {"x": 0.0, "kind": "b", "width": 5.0},  # width active and outside
        {"x": 0.0, "kind": "c"},  # not a choice
    ]
    for u in updates:
        ex.run(config_updates=u, options=QUIET)
    with pytest.raises(ValueError):
        ex.run(config_updates={"x": -1.9, "explode": True}, options=QUIET)


@pytest.mark.parametrize("kind", ["sqlite", "file"])
@pytest.mark.slow
def test_fitting_runs_become_trials_once_and_the_runs_stay_as_recorded(kind, tmp_path):
    location = f"sqlite:///{tmp_path / 'runs.db'}" if kind == "sqlite" else str(tmp_path / "runs")
    TOLD.clear()
    ex, a = experiment(location, Recording)
    plain_runs(ex)
    store = open_store(location)
    before = {r.id: (r.config, r.result, r.meta, r.status) for r in store.find()}

    report = a.import_runs("space")
    assert len(report.imported) == 2 and report.skipped == 3
    ids = sorted(before, key=lambda i: int(i))
    assert report.line() == (
        f"imported 2 run(s), 3 do not fit the space (first: run {ids[1]}: "
        "x=3.0 is outside [-2.0, 2.0])"
    )
    trials = a.trials("space")
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 2
    assert sorted(str(t.imported) for t in trials) == [str(ids[0]), str(ids[2])]
    assert sorted(t.cost for t in trials) == [0.25, 1.25]
    assert trials[0].config == {"x": 0.5, "kind": "a"}  # the inactive width is not a value

    # the imported runs are left exactly as they were recorded
    store = open_store(location)
    for run_id, recorded in before.items():
        run = store.get(run_id)
        assert (run.config, run.result, run.meta, run.status) == recorded

    again = a.import_runs("space")
    assert again.imported == [] and again.already == 2 and again.skipped == 3
    assert len(a.trials("space")) == 2

    # the optimizer learns from them, and they are not part of the budget
    a.budget = 1
    TOLD.clear()
    run = ex.run(named_configs=["space"], options=QUIET)
    assert sorted(str(t.imported) for t in TOLD if t.imported is not None) == [
        str(ids[0]),
        str(ids[2]),
    ]
    trial = [t for t in a.trials("space") if t.id == run._id][0]
    assert trial.imported is None and trial.number == 2


# the study of tests/child_process.py (RandomSearch, x in [-2, 2], result x*x)
SCRIPT = study_script("lw_import_cli", store='os.environ["LW_STORE"]')


def test_the_import_command(tmp_path, monkeypatch, capsys):
    location = str(tmp_path / "runs")
    script = tmp_path / "study.py"
    script.write_text(SCRIPT)
    monkeypatch.setenv("LW_STORE", location)
    namespace = runpy.run_path(str(script), run_name="plain_runs")
    for x in (0.5, 7.0, -1.0):
        namespace["ex"].run(config_updates={"x": x}, options=QUIET)
    monkeypatch.setenv("LW_STORE", str(tmp_path / "elsewhere"))  # --store decides
    capsys.readouterr()
    assert cli(["import", str(script), "space", "--store", location]) == 0
    out = capsys.readouterr().out
    assert out.startswith("labwatch: imported 2 run(s), 1 do not fit the space (first: run ")
    assert "x=7.0 is outside [-2.0, 2.0])" in out
    assert cli(["import", str(script), "space", "--store", location]) == 0
    assert capsys.readouterr().out.startswith("labwatch: imported 0 run(s), 2 imported before")
    assert cli(["trials", location, "space"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3 and listing[1].endswith("* best") and " imported " in listing[1]
