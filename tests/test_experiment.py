"""Experiments and ingredients through the public API: the documentation's
configuration examples, commands, hooks and collected information."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sacred import Experiment, Ingredient
from sacred.exceptions import (
    CircularDependencyError,
    CommandNotFoundError,
    ConfigAddedError,
    InvalidConfigError,
    NamedConfigNotFoundError,
)

QUIET = {"--loglevel": "ERROR"}


def without_seed(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "seed"}


@pytest.fixture
def config_demo():
    ex = Experiment("config_demo", save_git_info=False)

    @ex.config
    def my_config():
        """This is my demo configuration"""
        a = 10  # some integer
        # a dictionary
        foo = {"a_squared": a**2, "bar": "my_string%d" % a}
        if a > 8:
            # cool: a dynamic entry
            e = a / 2

    @ex.main
    def run():
        pass

    return ex, my_config


def test_config_scope_called_directly_returns_its_dict(config_demo):
    _, my_config = config_demo
    assert my_config() == {"foo": {"bar": "my_string10", "a_squared": 100}, "a": 10, "e": 5.0}


def test_updates_are_fixed_while_the_scope_runs(config_demo):
    ex, _ = config_demo
    r = ex.run(config_updates={"a": 23}, options=QUIET)
    assert without_seed(r.config) == {
        "foo": {"bar": "my_string23", "a_squared": 529},
        "a": 23,
        "e": 11.5,
    }
    r = ex.run(config_updates={"foo": {"bar": "baobab"}}, options=QUIET)
    assert without_seed(r.config) == {"foo": {"bar": "baobab", "a_squared": 100}, "a": 10, "e": 5.0}


def test_multiple_configs_demo():
    ex = Experiment("multiple_configs_demo", save_git_info=False)

    @ex.config
    def my_config1():
        a = 10
        b = "test"

    @ex.config
    def my_config2(a):  # notice the parameter a here
        c = a * 2  # we can use a because we declared it
        a = -1  # we can also change the value of a

    ex.add_config({"e": "from_dict"})

    @ex.main
    def main():
        pass

    assert without_seed(ex.run(options=QUIET).config) == {
        "a": -1,
        "b": "test",
        "c": 20,
        "e": "from_dict",
    }


@pytest.fixture
def named_configs_demo():
    ex = Experiment("named_configs_demo", save_git_info=False)

    @ex.config
    def cfg():
        a = 10
        b = 3 * a
        c = "foo"

    @ex.named_config
    def variant1():
        a = 100
        c = "bar"

    @ex.main
    def main():
        pass

    return ex


def test_named_configs_demo(named_configs_demo, tmp_path):
    ex = named_configs_demo
    assert without_seed(ex.run(options=QUIET).config) == {"a": 10, "b": 30, "c": "foo"}
    r = ex.run(named_configs=["variant1"], options=QUIET)
    assert without_seed(r.config) == {"a": 100, "b": 300, "c": "bar"}
    r = ex.run(named_configs=["variant1"], config_updates={"a": 23}, options=QUIET)
    assert without_seed(r.config) == {"a": 23, "b": 69, "c": "bar"}
    variant = tmp_path / "my_variant.json"
    variant.write_text('{"c": "from_file"}')
    r = ex.run(named_configs=[str(variant)], options=QUIET)
    assert r.config["c"] == "from_file"


def test_unknown_named_config_says_which_exist(named_configs_demo):
    with pytest.raises(NamedConfigNotFoundError, match="variant1"):
        named_configs_demo.run(named_configs=["variant2"], options=QUIET)


def test_update_used_nowhere_is_an_error_with_a_suggestion(named_configs_demo):
    with pytest.raises(ConfigAddedError) as info:
        named_configs_demo.run(config_updates={"bb": 1}, options=QUIET)
    assert '"bb"' in str(info.value) or "'bb'" in str(info.value)
    assert "b" in str(info.value)


def test_update_used_by_a_captured_function_only_warns(caplog):
    ex = Experiment("added_used", save_git_info=False)

    @ex.main
    def main(extra=1):
        return extra

    with caplog.at_level("WARNING"):
        run = ex.run(config_updates={"extra": 5}, options={"--loglevel": "WARNING"})
    assert run.result == 5
    assert 'Added new config entry: "extra"' in caplog.text


def test_captured_function_priority_and_prefix():
    ex = Experiment("captured_func_demo", save_git_info=False)

    @ex.config
    def my_config1():
        a = 10
        b = "test"
        dataset = {"filename": "foo.txt", "path": "/tmp/"}

    @ex.capture
    def print_a_and_b(a, b):
        return a, b

    @ex.capture(prefix="dataset")
    def print_me(filename, path):
        return filename, path

    @ex.main
    def my_main():
        return [
            print_a_and_b(),
            print_a_and_b(3),
            print_a_and_b(3, "foo"),
            print_a_and_b(b="foo"),
            print_me(),
        ]

    assert ex.run(options=QUIET).result == [
        (10, "test"),
        (3, "test"),
        (3, "foo"),
        (10, "foo"),
        ("foo.txt", "/tmp/"),
    ]


def test_missing_value_names_function_and_parameter():
    ex = Experiment("missing", save_git_info=False)

    @ex.capture
    def some_function(a, foo, bar=10):
        return a, foo, bar

    @ex.main
    def main():
        return some_function()

    with pytest.raises(TypeError, match="'a'") as info:
        ex.run(options=QUIET)
    assert "some_function" in str(info.value)


@pytest.fixture
def dataset_ingredient():
    data = Ingredient("dataset", save_git_info=False)

    @data.config
    def cfg():
        filename = "my_dataset.npy"
        normalize = True

    @data.capture
    def load_data(filename, normalize):
        return filename, normalize

    @data.command
    def stats(filename):
        return f"stats of {filename}"

    return data, load_data


def test_ingredient_config_appears_under_its_name(dataset_ingredient):
    data, load_data = dataset_ingredient
    ex = Experiment("my_experiment", ingredients=[data], save_git_info=False)

    @ex.automain
    def run():
        return load_data()

    r = ex.run(config_updates={"dataset": {"normalize": False}}, options=QUIET)
    assert r.config["dataset"] == {"filename": "my_dataset.npy", "normalize": False}
    assert r.result == ("my_dataset.npy", False)
    assert ex.run("dataset.stats", options=QUIET).result == "stats of my_dataset.npy"
    assert "dataset.stats" in dict(ex.gather_commands())


def test_overriding_ingredient_defaults_and_accessing_them_by_name(dataset_ingredient):
    data, load_data = dataset_ingredient

    @data.config
    def update_cfg():
        filename = "special_dataset.npy"  # < updated

    ex = Experiment("my_experiment", ingredients=[data], save_git_info=False)

    @ex.config
    def cfg(dataset):
        abs_filename = os.path.join("/data", dataset["filename"])

    @ex.capture
    def normalized(dataset):
        return dataset["normalize"]

    @ex.main
    def main(abs_filename):
        return abs_filename, normalized()

    assert ex.run(options=QUIET).result == ("/data/special_dataset.npy", True)


def test_nested_ingredients_flat_and_explicit():
    paths = Ingredient("paths", save_git_info=False)
    paths.add_config(base="/tmp")
    sub = Ingredient("dataset.path", save_git_info=False)
    sub.add_config(name="train")
    data = Ingredient("dataset", ingredients=[paths, sub], save_git_info=False)

    @data.config
    def cfg(path):  # common prefix 'dataset.' left away
        full = path["name"] + ".csv"

    ex = Experiment("nesting", ingredients=[data], save_git_info=False)

    @ex.main
    def main(dataset):
        return dataset["path"]["name"]

    r = ex.run(options=QUIET)
    assert r.config["paths"] == {"base": "/tmp"}
    assert r.config["dataset"]["path"] == {"name": "train"}
    assert r.config["dataset"]["full"] == "train.csv"
    assert r.result == "train"


def test_experiments_are_reusable_as_ingredients():
    inner = Experiment("inner", save_git_info=False)
    inner.add_config(x=1)
    outer = Experiment("outer", ingredients=[inner], save_git_info=False)

    @outer.main
    def main(inner):
        return inner["x"]

    assert outer.run(options=QUIET).result == 1


def test_circular_ingredients_are_detected():
    a = Ingredient("a", save_git_info=False)
    b = Ingredient("b", ingredients=[a], save_git_info=False)
    a.ingredients.append(b)
    with pytest.raises(CircularDependencyError):
        list(a.traverse_ingredients())


def test_config_hook_updates_the_configuration():
    ex = Experiment("hooked", save_git_info=False)
    ex.add_config(other_config=1)
    seen = {}

    @ex.config_hook
    def hook(config, command_name, logger):
        seen["command"] = command_name
        config.update({"hook": True})
        return config

    @ex.main
    def main(hook, other_config):
        return hook, other_config

    assert ex.run(options=QUIET).result == (True, 1)
    assert seen["command"] == "main"


def test_pre_and_post_run_hooks_run_around_main():
    ex = Experiment("hooks", save_git_info=False)
    ex.add_config(x=3)
    calls = []

    @ex.pre_run_hook
    def before(x):
        calls.append(("before", x))

    @ex.post_run_hook
    def after():
        calls.append("after")

    @ex.main
    def main():
        calls.append("main")

    ex.run(options=QUIET)
    assert calls == [("before", 3), "main", "after"]


def test_option_hook_sees_and_changes_options():
    ex = Experiment("options", save_git_info=False)

    @ex.option_hook
    def add_comment(options):
        options["--comment"] = "set by hook"

    @ex.main
    def main(_run):
        return _run.meta_info["comment"]

    assert ex.run(options=QUIET).result == "set by hook"


def test_unknown_command():
    ex = Experiment("cmds", save_git_info=False)

    @ex.main
    def main():
        pass

    with pytest.raises(CommandNotFoundError, match="print_config"):
        ex.run("print_confg", options=QUIET)


def test_read_only_config_inside_captured_functions():
    ex = Experiment("read_only", save_git_info=False)
    ex.add_config(d={"a": 1}, items=[1, 2])

    @ex.main
    def main(d, items):
        d["a"] = 2

    with pytest.raises(TypeError, match="read-only"):
        ex.run(options=QUIET)


def test_randomness_is_deterministic_given_the_seed():
    ex = Experiment("randomness", save_git_info=False)
    ex.add_config(numbers=3)

    @ex.capture
    def draw(numbers, _rnd):
        return [int(_rnd.randint(1, 100)) for _ in range(numbers)]

    @ex.capture
    def seed(_seed):
        return _seed

    @ex.main
    def main(_rnd, _seed):
        return draw(), draw(), seed(), draw()

    a = ex.run(config_updates={"seed": 12345}, options=QUIET).result
    b = ex.run(config_updates={"seed": 12345}, options=QUIET).result
    c = ex.run(config_updates={"seed": 54321}, options=QUIET).result
    assert a == b
    assert a != c
    assert a[0] != a[1]


def test_experiment_info_lists_sources_dependencies_and_doc():
    ex = Experiment("info", save_git_info=False)

    @ex.main
    def main():
        pass

    ex.add_package_dependency("some-package", "1.2.3")
    info = ex.get_experiment_info()
    assert info["name"] == "info"
    assert info["base_dir"] == os.path.dirname(os.path.abspath(__file__))
    assert info["mainfile"] == "test_experiment.py"
    assert any(src[0] == "test_experiment.py" and len(src[1]) == 32 for src in info["sources"])
    assert "some-package==1.2.3" in info["dependencies"]
    assert any(dep.startswith("sacred==") for dep in info["dependencies"])
    assert info["repositories"] == []


def test_name_defaults_to_the_main_file(tmp_path):
    script = tmp_path / "my_script.py"
    script.write_text("from sacred import Experiment\nex = Experiment()\nprint(ex.path)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert out.stdout.strip() == "my_script", out.stderr


# -- drop-in behaviour of the original ------------------------------------------------


def test_config_scope_may_take_the_logger(caplog):
    ex = Experiment("hello_cs", save_git_info=False)

    @ex.config
    def cfg(_log):
        recipient = "world"
        _log.warning("configuring for %s", recipient)

    @ex.named_config
    def loud(_log):
        _log.warning("loud variant")
        recipient = "WORLD"

    @ex.main
    def main(recipient):
        return recipient

    with caplog.at_level("WARNING"):
        run = ex.run(named_configs=["loud"], options={"--loglevel": "WARNING"})
    assert run.result == "WORLD"
    assert without_seed(run.config) == {"recipient": "WORLD"}  # _log is no entry
    assert "configuring for WORLD" in caplog.text and "loud variant" in caplog.text


def test_named_config_may_read_earlier_configuration():
    dataset = Ingredient("dataset", interactive=True)

    @dataset.config
    def dataset_cfg():
        size = 10

    ex = Experiment("variants", ingredients=[dataset], save_git_info=False)

    @ex.config
    def cfg():
        a = 2
        b = 0

    @ex.named_config
    def double(a, dataset):
        b = a * 2
        c = dataset["size"] + a

    @ex.named_config
    def shift(b):  # sees what the named configs before it set
        a = b + 1

    ex.main(lambda a, b, c=None: (a, b, c))
    run = ex.run(named_configs=["double"], options=QUIET)
    assert (run.config["a"], run.config["b"]) == (2, 4)
    assert ex.run(config_updates={"a": 5}, named_configs=["double"], options=QUIET).result == (
        5,
        10,
        15,
    )
    assert ex.run(named_configs=["double", "shift"], options=QUIET).config["a"] == 5


@pytest.fixture
def typo_demo():
    ex = Experiment("typos", save_git_info=False)

    @ex.config
    def cfg():
        foo = {"bar": 1}
        lr = 0.1

    @ex.capture(prefix="opt")
    def make_optimizer(momentum):
        return momentum

    @ex.named_config
    def misspelled():
        foo = {"baz": 2}

    @ex.main
    def main(lr):
        return lr

    return ex


@pytest.mark.parametrize(
    "updates, named, unused",
    [
        ({"lrr": 1}, [], "lrr"),  # top level (as before)
        ({"foo.baz": 1}, [], "foo.baz"),  # under a dict entry nothing uses
        ({"opt.momentun": 0.9}, [], "opt.momentun"),  # under a captured function's prefix
        ({}, ["misspelled"], "foo.baz"),  # in a named config
        ({}, ["typo.json"], "lrr"),  # in a config file given after `with`
    ],
)
def test_unused_updates_are_typos_wherever_they_are(
    typo_demo, tmp_path, monkeypatch, updates, named, unused
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "typo.json").write_text('{"lrr": 0.5}')
    with pytest.raises(ConfigAddedError) as info:
        typo_demo.run(config_updates=updates, named_configs=named, options=QUIET)
    assert str(info.value).startswith("Added new config entry that is not used anywhere")
    assert f'"{unused}"' in str(info.value)
    assert info.value.conflicting_configs == (unused,)


def test_updates_a_captured_function_can_take_are_only_added(typo_demo, caplog):
    run = typo_demo.run(config_updates={"opt.momentum": 0.9}, options=QUIET)
    assert run.config["opt"] == {"momentum": 0.9}
    assert run.config_modifications.added == {"opt.momentum"}


@pytest.mark.parametrize("seed", ["abc", 1.5, [1], True, None])
def test_the_seed_must_be_an_int(typo_demo, seed):
    with pytest.raises(InvalidConfigError, match="The seed must be an int"):
        typo_demo.run(config_updates={"seed": seed}, options=QUIET)


def test_ingredient_commands_carry_their_dotted_name(recorder, caplog):
    dataset = Ingredient("dataset", interactive=True)

    @dataset.command
    def stats():
        return "stats"

    ex = Experiment("commands", ingredients=[dataset], save_git_info=False)
    ex.observers.append(recorder)
    with caplog.at_level("INFO"):
        run = ex.run("dataset.stats")
    assert run.result == "stats"
    assert "Running command 'dataset.stats'" in caplog.text
    assert recorder.first("started_event")["command"] == "dataset.stats"
    assert recorder.first("started_event")["meta_info"]["command"] == "dataset.stats"


def test_current_run_points_at_the_last_run_after_it_returned():
    ex = Experiment("current", save_git_info=False)
    ex.main(lambda: 42)
    assert ex.current_run is None
    run = ex.run(options=QUIET)
    assert ex.current_run is run and ex.current_run.result == 42
    assert ex.info is run.info
    with pytest.raises(RuntimeError, match="while the experiment is running"):
        ex.log_scalar("too late", 1)


def test_meta_records_updates_named_configs_and_the_original_option_keys(recorder):
    ex = Experiment("meta", save_git_info=False)

    @ex.config
    def cfg():
        a = 1

    @ex.named_config
    def big():
        a = 100

    ex.main(lambda a: a)
    ex.observers.append(recorder)
    ex.run(config_updates={"a": 2}, named_configs=["big"], options={"-l": "ERROR", "-b": 3})
    meta = recorder.first("started_event")["meta_info"]
    assert meta["command"] == "<lambda>"
    assert meta["config_updates"] == {"a": 2}
    assert meta["named_configs"] == ["big"]
    options = meta["options"]
    assert options["--beat-interval"] == 3 and options["--loglevel"] == "ERROR"
    assert options["--print-config"] is False and options["--enforce_clean"] is False
    assert options["--comment"] is None and options["--file_storage"] is None
    assert "--beat_interval" not in options and "--print_config" not in options

    ex.run(options={"--queue": True, "--loglevel": "ERROR"})
    queued = recorder.last("queued_event")["meta_info"]
    assert queued["config_updates"] == {} and queued["named_configs"] == []
    assert queued["options"]["--queue"] is True


# The flags under meta.options in the run.json files the original wrote
# (../shared/fixtures/sacred-0.8.7/file_store/*/run.json).
ORIGINAL_OPTION_KEYS = [
    "--beat-interval",
    "--capture",
    "--comment",
    "--debug",
    "--enforce_clean",
    "--file_storage",
    "--force",
    "--help",
    "--id",
    "--loglevel",
    "--mongo_db",
    "--name",
    "--pdb",
    "--print-config",
    "--priority",
    "--queue",
    "--s3",
    "--sql",
    "--tiny_db",
    "--unobserved",
]


def test_meta_options_use_the_keys_of_the_original_stores():
    ex = Experiment("meta", save_git_info=False)
    ex.main(lambda: None)
    run = ex.run(options=QUIET)
    assert sorted(run.meta_info["options"]) == ORIGINAL_OPTION_KEYS


def _read_only_write():
    ex = Experiment("ro", save_git_info=False)

    @ex.config
    def cfg():
        d = {"a": 1}

    @ex.main
    def main(d):
        d["a"] = 2

    ex.run(options=QUIET)


def _missing_value():
    ex = Experiment("missing", save_git_info=False)
    ex.main(lambda needed: needed)
    ex.run(options=QUIET)


def _circular():
    ing = Ingredient("ing", interactive=True)
    ex = Experiment("exp", ingredients=[ing], save_git_info=False)
    ing.ingredients.append(ex)
    ex.main(lambda: None)
    ex.run(options=QUIET)


def _bad_config_hook():
    ex = Experiment("hooks", save_git_info=False)
    ex.config_hook(lambda config: {})


def _bad_option_hook():
    ex = Experiment("hooks", save_git_info=False)
    ex.option_hook(lambda opts: None)


def _named(name):
    def run_it():
        ex = Experiment("named", save_git_info=False)
        ex.main(lambda: None)
        ex.run(named_configs=[name], options=QUIET)

    return run_it


def _bad_package_version():
    Experiment("deps", save_git_info=False).add_package_dependency("numpy", 1.2)


def _unknown_config_file():
    Experiment("files", save_git_info=False).add_config("no_such_config.yaml")


@pytest.mark.parametrize(
    "action, error, builtin, start",
    [
        (
            _read_only_write,
            "ReadOnlyConfigError",
            TypeError,
            "The configuration is read-only in a captured function!",
        ),
        (_missing_value, "MissingConfigError", TypeError, "<lambda> is missing value(s):"),
        (_circular, "CircularDependencyError", Exception, "Circular dependency detected: "),
        (_named("nothing"), "NamedConfigNotFoundError", KeyError, "Named config not found:"),
        (
            _named("nothing.json"),
            "ConfigFileNotFoundError",
            FileNotFoundError,
            'Config file "nothing',
        ),
        (
            _unknown_config_file,
            "ConfigFileNotFoundError",
            OSError,
            'Config file "no_such_config.yaml"',
        ),
        (_bad_config_hook, "InvalidConfigHookError", ValueError, "Wrong signature for config"),
        (_bad_option_hook, "InvalidOptionHookError", KeyError, "option_hook functions must"),
        (_bad_package_version, "ValueError", ValueError, "version of 'numpy'"),
    ],
)
def test_errors_derive_from_builtins_and_start_with_the_known_sentence(
    action, error, builtin, start, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(builtin) as info:
        action()
    assert type(info.value).__name__ == error
    assert str(info.value).startswith(start)


def test_circular_dependency_names_the_cycle():
    inner = Ingredient("ing", interactive=True)
    ex = Experiment("exp", ingredients=[inner], save_git_info=False)
    inner.ingredients.append(ex)
    with pytest.raises(CircularDependencyError, match="exp->ing->exp"):
        list(ex.traverse_ingredients())
    # A cycle further down names only the cycle.
    a, b = Ingredient("a", interactive=True), Ingredient("b", interactive=True)
    a.ingredients.append(b)
    b.ingredients.append(a)
    top = Experiment("top", ingredients=[a], save_git_info=False)
    with pytest.raises(CircularDependencyError, match="a->b->a"):
        list(top.traverse_ingredients())


def test_nested_traversals_are_not_cycles():
    dataset = Ingredient("dataset", interactive=True)
    ex = Experiment("exp", ingredients=[dataset], save_git_info=False)
    pairs = [
        (x.path, y.path) for x, _ in ex.traverse_ingredients() for y, _ in ex.traverse_ingredients()
    ]
    assert len(pairs) == 4
