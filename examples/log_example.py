#!/usr/bin/env python
"""
A custom logger: every captured function gets a child logger (``_log``) of the
experiment's logger, so one configuration controls all of them::

    $ ./log_example.py
    [my_custom_logger.log_example] WARNING: No observers have been added to this run
    [my_custom_logger.log_example] INFO: Running command 'main'
    [my_custom_logger.log_example] INFO: Started
    [my_custom_logger.transmogrify] WARNING: Transmogrifying "seven" ...
    [my_custom_logger.main] INFO: the result is "SEVEN"
    [my_custom_logger.log_example] INFO: Result: SEVEN
    [my_custom_logger.log_example] INFO: Completed after 0:00:00

The level is still controlled with ``-l``::

    $ ./log_example.py -l WARNING
    [my_custom_logger.log_example] WARNING: No observers have been added to this run
    [my_custom_logger.transmogrify] WARNING: Transmogrifying "seven" ...
"""

import logging
import sys

from sacred import Experiment

ex = Experiment("log_example")

# set up a custom logger
logger = logging.getLogger("my_custom_logger")
handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("[%(name)s] %(levelname)s: %(message)s"))
logger.addHandler(handler)
logger.setLevel(logging.INFO)
logger.propagate = False

# attach it to the experiment
ex.logger = logger


@ex.config
def cfg():
    number = "seven"


@ex.capture
def transmogrify(number, _log):
    _log.warning('Transmogrifying "%s" ...', number)
    return number.upper()


@ex.main
def main(_log):
    result = transmogrify()
    _log.info('the result is "%s"', result)
    return result


if __name__ == "__main__":
    ex.run_commandline()
