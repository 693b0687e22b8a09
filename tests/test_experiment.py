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
