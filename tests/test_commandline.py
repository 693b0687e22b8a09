"""The command line of an experiment, as a user types it: the grammar, every flag in
both spellings, the built-in commands and the messages for mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sacred.arg_parser import get_config_updates, parse_args
from sacred.commandline_options import DEFAULT_OPTIONS, normalize_options
from sacred.exceptions import CommandLineError
from sacred.settings import SETTINGS

SCRIPT = '''
"""A demo experiment.

usage: this docstring mentions usage: and must not change how arguments are parsed.
"""
from sacred import Experiment, cli_option


@cli_option("-o", "--own-flag", is_flag=True)
def own_flag(args, run):
    """Add a mark to the info dict."""
    run.info["own_flag"] = args


@cli_option("-M", "--message")
def message_option(args, run):
    """This is my even better personal flag

    The cool message that gets saved to info.
    """
    run.info["message"] = args


ex = Experiment("hello_config", additional_cli_options=[own_flag, message_option])


@ex.config
def cfg():
    recipient = "world"
    message = "Hello %s!" % recipient
    d = {"foo": 1, "bar": 2}


@ex.named_config
def rude():
    """A rude named config"""
    recipient = "bastard"


@ex.command
def scream():
    """
    scream, and shout, and let it all out ...
    """
    print("AAAaaaaaaaahhhhhh...")


@ex.capture
def describe(d):
    """Takes d, so an update adding an entry to d is "added", not a typo."""
    return sorted(d)


@ex.command
def greet(name="John"):
    """Print a simple greet message."""
    print("Hello %s!" % name)


@ex.automain
def main(message, _run):
    print(message)
    return message
'''


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "hello_config.py"
    path.write_text(SCRIPT)
    return path


def run(script: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-u", str(script), *args],
        cwd=script.parent,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def stored(script: Path, run_id: int = 1) -> dict:
    return json.loads((script.parent / "runs" / str(run_id) / "run.json").read_text())


def test_default_command_and_log_lines(script):
    out = run(script)
    assert out.returncode == 0
    assert out.stdout == "Hello world!\n"
    assert out.stderr.splitlines() == [
        "WARNING - hello_config - No observers have been added to this run",
        "INFO - hello_config - Running command 'main'",
        "INFO - hello_config - Started",
        "INFO - hello_config - Result: Hello world!",
        "INFO - hello_config - Completed after 0:00:00",
    ]


def test_updates_named_configs_and_commands(script):
    assert run(script, "with", 'recipient="that is cool"').stdout == "Hello that is cool!\n"
    assert run(script, "main", "with", "rude", "-l", "ERROR").stdout == "Hello bastard!\n"
    assert run(script, "scream", "-l", "ERROR").stdout == "AAAaaaaaaaahhhhhh...\n"
    out = run(script, "greet", "with", 'name="Bob"', "-l", "ERROR")
    assert out.stdout == "Hello Bob!\n"
    assert 'Added new config entry: "name"' in run(script, "greet", "with", "name=Bob").stderr


def test_help_shows_docstring_usage_flags_and_commands(script):
    for argv in (["help"], ["-h"], ["--help"]):
        out = run(script, *argv)
        assert out.returncode == 0
        text = out.stdout
        assert text.startswith("A demo experiment.")
        assert "hello_config.py [(with UPDATE...)] [options]" in text
        flag_lines = [line for line in text.splitlines() if "--beat_interval" in line]
        assert flag_lines and "-b" in flag_lines[0] and "BEAT_INTERVAL" in flag_lines[0]
        assert "--beat-interval" in text
        assert "--own-flag" in text and "Add a mark to the info dict." in text
        assert "-M" in text and "--message" in text
        for command in (
            "greet",
            "main",
            "print_config",
            "print_dependencies",
            "save_config",
            "print_named_configs",
            "scream",
        ):
            assert f"  {command}" in text


def test_help_for_a_command(script):
    out = run(script, "help", "scream")
    assert out.stdout.splitlines()[:3] == [
        "scream()",
        "",
        "    scream, and shout, and let it all out ...",
    ]
    assert run(script, "help", "greet").stdout.startswith("greet(name='John')")


def test_print_config_with_warnings(script):
    out = run(script, "print_config", "with", 'recipient="Bob"', "d.foo=True", "d.baz=3")
    assert out.returncode == 0
    assert out.stdout.splitlines() == [
        "Configuration (modified, added, typechanged, doc):",
        "  message = 'Hello Bob!'",
        "  recipient = 'Bob'",
        out.stdout.splitlines()[3],
        "  d:",
        "    bar = 2",
        "    baz = 3",
        "    foo = True",
    ]
    assert out.stdout.splitlines()[3].startswith("  seed = ")
    assert out.stderr.splitlines()[:4] == [
        'WARNING - root - Added new config entry: "d.baz"',
        'WARNING - root - Changed type of config entry "d.foo" from int to bool',
        "INFO - hello_config - Running command 'print_config'",
        "INFO - hello_config - Started",
    ]


def test_print_dependencies(script):
    out = run(script, "print_dependencies", "-l", "ERROR")
    lines = out.stdout.splitlines()
    assert lines[0] == "Dependencies:"
    assert any(line.strip().startswith("sacred") and " == " in line for line in lines)
    sources = lines.index("Sources:")
    assert lines[sources + 1].split()[0] == "hello_config.py"
    assert len(lines[sources + 1].split()[1]) == 32


def test_print_named_configs(script, tmp_path):
    out = run(script, "print_named_configs", "-l", "ERROR")
    assert out.stdout.splitlines() == [
        "Named Configurations (doc):",
        "  rude  # A rude named config",
    ]
    bare = tmp_path / "bare.py"
    bare.write_text(
        "from sacred import Experiment\nex = Experiment('b')\n@ex.automain\ndef main():\n    pass\n"
    )
    out = run(bare, "print_named_configs", "-l", "ERROR")
    assert out.stdout.splitlines() == ["Named Configurations (doc):", "  No named configs"]


@pytest.mark.parametrize("filename", ["config.json", "mine.yaml"])
def test_save_config(script, filename):
    args = ["save_config", "with", "recipient=Bob", "-l", "ERROR"]
    if filename != "config.json":
        args.insert(3, f"config_filename={filename}")
    assert run(script, *args).returncode == 0
    from sacred.config import load_config_file

    saved = load_config_file(script.parent / filename)
    assert saved["recipient"] == "Bob" and saved["message"] == "Hello Bob!"
    assert set(saved) == {"recipient", "message", "d", "seed"}


@pytest.mark.parametrize(
    "flags",
    [
        ["-c", "a comment", "-P", "3", "-n", "renamed", "-b", "0.5", "-C", "sys", "-o", "-M", "hi"],
        [
            "--comment=a comment",
            "--priority=3",
            "--name=renamed",
            "--beat_interval=0.5",
            "--capture=sys",
            "--own-flag",
            "--message=hi",
        ],
        [
            "--comment",
            "a comment",
            "--priority",
            "3",
            "--name",
            "renamed",
            "--beat-interval",
            "0.5",
            "--capture",
            "sys",
            "--own_flag",
            "--message",
            "hi",
        ],
    ],
)
def test_flags_in_every_spelling(script, flags):
    out = run(script, "-F", "runs", *flags, "-l", "ERROR")
    assert out.returncode == 0, out.stderr
    record = stored(script)
    assert record["meta"]["comment"] == "a comment"
    assert record["meta"]["priority"] == 3
    assert record["experiment"]["name"] == "renamed"
    options = record["meta"]["options"]
    assert options["--beat-interval"] == "0.5" and options["--capture"] == "sys"
    info = json.loads((script.parent / "runs" / "1" / "info.json").read_text())
    assert info == {"own_flag": True, "message": "hi"}


def test_id_queue_unobserved_and_loglevel_numbers(script):
    assert run(script, "-F", "runs", "-i", "custom", "-l", "40").returncode == 0
    assert stored_path(script, "custom").exists()
    out = run(script, "--file_storage=runs", "-q", "-l", "ERROR")
    assert out.stdout == ""  # queued, not run
    assert stored(script)["status"] == "QUEUED"
    out = run(script, "-F", "runs", "-u", "-l", "WARNING")
    assert "No observers have been added" not in out.stderr
    assert not (script.parent / "runs" / "2").exists()


def stored_path(script: Path, run_id) -> Path:
    return script.parent / "runs" / str(run_id) / "run.json"


def test_print_config_flag_prints_before_running(script):
    out = run(script, "-p", "-l", "ERROR")
    lines = out.stdout.splitlines()
    assert lines[0] == "Configuration (modified, added, typechanged, doc):"
    assert lines[-1] == "Hello world!"


def test_force_silences_suspicious_change_warnings(script):
    out = run(script, "print_config", "with", "d.baz=3", "-f")
    assert "Added new config entry" not in out.stderr


def test_failed_run_exits_1_with_a_filtered_trace(tmp_path):
    path = tmp_path / "failing.py"
    path.write_text(
        "from sacred import Experiment\nex = Experiment('f')\n"
        "@ex.automain\ndef main():\n    raise ValueError('boom')\n"
    )
    out = run(path, "-l", "ERROR")
    assert out.returncode == 1
    assert "Traceback (most recent calls WITHOUT Sacred internals)" in out.stderr
    assert "ValueError: boom" in out.stderr
    assert "sacred/run.py" not in out.stderr
    debug = run(path, "-d", "-l", "ERROR")
    assert debug.returncode == 1 and "sacred/run.py" in debug.stderr


def test_pdb_flag_starts_the_debugger(tmp_path):
    path = tmp_path / "failing.py"
    path.write_text(
        "from sacred import Experiment\nex = Experiment('f')\n"
        "@ex.automain\ndef main():\n    x = 41\n    raise ValueError('boom')\n"
    )
    out = run(path, "-D", "-l", "ERROR", stdin="p x + 1\nq\n")
    assert "(Pdb)" in out.stdout and "42" in out.stdout


def test_enforce_clean(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    script = repo / "exp.py"
    script.write_text(
        "from sacred import Experiment\nex = Experiment('e')\n"
        "@ex.automain\ndef main():\n    print('ran')\n"
    )

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", "exp.py")
    git("-c", "user.email=a@b", "-c", "user.name=n", "commit", "-qm", "init")
    assert run(script, "-e", "-l", "ERROR").stdout == "ran\n"
    script.write_text(script.read_text() + "# dirty\n")
    out = run(script, "--enforce_clean", "-l", "ERROR")
    assert out.returncode == 2
    assert "has uncommitted changes" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["screm"], "Unknown command 'screm'. Did you mean \"scream\"?"),
        (
            ["--beat_intervall=3"],
            "Unknown flag '--beat_intervall'. Did you mean \"--beat_interval\"?",
        ),
        (["-Z"], "Unknown flag '-Z'"),
        (["-b"], "Flag -b needs a value"),
        (
            ["with", "rood"],
            "Named config not found: \"rood\". Available config values are: ('rude',). "
            'Did you mean "rude"?',
        ),
        (["with", "missing.json"], 'Config file "missing.json" does not exist'),
        (
            ["with", "reciptient=Bob"],
            '"reciptient" is not used anywhere. Did you mean "recipient"?',
        ),
        (["with", "=3"], "Malformed config update '=3'"),
        (["-b", "fast"], "-b/--beat_interval"),
        (["-l", "LOUD"], "'LOUD'"),
        (["-C", "files"], "'files'"),
        (["main", "scream"], "'scream'"),
    ],
)
def test_mistakes_exit_2_with_one_clear_message(script, args, fragment):
    out = run(script, *args)
    assert out.returncode == 2, out.stderr
    assert fragment in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("hello_config.py: error: ")


def test_strict_parsing(script):
    script.write_text(
        SCRIPT.replace(
            "from sacred import Experiment, cli_option",
            "from sacred import Experiment, cli_option, SETTINGS\n"
            "SETTINGS.COMMAND_LINE.STRICT_PARSING = True",
        )
    )
    out = run(script, "with", "recipient=Bob")
    assert out.returncode == 2
    assert "is not a Python literal" in out.stderr and "STRICT_PARSING" in out.stderr
    assert run(script, "with", 'recipient="Bob"', "-l", "ERROR").stdout == "Hello Bob!\n"


@pytest.mark.parametrize(
    "update, value",
    [
        ("a=10", 10),
        ("a=2.3", 2.3),
        ('a="FooBar"', "FooBar"),
        ("a=True", True),
        ("a=None", None),
        ("a=-1", -1),
        ("a=[1, 2, 3]", [1, 2, 3]),
        ('a=[["a", "b"], [2, 3], False]', [["a", "b"], [2, 3], False]),
        ('a={"a":1, "b":[-.2, "two"]}', {"a": 1, "b": [-0.2, "two"]}),
        ("a=-.3e-7", -0.3e-7),
        ("a=0b111000", 56),
        ("a=0x1F", 31),
        ('a="Hello Bob!"', "Hello Bob!"),
        ("a=baz", "baz"),
        ("a=that is cool", "that is cool"),
    ],
)
def test_update_values_are_python_literals_with_string_fallback(update, value):
    assert get_config_updates([update]) == ({"a": value}, [])


def test_dotted_updates_and_named_configs_in_order():
    updates, named = get_config_updates(["d.foo=100", "variant1", "d.bar=2", "file.json"])
    assert updates == {"d": {"foo": 100, "bar": 2}}
    assert named == ["variant1", "file.json"]


def test_strict_parsing_unit():
    SETTINGS.COMMAND_LINE.STRICT_PARSING = True
    with pytest.raises(CommandLineError, match="quote"):
        get_config_updates(["a=baz"])


def test_parse_args_result_keys():
    args = parse_args(
        ["greet", "with", "a=1", "-l", "ERROR", "--unobserved"],
        commands={"greet": ""},
        options=DEFAULT_OPTIONS,
        program_name="x.py",
    )
    assert args["COMMAND"] == "greet" and args["UPDATE"] == ["a=1"] and args["with"] is True
    assert args["--loglevel"] == "ERROR" and args["--unobserved"] is True
    assert args["--queue"] is False and args["--comment"] is None


def test_run_options_take_long_names_and_reject_unknown_keys():
    normalized = normalize_options(
        {"--beat-interval": 3, "loglevel": "ERROR", "--print_config": True, "-u": True},
        DEFAULT_OPTIONS,
    )
    assert normalized == {
        "--beat_interval": 3,
        "--loglevel": "ERROR",
        "--print_config": True,
        "--unobserved": True,
    }
    with pytest.raises(CommandLineError, match='Did you mean "--loglevel"'):
        normalize_options({"--loglevl": "ERROR"}, DEFAULT_OPTIONS)


def test_run_commandline_accepts_a_string(tmp_path):
    code = textwrap.dedent("""
        from sacred import Experiment
        ex = Experiment("s")

        @ex.main
        def main(a=1):
            return a

        run = ex.run_commandline("prog with a=5 -l ERROR")
        print(run.result)
    """)
    path = tmp_path / "s.py"
    path.write_text(code)
    assert run(path).stdout.strip().endswith("5")
