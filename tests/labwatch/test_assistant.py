"""LabAssistant over every store: `with search_space` claims and records trials."""

from __future__ import annotations

import os

import pytest

from labwatch import LabAssistant as TopLevelLabAssistant
from labwatch.assistant import LabAssistant
from labwatch.exceptions import BudgetExhausted, LabwatchError
from labwatch.hyperparameters import (
    Categorical,
    Condition,
    Gaussian,
    UniformFloat,
    UniformInt,
    UniformNumber,
)
from labwatch.optimizers import Optimizer, RandomSearch
from labwatch.trials import TrialStatus
from sacred import Experiment
from sacred.exceptions import SacredError
from sacred.store import open_store


def make_experiment(location, options, optimizer=RandomSearch, result=None, **kwargs):
    ex = Experiment("lw_test", save_git_info=False)
    assistant = LabAssistant(ex, store=location, optimizer=optimizer, **options, **kwargs)

    @ex.config
    def cfg():
        batch_size = 128
        learning_rate = 0.001
        epochs = 3
        log_dir = f"log/NN{batch_size}"

    @assistant.searchspace
    def search_space():
        learning_rate = UniformFloat(lower=10e-3, upper=10e-2, default=10e-2, log_scale=True)
        batch_size = UniformNumber(lower=32, upper=64, default=32, type=int, log_scale=True)

    @assistant.searchspace
    def small_search_space():
        learning_rate = UniformFloat(lower=10e-3, upper=10e-2, default=10e-2, log_scale=True)

    @ex.main
    def main(batch_size, learning_rate, epochs, log_dir):
        if result is not None:
            return result(batch_size=batch_size, learning_rate=learning_rate)
        return learning_rate * batch_size

    return ex, assistant


QUIET = {"--loglevel": "ERROR"}


def trials_in(location, options):
    store = open_store(location, **options)
    # In claim order: TinyDB's run ids are random uuids.
    return store.find("meta.labwatch exists", sort="meta.labwatch.trial")


def test_paper_api_import_paths():
    assert TopLevelLabAssistant is LabAssistant


def test_search_space_runs_are_trials_in_the_store(store_location):
    location, options = store_location
    ex, assistant = make_experiment(location, options)
    runs = [ex.run(named_configs=["search_space"], options=QUIET) for _ in range(3)]
    # each trial's claim token is given back with its run (a later run does not fence on it)
    assert "SACRED_CLAIM_TOKEN" not in os.environ
    stored = trials_in(location, options)
    assert [r.id for r in stored] == [r._id for r in runs]
    for i, run in enumerate(stored):
        assert run.status == "COMPLETED"
        assert 0.01 <= run.config["learning_rate"] <= 0.1
        assert 32 <= run.config["batch_size"] <= 64
        assert isinstance(run.config["batch_size"], int)
        # derived entries follow the suggestion: it is applied like a named config
        assert run.config["log_dir"] == f"log/NN{run.config['batch_size']}"
        assert run.config["epochs"] == 3
        meta = run.meta["labwatch"]
        assert meta["space"] == "search_space"
        assert meta["study"] == assistant.study_of("search_space")
        assert meta["optimizer"] == "RandomSearch"
        assert meta["trial"] == i
        assert meta["sampler_seed"] == run.config["seed"]
        assert meta["seen_trials"] == i
        assert "state" not in meta and "seen_trial_ids" not in meta
    assert len({r.config["learning_rate"] for r in stored}) == 3


def test_fixed_entry_and_second_search_space(sqlite_location):
    ex, assistant = make_experiment(sqlite_location, {})
    fixed = ex.run(
        named_configs=["search_space"], config_updates={"learning_rate": 0.05}, options=QUIET
    )
    assert fixed.config["learning_rate"] == 0.05
    small = ex.run(named_configs=["small_search_space"], options=QUIET)
    assert small.config["batch_size"] == 128  # not in the small space: untouched
    studies = {r.meta["labwatch"]["study"] for r in trials_in(sqlite_location, {})}
    assert len(studies) == 2
    assert [t.config["learning_rate"] for t in assistant.trials("search_space")] == [0.05]


@pytest.mark.slow
def test_editing_a_space_starts_a_new_study(sqlite_location):
    ex, assistant = make_experiment(sqlite_location, {})
    ex.run(named_configs=["search_space"], options=QUIET)

    @assistant.searchspace
    def wider():
        learning_rate = UniformFloat(lower=10e-3, upper=10e-1, log_scale=True)
        batch_size = UniformNumber(lower=32, upper=64, type=int, log_scale=True)

    assert assistant.study_of("wider") != assistant.study_of("search_space")
    assert assistant.trials("wider") == []
    assert len(assistant.trials("search_space")) == 1


def test_random_search_is_reproducible_from_the_root_seed(tmp_path):
    suggestions = []
    for name in ("a", "b"):
        ex, _ = make_experiment(f"sqlite:///{tmp_path / name}.db", {})
        run = ex.run(named_configs=["search_space"], config_updates={"seed": 42}, options=QUIET)
        suggestions.append(
            (run.config["learning_rate"], run.config["batch_size"], run.config["seed"])
        )
    assert suggestions[0] == suggestions[1]
    assert suggestions[0][2] == 42


def test_unobserved_commands_leave_no_trial(sqlite_location, capsys):
    ex, _ = make_experiment(sqlite_location, {})
    ex.run("print_config", named_configs=["search_space"], options=QUIET)
    assert "learning_rate" in capsys.readouterr().out
    ex.run(named_configs=["search_space"], options={**QUIET, "--unobserved": True})
    assert trials_in(sqlite_location, {}) == []


def test_queue_is_refused_with_a_reason(sqlite_location):
    ex, _ = make_experiment(sqlite_location, {})
    with pytest.raises(LabwatchError, match="cannot be queued"):
        ex.run(named_configs=["search_space"], options={**QUIET, "--queue": True})


class Recording(Optimizer):
    calls: list = []

    def update(self, configs, costs, runs):
        super().update(configs, costs, runs)
        Recording.calls.append((configs, costs, [r.status for r in runs]))

    def suggest_configuration(self):
        return {"learning_rate": [0.02, 0.03, 0.015][len(self.configs)], "batch_size": 40}


def test_custom_optimizer_sees_every_trial_and_failures(sqlite_location):
    Recording.calls = []

    def result(batch_size, learning_rate):
        if learning_rate > 0.025:
            raise RuntimeError("diverged")
        return {"optimization_target": learning_rate * 10, "accuracy": 0.5}

    ex, assistant = make_experiment(sqlite_location, {}, optimizer=Recording, result=result)
    ex.run(named_configs=["search_space"], options=QUIET)
    with pytest.raises(RuntimeError):
        ex.run(named_configs=["search_space"], options=QUIET)
    ex.run(named_configs=["search_space"], options=QUIET)
    configs, costs, statuses = Recording.calls[-1]
    assert configs == [
        {"learning_rate": 0.02, "batch_size": 40},
        {"learning_rate": 0.03, "batch_size": 40},
    ]
    assert costs == [pytest.approx(0.2), None]
    assert statuses == [TrialStatus.COMPLETED, TrialStatus.FAILED]
    assert assistant.best("search_space").cost == pytest.approx(0.15)


def test_maximize_negates_the_objective(sqlite_location):
    ex, assistant = make_experiment(sqlite_location, {}, direction="maximize")
    run = ex.run(named_configs=["search_space"], options=QUIET)
    (trial,) = assistant.trials("search_space")
    assert trial.cost == pytest.approx(-run.result)


def test_budget_is_counted_in_the_store(sqlite_location):
    ex, assistant = make_experiment(sqlite_location, {})
    assistant.budget = 2
    ex.run(named_configs=["search_space"], options=QUIET)
    ex.run(named_configs=["search_space"], options=QUIET)
    with pytest.raises(BudgetExhausted, match="has its 2 trials") as info:
        ex.run(named_configs=["search_space"], options=QUIET)
    assert info.value.pending == 0


def test_a_claim_that_never_started_is_retried_once(store_location):
    location, options = store_location
    ex, assistant = make_experiment(location, options)
    space = assistant.search_spaces["search_space"]
    claimed = assistant.claim(space, seed=7)  # its process "died" before the run
    values = claimed.values
    assistant.dead_after = 0.0
    retry = ex.run(named_configs=["search_space"], options=QUIET)
    assert retry.config["learning_rate"] == values["learning_rate"]
    assert retry.config["seed"] == 7
    stored = open_store(location, **options).get(retry._id)
    assert stored.meta["labwatch"]["retry_of"] is not None
    # the claim is taken away from the first record: a process that starts late
    # cannot take it over (it is fenced), and the attempt says why it ended
    first = open_store(location, **options).get(claimed.run_id)
    assert first.status == "FAILED"
    assert "claim" not in first.meta
    assert first.meta["attempts"][-1]["outcome"].startswith("worker lost")
    # retried once only: the next run gets a fresh suggestion
    fresh = ex.run(named_configs=["search_space"], options=QUIET)
    assert "retry_of" not in open_store(location, **options).get(fresh._id).meta["labwatch"]
    statuses = sorted(t.status for t in assistant.trials("search_space"))
    assert statuses == [TrialStatus.COMPLETED, TrialStatus.COMPLETED, TrialStatus.DEAD]


def test_conditional_hyperparameters_only_when_active(sqlite_location):
    ex = Experiment("lw_conditional", save_git_info=False)
    assistant = LabAssistant(ex, store=sqlite_location)

    @ex.config
    def cfg():
        optimizer = "sgd"
        momentum = 0.0
        beta = 0.9
        layers = 1

    @assistant.searchspace
    def space():
        optimizer = Categorical(["sgd", "adam"])
        momentum = UniformFloat(0.0, 0.99, condition=Condition("optimizer", ["sgd"]))
        beta = UniformFloat(0.5, 0.999, condition=Condition("optimizer", "adam"))
        layers = UniformInt(1, 4)

    @ex.main
    def main(optimizer, momentum, beta, layers):
        return layers

    seen = set()
    for seed in range(12):
        run = ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
        seen.add(run.config["optimizer"])
        if run.config["optimizer"] == "sgd":
            assert run.config["beta"] == 0.9
        else:
            assert run.config["momentum"] == 0.0
    assert seen == {"sgd", "adam"}
    for trial in assistant.trials("space"):
        assert ("momentum" in trial.config) == (trial.config["optimizer"] == "sgd")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"direction": "up"}, LabwatchError, 'direction must be "minimize" or "maximize"'),
        ({"optimizer": 3}, LabwatchError, "optimizer must be an Optimizer class"),
        (
            {"store": "sqlite:///x.db", "database_name": "db"},
            LabwatchError,
            "either store= or database_name=",
        ),
        ({"store": "mongomock://db"}, SacredError, "pass that client"),
    ],
)
def test_construction_errors(kwargs, error, message):
    ex = Experiment("lw_errors", save_git_info=False)
    with pytest.raises(error, match=message):
        LabAssistant(ex, **kwargs)


def test_default_store_is_sqlite_next_to_the_experiment(tmp_path):
    ex = Experiment("lw_default", save_git_info=False, base_dir=tmp_path)
    assistant = LabAssistant(ex, optimizer=RandomSearch)
    assert assistant.location == f"sqlite:///{tmp_path / 'runs.db'}"
    assert [type(o).__name__ for o in ex.observers] == ["SqlObserver"]
    mongo = LabAssistant(Experiment("lw_mongo", save_git_info=False), database_name="labwatch")
    assert mongo.location == "mongodb://localhost:27017/labwatch"


def test_search_space_name_clash_is_an_error(sqlite_location):
    ex, assistant = make_experiment(sqlite_location, {})

    @ex.named_config
    def taken():
        batch_size = 1

    with pytest.raises(LabwatchError, match='already has a named config "taken"'):

        @assistant.searchspace
        def taken():  # noqa: F811 - the clash is the point
            batch_size = UniformInt(1, 2)


def test_search_space_alias_gaussian_prior_and_named_config_listing(sqlite_location, capsys):
    ex = Experiment("lw_alias", save_git_info=False)
    assistant = LabAssistant(ex, store=sqlite_location)

    @ex.config
    def cfg():
        model = {"width": 1.0, "depth": 2}

    @assistant.search_space
    def shapes():
        """Widths around e, depths 2 to 5."""
        model = {"width": Gaussian(mu=1.0, sigma=0.1, log_scale=True), "depth": UniformInt(2, 5)}

    @ex.main
    def main(model):
        return model["width"] * model["depth"]

    run = ex.run(named_configs=["shapes"], options=QUIET)
    assert run.config["model"]["width"] > 0
    assert 2 <= run.config["model"]["depth"] <= 5
    (trial,) = assistant.trials("shapes")
    assert set(trial.config) == {"model.width", "model.depth"}
    ex.run("print_named_configs", options=QUIET)
    assert "shapes  # Widths around e, depths 2 to 5." in capsys.readouterr().out


def test_replacing_the_observers_keeps_trials_recorded(sqlite_location, recorder):
    ex, assistant = make_experiment(sqlite_location, {})
    ex.observers = [recorder]
    run = ex.run(named_configs=["search_space"], options=QUIET)
    (trial,) = assistant.trials("search_space")
    assert trial.id == run._id
    assert trial.status == "COMPLETED"
    assert recorder.first("started_event")["_id"] == run._id


def test_a_directory_holding_a_tinydb_store_records_trials_in_it(tmp_path):
    pytest.importorskip("tinydb")
    pytest.importorskip("hashfs")
    from sacred.observers import TinyDbObserver, TinyDbReader

    TinyDbObserver(tmp_path / "runs_db")  # makes the directory a TinyDB store
    ex, assistant = make_experiment(str(tmp_path / "runs_db"), {})
    kinds = [type(o).__name__ for o in ex.observers]
    assert kinds.count("TinyDbObserver") == 1 and "FileStorageObserver" not in kinds
    runs = [ex.run(named_configs=["search_space"], options=QUIET) for _ in range(2)]
    documents = TinyDbReader(tmp_path / "runs_db").fetch_metadata()
    assert [(d["_id"], d["status"]) for d in documents] == [(r._id, "COMPLETED") for r in runs]
    assert [d["meta"]["labwatch"]["trial"] for d in documents] == [0, 1]
    assert [t.id for t in assistant.trials("search_space")] == [r._id for r in runs]

    # The same store by URL: the TinyDbObserver already on the experiment records it.
    other = Experiment("lw_tiny_url", save_git_info=False)
    mine = TinyDbObserver(tmp_path / "runs_db")
    other.observers.append(mine)
    LabAssistant(other, store=f"tinydb://{tmp_path / 'runs_db'}")
    assert [o for o in other.observers if isinstance(o, TinyDbObserver)] == [mine]


def test_a_vector_result_is_one_clear_error_naming_the_fix(sqlite_location):
    ex, assistant = make_experiment(
        sqlite_location, {}, result=lambda batch_size, learning_rate: [learning_rate, batch_size]
    )
    with pytest.raises(LabwatchError) as info:
        ex.run(named_configs=["search_space"], options=QUIET)
    message = str(info.value)
    assert "several values" in message and "optimization_target" in message
    assert "\n" not in message
    (trial,) = assistant.trials("search_space")
    assert trial.status == TrialStatus.FAILED
    # runs outside a search space may return anything
    assert ex.run(options=QUIET).result == [0.001, 128]
