"""The command line of real experiment scripts, run as a user runs them.

The scripts live in tests/cli_scripts/ and are copied into a temporary directory,
then run with ``python script.py ...``; the tests check exit codes and what is
printed on stdout and stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

SCRIPTS = Path(__file__).parent / "cli_scripts"
PROGRAM = "hello_config.py"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def run_state(self) -> dict:
        """The JSON printed by the show_run command."""
        line = next(line for line in self.stdout.splitlines() if line.startswith("RUN:"))
        return json.loads(line[4:])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for script in SCRIPTS.glob("*.py"):
        shutil.copy(script, tmp_path / script.name)
    return tmp_path


def cli(workdir: Path, *args: str, script: str = PROGRAM, **env: str) -> Result:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("H3_")}
    environment.update(env)
    proc = subprocess.run(
        [sys.executable, script, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_ok(result: Result) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def assert_usage_error(result: Result, *fragments: str, program: str = PROGRAM) -> str:
    """Exit status 2, one message on stderr, no traceback, nothing run."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"{program}: error: ")
    assert result.stderr.count("error:") == 1
    assert "Running command" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    return result.stderr


# -- commands -------------------------------------------------------------------------------


def test_default_command(workdir):
    result = cli(workdir)
    assert_ok(result)
    assert result.stdout == "Hello world!\n"
    assert result.stderr.splitlines() == [
        "WARNING - hello_config - No observers have been added to this run",
        "INFO - hello_config - Running command 'main'",
        "INFO - hello_config - Started",
        "INFO - hello_config - Completed after 0:00:00",
    ]


def test_main_command_by_name_is_the_default(workdir):
    result = cli(workdir, "main", "with", "recipient=Bob")
    assert_ok(result)
    assert result.stdout == "Hello Bob!\n"


def test_custom_command_by_name(workdir):
    result = cli(workdir, "scream")
    assert_ok(result)
    assert result.stdout == "AAAaaaaaaaahhhhhh...\n"
    assert "INFO - hello_config - Running command 'scream'" in result.stderr


def test_command_with_config_from_the_command_line(workdir):
    result = cli(workdir, "greet", "with", 'name="Bob"')
    assert_ok(result)
    assert result.stdout == "Hello Bob!\n"


def test_ingredient_command_by_dotted_name(workdir):
    result = cli(workdir, "dataset.show", "with", "dataset.path=/elsewhere")
    assert_ok(result)
    assert result.stdout == "dataset path: /elsewhere\n"


def test_named_configs(workdir):
    assert cli(workdir, "with", "rude").stdout == "Hello bastard!\n"
    assert cli(workdir, "with", "rude", "recipient=you").stdout == "Hello you!\n"
    assert cli(workdir, "dataset.show", "with", "dataset.small").stdout == (
        "dataset path: /data/small\n"
    )


def test_config_file_as_named_update(workdir):
    (workdir / "variant2.json").write_text(json.dumps({"recipient": "file"}))
    (workdir / "variant3.yaml").write_text("recipient: yaml\n")
    assert cli(workdir, "with", "variant2.json").stdout == "Hello file!\n"
    assert cli(workdir, "with", "variant2.json", "variant3.yaml").stdout == "Hello yaml!\n"


def test_update_literals_reach_the_config(workdir):
    result = cli(
        workdir,
        "print_config",
        "with",
        "d.foo=100",
        "d.bar=[1, 2, 3]",
        "recipient=Bob",
        'message="Hello Bob!"',
    )
    assert_ok(result)
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "foo = 100" in lines
    assert "bar = [1, 2, 3]" in lines
    assert "recipient = 'Bob'" in lines
    assert "message = 'Hello Bob!'" in lines


# -- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["help"], ["-h"], ["--help"], ["with", "a=1", "--help"]])
def test_help(workdir, args):
    result = cli(workdir, *args)
    assert_ok(result)
    assert result.stderr == ""
    text = result.stdout
    assert text.startswith('A configurable Hello World "experiment" for the command-line tests.')
    assert 'usage: this docstring mentions "usage:" and  -z --zap  on purpose:' in text
    assert f"Usage:\n  {PROGRAM} [(with UPDATE...)] [options]" in text
    assert f"  {PROGRAM} help [COMMAND]" in text
    assert "-b, --beat_interval, --beat-interval BEAT_INTERVAL" in text
    assert "-o, --own-flag, --own_flag" in text
    assert "-x, --own-message, --own_message OWN_MESSAGE" in text
    assert "This is my even better personal flag" in text
    commands = {line.split()[0] for line in text.split("Commands:\n")[1].splitlines()}
    assert commands == {
        "dataset.show",
        "greet",
        "main",
        "print_config",
        "print_dependencies",
        "print_named_configs",
        "save_config",
        "scream",
        "show_run",
    }
    assert "Running command" not in result.stderr


def test_help_names_the_script_it_was_called_as(workdir):
    shutil.copy(workdir / PROGRAM, workdir / "renamed.py")
    result = cli(workdir, "-h", script="renamed.py")
    assert "  renamed.py help [COMMAND]" in result.stdout


def test_help_command(workdir):
    result = cli(workdir, "help", "scream")
    assert_ok(result)
    assert result.stdout == "scream()\n\n    scream, and shout, and let it all out ...\n"


def test_help_command_with_arguments_and_ingredient_command(workdir):
    assert cli(workdir, "help", "greet").stdout.startswith("greet(name)\n\n    Print a simple")
    assert cli(workdir, "help", "dataset.show").stdout.startswith("dataset.show(path)\n")
    assert cli(workdir, "greet", "--help").stdout.startswith("greet(name)\n")


# -- built-in commands ----------------------------------------------------------------------


def test_print_config_with_warnings(workdir):
    result = cli(workdir, "print_config", "with", 'recipient="Bob"', "d.foo=True", "d.baz=3")
    assert_ok(result)
    assert result.stderr.splitlines()[:2] == [
        'WARNING - root - Added new config entry: "d.baz"',
        'WARNING - root - Changed type of config entry "d.foo" from int to bool',
    ]
    assert "INFO - hello_config - Running command 'print_config'" in result.stderr
    assert "No observers" not in result.stderr  # built-in commands are unobserved
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Configuration (modified, added, typechanged")
    assert [line.split("#")[0].rstrip() for line in lines[1:]] == [
        "  message = 'Hello Bob!'",
        "  recipient = 'Bob'",
        "  seed = " + lines[3].split("=")[1].split("#")[0].strip(),
        "  d:",
        "    bar = 2",
        "    baz = 3",
        "    foo = True",
        "  dataset:",
        "    path = '/data'",
    ]
    assert "\x1b[" not in result.stdout  # not a terminal: no colors


def test_print_config_force_silences_warnings(workdir):
    for flag in ("-f", "--force"):
        result = cli(workdir, "print_config", "with", "d.foo=True", "d.baz=3", flag)
        assert_ok(result)
        assert "WARNING" not in result.stderr


def test_print_dependencies(workdir):
    result = cli(workdir, "print_dependencies")
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert lines[0] == "Dependencies:"
    assert any(line.split()[:2] == ["sacred", "=="] for line in lines)
    sources = lines[lines.index("Sources:") + 1]
    name, digest = sources.split()
    assert name == PROGRAM
    import hashlib

    assert digest == hashlib.md5((workdir / PROGRAM).read_bytes()).hexdigest()


def test_save_config_json(workdir):
    result = cli(workdir, "save_config", "with", "recipient=Bob")
    assert_ok(result)
    saved = json.loads((workdir / "config.json").read_text())
    assert saved["recipient"] == "Bob"
    assert saved["message"] == "Hello Bob!"
    assert saved["d"] == {"foo": 1, "bar": 2}
    assert isinstance(saved["seed"], int)
    assert "config_filename" not in saved
    assert 'Saving config to "config.json"' in result.stderr


def test_save_config_yaml(workdir):
    result = cli(workdir, "save_config", "with", "recipient=Bob", "config_filename=mine.yaml")
    assert_ok(result)
    saved = yaml.safe_load((workdir / "mine.yaml").read_text())
    assert saved["recipient"] == "Bob"
    assert "config_filename" not in saved
    assert 'Saving config to "mine.yaml"' in result.stderr
    # and the saved file can be used as a named update again
    assert cli(workdir, "with", "mine.yaml").stdout == "Hello Bob!\n"


def test_print_named_configs(workdir):
    result = cli(workdir, "print_named_configs")
    assert_ok(result)
    assert result.stdout == (
        "Named Configurations (doc):\n"
        "  rude           # A rude named config\n"
        "  dataset.small  # A small dataset\n"
    )


def test_print_named_configs_without_any(workdir):
    result = cli(workdir, "print_named_configs", script="minimal.py")
    assert_ok(result)
    assert result.stdout == "Named Configurations (doc):\n  No named configs\n"
    assert "INFO - minimal - Running command 'print_named_configs'" in result.stderr


# -- flags ----------------------------------------------------------------------------------

DEFAULT_STATE = {
    "comment": None,
    "priority": None,
    "name": "hello_config",
    "id": None,
    "beat_interval": 10.0,
    "capture_mode": "no",
    "debug": False,
    "pdb": False,
    "force": False,
    "unobserved": False,
    "loglevel": 20,
    "observers": [],
    "info": {},
}

FLAG_SETS = {
    "short": [
        "-c", "a comment", "-l", "WARNING", "-b", "2.5", "-P", "3", "-n", "renamed",
        "-i", "abc", "-C", "sys", "-d", "-D", "-f", "-o", "-x", "my message",
    ],
    "short attached": [
        "-ca comment", "-lWARNING", "-b2.5", "-P3", "-nrenamed", "-iabc", "-Csys", "-dDfo",
        "-xmy message",
    ],
    "long": [
        "--comment", "a comment", "--loglevel=WARNING", "--beat_interval", "2.5",
        "--priority=3", "--name", "renamed", "--id=abc", "--capture", "sys", "--debug",
        "--pdb", "--force", "--own-flag", "--own-message=my message",
    ],
    "long dashed": [
        "--comment=a comment", "--loglevel", "WARNING", "--beat-interval=2.5",
        "--priority", "3", "--name=renamed", "--id", "abc", "--capture=sys", "--debug",
        "--pdb", "--force", "--own_flag", "--own_message", "my message",
    ],
}  # fmt: skip
FLAGGED_STATE = dict(
    DEFAULT_STATE,
    comment="a comment",
    priority=3,
    name="renamed",
    id="abc",
    beat_interval=2.5,
    capture_mode="sys",
    debug=True,
    pdb=True,
    force=True,
    loglevel=30,
    info={"some": "prepopulation of the info dict", "message": "my message"},
)


def test_show_run_defaults(workdir):
    result = cli(workdir, "show_run")
    assert_ok(result)
    assert result.run_state() == DEFAULT_STATE


@pytest.mark.parametrize("style", list(FLAG_SETS))
def test_flags_change_the_run(workdir, style):
    result = cli(workdir, "show_run", *FLAG_SETS[style])
    assert_ok(result)
    assert result.run_state() == FLAGGED_STATE
    assert "INFO" not in result.stderr  # -l WARNING
    assert "No observers" not in result.stderr  # -d debug mode does not warn


def test_flags_after_with(workdir):
    result = cli(workdir, "show_run", "with", "recipient=x", "-c", "late", "--beat-interval", "4")
    assert_ok(result)
    state = result.run_state()
    assert (state["comment"], state["beat_interval"]) == ("late", 4.0)


@pytest.mark.parametrize("flags", [["-l", "ERROR"], ["--loglevel", "error"], ["--loglevel=40"]])
def test_loglevel_silences_info(workdir, flags):
    result = cli(workdir, *flags)
    assert_ok(result)
    assert result.stdout == "Hello world!\n"
    assert result.stderr == ""


@pytest.mark.parametrize("flag", ["-p", "--print_config", "--print-config"])
def test_print_config_flag_prints_before_main(workdir, flag):
    result = cli(workdir, flag, "with", "recipient=Bob")
    assert_ok(result)
    out = result.stdout
    assert out.startswith("Configuration (modified, added, typechanged")
    assert out.endswith("Hello Bob!\n")


def test_observer_flags_short(workdir):
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("tinydb")
    result = cli(
        workdir, "show_run", "-F", "fs_runs", "-s", "sqlite:///runs.db", "-t", "tiny_runs", "-u"
    )
    assert_ok(result)
    assert result.run_state()["unobserved"] is True
    assert not (workdir / "fs_runs" / "1").exists()  # -u: observers ignored
    assert "No observers" not in result.stderr
    result = cli(workdir, "-F", "fs_runs", "-s", "sqlite:///runs.db", "-t", "tiny_runs")
    assert_ok(result)
    run = json.loads((workdir / "fs_runs" / "1" / "run.json").read_text())
    assert run["status"] == "COMPLETED"
    assert (workdir / "runs.db").is_file()
    assert (workdir / "tiny_runs").is_dir()


def test_observer_flags_long(workdir):
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("tinydb")
    result = cli(
        workdir,
        "show_run",
        "--file_storage=fs_runs",
        "--sql",
        "sqlite:///runs.db",
        "--tiny-db=tiny_runs",
        "--file-storage",
        "more_runs",
    )
    assert_ok(result)
    # a flag given twice: the last value wins (options hold one value per flag)
    assert sorted(result.run_state()["observers"]) == [
        "FileStorageObserver",
        "SqlObserver",
        "TinyDbObserver",
    ]
    assert not (workdir / "fs_runs").exists()
    assert (workdir / "more_runs" / "1" / "run.json").is_file()


@pytest.mark.parametrize("flags", [["-u"], ["--unobserved"]])
def test_unobserved(workdir, flags):
    result = cli(workdir, "-F", "fs_runs", *flags)
    assert_ok(result)
    assert result.stdout == "Hello world!\n"
    assert not (workdir / "fs_runs" / "1").exists()
    assert "No observers" not in result.stderr


@pytest.mark.parametrize("flags", [["-q"], ["--queue"]])
def test_queue(workdir, flags):
    result = cli(workdir, "-F", "fs_runs", *flags)
    assert_ok(result)
    assert result.stdout == ""  # main did not run
    run = json.loads((workdir / "fs_runs" / "1" / "run.json").read_text())
    assert run["status"] == "QUEUED"


@pytest.mark.parametrize("flags", [["-i", "17", "-n", "other"], ["--id=17", "--name=other"]])
def test_id_and_name_reach_the_observer(workdir, flags):
    result = cli(workdir, "-F", "fs_runs", *flags)
    assert_ok(result)
    run = json.loads((workdir / "fs_runs" / "17" / "run.json").read_text())
    assert run["experiment"]["name"] == "other"


@pytest.mark.parametrize(
    "flags", [["-c", "my note", "-P", "2"], ["--comment=my note", "--priority=2"]]
)
def test_comment_and_priority_reach_the_observer(workdir, flags):
    result = cli(workdir, "-F", "fs_runs", *flags)
    assert_ok(result)
    run = json.loads((workdir / "fs_runs" / "1" / "run.json").read_text())
    assert run["meta"]["comment"] == "my note"
    assert run["meta"]["priority"] == 2


@pytest.mark.parametrize(
    "flags", [["-m", "a:b:c:d:e"], ["--mongo_db=a:b:c:d:e"], ["--mongo-db", "a:b:c:d:e"]]
)
def test_mongo_flag_with_unreadable_value(workdir, flags):
    assert_usage_error(cli(workdir, *flags), "-m/--mongo_db: cannot read 'a:b:c:d:e'")


def _git(workdir: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=workdir,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def git_workdir(workdir: Path) -> Path:
    pytest.importorskip("git")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(workdir, "init", "-q")
    _git(workdir, "add", ".")
    _git(workdir, "commit", "-q", "-m", "initial")
    return workdir


@pytest.mark.parametrize("flag", ["-e", "--enforce_clean", "--enforce-clean"])
def test_enforce_clean(git_workdir, flag):
    clean = cli(git_workdir, flag)
    assert_ok(clean)
    assert clean.stdout == "Hello world!\n"
    with open(git_workdir / PROGRAM, "a") as f:
        f.write("\n# an uncommitted change\n")
    dirty = cli(git_workdir, flag)
    assert_usage_error(dirty, "-e/--enforce_clean", "uncommitted changes", "without -e")


def test_enforce_clean_outside_a_repository(workdir):
    assert_usage_error(cli(workdir, "-e"), "no git repository was found")


def test_print_dependencies_shows_version_control(git_workdir):
    result = cli(git_workdir, "print_dependencies")
    assert_ok(result)
    lines = result.stdout.splitlines()
    vcs = lines[lines.index("Version Control:") + 1]
    assert vcs.startswith("  ")  # clean: no M
    assert len(vcs.split()[-1]) == 40  # the commit hash
    (git_workdir / PROGRAM).write_text((git_workdir / PROGRAM).read_text() + "\n# dirty\n")
    lines = cli(git_workdir, "print_dependencies").stdout.splitlines()
    assert lines[lines.index("Version Control:") + 1].startswith("M ")


# -- mistakes -------------------------------------------------------------------------------

MISTAKES = [
    (["gret"], ["Unknown command 'gret'", 'Did you mean "greet"', "Commands: dataset.show"]),
    (["help", "gret"], ["Unknown command 'gret'"]),
    (["--beat_intervl", "3"], ["Unknown flag '--beat_intervl'", '"--beat_interval"']),
    (["with", "a=1", "--frobnicate"], ["Unknown flag '--frobnicate'"]),
    (["-Z"], ["Unknown flag '-Z'"]),
    (["-b"], ["Flag -b needs a value"]),
    (["-b", "never"], ["-b/--beat_interval needs a positive number", "'never'"]),
    (["-l", "LOUD"], ["-l/--loglevel: unknown log level 'LOUD'"]),
    (["-C", "file"], ["-C/--capture: unknown capture mode 'file'"]),
    (["-P", "top"], ["-P/--priority needs a number"]),
    (["--unobserved=1"], ["Flag --unobserved takes no value"]),
    (["recipient=Bob"], ["looks like a config update", "'hello_config.py with recipient=Bob'"]),
    (["scream", "loudly"], ["Unexpected 'loudly' after the command 'scream'"]),
    (["with", "=3"], ["Malformed config update '=3'"]),
    (["with", "a.=1"], ["Malformed config update 'a.=1'"]),
    (["with", "rudee"], ['Named config not found: "rudee"', 'Did you mean "rude"']),
    (["with", "missing.json"], ['"missing.json"', "does not exist"]),
    (["with", "recipent=Bob"], ["recipent"]),
]


@pytest.mark.parametrize("args,fragments", MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
def test_command_line_mistakes(workdir, args, fragments):
    message = assert_usage_error(cli(workdir, *args), *fragments)
    if "Try" in message:
        assert message.rstrip().endswith(f"Try '{PROGRAM} --help' for help.")


def test_unparsable_update_under_strict_parsing(workdir):
    result = cli(workdir, "with", "recipient=Bob", H3_STRICT_PARSING="1")
    message = assert_usage_error(
        result, "'recipient'", "STRICT_PARSING", "with 'recipient=\"Bob\"'"
    )
    assert len(message.strip().splitlines()) == 1
    result = cli(workdir, "with", 'recipient="Bob"', H3_STRICT_PARSING="1")
    assert_ok(result)
    assert result.stdout == "Hello Bob!\n"


def test_bare_string_update_without_strict_parsing(workdir):
    assert cli(workdir, "with", "recipient=Bob").stdout == "Hello Bob!\n"


def test_mistakes_in_a_minimal_script_name_that_script(workdir):
    assert_usage_error(cli(workdir, "nope", script="minimal.py"), program="minimal.py")


# -- drop-in behaviour of the original ------------------------------------------------


def test_ingredient_commands_are_named_by_their_dotted_name_everywhere(workdir):
    result = cli(workdir, "dataset.show", "-F", "fs_runs")
    assert_ok(result)
    assert "INFO - hello_config - Running command 'dataset.show'" in result.stderr.splitlines()
    run = json.loads((workdir / "fs_runs" / "1" / "run.json").read_text())
    assert run["command"] == "dataset.show"
    assert run["meta"]["command"] == "dataset.show"


def test_meta_has_the_layout_of_the_original(workdir):
    result = cli(workdir, "-F", "fs_runs", "-b", "2", "with", "recipient=you", "rude")
    assert_ok(result)
    meta = json.loads((workdir / "fs_runs" / "1" / "run.json").read_text())["meta"]
    assert sorted(meta) == ["command", "config_updates", "named_configs", "options"]
    assert meta["command"] == "main"
    assert meta["config_updates"] == {"recipient": "you"}
    assert meta["named_configs"] == ["rude"]
    options = meta["options"]
    assert options["--beat-interval"] == "2"  # as given on the command line
    assert options["--file_storage"] == "fs_runs"
    assert options["--print-config"] is False and options["--name"] is None
    assert options["--own-flag"] is False and options["--own-message"] is None
    assert options["UPDATE"] == ["recipient=you", "rude"]
    assert (options["COMMAND"], options["help"], options["with"]) == (None, False, True)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["save_config", "with", "config_filename=conf.xml"], 'Config file "conf.xml" has an'),
        (["-F", "fs_runs", "-i", "1"], "already holds a run"),  # the second run with id 1
    ],
)
def test_errors_of_sacred_itself_are_one_line_not_a_trace(workdir, args, fragment):
    cli(workdir, "-F", "fs_runs", "-i", "1", "-l", "ERROR")
    result = cli(workdir, *args, "-l", "ERROR")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{PROGRAM}: error: ")
    assert fragment in errors[0]
