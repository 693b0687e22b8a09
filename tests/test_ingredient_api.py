"""Ingredient and host-info calls as users' scripts make them (issue 22 §4): dotted
names from gather_*, errors at the call for bad sources and versions, the named-config
error in the original's words, and the deprecated host_info_getter."""

from __future__ import annotations

import os
import warnings

import pytest

from sacred import Experiment, Ingredient
from sacred.utils import NamedConfigNotFoundError


@pytest.fixture
def ex():
    ing2 = Ingredient("ing2")

    @ing2.named_config
    def named_config2():
        a = 1  # noqa: F841

    other = Ingredient("other", ingredients=[ing2])

    @other.command
    def bar():
        pass

    ex = Experiment("dotted", ingredients=[other], save_git_info=False)

    @ex.named_config
    def named_config1():
        b = 2  # noqa: F841

    @ex.command
    def foo():
        pass

    @ex.main
    def main():
        return 0

    return ex


def test_gather_commands_yields_full_dotted_names(ex):
    commands = dict(ex.gather_commands())
    assert {"foo", "main", "other.bar"} <= set(commands)
    assert commands["other.bar"].__name__ == "bar"
    assert "bar" not in commands


def test_gather_named_configs_yields_full_dotted_names(ex):
    assert [name for name, _ in ex.gather_named_configs()] == [
        "named_config1",
        "ing2.named_config2",
    ]


def test_an_unknown_named_config_lists_the_available_ones_in_the_originals_words(ex):
    with pytest.raises(NamedConfigNotFoundError) as info:
        ex.run(named_configs=["named_config3"], options={"--loglevel": "ERROR"})
    message = str(info.value)
    assert message.startswith(
        'Named config not found: "named_config3". Available config values are: '
        "('ing2.named_config2', 'named_config1')"
    )
    assert 'Did you mean "named_config1"' in message
    assert info.value.available_named_configs == ("ing2.named_config2", "named_config1")


def test_add_source_file_refuses_a_missing_file_at_the_call(tmp_path):
    ex = Experiment("sources", save_git_info=False)
    with pytest.raises(FileNotFoundError, match="no_such_file.py"):
        ex.add_source_file(str(tmp_path / "no_such_file.py"))
    present = tmp_path / "helper.py"
    present.write_text("x = 1\n")
    ex.add_source_file(str(present))
    sources = [name for name, _ in ex.get_experiment_info()["sources"]]
    assert any(os.path.basename(name) == "helper.py" for name in sources)


@pytest.mark.parametrize("version", ["not a version", "1.2.x", "", "==1.0", None, 1.2])
def test_add_package_dependency_refuses_an_invalid_version_at_the_call(version):
    ex = Experiment("deps", save_git_info=False)
    with pytest.raises(ValueError, match="Invalid Version"):
        ex.add_package_dependency("mypackage", version)


@pytest.mark.parametrize("version", ["1.0", "2.0rc1", "1!2.3.post4.dev5", "0.8.7+local.1"])
def test_add_package_dependency_records_a_valid_version(version):
    ex = Experiment("deps", save_git_info=False)
    ex.add_package_dependency("mypackage", version)
    assert f"mypackage=={version}" in ex.get_experiment_info()["dependencies"]


def test_the_deprecated_host_info_getter_returns_the_function():
    from sacred.host_info import get_host_info, host_info_gatherers, host_info_getter

    def my_machine_room():
        return "room 42"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert host_info_getter(my_machine_room) is my_machine_room
        named = host_info_getter(name="room")(my_machine_room)
    try:
        assert named is my_machine_room
        assert get_host_info()["my_machine_room"] == "room 42"
        assert get_host_info()["room"] == "room 42"
    finally:
        host_info_gatherers.pop("my_machine_room", None)
        host_info_gatherers.pop("room", None)
