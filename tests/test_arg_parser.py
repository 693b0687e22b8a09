"""The command-line grammar, config updates and help texts (sacred.arg_parser)."""

from __future__ import annotations

import pytest

from sacred.arg_parser import format_command_help, format_usage, get_config_updates, parse_args
from sacred.commandline_options import DEFAULT_OPTIONS, CLIOption, cli_option
from sacred.exceptions import CommandLineError
from sacred.settings import SETTINGS


@cli_option("-o", "--own-flag", is_flag=True)
def own_flag(args, run):
    """My own flag."""


@cli_option("-x", "--own_value")
def own_value(args, run):
    """This is my even better personal flag

    The cool message that gets saved to info.
    """


COMMANDS = {
    "main": "",
    "greet": "Print a simple greet message.",
    "print_config": "Print the updated configuration and exit.",
    "dataset.show": "Show the dataset.",
}
OPTIONS = DEFAULT_OPTIONS + [own_flag, own_value]


def parse(argv: str | list[str]) -> dict:
    if isinstance(argv, str):
        argv = argv.split()
    return parse_args(argv, commands=COMMANDS, options=OPTIONS, program_name="demo.py")


def changed(result: dict) -> dict:
    """Only the flags that were set."""
    return {k: v for k, v in result.items() if k.startswith("--") and v not in (None, False)}


# -- grammar --------------------------------------------------------------------------------


def test_empty_command_line_gives_defaults():
    result = parse([])
    assert result["COMMAND"] is None
    assert result["UPDATE"] == []
    assert result["help"] is False
    assert result["with"] is False
    assert changed(result) == {}
    for option in OPTIONS:
        assert result[option.key] == (False if option.is_flag else None)


def test_command_and_updates():
    result = parse(["greet", "with", "name=Bob", "variant1", "d.foo=100"])
    assert result["COMMAND"] == "greet"
    assert result["with"] is True
    assert result["UPDATE"] == ["name=Bob", "variant1", "d.foo=100"]


def test_with_without_command():
    result = parse("with a=10")
    assert result["COMMAND"] is None
    assert result["UPDATE"] == ["a=10"]


def test_ingredient_command_by_dotted_name():
    assert parse("dataset.show")["COMMAND"] == "dataset.show"


@pytest.mark.parametrize(
    "argv",
    [
        "-l WARNING greet with a=1",
        "greet -l WARNING with a=1",
        "greet with -l WARNING a=1",
        "greet with a=1 -l WARNING",
        "greet with a=1 --loglevel=WARNING",
        "greet with a=1 --loglevel WARNING",
    ],
)
def test_flags_anywhere_after_the_script_name(argv):
    result = parse(argv)
    assert result["COMMAND"] == "greet"
    assert result["UPDATE"] == ["a=1"]
    assert result["--loglevel"] == "WARNING"


@pytest.mark.parametrize(
    "argv",
    [
        "-b 3",
        "-b3",
        "-b=3",
        "--beat_interval 3",
        "--beat_interval=3",
        "--beat-interval 3",
        "--beat-interval=3",
    ],
)
def test_valued_flag_spellings(argv):
    assert changed(parse(argv)) == {"--beat_interval": "3"}


@pytest.mark.parametrize(
    "argv", ["-p", "--print_config", "--print-config", "with a=1 -p", "with --print-config"]
)
def test_flag_spellings(argv):
    assert changed(parse(argv)) == {"--print_config": True}


def test_combined_short_flags():
    assert changed(parse("-uq")) == {"--unobserved": True, "--queue": True}
    assert changed(parse("-ub 2")) == {"--unobserved": True, "--beat_interval": "2"}
    assert changed(parse("-ub2")) == {"--unobserved": True, "--beat_interval": "2"}


# Every documented flag, each in all of its spellings.
VALUES = {
    "--comment": "a comment",
    "--loglevel": "ERROR",
    "--mongo_db": "localhost:27017:sacred",
    "--file_storage": "runs",
    "--tiny_db": "tinyruns",
    "--sql": "sqlite:///runs.db",
    "--s3": "s3://bucket/runs",
    "--beat_interval": "2.5",
    "--priority": "-3",
    "--name": "my_run",
    "--id": "17",
    "--capture": "sys",
}
SPELLINGS = [
    (option.key, spelling)
    for option in DEFAULT_OPTIONS
    for spelling in option.spellings
    if option.key != "--help"
]


@pytest.mark.parametrize("key,spelling", SPELLINGS, ids=[s for _, s in SPELLINGS])
def test_every_documented_flag_in_every_spelling(key, spelling):
    if key in VALUES:
        expected = VALUES[key]
        assert changed(parse([spelling, expected])) == {key: expected}
        if spelling.startswith("--"):
            assert changed(parse([f"{spelling}={expected}"])) == {key: expected}
        else:
            assert changed(parse([spelling + expected])) == {key: expected}
    else:
        assert changed(parse([spelling])) == {key: True}


def test_custom_options_flag_and_valued():
    for spelling in ("-o", "--own-flag", "--own_flag"):
        assert changed(parse([spelling])) == {"--own_flag": True}
    for argv in (["-x", "hi there"], ["--own_value=hi there"], ["--own-value", "hi there"]):
        assert changed(parse(argv)) == {"--own_value": "hi there"}


def test_values_that_look_like_flags_or_updates_are_taken_verbatim():
    assert parse(["-c", "--not-a-flag"])["--comment"] == "--not-a-flag"
    assert parse(["--comment", "with"])["--comment"] == "with"
    assert parse(["-c", "a=1"])["UPDATE"] == []


def test_negative_numbers_are_not_flags():
    assert parse(["-P", "-1"])["--priority"] == "-1"
    assert parse(["with", "-1"])["UPDATE"] == ["-1"]


def test_double_dash_ends_flags():
    result = parse(["with", "a=1", "--", "-u"])
    assert result["UPDATE"] == ["a=1", "-u"]
    assert result["--unobserved"] is False


def test_repeated_with_is_harmless():
    assert parse("with a=1 with b=2")["UPDATE"] == ["a=1", "b=2"]


@pytest.mark.parametrize(
    "argv,command",
    [
        ("help", None),
        ("help greet", "greet"),
        ("-h", None),
        ("--help", None),
        ("greet -h", "greet"),
    ],
)
def test_help(argv, command):
    result = parse(argv)
    assert result["help"] is True
    assert result["COMMAND"] == command


def test_help_ingredient_command():
    assert parse("help dataset.show")["COMMAND"] == "dataset.show"


# -- mistakes -------------------------------------------------------------------------------

ERRORS = [
    ("--beat_intervl 3", ["Unknown flag '--beat_intervl'", 'Did you mean "--beat_interval"']),
    ("--print-confg", ["Unknown flag '--print-confg'", '"--print_config"']),
    ("--frobnicate", ["Unknown flag '--frobnicate'"]),
    ("-B 3", ["Unknown flag '-B'", 'Did you mean "-b"']),
    ("-Z", ["Unknown flag '-Z'", "Short flags: -b -c"]),
    ("-uz", ["Unknown flag '-z' in '-uz'"]),
    ("-b", ["Flag -b needs a value: -b BEAT_INTERVAL."]),
    ("with a=1 --beat_interval", ["Flag --beat_interval needs a value"]),
    ("--loglevel", ["Flag --loglevel needs a value: --loglevel LEVEL."]),
    ("--unobserved=yes", ["Flag --unobserved takes no value", "'yes'"]),
    ("-b 0", ["-b/--beat_interval", "positive number", "'0'"]),
    ("-b soon", ["-b/--beat_interval", "'soon'"]),
    ("--beat-interval=-2", ["-b/--beat_interval", "'-2'"]),
    ("-P high", ["-P/--priority needs a number", "'high'"]),
    ("-l LOUD", ["-l/--loglevel", "unknown log level 'LOUD'", "CRITICAL, ERROR, WARNING"]),
    ("-l warn", ['Did you mean "WARNING"']),
    ("-C files", ["-C/--capture", "'files'", "no, sys or fd"]),
    ("-n=", ["-n/--name needs a non-empty value"]),
    ("gret", ["Unknown command 'gret'", 'Did you mean "greet"', "Commands: dataset.show, greet"]),
    ("help gret", ["Unknown command 'gret'", 'Did you mean "greet"']),
    ("greet main", ["Unexpected 'main' after the command 'greet'"]),
    ("greet variant1", ["'demo.py greet with variant1'"]),
    ("a=10", ["'a=10' looks like a config update", "'demo.py with a=10'"]),
    ("greet name=Bob", ["'demo.py greet with name=Bob'"]),
]


@pytest.mark.parametrize("argv,fragments", ERRORS, ids=[e[0] for e in ERRORS])
def test_command_line_mistakes(argv, fragments):
    with pytest.raises(CommandLineError) as info:
        parse(argv)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert message.endswith("Try 'demo.py --help' for help.")
    assert "\n" not in message


def test_conflicting_custom_option_is_reported():
    @cli_option("-b", "--my_beat")
    def my_beat(args, run):
        """clashes with -b"""

    with pytest.raises(ValueError, match="Two command-line options use the flag -b"):
        parse_args([], commands={}, options=DEFAULT_OPTIONS + [my_beat], program_name="x")

    @cli_option("-y", "--comment")
    def my_comment(args, run):
        """clashes with --comment"""

    with pytest.raises(ValueError, match="use the flag --comment"):
        parse_args([], commands={}, options=DEFAULT_OPTIONS + [my_comment], program_name="x")


# -- config updates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "update,expected",
    [
        ("a=10", {"a": 10}),
        ("a=2.3", {"a": 2.3}),
        ('b="FooBar"', {"b": "FooBar"}),
        ("c=True", {"c": True}),
        ("c=False", {"c": False}),
        ("d=None", {"d": None}),
        ("a=-1", {"a": -1}),
        ("my_list=[1, 2, 3]", {"my_list": [1, 2, 3]}),
        ('nested_list=[["a", "b"], [2, 3], False]', {"nested_list": [["a", "b"], [2, 3], False]}),
        ('my_dict={"a":1, "b":[-.2, "two"]}', {"my_dict": {"a": 1, "b": [-0.2, "two"]}}),
        ("alpha=-.3e-7", {"alpha": -0.3e-7}),
        ("mask=0b111000", {"mask": 0b111000}),
        ("x=0x1F", {"x": 31}),
        ('message="Hello Bob!"', {"message": "Hello Bob!"}),
        ("message='Hello Bob!'", {"message": "Hello Bob!"}),
        ("b=baz", {"b": "baz"}),
        ("recipient=Bob", {"recipient": "Bob"}),
        ("message=Hello Bob!", {"message": "Hello Bob!"}),
        ("path=/tmp/data", {"path": "/tmp/data"}),
        ("date=2024-01-31", {"date": "2024-01-31"}),
        ("empty=", {"empty": ""}),
        ("eq=a=b", {"eq": "a=b"}),
        ("foo.bar=baobab", {"foo": {"bar": "baobab"}}),
        ("d.foo=100", {"d": {"foo": 100}}),
        ("a.b.c=1", {"a": {"b": {"c": 1}}}),
        (" a = 1 ", {"a": 1}),
    ],
)
def test_update_literals(update, expected):
    assert get_config_updates([update]) == (expected, [])


def test_several_updates_merge_and_keep_named_configs_in_order():
    updates, named = get_config_updates(
        ["variant2.json", "d.foo=1", "variant1", "d.bar=2", "a=3", "dataset.small", "a=4"]
    )
    assert updates == {"d": {"foo": 1, "bar": 2}, "a": 4}
    assert named == ["variant2.json", "variant1", "dataset.small"]


def test_no_updates():
    assert get_config_updates([]) == ({}, [])


def test_strict_parsing_accepts_literals():
    SETTINGS.COMMAND_LINE.STRICT_PARSING = True
    assert get_config_updates(['b="baz"', "a=1", "c=[1]"]) == ({"b": "baz", "a": 1, "c": [1]}, [])


def test_strict_parsing_rejects_bare_strings():
    SETTINGS.COMMAND_LINE.STRICT_PARSING = True
    with pytest.raises(CommandLineError) as info:
        get_config_updates(["b=baz"])
    message = str(info.value)
    assert "'b'" in message and "'baz'" in message
    assert "STRICT_PARSING" in message
    assert "with 'b=\"baz\"'" in message


@pytest.mark.parametrize(
    "update,fragment",
    [
        ("=3", "Malformed config update '=3'"),
        ("a.=1", "Malformed config update 'a.=1'"),
        (".a=1", "Malformed config update '.a=1'"),
        ("a..b=1", "Malformed config update 'a..b=1'"),
        ("", "An empty update was given after 'with'"),
    ],
)
def test_malformed_updates(update, fragment):
    with pytest.raises(CommandLineError, match=fragment.replace(".", r"\.")):
        get_config_updates([update])


@pytest.mark.parametrize(
    "updates", [["a=1", "a.b=2"], ["a.b=2", "a=1"], ["a.b.c=1", "a.b=3", "a.b.d=1"]]
)
def test_conflicting_updates(updates):
    with pytest.raises(CommandLineError, match="conflict"):
        get_config_updates(updates)


def test_replacing_a_dict_by_a_dict_is_not_a_conflict():
    assert get_config_updates(["d.a=1", 'd={"b": 2}']) == ({"d": {"b": 2}}, [])


# -- help texts -----------------------------------------------------------------------------

DOC = """A configurable Hello World "experiment".

Usage: this line is just text, and so is
  -z --zap   which is no flag
"""


def usage(description=DOC, options=OPTIONS) -> str:
    return format_usage("my_script.py", description, COMMANDS, options)


def test_usage_starts_with_the_docstring_verbatim():
    text = usage()
    assert text.startswith('A configurable Hello World "experiment".\n\nUsage: this line')
    assert "  -z --zap   which is no flag" in text


def test_usage_names_the_script():
    text = usage()
    assert "Usage:\n  my_script.py [(with UPDATE...)] [options]\n" in text
    assert "  my_script.py help [COMMAND]" in text
    assert "  my_script.py (-h | --help)" in text
    assert "  my_script.py COMMAND [(with UPDATE...)] [options]" in text


def test_usage_lists_every_option_with_spellings_metavar_and_description():
    lines = usage().splitlines()
    for option in OPTIONS:
        line_no = next(
            i for i, line in enumerate(lines) if line.startswith("  " + option.spellings[0] + ",")
        )
        line = lines[line_no]
        for spelling in option.spellings:
            assert spelling in line
        if option.metavar:
            assert line.split()[-1] == option.metavar or option.metavar in line
        text = " ".join(" ".join(lines[line_no : line_no + 3]).split())
        assert option.description[:30] in text


def test_usage_documented_metavars():
    text = usage()
    for fragment in [
        "-c, --comment COMMENT",
        "-l, --loglevel LEVEL",
        "-m, --mongo_db, --mongo-db DB",
        "-F, --file_storage, --file-storage BASEDIR",
        "-t, --tiny_db, --tiny-db BASEDIR",
        "-s, --sql DB_URL",
        "-b, --beat_interval, --beat-interval BEAT_INTERVAL",
        "-P, --priority PRIORITY",
        "-n, --name NAME",
        "-i, --id ID",
        "-C, --capture CAPTURE_MODE",
        "-o, --own-flag, --own_flag ",
        "-x, --own_value, --own-value OWN_VALUE",
    ]:
        assert fragment in text


def test_usage_arguments_and_commands():
    text = usage()
    assert "Arguments:\n  COMMAND" in text
    assert "  UPDATE" in text
    commands = text.split("Commands:\n", 1)[1].splitlines()
    assert commands[0].split() == ["dataset.show", "Show", "the", "dataset."]
    assert [line.split()[0] for line in commands] == sorted(COMMANDS)
    assert any(
        line.split() == ["greet", "Print", "a", "simple", "greet", "message."] for line in commands
    )


def test_usage_without_docstring_or_commands():
    text = format_usage("x.py", None, {}, DEFAULT_OPTIONS)
    assert text.startswith("Usage:")
    assert text.endswith("Commands:\n  (none)")


def test_usage_shows_first_line_of_multiline_command_docs():
    text = format_usage("x.py", "", {"scream": "\n    scream, and shout\n\n    more\n"}, [])
    assert text.splitlines()[-1].split() == ["scream", "scream,", "and", "shout"]


def test_usage_of_a_custom_option_uses_first_paragraph():
    text = usage()
    assert "This is my even better personal flag" in text
    assert "The cool message" not in text


def test_command_help_signature_and_docstring():
    def scream():
        """
        scream, and shout, and let it all out ...
        """

    def greet(name, _log=None):
        """Print a simple greet message."""

    assert format_command_help("scream", scream) == (
        "scream()\n\n    scream, and shout, and let it all out ..."
    )
    assert format_command_help("greet", greet).startswith("greet(name, _log=None)\n\n    Print")


def test_command_help_of_a_wrapped_function_and_without_docstring():
    import functools

    def inner(a, b=2):
        pass

    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        return inner(*args, **kwargs)

    assert format_command_help("dataset.inner", wrapper) == "dataset.inner(a, b=2)"


def test_clioption_objects_are_accepted_as_options():
    assert all(isinstance(o, CLIOption) for o in OPTIONS)
