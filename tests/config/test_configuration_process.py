"""The configuration process at the config API level: named configs, updates, the
summary of changes, hooks, ingredients, files, read-only values, captured functions,
settings and randomness."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys

import pytest

from sacred.config import (
    ConfigDict,
    ConfigNode,
    ConfigScope,
    create_captured_function,
    format_config,
    load_config_file,
    make_read_only,
    resolve_config,
    save_config_file,
)
from sacred.exceptions import (
    ConfigAddedError,
    ConfigFileError,
    InvalidConfigError,
    NamedConfigNotFoundError,
    ReadOnlyConfigError,
    SignatureError,
)
from sacred.settings import SETTINGS, SettingsError


def cfg():
    a = 10
    b = 3 * a
    c = "foo"
    d = {"foo": 1, "bar": 2}


def variant1():
    """first variant"""
    a = 100
    c = "bar"


def variant2():
    c = "baz"


@pytest.fixture
def root():
    return ConfigNode(
        "",
        [ConfigScope(cfg)],
        {"variant1": ConfigScope(variant1), "variant2": ConfigScope(variant2)},
        captured_args={"used_somewhere", "d"},  # a function takes d: d.baz is "added"
    )


def no_seed(config):
    return {k: v for k, v in config.items() if k != "seed"}


def test_precedence_updates_over_named_configs_over_configs(root):
    assert no_seed(resolve_config(root).config)["b"] == 30
    assert no_seed(resolve_config(root, named_configs=["variant1"]).config) == {
        "a": 100,
        "b": 300,
        "c": "bar",
        "d": {"foo": 1, "bar": 2},
    }
    resolved = resolve_config(root, {"a": 23}, ["variant1"])
    assert (resolved.config["a"], resolved.config["b"], resolved.config["c"]) == (23, 69, "bar")
    later_wins = resolve_config(root, named_configs=["variant1", "variant2"]).config
    assert later_wins["c"] == "baz" and later_wins["a"] == 100


def test_dotted_updates_merge_into_dicts(root):
    config = resolve_config(root, {"d": {"foo": 5}}).config
    assert config["d"] == {"foo": 5, "bar": 2}
    assert resolve_config(root, {"d.bar": 7}).config["d"] == {"foo": 1, "bar": 7}


def test_config_file_as_named_config_wins_over_a_named_config(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "variant1").write_text("")  # not a config file: the named config is used
    assert resolve_config(root, named_configs=["variant1"]).config["c"] == "bar"
    (tmp_path / "my_variant.json").write_text('{"c": "from file", "a": 1}')
    config = resolve_config(root, named_configs=["my_variant.json"]).config
    assert (config["c"], config["b"]) == ("from file", 3)


@pytest.mark.parametrize(
    "named, error, fragment",
    [
        ("varient1", NamedConfigNotFoundError, 'Did you mean "variant1"'),
        (
            "nothing",
            NamedConfigNotFoundError,
            r"Named config not found: \"nothing\". "
            r"Available config values are: \('variant1', 'variant2'\)",
        ),
        ("missing.json", ConfigFileError, 'Config file "missing.json" does not exist'),
    ],
)
def test_unknown_named_configs(root, named, error, fragment):
    with pytest.raises(error, match=fragment):
        resolve_config(root, named_configs=[named])


def test_summary_records_modified_added_typechanged_and_docs(root):
    resolved = resolve_config(root, {"a": 1, "d": {"foo": True, "baz": 3}, "used_somewhere": 1})
    summary = resolved.summary
    assert summary.modified >= {"a", "d.foo", "d"}
    assert summary.added == {"d.baz", "used_somewhere"}
    assert summary.typechanged == {"d.foo": ("int", "bool")}
    assert summary.docs["seed"] == "the random seed for this experiment"


@pytest.mark.parametrize(
    "update, changed",
    [
        ({"a": 1.5}, False),  # int -> float is not a change of kind
        ({"c": None}, False),
        ({"a": "ten"}, True),
        ({"a": True}, True),
        ({"c": 3}, True),
    ],
)
def test_what_counts_as_a_type_change(root, update, changed):
    summary = resolve_config(root, update).summary
    assert bool(summary.typechanged) is changed


def test_numpy_scalars_are_not_type_changes(root):
    np = pytest.importorskip("numpy")
    summary = resolve_config(root, {"a": np.int64(5)}).summary
    assert summary.typechanged == {}


def test_an_update_used_nowhere_is_an_error_with_suggestions(root):
    with pytest.raises(ConfigAddedError) as info:
        resolve_config(root, {"bb": 1, "used_somewher": 2})
    message = str(info.value)
    assert '"bb"' in message and '"used_somewher"' in message
    assert 'Did you mean "b"' in message
    assert "Check the spelling" in message
    assert isinstance(info.value, KeyError)
    assert set(info.value.conflicting_configs) == {"bb", "used_somewher"}


def test_seed_is_random_unless_given(root):
    seeds = {resolve_config(root).config["seed"] for _ in range(5)}
    assert len(seeds) > 1
    assert resolve_config(root, {"seed": 42}).config["seed"] == 42


def test_config_hooks_update_the_configuration():
    seen = []

    def hook(config, command_name, logger):
        seen.append((config["a"], command_name))
        return {"hook": True, "a": config["a"] + 1}

    node = ConfigNode("", [ConfigDict({"a": 1})], config_hooks=[hook])
    resolved = resolve_config(node, command_name="main")
    assert (resolved.config["hook"], resolved.config["a"]) == (True, 2)
    assert seen == [(1, "main")]
    assert "hook" not in resolved.summary.added


def test_ingredients_in_topological_order_with_flat_and_nested_paths():
    order = []

    def recorder(name):
        def hook(config, command_name, logger):
            order.append(name)
            return {}

        return hook

    paths = ConfigNode("paths", [ConfigDict({"base": "/tmp"})], config_hooks=[recorder("paths")])

    def dataset_cfg(paths, path):
        filename = paths["base"] + "/" + path["name"]

    nested = ConfigNode(
        "dataset.path", [ConfigDict({"name": "train.csv"})], config_hooks=[recorder("dataset.path")]
    )
    dataset = ConfigNode(
        "dataset",
        [ConfigScope(dataset_cfg)],
        children=[paths, nested],
        config_hooks=[recorder("dataset")],
    )

    def root_cfg(dataset):
        size = len(dataset["filename"])

    root = ConfigNode(
        "", [ConfigScope(root_cfg)], children=[dataset, paths], config_hooks=[recorder("")]
    )
    resolved = resolve_config(root, {"dataset": {"path": {"name": "test.csv"}}})
    assert order == ["paths", "dataset.path", "dataset", ""]
    config = resolved.config
    assert config["paths"] == {"base": "/tmp"}
    assert config["dataset"]["path"] == {"name": "test.csv"}
    assert config["dataset"]["filename"] == "/tmp/test.csv"
    assert config["size"] == len("/tmp/test.csv")
    visible = resolved.ingredient_configs["dataset"]
    assert visible["path"] == {"name": "test.csv"} and visible["paths"] == {"base": "/tmp"}


def test_format_config_matches_the_documented_listing(root):
    resolved = resolve_config(root, {"seed": 1, "a": 6, "d": {"baz": 3, "foo": True}})
    text = format_config(resolved.config, resolved.summary)
    assert text.splitlines() == [
        "Configuration (modified, added, typechanged, doc):",
        "  a = 6",
        "  b = 18",
        "  c = 'foo'",
        "  seed = 1  # the random seed for this experiment",
        "  d:",
        "    bar = 2",
        "    baz = 3",
        "    foo = True",
    ]
    colored = format_config(resolved.config, resolved.summary, color=True)
    assert "\x1b[34m  a = 6\x1b[0m" in colored  # modified: blue
    assert "\x1b[32m    baz = 3\x1b[0m" in colored  # added: green
    assert "\x1b[31m    foo = True\x1b[0m" in colored  # typechanged: red


@pytest.mark.parametrize("extension", [".json", ".yaml", ".yml", ".pickle", ".toml"])
def test_config_files_round_trip(tmp_path, extension):
    config = {"a": 1, "b": {"c": [1, 2], "d": "text"}, "e": 2.5, "f": True}
    path = tmp_path / f"config{extension}"
    save_config_file(config, path)
    assert load_config_file(path) == config


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("conf.txt", "a=1", "unsupported extension '.txt'"),
        ("missing.json", None, "does not exist"),
        ("broken.json", "{not json", "could not be read as json"),
        ("list.json", "[1, 2]", "must contain a mapping of entries, not a list"),
        ("broken.yaml", "a: [1,", "could not be read as yaml"),
    ],
)
def test_config_file_errors(tmp_path, name, content, fragment):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigFileError, match=fragment.replace("(", r"\(")):
        load_config_file(path)


def test_config_dict_rejects_values_that_cannot_be_stored():
    with pytest.raises(InvalidConfigError, match='"model.layer"'):
        ConfigDict({"model": {"layer": object()}})
    assert ConfigDict({"t": (1, 2)})() == {"t": [1, 2]}


def test_read_only_values():
    config = make_read_only({"d": {"a": 1}, "items": [1, 2]})
    with pytest.raises(ReadOnlyConfigError, match='entry "d"'):
        config["d"]["a"] = 2
    with pytest.raises(ReadOnlyConfigError, match="READ_ONLY_CONFIG = False"):
        config["items"].append(3)
    with pytest.raises(ReadOnlyConfigError):
        config.update(x=1)
    assert json.loads(json.dumps(config)) == {"d": {"a": 1}, "items": [1, 2]}
    thawed = copy.deepcopy(config)
    thawed["d"]["a"] = 5
    assert type(pickle.loads(pickle.dumps(config))) is dict
    assert isinstance(config, dict) and isinstance(config["items"], list)


def test_captured_function_injection_priority_and_prefix():
    def some_function(a, foo, bar=10):
        return a, foo, bar

    captured = create_captured_function(some_function)
    captured.config = {"foo": 42, "bar": "baz"}
    assert captured(1, 2, 3) == (1, 2, 3)
    assert captured(1) == (1, 42, "baz")
    assert captured(1, bar=12) == (1, 42, 12)
    assert captured.__name__ == "some_function"

    def print_me(filename, path):
        return filename, path

    prefixed = create_captured_function(print_me, prefix="dataset.paths")
    prefixed.config = {"dataset": {"paths": {"filename": "foo.txt", "path": "/tmp/"}}}
    assert prefixed() == ("foo.txt", "/tmp/")


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda f: f(), "some_function is missing value(s): ['a']"),
        (lambda f: f(1, 2, 3, 4), "takes 3 positional argument(s) but 4 were given"),
        (lambda f: f(1, nope=2), "unexpected keyword argument(s): 'nope'"),
        (lambda f: f(1, a=2), "multiple values for argument 'a'"),
    ],
)
def test_captured_function_errors_name_function_and_parameter(call, fragment):
    def some_function(a, foo, bar=10):
        return a

    captured = create_captured_function(some_function)
    captured.config = {"foo": 1}
    with pytest.raises(SignatureError) as info:
        call(captured)
    assert fragment in str(info.value)
    assert isinstance(info.value, TypeError)


def test_special_values():
    import logging
    import random

    def special(_config, _seed, _rnd, _log, _run, a):
        return _config, _seed, _rnd, _log, _run, a

    captured = create_captured_function(special)
    captured.config = {"a": 1}
    captured.logger = logging.getLogger("x")
    captured.run = "the run"
    captured.rnd = random.Random(5)
    config, seed, rnd, log, run, a = captured()
    assert config == {"a": 1} and log.name == "x" and run == "the run" and a == 1
    assert isinstance(seed, int) and 1 <= rnd.randint(1, 100) <= 100
    assert captured()[1] != seed  # a new seed every call


@pytest.mark.parametrize(
    "assignment, fragment",
    [
        (
            lambda: setattr(SETTINGS.CONFIG, "READ_ONLY_CONFIGS", False),
            "Did you mean 'READ_ONLY_CONFIG'",
        ),
        (lambda: SETTINGS.__setitem__("CAPTURE_MODE", "files"), "one of 'no', 'sys', 'fd'"),
        (lambda: setattr(SETTINGS.HOST_INFO, "INCLUDE_GPU_INFO", "no"), "True or False"),
        (lambda: setattr(SETTINGS, "DEFAULT_BEAT_INTERVAL", "10"), "a number"),
        (lambda: SETTINGS["NOPE"], "has no setting 'NOPE'"),
    ],
)
def test_settings_are_validated(assignment, fragment):
    with pytest.raises(SettingsError, match=fragment.replace("(", r"\(")):
        assignment()


def test_settings_dict_and_attribute_access():
    SETTINGS["HOST_INFO"]["INCLUDE_GPU_INFO"] = False
    assert SETTINGS.HOST_INFO.INCLUDE_GPU_INFO is False
    SETTINGS.HOST_INFO.CAPTURED_ENV = ["HOME"]
    assert SETTINGS["HOST_INFO"]["CAPTURED_ENV"] == ["HOME"]
    assert set(SETTINGS.CONFIG) == {
        "ENFORCE_KEYS_MONGO_COMPATIBLE",
        "ENFORCE_KEYS_JSONPICKLE_COMPATIBLE",
        "ENFORCE_VALID_PYTHON_IDENTIFIER_KEYS",
        "ENFORCE_STRING_KEYS",
        "ENFORCE_KEYS_NO_EQUALS",
        "IGNORED_COMMENTS",
        "READ_ONLY_CONFIG",
    }


RANDOMNESS = """
import random, sys
{block}
from sacred.randomness import create_rnd, derive_seed, get_seed, set_global_seed
rnd = random.Random(derive_seed(12345, "", "f"))
draws = [create_rnd(get_seed(rnd)).randint(1, 100) for _ in range(3)]
set_global_seed(7)
first = random.random()
set_global_seed(7)
print(draws, type(create_rnd(1)).__name__, first == random.random())
"""


@pytest.mark.parametrize("numpy_available", [True, False])
def test_randomness_with_and_without_numpy(numpy_available):
    block = "" if numpy_available else "sys.modules['numpy'] = None  # numpy unimportable"
    outputs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", RANDOMNESS.format(block=block)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        outputs.append(out)
    assert outputs[0] == outputs[1]  # deterministic given the root seed
    assert outputs[0][-2] == ("Generator" if numpy_available else "Random")
    assert outputs[0][-1] == "True"


def test_numpy_is_seeded_when_imported_after_the_seed():
    code = (
        "from sacred.randomness import set_global_seed\n"
        "set_global_seed(3)\n"
        "import numpy\n"
        "print(numpy.random.rand())\n"
    )
    a = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    b = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert a == b and a.strip()


def test_legacy_numpy_api():
    np = pytest.importorskip("numpy")
    from sacred.randomness import create_rnd

    SETTINGS.NUMPY_RANDOM_LEGACY_API = True
    assert isinstance(create_rnd(1), np.random.RandomState)
