"""A running experiment for the live-update test, driven by files.

    python live_experiment.py STORE_URL CONTROL_DIR

Logs point 0 of "progress", then for n = 1, 2, ... waits until CONTROL_DIR/go_<n>
exists and logs point n; finishes when CONTROL_DIR/stop exists. Heartbeats every
0.2 s, so each point reaches the store quickly.
"""

import os
import sys
import time

from sacred import Experiment
from sacred.observers import SqlObserver

ex = Experiment("live_demo", save_git_info=False)


@ex.main
def main(_run):
    control = sys.argv[2]
    _run.log_scalar("progress", 0.0, 0)
    step = 1
    while not os.path.exists(os.path.join(control, "stop")):
        if os.path.exists(os.path.join(control, f"go_{step}")):
            _run.log_scalar("progress", float(step), step)
            step += 1
        time.sleep(0.02)  # polling the control files, not timing the test
    return step


if __name__ == "__main__":
    ex.observers.append(SqlObserver(sys.argv[1]))
    ex.run(options={"--beat_interval": 0.2, "--loglevel": "WARNING"})
