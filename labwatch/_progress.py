"""What `labwatch worker` shows after each trial: the study's trials against the
budget, the best objective so far, this worker's rate and the time left at it.

On a terminal (``stream.isatty()``) a rich progress bar on that stream, each
trial's outcome printed above it; otherwise one plain line per trial on stdout
(what scripts and log files read, kept byte for byte)."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress", "BarProgress", "progress_for"]


class Progress:
    """One line per trial: the study's count against the budget, the best objective
    so far, this worker's rate and the time the study needs at that rate."""

    def __init__(self, assistant: Any, space: str, budget: int) -> None:
        self.assistant = assistant
        self.space = space
        self.budget = budget
        self.started = time.monotonic()
        self.finished = 0

    def state(self) -> dict:
        """used (claimed against the budget), over (finished), best (text), rate
        (trials/min of this worker), left (trials of the budget not finished)."""
        from labwatch.trials import TrialStatus

        self.finished += 1
        trials = self.assistant.trials(self.space)
        counted = [t for t in trials if t.imported is None]  # imports are not in the budget
        used = sum(1 for t in counted if t.retry_of is None)
        over = sum(1 for t in counted if t.final or t.status == TrialStatus.DEAD)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "used": min(used, self.budget),
            "over": over,
            "best": self._best(trials),
            "rate": self.finished / elapsed * 60,
            "left": max(self.budget - over, 0),
        }

    def _best(self, trials: list) -> str:
        """The best objective so far, from the trials just read (no second read)."""
        front = self.assistant.front_of(trials)
        if not front:
            return "none yet"
        objectives = self.assistant.objectives
        if objectives is not None and objectives.multi:
            return f"a Pareto front of {len(front)} (labwatch trials --pareto)"
        sign = 1 if self.assistant.direction == "minimize" else -1
        return f"{sign * front[0].cost:.6g}"

    def line(self, outcome: str) -> str:
        s = self.state()
        rate = s["rate"]
        eta = "" if rate <= 0 else f", ETA {s['left'] / rate:.1f} min at this worker's rate"
        return (
            f"labwatch: {outcome} | trials {s['used']}/{self.budget} claimed, "
            f"{s['over']} finished | best {s['best']} | {rate:.1f} trials/min{eta}"
        )

    def report(self, outcome: str) -> None:
        print(self.line(outcome), flush=True)

    def warn(self, text: str) -> None:
        print(text, file=sys.stderr)

    def close(self) -> None:
        """Nothing to close for plain lines."""


class BarProgress(Progress):
    """A rich progress bar: finished trials k/N, best so far, rate, ETA."""

    def __init__(self, assistant: Any, space: str, budget: int, console: Any) -> None:
        super().__init__(assistant, space, budget)
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as RichBar

        self.bar = RichBar(
            TextColumn("labwatch {task.description}: trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[eta]}"),
            console=console,
            auto_refresh=False,  # redrawn after each trial: no thread, nothing in between
        )
        self.task = self.bar.add_task(space, total=budget, best="none yet", rate="", eta="")
        self.bar.start()

    def report(self, outcome: str) -> None:
        s = self.state()
        rate = s["rate"]
        eta = "" if rate <= 0 else f"ETA {s['left'] / rate:.1f} min"
        self.bar.console.print(f"labwatch: {outcome}", markup=False, highlight=False)
        self.bar.update(
            self.task,
            completed=s["over"],
            best=s["best"],
            rate=f"{rate:.1f} trials/min",
            eta=eta,
        )
        self.bar.refresh()

    def warn(self, text: str) -> None:
        self.bar.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self.bar.stop()


def progress_for(assistant: Any, space: str, budget: int, stream: TextIO | None = None) -> Progress:
    """A progress bar on ``stream`` (default stderr) when it is a terminal and rich is
    installed, else plain lines."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        return Progress(assistant, space, budget)
    try:
        from rich.console import Console
    except ImportError:  # the bar is a nicety: plain lines without rich
        return Progress(assistant, space, budget)
    return BarProgress(assistant, space, budget, Console(file=stream, force_terminal=True))
