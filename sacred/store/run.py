"""A stored run as read from any backend."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sacred.store.base import StoreBackend

__all__ = ["StoredRun", "Metrics", "Files"]


def _datetimes(values: Any) -> Any:
    """Timestamps (datetimes, or ISO strings with or without microseconds) as a
    pandas DatetimeIndex."""
    import numpy as np
    import pandas as pd

    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return pd.DatetimeIndex(values)
    if len(values) == 0:
        return pd.DatetimeIndex([])
    first = values[0]
    if isinstance(first, str) and "+" not in first[10:] and not first.endswith("Z"):
        try:  # numpy parses ISO strings several times faster than pandas
            return pd.DatetimeIndex(np.array(values, dtype="datetime64[us]"))
        except ValueError:  # a zone offset or another ISO variant
            pass
    return pd.DatetimeIndex(pd.to_datetime(values, format="ISO8601"))


def _values_array(values: Any) -> Any:
    import numpy as np

    if isinstance(values, np.ndarray):
        return values
    try:
        return np.array(values, dtype="float64")  # None (a value that was not a number) -> nan
    except (TypeError, ValueError):
        return np.array(values, dtype=object)


def _need_pandas(feature: str) -> None:
    from sacred.store.base import MissingExtraError

    MissingExtraError.check("pandas", feature)


class Metrics(Mapping):
    """Metric name -> pandas Series of values indexed by step, loaded on first use.

    ``metrics["loss"]`` is a float Series indexed by ``step``;
    ``metrics.timestamps("loss")`` the times the values were logged (a datetime64
    Series indexed by step; loaded separately, since parsing a million times is most
    of the cost); ``metrics.frame("loss")`` a DataFrame with columns step, value,
    timestamp; ``metrics.raw("loss")`` the stored lists ``{"steps", "values",
    "timestamps"}``. Iterating gives the metric names.
    """

    def __init__(self, backend: StoreBackend, run_id: Any) -> None:
        self._backend = backend
        self._run_id = run_id
        self._names: list[str] | None = None
        self._values: dict[str, dict] = {}  # {"steps", "values"[, "timestamps"]}

    def _names_list(self) -> list[str]:
        if self._names is None:
            self._names = list(self._backend.metric_names(self._run_id))
        return self._names

    def _steps_values(self, name: str) -> dict:
        if name not in self._values:
            loaded = self._backend.metric_values(self._run_id, name)
            if loaded is None:
                raise KeyError(name)
            self._values[name] = loaded
        return self._values[name]

    def _full(self, name: str) -> dict:
        """Steps, values and timestamps read together (they match even while the run
        is still logging); replaces the values read before."""
        data = self._values.get(name)
        if data is None or "timestamps" not in data:
            loaded = self._backend.metric(self._run_id, name)
            if loaded is None:
                raise KeyError(name)
            self._values[name] = data = loaded
        return data

    def raw(self, name: str) -> dict:
        """The stored lists of one metric: {"steps", "values", "timestamps"}."""
        data = self._full(name)

        def as_list(seq: Any) -> list:
            return seq.tolist() if hasattr(seq, "tolist") else list(seq)

        return {key: as_list(data[key]) for key in ("steps", "values", "timestamps")}

    @staticmethod
    def _index(data: dict) -> Any:
        import numpy as np
        import pandas as pd

        return pd.Index(np.asarray(data["steps"]), name="step")

    def __getitem__(self, name: str) -> Any:
        _need_pandas("run.metrics[name]")
        import pandas as pd

        data = self._steps_values(name)
        return pd.Series(_values_array(data["values"]), index=self._index(data), name=name)

    def timestamps(self, name: str) -> Any:
        """The times at which the values of metric name were logged, indexed by step."""
        _need_pandas("run.metrics.timestamps(name)")
        import pandas as pd

        data = self._full(name)
        return pd.Series(_datetimes(data["timestamps"]), index=self._index(data), name=name)

    def frame(self, name: str) -> Any:
        """One metric as a DataFrame with columns step, value and timestamp."""
        _need_pandas("run.metrics.frame(name)")
        import numpy as np
        import pandas as pd

        data = self._full(name)
        return pd.DataFrame(
            {
                "step": np.asarray(data["steps"]),
                "value": _values_array(data["values"]),
                "timestamp": _datetimes(data["timestamps"]),
            }
        )

    def __contains__(self, name: object) -> bool:
        return name in self._names_list()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names_list())

    def __len__(self) -> int:
        return len(self._names_list())

    def __repr__(self) -> str:
        return f"<Metrics of run {self._run_id}: {', '.join(self._names_list()) or 'none'}>"


class Files(Mapping):
    """Name -> a readable binary file (io.BytesIO) with the stored content."""

    def __init__(self, names: list[str], reader) -> None:
        self._names = list(dict.fromkeys(names))
        self._reader = reader

    def __getitem__(self, name: str) -> io.BytesIO:
        if name not in self._names:
            raise KeyError(name)
        return io.BytesIO(self._reader(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class StoredRun:
    """One recorded run: ``id, status, config, result, host, experiment, meta, info,
    captured_out, start_time, stop_time, heartbeat, tags, note`` and, loaded lazily,
    ``metrics``, ``artifacts``, ``sources`` and ``resources``."""

    def __init__(self, record: dict, backend: StoreBackend) -> None:
        self._record = record
        self._backend = backend
        self._metrics: Metrics | None = None
        self._decoded: dict[str, Any] = {}

    def _value(self, name: str) -> Any:
        """A stored value with numpy arrays, numpy scalars, tuples and datetimes that
        observers stored in jsonpickle's form decoded (safely: sacred.store.decode)."""
        if name not in self._decoded:
            from sacred.store.decode import decode_value

            self._decoded[name] = decode_value(self._record.get(name))
        return self._decoded[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ("config", "info", "meta"):
            return self._value(name) or {}
        if name == "result":
            return self._value(name)
        if name in ("host", "experiment"):
            return self._record.get(name) or {}
        if name == "tags":
            return list(self._record.get("tags") or [])
        if name in (
            "status",
            "command",
            "start_time",
            "stop_time",
            "heartbeat",
            "queue_time",
            "note",
            "fail_trace",
        ):
            return self._record.get(name)
        raise AttributeError(f"a stored run has no attribute {name!r}")

    @property
    def id(self) -> Any:
        return self._record.get("_id")

    @property
    def captured_out(self) -> str:
        if self._record.get("captured_out") is None:
            self._record["captured_out"] = self._backend.captured_out(self.id)
        return self._record["captured_out"] or ""

    @property
    def metrics(self) -> Metrics:
        if self._metrics is None:
            self._metrics = Metrics(self._backend, self.id)
        return self._metrics

    @property
    def artifacts(self) -> Files:
        return Files(
            self._backend.artifact_names(self.id),
            lambda name: self._backend.read_artifact(self.id, name),
        )

    @property
    def sources(self) -> Files:
        return Files(
            self._backend.source_names(self.id),
            lambda name: self._backend.read_source(self.id, name),
        )

    @property
    def resources(self) -> Files:
        """Resource file name (as the run opened it) -> its stored content."""
        return Files(
            self._backend.resource_names(self.id),
            lambda name: self._backend.read_resource(self.id, name),
        )

    def to_dict(self) -> dict:
        record = dict(self._record)
        record.pop("metrics", None)  # summaries a query attached (metric_summary.py)
        for name in ("config", "info", "meta", "result"):
            if name in record:
                record[name] = self._value(name)
        record["captured_out"] = self.captured_out
        record.setdefault("tags", [])
        record.setdefault("note", None)
        return record

    def __repr__(self) -> str:
        name = (self._record.get("experiment") or {}).get("name")
        return f"<StoredRun {self.id} {name!r} {self.status}>"
