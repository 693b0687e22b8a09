#!/usr/bin/env python
"""
A named configuration is a config scope that is applied only when asked for::

    $ ./named_config.py -l WARNING
    WARNING - hello_config - No observers have been added to this run
    Hello world!
    $ ./named_config.py with rude -l WARNING
    WARNING - hello_config - No observers have been added to this run
    Go away, you world!
    $ ./named_config.py with rude recipient=Bob -l WARNING
    WARNING - hello_config - No observers have been added to this run
    Go away, you Bob!

All named configurations and their docstrings are listed by a built-in command::

    $ ./named_config.py print_named_configs
    INFO - hello_config - Running command 'print_named_configs'
    INFO - hello_config - Started
    Named Configurations (doc):
      rude  # A rude named config
    INFO - hello_config - Completed after 0:00:00
"""

from sacred import Experiment

ex = Experiment("hello_config")


@ex.named_config
def rude():
    """A rude named config"""
    greeting = "Go away, you"


@ex.config
def cfg():
    recipient = "world"
    greeting = "Hello"
    message = f"{greeting} {recipient}!"


@ex.automain
def main(message):
    print(message)
