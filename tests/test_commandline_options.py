"""The flags and what they do to a Run (sacred.commandline_options)."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from sacred.commandline_options import (
    DEFAULT_OPTIONS,
    CLIOption,
    _observer_option,
    cli_option,
    get_option,
    normalize_options,
)
from sacred.config.config_summary import ConfigSummary
from sacred.exceptions import CommandLineError, RepositoryDirtyError
from sacred.run import Run


@pytest.fixture
def run() -> Run:
    logger = logging.getLogger("test_cli_options")
    logger.setLevel(logging.INFO)
    return Run(
        config={"a": 1, "seed": 3},
        config_modifications=ConfigSummary(),
        main_function=lambda: None,
        observers=[],
        root_logger=logger,
        run_logger=logger.getChild("exp"),
        experiment_info={"name": "exp", "repositories": []},
        host_info={},
        pre_run_hooks=[],
        post_run_hooks=[],
    )


# -- the documented flags -------------------------------------------------------------------

DOCUMENTED = [
    ("-h", "--help", None),
    ("-c", "--comment", "COMMENT"),
    ("-l", "--loglevel", "LEVEL"),
    ("-m", "--mongo_db", "DB"),
    ("-F", "--file_storage", "BASEDIR"),
    ("-t", "--tiny_db", "BASEDIR"),
    ("-s", "--sql", "DB_URL"),
    ("-S", "--s3", "BUCKET_PATH"),  # not in the documented listing; 0.8.7 has it
    ("-d", "--debug", None),
    ("-D", "--pdb", None),
    ("-b", "--beat_interval", "BEAT_INTERVAL"),
    ("-u", "--unobserved", None),
    ("-q", "--queue", None),
    ("-P", "--priority", "PRIORITY"),
    ("-e", "--enforce_clean", None),
    ("-p", "--print_config", None),
    ("-n", "--name", "NAME"),
    ("-i", "--id", "ID"),
    ("-C", "--capture", "CAPTURE_MODE"),
    ("-f", "--force", None),
]


def test_default_options_in_documented_spelling_and_order():
    actual = [(o.short_flag, o.long_flag, o.metavar) for o in DEFAULT_OPTIONS]
    assert actual == DOCUMENTED
    for option in DEFAULT_OPTIONS:
        assert option.is_flag == (option.metavar is None)
        assert option.key == option.long_flag
        assert option.description, option


def test_cli_option_decorator_flag():
    @cli_option("-o", "--own-flag", is_flag=True)
    def my_option(args, run):
        """Add some string to the info dict.

        A second paragraph with details.
        """
        run.info["some"] = "prepopulation of the info dict"

    assert isinstance(my_option, CLIOption)
    assert my_option.short_flag == "-o"
    assert my_option.long_flag == "--own-flag"
    assert my_option.key == "--own_flag"
    assert my_option.is_flag is True
    assert my_option.metavar is None
    assert my_option.description == "Add some string to the info dict."
    assert my_option.doc.endswith("A second paragraph with details.")
    assert my_option.spellings == ["-o", "--own-flag", "--own_flag"]


def test_cli_option_decorator_valued(run):
    @cli_option("-o", "--own-flag")
    def improved_option(args, run):
        """
        This is my even better personal flag
        The cool message that gets saved to info.
        """
        run.info["some"] = args

    assert improved_option.is_flag is False
    assert improved_option.metavar == "OWN_FLAG"
    assert improved_option.description == (
        "This is my even better personal flag The cool message that gets saved to info."
    )
    improved_option("hello", run)
    assert run.info == {"some": "hello"}
    improved_option.apply("again", run)
    assert run.info == {"some": "again"}
    assert improved_option.apply_function.__name__ == "improved_option"


def test_cli_option_custom_metavar_and_no_short_flag():
    @cli_option(None, "--message", metavar="MESSAGE")
    def message(args, run):
        """Save a message."""

    assert message.metavar == "MESSAGE"
    assert message.spellings == ["--message"]
    assert repr(message) == "<CLIOption --message>"


def test_cli_option_public_import():
    from sacred import cli_option as public

    assert public is cli_option


@pytest.mark.parametrize(
    "short,long,fragment",
    [
        ("o", "--own", "short flag must be a dash and one letter"),
        ("-oo", "--own", "short flag must be a dash and one letter"),
        ("-o", "-own", "long flag must be two dashes and a name"),
        ("-o", "--", "long flag must be two dashes and a name"),
        ("-o", "--own flag", "long flag must be two dashes and a name"),
    ],
)
def test_cli_option_bad_flag_names(short, long, fragment):
    with pytest.raises(ValueError, match=fragment):

        @cli_option(short, long)
        def option(args, run):
            pass


def test_comment(run):
    get_option("-c")("my comment", run)
    assert run.meta_info["comment"] == "my comment"


@pytest.mark.parametrize(
    "value,level",
    [("ERROR", 40), ("error", 40), ("Warning", 30), ("DEBUG", 10), ("50", 50), (20, 20)],
)
def test_loglevel(run, value, level):
    get_option("--loglevel")(value, run)
    assert run.root_logger.level == level


def test_beat_interval(run):
    get_option("-b")("2.5", run)
    assert run.beat_interval == 2.5
    get_option("--beat-interval")("3", run)
    assert run.beat_interval == 3.0
    assert isinstance(run.beat_interval, float)


@pytest.mark.parametrize(
    "flag,attribute",
    [
        ("-u", "unobserved"),
        ("-q", "queue_only"),
        ("-d", "debug"),
        ("-D", "pdb"),
        ("-f", "force"),
    ],
)
def test_boolean_flags(run, flag, attribute):
    assert getattr(run, attribute) is False
    get_option(flag)(True, run)
    assert getattr(run, attribute) is True


@pytest.mark.parametrize("value,expected", [("3", 3), ("-1", -1), ("2.5", 2.5), ("1e2", 100)])
def test_priority(run, value, expected):
    get_option("-P")(value, run)
    assert run.meta_info["priority"] == expected
    assert type(run.meta_info["priority"]) is type(expected)


def test_name(run):
    get_option("--name")("other_name", run)
    assert run.experiment_info["name"] == "other_name"
    assert run.run_logger.name.endswith("other_name")


@pytest.mark.parametrize("value,expected", [("17", 17), ("abc", "abc"), ("run-3", "run-3")])
def test_id(run, value, expected):
    get_option("-i")(value, run)
    assert run._id == expected


@pytest.mark.parametrize("mode", ["no", "sys", "fd", "FD", " Sys"])
def test_capture(run, mode):
    get_option("-C")(mode, run)
    assert run.capture_mode == mode.strip().lower()


def test_print_config_adds_a_first_pre_run_hook(run, capsys):
    run.pre_run_hooks.append(lambda: print("other hook"))
    get_option("-p")(True, run)
    assert len(run.pre_run_hooks) == 2
    for hook in run.pre_run_hooks:
        hook()
    out = capsys.readouterr().out
    assert out.index("Configuration (modified, added, typechanged") < out.index("other hook")
    assert "a = 1" in out


def test_enforce_clean_passes_for_clean_repositories(run):
    run.experiment_info["repositories"] = [
        {"url": "git@host:r.git", "commit": "ab" * 20, "dirty": False}
    ]
    get_option("-e")(True, run)


def test_enforce_clean_fails_for_a_dirty_repository(run):
    run.experiment_info["repositories"] = [
        {"url": "git@host:clean.git", "commit": "cd" * 20, "dirty": False},
        {"url": "git@host:dirty.git", "commit": "ab" * 20, "dirty": True},
    ]
    with pytest.raises(RepositoryDirtyError) as info:
        get_option("--enforce_clean")(True, run)
    message = str(info.value)
    assert "git@host:dirty.git" in message
    assert "clean.git" not in message
    assert "uncommitted changes" in message
    assert "Commit" in message and "without -e" in message


def test_enforce_clean_fails_without_repositories(run):
    with pytest.raises(RepositoryDirtyError, match="no git repository was found"):
        get_option("-e")(True, run)


def test_file_storage_flag_adds_an_observer(run, tmp_path):
    from sacred.observers import FileStorageObserver

    get_option("-F")(str(tmp_path / "runs"), run)
    get_option("--file-storage")(str(tmp_path / "more"), run)
    assert [type(o) for o in run.observers] == [FileStorageObserver, FileStorageObserver]


def test_sql_flag_adds_an_observer(run, tmp_path):
    pytest.importorskip("sqlalchemy")
    from sacred.observers.sql import SqlObserver

    get_option("-s")(f"sqlite:///{tmp_path / 'runs.db'}", run)
    assert isinstance(run.observers[0], SqlObserver)


def test_tiny_db_flag_adds_an_observer(run, tmp_path):
    pytest.importorskip("tinydb")
    pytest.importorskip("hashfs")
    from sacred.observers.tinydb_hashfs import TinyDbObserver

    get_option("-t")(str(tmp_path / "tiny"), run)
    assert isinstance(run.observers[0], TinyDbObserver)


def test_mongo_flag_with_an_unreadable_value(run):
    with pytest.raises(CommandLineError, match=r"^-m/--mongo_db: cannot read 'a:b:c:d:e'"):
        get_option("-m")("a:b:c:d:e", run)
    assert run.observers == []


def test_sql_flag_with_a_bad_url(run):
    pytest.importorskip("sqlalchemy")
    with pytest.raises(CommandLineError, match=r"^-s/--sql: cannot use 'not a url'"):
        get_option("-s")("not a url", run)


def test_missing_driver_names_the_package_and_the_extra(run, monkeypatch):
    from sacred._extras import ExtraNotInstalled

    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as if it was not installed
    # the flag is taken (print_config needs no database); the run's first event says it
    get_option("--sql")("sqlite:///x.db", run)
    with pytest.raises(ExtraNotInstalled) as info:
        run.observers[0].connect()
    assert str(info.value) == (
        "SqlObserver needs the sqlalchemy package, which is not installed: "
        "pip install 'sacred[sql]'"
    )


def test_missing_driver_at_import_time(run, tmp_path, monkeypatch):
    (tmp_path / "h3_fake_observer.py").write_text(
        textwrap.dedent(
            """
            import h3_no_such_driver

            class FakeObserver:
                @classmethod
                def from_cli(cls, value):
                    return cls()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    option = _observer_option(
        "-k", "--fake", "URL", "h3_fake_observer:FakeObserver", "fake", None, "A fake."
    )
    with pytest.raises(CommandLineError) as info:
        option("x", run)
    assert (
        str(info.value)
        == "-k/--fake needs the h3_no_such_driver package: pip install 'sacred[fake]'"
    )


def test_observer_module_of_sacred_missing_is_not_blamed_on_a_driver(run):
    option = _observer_option(
        "-k", "--fake", "URL", "sacred.observers.h3_missing:Nope", "fake", None, "A fake."
    )
    with pytest.raises(CommandLineError, match="could not be loaded"):
        option("x", run)


def test_observer_from_cli_receives_the_value(run, tmp_path, monkeypatch):
    (tmp_path / "h3_recording_observer.py").write_text(
        textwrap.dedent(
            """
            class RecordingObserver:
                def __init__(self, value):
                    self.value = value

                @classmethod
                def from_cli(cls, value):
                    return cls(value)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    option = _observer_option(
        "-k", "--rec", "URL", "h3_recording_observer:RecordingObserver", "x", None, "Doc."
    )
    option("some://where", run)
    assert run.observers[0].value == "some://where"
    assert option.description == "Doc."


# -- value checks ---------------------------------------------------------------------------

BAD_VALUES = [
    ("-l", "LOUD", "-l/--loglevel: unknown log level 'LOUD'. Use one of CRITICAL, ERROR,"),
    ("-l", "warn", 'Did you mean "WARNING"?'),
    ("-l", "", "unknown log level ''"),
    ("-b", "0", "-b/--beat_interval needs a positive number of seconds"),
    ("-b", "-1", "'-1'"),
    ("-b", "nan", "'nan'"),
    ("-b", "inf", "'inf'"),
    ("-b", "fast", "'fast'"),
    ("-P", "high", "-P/--priority needs a number"),
    ("-P", "nan", "-P/--priority needs a number"),
    ("-C", "file", "-C/--capture: unknown capture mode 'file'."),
    ("-C", "fdd", 'Did you mean "fd"?'),
    ("-n", "  ", "-n/--name needs a non-empty value."),
    ("-i", "", "-i/--id needs a non-empty value."),
    ("-F", "", "-F/--file_storage needs a non-empty value."),
]


@pytest.mark.parametrize("flag,value,fragment", BAD_VALUES)
def test_bad_values_are_rejected_when_checked(flag, value, fragment):
    option = get_option(flag)
    with pytest.raises(CommandLineError) as info:
        option.validate(value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("flag,value,fragment", [v for v in BAD_VALUES if v[0] in "-l-b-P-C"])
def test_bad_values_are_rejected_when_applied(run, flag, value, fragment):
    with pytest.raises((CommandLineError, ValueError)):
        get_option(flag)(value, run)


def test_validate_ignores_unset_values_and_flags():
    get_option("-b").validate(None)
    get_option("-u").validate(True)
    get_option("-c").validate("anything at all")


# -- lookup and normalization ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["--beat_interval", "--beat-interval", "beat_interval", "beat-interval", "-b"]
)
def test_get_option_spellings(name):
    assert get_option(name).key == "--beat_interval"


def test_get_option_short_flags_are_case_sensitive():
    assert get_option("-p").key == "--print_config"
    assert get_option("-P").key == "--priority"
    assert get_option("-d").key == "--debug"
    assert get_option("-D").key == "--pdb"


@pytest.mark.parametrize(
    "name,fragment",
    [
        ("--beat_intervall", 'Did you mean "--beat_interval"'),
        ("loglvl", 'Did you mean "--loglevel"'),
        ("-z", "Unknown option '-z'."),
        ("--zzz", "Valid options: --help, --comment"),
    ],
)
def test_get_option_unknown(name, fragment):
    with pytest.raises(CommandLineError) as info:
        get_option(name)
    assert fragment in str(info.value)


def test_get_option_custom_options():
    @cli_option("-o", "--own-flag", is_flag=True)
    def own(args, run):
        """Own."""

    options = DEFAULT_OPTIONS + [own]
    assert get_option("--own-flag", options) is own
    assert get_option("own_flag", options) is own
    assert get_option("-o", options) is own
    with pytest.raises(CommandLineError):
        get_option("-o")


def test_normalize_options_canonical_keys():
    options = {
        "--beat-interval": "3",
        "loglevel": "ERROR",
        "-u": True,
        "--print_config": True,
        "COMMAND": "main",
        "UPDATE": ["a=1"],
        "help": False,
        "with": True,
    }
    assert normalize_options(options, DEFAULT_OPTIONS) == {
        "--beat_interval": "3",
        "--loglevel": "ERROR",
        "--unobserved": True,
        "--print_config": True,
        "COMMAND": "main",
        "UPDATE": ["a=1"],
        "help": False,
        "with": True,
    }


def test_normalize_options_unknown_key():
    with pytest.raises(
        CommandLineError, match='Unknown option .--beat_intervl.. Did you mean "--beat_interval"'
    ):
        normalize_options({"--beat_intervl": 3}, DEFAULT_OPTIONS)


def test_normalize_options_checks_values():
    with pytest.raises(CommandLineError, match="-l/--loglevel: unknown log level 'LOUD'"):
        normalize_options({"--loglevel": "LOUD"}, DEFAULT_OPTIONS)
    assert normalize_options({"--loglevel": 10}, DEFAULT_OPTIONS) == {"--loglevel": 10}
    assert normalize_options({"-b": None}, DEFAULT_OPTIONS) == {"--beat_interval": None}


def test_normalize_options_same_option_twice():
    with pytest.raises(CommandLineError, match="given twice"):
        normalize_options({"--beat_interval": 1, "-b": 2}, DEFAULT_OPTIONS)


def test_help_option_does_nothing_to_a_run(run):
    before = dict(vars(run))
    get_option("-h")(True, run)
    assert vars(run).keys() == before.keys()
