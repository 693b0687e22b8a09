"""Scripts written for the original Labwatch: tuple-valued hyperparameters, the |
condition syntax, the LabAssistant methods, and database_name= without a MongoDB."""

from __future__ import annotations

import pytest

from labwatch import LabAssistant
from labwatch.exceptions import LabwatchError, SearchSpaceError
from labwatch.hyperparameters import Categorical, Condition, UniformFloat, UniformInt
from labwatch.optimizers import RandomSearch
from labwatch.searchspace import SearchSpace
from labwatch.trials import TrialStatus
from sacred import Experiment
from sacred.store import open_store

QUIET = {"--loglevel": "ERROR"}


def branin_experiment(location, optimizer=RandomSearch):
    ex = Experiment("lw_branin", save_git_info=False)
    a = LabAssistant(ex, store=location, optimizer=optimizer)

    @ex.config
    def cfg():
        x = (0.0, 0.0)

    @a.search_space
    def search_space():
        x = (UniformFloat(-5, 10), UniformFloat(0, 15))

    @ex.automain
    def branin(x):
        x1, x2 = x
        return (x2 - 5.1 / 39.48 * x1**2 + 5 / 3.1416 * x1 - 6) ** 2 + 10

    return ex, a


def test_a_tuple_of_hyperparameters_is_a_list_entry(sqlite_location):
    ex, a = branin_experiment(sqlite_location)
    run = ex.run(named_configs=["search_space"], options=QUIET)
    x = run.config["x"]
    assert isinstance(x, list) and len(x) == 2
    assert -5 <= x[0] <= 10 and 0 <= x[1] <= 15
    (trial,) = a.trials("search_space")
    assert trial.config == {"x.0": x[0], "x.1": x[1]}
    assert a.get_current_best() == {"x": x}


def test_the_or_condition_syntax_names_the_parent_object():
    n_layers = Categorical([1, 2, 3])
    space = SearchSpace(
        "net",
        {
            "n_layers": n_layers,
            "units_2": UniformInt(10, 100) | Condition(n_layers, [2, 3]),
            "units_3": UniformInt(10, 100) | Condition(n_layers, [3]),
        },
    )
    assert space.parameters["units_3"].condition.parent == "n_layers"
    assert space.active({"n_layers": 2, "units_2": 20, "units_3": 30}) == {
        "n_layers": 2,
        "units_2": 20,
    }
    with pytest.raises(SearchSpaceError, match="right side of | must be a Condition"):
        UniformInt(1, 2) | "n_layers"
    with pytest.raises(SearchSpaceError, match="names a hyperparameter that is not one of"):
        SearchSpace("x", {"a": UniformInt(1, 2) | Condition(Categorical([1]), [1])})


@pytest.mark.slow
def test_the_or_condition_in_a_decorated_search_space(sqlite_location):
    ex = Experiment("lw_or", save_git_info=False)
    a = LabAssistant(ex, store=sqlite_location)

    @ex.config
    def cfg():
        n_layers = 1
        units_2 = 0

    @a.searchspace
    def space():
        n_layers = Categorical([1, 2])
        units_2 = UniformInt(10, 100) | Condition(n_layers, [2])

    @ex.main
    def main(n_layers, units_2):
        return n_layers + units_2

    for seed in range(6):
        run = ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
        assert (run.config["units_2"] == 0) == (run.config["n_layers"] == 1)


@pytest.mark.slow
def test_the_labassistant_methods_of_the_original(sqlite_location):
    ex, a = branin_experiment(sqlite_location)
    suggestion = a.get_suggestion()
    assert set(suggestion) == {"x"} and len(suggestion["x"]) == 2
    assert a.get_current_best() is None
    assert a.trials("search_space") == []  # a suggestion records nothing

    default = a.run_default(loglevel="ERROR")
    assert default.config["x"] == [2.5, 7.5]
    chosen = a.run_config({"x": [1.0, 2.0]}, loglevel="ERROR")
    assert chosen.config["x"] == [1.0, 2.0]
    randomly = a.run_random(loglevel="ERROR")
    suggested = a.run_suggestion(loglevel="ERROR")
    trials = a.update_optimizer()
    assert [t.id for t in trials] == [r._id for r in (default, chosen, randomly, suggested)]
    assert all(t.status == TrialStatus.COMPLETED for t in trials)

    best_config, best_run = a.get_current_best(return_run=True)
    best = min((default, chosen, randomly, suggested), key=lambda r: r.result)
    assert best_config == {"x": best.config["x"]}
    assert best_run.id == best._id

    queued = a.enqueue_suggestion()
    assert open_store(sqlite_location).get(queued).status == "QUEUED"
    from_queue = a.run_from_queue(loglevel="ERROR")
    stored = open_store(sqlite_location).get(from_queue._id)
    assert stored.meta["labwatch"]["from_queue"] == queued
    with pytest.raises(LabwatchError, match="No configuration is enqueued"):
        a.run_from_queue()
    assert len(a.trials("search_space")) == 5


def test_enqueued_configurations_go_first_and_partial_ones_are_completed(sqlite_location):
    ex, a = branin_experiment(sqlite_location)
    a.enqueue("search_space", {"x.0": 3.0, "x.1": 4.0})
    a.enqueue("search_space", {"x": [5.0, 6.0]})
    a.enqueue("search_space", {"x.0": 7.0})
    runs = [ex.run(named_configs=["search_space"], options=QUIET) for _ in range(4)]
    assert runs[0].config["x"] == [3.0, 4.0]
    assert runs[1].config["x"] == [5.0, 6.0]
    assert runs[2].config["x"][0] == 7.0 and 0 <= runs[2].config["x"][1] <= 15
    assert [t.status for t in a.trials("search_space")] == [TrialStatus.COMPLETED] * 4
    with pytest.raises(LabwatchError, match="is not a value of the search space"):
        a.enqueue("search_space", {"x.0": 99.0})


def test_several_search_spaces_must_be_named(sqlite_location):
    ex, a = branin_experiment(sqlite_location)

    @a.searchspace
    def other():
        x = (UniformFloat(0, 1), UniformFloat(0, 1))

    with pytest.raises(LabwatchError, match="several search spaces"):
        a.get_suggestion()
    with pytest.raises(
        LabwatchError, match="No search space 'serch_space'. Did you mean \"search_space\""
    ):
        a.get_suggestion("serch_space")


def test_database_name_without_a_mongodb_is_one_line_pointing_at_store(tmp_path):
    ex = Experiment("lw_no_mongo", save_git_info=False, base_dir=tmp_path)
    # positional database name, as the original's README writes it; a port nobody serves
    a = LabAssistant(ex, "labwatch", url="localhost:1", optimizer=RandomSearch)

    @ex.config
    def cfg():
        lr = 0.1

    @a.searchspace
    def space():
        lr = UniformFloat(0.01, 1.0)

    @ex.main
    def main(lr):
        return lr

    with pytest.raises(LabwatchError) as info:
        ex.run(named_configs=["space"], options=QUIET)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    assert "No MongoDB answers at mongodb://localhost:1/labwatch" in message
    assert "LabAssistant(ex, store='sqlite:///runs.db')" in message
