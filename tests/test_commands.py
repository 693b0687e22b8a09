"""The built-in commands and their printed output (sacred.commands)."""

from __future__ import annotations

import json
import logging
import pickle
from types import SimpleNamespace

import pytest
import yaml

from sacred.commands import (
    format_dependencies,
    format_named_configs,
    make_print_named_configs,
    print_config,
    print_dependencies,
    save_config,
)
from sacred.config import ConfigDict, ConfigScope
from sacred.config.config_summary import ConfigSummary
from sacred.config.custom_containers import make_read_only

GREY = "\x1b[90m"


class _TTY:
    """A stdout that says it is a terminal."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def getvalue(self) -> str:
        return "".join(self.parts)


# -- print_config ---------------------------------------------------------------------------


def _config_run() -> SimpleNamespace:
    summary = ConfigSummary(
        added={"d.baz"},
        modified={"recipient", "d"},
        typechanged={"d.foo": ("int", "bool")},
    )
    config = {
        "message": "Hello Bob!",
        "recipient": "Bob",
        "seed": 676870791,
        "d": {"bar": 2, "baz": 3, "foo": True},
    }
    return SimpleNamespace(config=config, config_modifications=summary)


def test_print_config_plain(capsys):
    print_config(_config_run())
    out = capsys.readouterr().out
    assert out.startswith("Configuration (modified, added, typechanged")
    assert "\x1b[" not in out
    lines = [line.strip() for line in out.splitlines()]
    assert lines[1:] == [
        "message = 'Hello Bob!'",
        "recipient = 'Bob'",
        "seed = 676870791",
        "d:",
        "bar = 2",
        "baz = 3",
        "foo = True",
    ]


def test_print_config_colored_on_a_terminal(monkeypatch):
    tty = _TTY()
    monkeypatch.setattr("sys.stdout", tty)
    print_config(_config_run())
    out = tty.getvalue()
    assert "\x1b[34m" in out  # modified: blue
    assert "\x1b[32m" in out  # added: green
    assert "\x1b[31m" in out  # typechanged: red
    red_line = next(line for line in out.splitlines() if "\x1b[31m" in line)
    assert "foo = True" in red_line


# -- print_dependencies ---------------------------------------------------------------------

INFO = {
    "name": "hello_cs",
    "dependencies": ["numpy==1.11.0", "sacred==0.7.0"],
    "sources": [["03_hello_config_scope.py", "53cee32c9dc77870f7b39622434aff85"]],
    "repositories": [
        {
            "url": "git@github.com:IDSIA/sacred.git",
            "commit": "bcdde712957570606ec5087b1748c60a89bb89e0",
            "dirty": True,
        }
    ],
}


def test_print_dependencies_documented_example(capsys):
    print_dependencies(SimpleNamespace(experiment_info=INFO))
    assert capsys.readouterr().out == (
        "Dependencies:\n"
        "  numpy  == 1.11.0\n"
        "  sacred == 0.7.0\n"
        "\n"
        "Sources:\n"
        "  03_hello_config_scope.py 53cee32c9dc77870f7b39622434aff85\n"
        "\n"
        "Version Control:\n"
        "M git@github.com:IDSIA/sacred.git bcdde712957570606ec5087b1748c60a89bb89e0\n"
    )


def test_print_dependencies_alignment_and_clean_repositories():
    info = {
        "dependencies": ["a==1", "longer_name==2.0", "nover"],
        "sources": [["x.py", "1" * 32], ["lib/helpers.py", "2" * 32]],
        "repositories": [
            {"url": "/repos/one", "commit": "c1", "dirty": False},
            {"url": "/repos/two", "commit": "c2", "dirty": True},
        ],
    }
    assert format_dependencies(info).splitlines() == [
        "Dependencies:",
        "  a           == 1",
        "  longer_name == 2.0",
        "  nover       == <unknown>",
        "",
        "Sources:",
        "  x.py           " + "1" * 32,
        "  lib/helpers.py " + "2" * 32,
        "",
        "Version Control:",
        "  /repos/one c1",
        "M /repos/two c2",
    ]


def test_print_dependencies_without_anything():
    assert format_dependencies({}) == "Dependencies:\n\nSources:"


# -- save_config ----------------------------------------------------------------------------


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("test_commands.save_config")


CONFIG = {"message": "Hello Bob!", "recipient": "Bob", "seed": 151625947, "d": {"a": [1, 2]}}


def test_save_config_json_default_name(tmp_path, monkeypatch, log, caplog):
    monkeypatch.chdir(tmp_path)
    config = make_read_only(dict(CONFIG, config_filename="config.json"))
    with caplog.at_level(logging.INFO):
        save_config(config, log)
    assert json.loads((tmp_path / "config.json").read_text()) == CONFIG
    assert 'Saving config to "config.json"' in caplog.text


def test_save_config_yaml(tmp_path, log, caplog):
    target = tmp_path / "mine.yaml"
    with caplog.at_level(logging.INFO):
        save_config(dict(CONFIG, config_filename=str(target)), log, config_filename=str(target))
    assert yaml.safe_load(target.read_text()) == CONFIG
    assert f'Saving config to "{target}"' in caplog.text


def test_save_config_pickle(tmp_path, log):
    target = tmp_path / "c.pickle"
    save_config(make_read_only(CONFIG), log, config_filename=str(target))
    loaded = pickle.loads(target.read_bytes())
    assert loaded == CONFIG
    assert type(loaded) is dict and type(loaded["d"]) is dict


def test_save_config_does_not_change_the_run_config(tmp_path, log):
    config = dict(CONFIG, config_filename="x.json")
    save_config(config, log, config_filename=str(tmp_path / "x.json"))
    assert config["config_filename"] == "x.json"


def test_save_config_unsupported_extension(tmp_path, log):
    from sacred.exceptions import ConfigFileError

    with pytest.raises(ConfigFileError, match="unsupported extension"):
        save_config(CONFIG, log, config_filename=str(tmp_path / "c.txt"))


# -- print_named_configs --------------------------------------------------------------------


def _rude():
    """A rude named config"""
    recipient = "bastard"


def _multi():
    """First line.

    Third line.
    """
    a = 1


def _nodoc():
    a = 2


class _FakeIngredient:
    def __init__(self, named: list) -> None:
        self.named = named

    def gather_named_configs(self):
        yield from self.named


def test_print_named_configs_documented_example(capsys):
    command = make_print_named_configs(_FakeIngredient([("rude", ConfigScope(_rude))]))
    assert command.__name__ == "print_named_configs"
    assert command.__doc__.startswith("Print the available named configs")
    command(None)
    assert capsys.readouterr().out == "Named Configurations (doc):\n  rude  # A rude named config\n"


def test_print_named_configs_without_any(capsys):
    make_print_named_configs(_FakeIngredient([]))(None)
    assert capsys.readouterr().out == "Named Configurations (doc):\n  No named configs\n"


def test_print_named_configs_many_kinds():
    entries = [
        ("rude", ConfigScope(_rude)),
        ("dataset.multi", ConfigScope(_multi)),
        ("nodoc", ConfigScope(_nodoc)),
        ("as_dict", ConfigDict({"a": 1})),
        ("from_file", "variant.json"),
    ]
    assert format_named_configs(entries).splitlines() == [
        "Named Configurations (doc):",
        "  rude           # A rude named config",
        "  dataset.multi  # First line.",
        "                 #",
        "                 # Third line.",
        "  nodoc",
        "  as_dict",
        "  from_file      # (config file variant.json)",
    ]


def test_print_named_configs_docs_are_grey_on_a_terminal(monkeypatch):
    tty = _TTY()
    monkeypatch.setattr("sys.stdout", tty)
    make_print_named_configs(_FakeIngredient([("rude", ConfigScope(_rude))]))(None)
    assert tty.getvalue() == (
        f"Named Configurations ({GREY}doc\x1b[0m):\n  rude  {GREY}# A rude named config\x1b[0m\n"
    )


def test_print_named_configs_sees_configs_added_later(capsys):
    ingredient = _FakeIngredient([])
    command = make_print_named_configs(ingredient)
    ingredient.named.append(("late", ConfigScope(_rude)))
    command(None)
    assert "late  # A rude named config" in capsys.readouterr().out
