"""The event dispatcher calls each event with the keyword arguments its method
accepts, so custom observers written from the documentation's example work."""

from __future__ import annotations

import pytest

from sacred import Experiment
from sacred.observers import RunObserver

QUIET = {"--loglevel": "ERROR"}


class DocumentedObserver(RunObserver):
    """The custom observer of the documentation, word for word (signatures)."""

    def __init__(self):
        self.calls = []

    def queued_event(self, ex_info, command, queue_time, config, meta_info, _id):
        self.calls.append(("queued", command))

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        self.calls.append(("started", command))

    def heartbeat_event(self, info, captured_out, beat_time, result):
        self.calls.append(("heartbeat", result))

    def completed_event(self, stop_time, result):
        self.calls.append(("completed", result))

    def interrupted_event(self, interrupt_time, status):
        self.calls.append(("interrupted", status))

    def failed_event(self, fail_time, fail_trace):
        self.calls.append(("failed", fail_trace[-1]))

    def resource_event(self, filename):
        self.calls.append(("resource", filename))

    def artifact_event(self, name, filename):
        self.calls.append(("artifact", name))


def make_experiment(tmp_path):
    ex = Experiment("documented", save_git_info=False)
    data = tmp_path / "data.txt"
    data.write_text("x")

    @ex.main
    def main(_run):
        _run.add_resource(str(data))
        _run.add_artifact(str(data), name="copy.txt", metadata={"a": 1}, content_type="text/x")
        return 3

    return ex, str(data)


def test_the_documented_custom_observer_receives_every_event(tmp_path):
    ex, data = make_experiment(tmp_path)
    observer = DocumentedObserver()
    ex.observers.append(observer)
    run = ex.run(options=QUIET)
    assert run.status == "COMPLETED"
    assert ("resource", data) in observer.calls
    assert ("artifact", "copy.txt") in observer.calls  # without metadata/content_type
    assert observer.calls[0] == ("started", "main")
    assert observer.calls[-1] == ("completed", 3)


def test_the_documented_custom_observer_is_told_about_a_queued_run(tmp_path):
    ex, _ = make_experiment(tmp_path)
    observer = DocumentedObserver()
    ex.observers.append(observer)
    ex.run(options={**QUIET, "--queue": True})  # queued_event has no host_info
    assert observer.calls == [("queued", "main")]


def test_an_observer_taking_keyword_arguments_gets_all_of_them(tmp_path):
    seen = {}

    class Everything(RunObserver):
        def artifact_event(self, name, filename, **extra):
            seen.update(extra)

    ex, _ = make_experiment(tmp_path)
    ex.observers.append(Everything())
    ex.run(options=QUIET)
    assert seen == {"metadata": {"a": 1}, "content_type": "text/x"}


def test_a_duck_typed_observer_needs_only_the_events_it_wants(tmp_path):
    class OnlyTheEnd:
        priority = 0

        def __init__(self):
            self.results = []

        def completed_event(self, stop_time, result):
            self.results.append(result)

    ex, _ = make_experiment(tmp_path)
    observer = OnlyTheEnd()
    ex.observers.append(observer)
    ex.run(options=QUIET)
    assert observer.results == [3]


def test_a_failing_event_is_still_reported_for_the_narrow_signature(tmp_path):
    ex = Experiment("fails", save_git_info=False)

    @ex.main
    def main():
        raise ValueError("boom")

    observer = DocumentedObserver()
    ex.observers.append(observer)
    with pytest.raises(ValueError):
        ex.run(options=QUIET)
    assert observer.calls[-1] == ("failed", "ValueError: boom\n")
