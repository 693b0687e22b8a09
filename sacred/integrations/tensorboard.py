"""A run's TensorBoard scalars as its metrics: ``sacred import-tensorboard STORE ID LOGDIR``.

    from sacred.integrations.tensorboard import read_scalars, import_scalars

    read_scalars("runs/tb")          # {name: {"steps", "values", "timestamps"}}
    import_scalars("runs/", 12, "runs/tb")

Every event file under LOGDIR is read with TensorBoard's own reader (the
``tensorboard`` package: ``pip install 'sacred[tensorboard]'``): scalars written by
``torch.utils.tensorboard``, TensorFlow 1 (``simple_value``) and TensorFlow 2
(scalar tensors). A tag in LOGDIR itself keeps its name (``loss/train``); a tag of a
subdirectory (as ``SummaryWriter.add_scalars`` makes them) is named
``<subdirectory>/<tag>``. Steps are TensorBoard's, timestamps the events' wall
times. ``prefix`` is put in front of every name.

Metrics the run has already are left as they are and reported as skipped (import
them under another name with a prefix): recorded data is never rewritten. A run
that is still RUNNING or QUEUED is refused, since its observer would overwrite the
file store's metrics. File stores and SQL databases can be written to.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from sacred.exceptions import SacredError, StoreError

__all__ = ["read_scalars", "import_scalars", "ImportReport"]

_ACTIVE = ("RUNNING", "QUEUED")


def _accumulators(logdir: str) -> list[tuple[str, Any]]:
    """(TensorBoard run name relative to logdir, loaded accumulator) for every
    directory holding event files."""
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise StoreError(
            "Reading TensorBoard files needs the tensorboard package, which is not "
            "installed: pip install 'sacred[tensorboard]'"
        ) from None
    found = []
    for directory, _dirs, files in sorted(os.walk(logdir)):
        if any("tfevents" in name for name in files):
            accumulator = event_accumulator.EventAccumulator(
                directory, size_guidance={event_accumulator.SCALARS: 0, "tensors": 0}
            )
            accumulator.Reload()
            found.append((os.path.relpath(directory, logdir).replace(os.sep, "/"), accumulator))
    return found


def _events(accumulator: Any) -> dict[str, list[tuple[int, float, float]]]:
    """tag -> [(step, wall time, value)] of the scalars of one event directory."""
    tags = accumulator.Tags()
    out = {
        tag: [(e.step, e.wall_time, e.value) for e in accumulator.Scalars(tag)]
        for tag in tags.get("scalars", [])
    }
    tensor_tags = tags.get("tensors", [])
    if tensor_tags:
        from tensorboard.util import tensor_util

        for tag in tensor_tags:
            plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
            if plugin != "scalars":
                continue  # histograms, images, text … are not metrics
            out[tag] = [
                (e.step, e.wall_time, float(tensor_util.make_ndarray(e.tensor_proto).item()))
                for e in accumulator.Tensors(tag)
            ]
    return out


def read_scalars(logdir: str | os.PathLike, prefix: str = "") -> dict[str, dict]:
    """The scalars of the event files under logdir, as metrics:
    {name: {"steps", "values", "timestamps"}} in step order (timestamps are naive
    UTC datetimes). StoreError when logdir holds no event file."""
    logdir = os.fspath(logdir)
    if not os.path.isdir(logdir):
        raise StoreError(f"No TensorBoard log directory at {logdir!r}.")
    accumulators = _accumulators(logdir)
    if not accumulators:
        raise StoreError(
            f"No TensorBoard event files (events.out.tfevents.*) under {logdir!r}: "
            "pass the directory the SummaryWriter wrote to."
        )
    metrics: dict[str, dict] = {}
    for run_name, accumulator in accumulators:
        for tag, events in _events(accumulator).items():
            name = prefix + (tag if run_name == "." else f"{run_name}/{tag}")
            events.sort(key=lambda event: (event[0], event[1]))  # by step, then time
            metrics[name] = {
                "steps": [int(step) for step, _, _ in events],
                "values": [float(value) for _, _, value in events],
                "timestamps": [_utc(wall_time) for _, wall_time, _ in events],
            }
    return metrics


def _utc(wall_time: float) -> datetime.datetime:
    # Milliseconds, the resolution every store keeps for metrics.
    moment = datetime.datetime.fromtimestamp(round(wall_time, 3), datetime.timezone.utc)
    return moment.replace(tzinfo=None)


class ImportReport:
    """What ``import_scalars`` did: ``imported`` {name: points}, ``skipped`` [names
    the run had already]."""

    def __init__(self, run_id: Any, imported: dict[str, int], skipped: list[str]) -> None:
        self.run_id = run_id
        self.imported = imported
        self.skipped = skipped

    def lines(self, logdir: str) -> list[str]:
        out = [
            f"run {self.run_id}: imported {len(self.imported)} metric(s) from {logdir}"
            + (": " if self.imported else "")
            + ", ".join(f"{name} ({points} points)" for name, points in self.imported.items())
        ]
        if self.skipped:
            out.append(
                f"run {self.run_id}: skipped {', '.join(self.skipped)}: the run has metrics "
                "of that name already (use --prefix to import them under other names)"
            )
        return out


def import_scalars(
    location: str | os.PathLike, run_id: Any, logdir: str | os.PathLike, prefix: str = ""
) -> ImportReport:
    """Add the TensorBoard scalars under logdir to the metrics of the stored run
    run_id of the store at location (a file-store directory or an SQL URL)."""
    from sacred.store.registry import _kind_of, open_store

    location = os.fspath(location)
    scalars = read_scalars(logdir, prefix)
    kind = _kind_of(location)[0]
    if kind not in _APPENDERS:
        raise StoreError(
            f"import-tensorboard writes into file stores and SQL databases; {location!r} "
            f"is a {kind} store."
        )
    with open_store(location) as store:
        run = store.get(run_id)
        if run.status in _ACTIVE:
            raise StoreError(
                f"Run {run.id} is {run.status}: import its TensorBoard scalars once it has "
                "ended (its observer would overwrite them)."
            )
        present = set(run.metrics)
        new = {name: series for name, series in scalars.items() if name not in present}
        skipped = sorted(name for name in scalars if name in present)
        if new:
            _APPENDERS[kind](store, location, run.id, new)
    return ImportReport(run.id, {name: len(s["steps"]) for name, s in new.items()}, skipped)


def _plain_list(sequence: Any) -> list:
    return sequence.tolist() if hasattr(sequence, "tolist") else list(sequence)


def _append_to_file_store(store: Any, location: str, run_id: Any, new: dict) -> None:
    """metrics.json rewritten (atomically) with the run's metrics plus the new ones,
    in the layout the observer writes."""
    from sacred.observers.file_storage.observer import atomic_write, encode_metrics_file

    backend = store.backend
    metrics = {}
    for name, series in backend.metrics(run_id).items():
        stamps = series["timestamps"]
        if hasattr(stamps, "dtype"):  # numpy datetime64: back to datetimes
            stamps = stamps.astype("datetime64[us]")
        metrics[name] = {key: _plain_list(series[key]) for key in ("steps", "values")}
        metrics[name]["timestamps"] = _plain_list(stamps)
    metrics.update(new)
    path = os.path.join(backend._dir(run_id), "metrics.json")
    atomic_write(path, encode_metrics_file(metrics), durable=True)


def _append_to_sql(store: Any, location: str, run_id: Any, new: dict) -> None:
    """The new metrics written the way the SqlObserver writes a beat's points."""
    from sacred.observers.sql import SqlObserver

    observer = SqlObserver(location)
    try:
        observer.run_id = int(run_id)
        observer.log_metrics(new, {})
    finally:
        observer.engine.dispose()


_APPENDERS = {"file": _append_to_file_store, "sql": _append_to_sql}


# -- the `sacred import-tensorboard` command (sacred/store/cli.py adds it) -------------


def add_parser(subparsers: Any) -> None:
    """Add ``import-tensorboard STORE ID LOGDIR [--prefix P]`` to the sacred command."""
    text = "import a run's TensorBoard scalars (the event files under LOGDIR) as its metrics"
    p = subparsers.add_parser("import-tensorboard", help=text, description=text)
    p.add_argument("store", metavar="STORE", help="a file-storage directory or an SQL URL")
    p.add_argument("id", metavar="ID", help="the run the scalars belong to")
    p.add_argument("logdir", metavar="LOGDIR", help="the directory the SummaryWriter wrote")
    p.add_argument("--prefix", default="", help="put in front of every metric name")
    p.set_defaults(func=run_cli, opens_store=False)


def run_cli(args: Any) -> int:
    """Run the command; mistakes are one line on stderr and exit status 1."""
    import sys

    try:
        report = import_scalars(args.store, args.id, args.logdir, prefix=args.prefix)
    except SacredError as exc:  # StoreError; ObserverError when a database cannot be written
        print(f"sacred: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    for line in report.lines(args.logdir):
        print(line)
    return 0
