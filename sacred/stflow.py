"""Integration with TensorBoard: record where summaries are written.

``LogFileWriter(ex)`` is a decorator and a context manager. While it is active,
every TensorFlow summary writer that is created (``tf.summary.FileWriter`` in
TensorFlow 1, ``tf.summary.create_file_writer`` in TensorFlow 2) has its log
directory appended, exactly as passed, to ``_run.info["tensorflow"]["logdirs"]``
of the experiment's current run. The experiment must be running.

PyTorch's ``torch.utils.tensorboard.SummaryWriter`` is recorded the same way (its
``log_dir``: as passed, or the ``runs/<time>_<host>`` it made up), under the same
key, which is where sacredboard's TensorBoard button looks. Its ``__init__`` is
wrapped rather than the module's attribute, so ``from torch.utils.tensorboard
import SummaryWriter`` done before entering works too. torch is covered when it is
imported already (or when TensorFlow is not installed); TensorFlow when installed.
"""

from __future__ import annotations

import functools
import importlib.util
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
        has_tensorflow = _installed("tensorflow")
        wants_torch = "torch" in sys.modules or not has_tensorflow
        if wants_torch and _installed("torch") and _installed("tensorboard"):
            self._wrap_torch_writer()
        if has_tensorflow:
            self._wrap_tensorflow()
        elif not self._originals:
            raise ImportError(
                "LogFileWriter records TensorFlow's or PyTorch's TensorBoard writers, but "
                "neither is installed: pip install tensorflow, or pip install "
                "'sacred[tensorboard]' for torch.utils.tensorboard."
            )
        return self

    def _wrap_torch_writer(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        original = SummaryWriter.__init__
        record = self._record

        @functools.wraps(original)
        def recording_init(writer: Any, *args: Any, **kwargs: Any) -> None:
            original(writer, *args, **kwargs)
            record(writer.log_dir)  # the directory it writes to, also one it made up

        self._originals.append((SummaryWriter, "__init__", original))
        setattr(SummaryWriter, "__init__", recording_init)  # noqa: B010 - a method, put back on exit

    def _wrap_tensorflow(self) -> None:
        tensorflow: Any = sys.modules.get("tensorflow")
        if tensorflow is None:
            import tensorflow as imported  # only when really used

            tensorflow = imported
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


def _installed(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
