#!/usr/bin/env python
"""
Progress bars rewrite their line with carriage returns; stored as it is, the
captured output would keep every intermediate state. The filter
``apply_backspaces_and_linefeeds`` interprets them like a terminal, so the
stored output (``cout.txt`` of a file-storage run) holds only the final state::

    $ ./captured_out_filter.py -F runs_filter_example -l WARNING
    Progress: 100%
    Done.
    $ ./captured_out_filter.py show_stored_output -l WARNING
    Progress: 100%
    Done.

(The terminal shows the same because it interprets the carriage returns too.)
"""

import glob
import os
import sys
import time

from sacred import Experiment
from sacred.utils import apply_backspaces_and_linefeeds

ex = Experiment("progress")
ex.captured_out_filter = apply_backspaces_and_linefeeds


@ex.command(unobserved=True)
def show_stored_output():
    """Print the captured output stored by the latest run in runs_filter_example/."""
    runs = sorted(glob.glob("runs_filter_example/[0-9]*"), key=lambda p: int(os.path.basename(p)))
    with open(os.path.join(runs[-1], "cout.txt")) as f:
        print(f.read(), end="")


@ex.automain
def main():
    for percent in range(0, 101, 10):
        sys.stdout.write(f"\rProgress: {percent}%")
        sys.stdout.flush()
        time.sleep(0.01)
    print("\nDone.")
