#!/usr/bin/env python
"""A configurable Hello World "experiment" for the command-line tests.

usage: this docstring mentions "usage:" and  -z --zap  on purpose:
  it is shown by --help but never parsed.
"""

import json
import os

from sacred import SETTINGS, Experiment, Ingredient, cli_option

if os.environ.get("H3_STRICT_PARSING"):
    SETTINGS.COMMAND_LINE.STRICT_PARSING = True

dataset = Ingredient("dataset")


@dataset.config
def dataset_config():
    path = "/data"


@dataset.named_config
def small():
    """A small dataset"""
    path = "/data/small"


@dataset.command
def show(path):
    """Show where the dataset lives."""
    print("dataset path:", path)


@cli_option("-o", "--own-flag", is_flag=True)
def own_flag(args, run):
    """Add some string to the info dict."""
    run.info["some"] = "prepopulation of the info dict"


@cli_option("-x", "--own-message")
def own_message(args, run):
    """This is my even better personal flag

    The cool message that gets saved to info.
    """
    run.info["message"] = args


ex = Experiment(
    "hello_config", ingredients=[dataset], additional_cli_options=[own_flag, own_message]
)


@ex.config
def cfg():
    recipient = "world"
    message = "Hello %s!" % recipient
    d = {"foo": 1, "bar": 2}


@ex.capture
def describe(d):
    """Takes d, so an update adding an entry to d is "added", not a typo (the
    documented print_config transcript adds d.baz)."""
    return sorted(d)


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


@ex.command
def greet(name):
    """
    Print a simple greet message.
    """
    print("Hello %s!" % name)


@ex.command
def show_run(_run, _log):
    """Print what the command-line flags did to the run."""
    _log.info("an info message")
    state = {
        "comment": _run.meta_info.get("comment"),
        "priority": _run.meta_info.get("priority"),
        "name": _run.experiment_info["name"],
        "id": _run._id,
        "beat_interval": _run.beat_interval,
        "capture_mode": _run.capture_mode,
        "debug": _run.debug,
        "pdb": _run.pdb,
        "force": _run.force,
        "unobserved": _run.unobserved,
        "loglevel": _run.root_logger.level,
        "observers": [type(o).__name__ for o in _run.observers],
        "info": _run.info,
    }
    print("RUN:" + json.dumps(state, sort_keys=True))


@ex.automain
def main(message):
    print(message)
