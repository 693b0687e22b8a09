"""Integration with TensorFlow: record where summaries are written.

``LogFileWriter(ex)`` is a decorator and a context manager. While it is active,
every TensorFlow summary writer that is created (``tf.summary.FileWriter`` in
TensorFlow 1, ``tf.summary.create_file_writer`` in TensorFlow 2) has its log
directory appended, exactly as passed, to ``_run.info["tensorflow"]["logdirs"]``
of the experiment's current run. The experiment must be running.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["LogFileWriter"]

# (attribute on tensorflow.summary, index of the logdir among positional args, keyword)
_WRITER_FACTORIES = (("FileWriter", 0, "logdir"), ("create_file_writer", 0, "logdir"))


class LogFileWriter:
    """Record the log directories of TensorFlow summary writers in the run's info."""

    def __init__(self, experiment: Any) -> None:
        self.experiment = experiment
        self._originals: list[tuple[Any, str, Callable]] = []

    def _record(self, logdir: Any) -> None:
        run = self.experiment.current_run
        if run is None:
            raise RuntimeError("LogFileWriter can only be used while the experiment is running")
        tf_info = run.info.setdefault("tensorflow", {})
        tf_info.setdefault("logdirs", []).append(logdir)

    def _wrap(self, factory: Callable, index: int, keyword: str) -> Callable:
        @functools.wraps(factory)
        def recording_factory(*args: Any, **kwargs: Any) -> Any:
            logdir = args[index] if len(args) > index else kwargs.get(keyword)
            self._record(logdir)
            return factory(*args, **kwargs)

        return recording_factory

    def __enter__(self) -> LogFileWriter:
        tensorflow = sys.modules.get("tensorflow")
        if tensorflow is None:
            import tensorflow  # noqa: F811 - imported only when really used
        summary_modules = [tensorflow.summary]
        compat = getattr(getattr(tensorflow, "compat", None), "v1", None)
        if compat is not None and hasattr(compat, "summary"):
            summary_modules.append(compat.summary)
        for module in summary_modules:
            for name, index, keyword in _WRITER_FACTORIES:
                factory = getattr(module, name, None)
                if factory is not None:
                    self._originals.append((module, name, factory))
                    setattr(module, name, self._wrap(factory, index, keyword))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        while self._originals:
            module, name, factory = self._originals.pop()
            setattr(module, name, factory)

    def __call__(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with LogFileWriter(self.experiment):
                return function(*args, **kwargs)

        return wrapper
