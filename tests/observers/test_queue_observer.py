"""QueueObserver: ordered delivery, retries while the target is down, and a complete
local dump when it never comes back. The outage tests run a real PostgreSQL server
reached through a TCP proxy that the test cuts and restores."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from sacred import Experiment
from sacred.observers import QueueObserver

QUIET = {"--loglevel": "ERROR"}


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream address; can be cut and restored."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        if self._listener is not None:
            try:  # wakes the thread blocked in accept(); close() alone would not
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._sockets = []


def test_events_are_delivered_in_order_despite_failures(make_recorder):
    flaky = make_recorder(fail_on={"heartbeat_event": 2, "log_metrics": 1})
    observer = QueueObserver(flaky, interval=0.05, retry_interval=0.01, give_up_after=30)
    ex = Experiment("queued", save_git_info=False)

    @ex.main
    def main(_run):
        for i in range(5):
            _run.log_scalar("x", i)
            time.sleep(0.05)
        return "done"

    ex.observers.append(observer)
    run = ex.run(options={**QUIET, "--beat_interval": 0.04})
    assert run.status == "COMPLETED"
    names = flaky.names()
    assert names[0] == "started_event" and names[-1] == "completed_event"
    steps = [
        s
        for n, kw in flaky.events
        if n == "log_metrics"
        for s in kw["metrics_by_name"]["x"]["steps"]
    ]
    assert steps == [0, 1, 2, 3, 4]
    beats = [kw["beat_time"] for n, kw in flaky.events if n == "heartbeat_event"]
    assert beats == sorted(beats)


def test_gives_up_with_a_complete_dump_that_can_be_replayed(make_recorder, tmp_path, caplog):
    dead = make_recorder(
        fail_on={"heartbeat_event": 10**6, "log_metrics": 10**6, "completed_event": 10**6}
    )
    observer = QueueObserver(
        dead, interval=0.05, retry_interval=0.05, give_up_after=0.5, dump_dir=tmp_path
    )
    ex = Experiment("dumped", save_git_info=False)

    @ex.main
    def main(_run):
        for i in range(3):
            _run.log_scalar("x", i)
        time.sleep(0.2)
        return 42

    ex.observers.append(observer)
    with caplog.at_level("ERROR"):
        run = ex.run(options={"--loglevel": "ERROR", "--beat_interval": 0.05})
    assert run.status == "COMPLETED"
    assert observer.dump_path and "gave up" in caplog.text and observer.dump_path in caplog.text
    events = [json.loads(line) for line in open(observer.dump_path)]
    assert events[-1]["event"] == "completed_event"
    assert events[-1]["kwargs"]["result"] == 42
    steps = [s for e in events if e["event"] == "log_metrics" for s in e["args"][0]["x"]["steps"]]
    assert steps == [0, 1, 2]
    target = make_recorder()
    assert QueueObserver.replay(observer.dump_path, target) == len(events)
    assert target.names()[-1] == "completed_event"


OUTAGE_RUN_SECONDS = 3.0


def _run_through_proxy(url: str, proxy: TcpProxy, give_up_after: float, schedule):
    from sacred.observers import SqlObserver

    sql = SqlObserver(url, pool_pre_ping=True)
    observer = QueueObserver(sql, interval=0.1, retry_interval=0.1, give_up_after=give_up_after)
    ex = Experiment("outage", save_git_info=False)

    @ex.main
    def main(_run):
        start = time.time()
        i = 0
        while time.time() - start < OUTAGE_RUN_SECONDS:
            _run.log_scalar("x", i)
            i += 1
            time.sleep(0.01)
        return i

    ex.observers.append(observer)
    timer_threads = [threading.Timer(at, action) for at, action in schedule]
    for t in timer_threads:
        t.start()
    run = ex.run(options={**QUIET, "--beat_interval": 0.1})
    for t in timer_threads:
        t.join()
    return run, observer


def test_database_outage_mid_run_loses_nothing(postgres_url):
    sa = pytest.importorskip("sqlalchemy")
    url = sa.engine.make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    run, _ = _run_through_proxy(
        proxied, proxy, give_up_after=60, schedule=[(0.8, proxy.cut), (1.8, proxy.restore)]
    )
    assert run.status == "COMPLETED"
    ((status, result, steps),) = stored_runs(postgres_url)
    assert status == "COMPLETED"
    assert result == run.result
    assert steps == list(range(run.result))  # every measurement, none twice


def stored_runs(url: str) -> list[tuple]:
    """(status, result, steps of the metric "x") of each stored run, read through the store."""
    from sacred.store import open_store

    with open_store(url) as store:
        return [
            (
                run.status,
                run.result,
                list(run.metrics.raw("x")["steps"]) if "x" in run.metrics else [],
            )
            for run in store.find()
        ]


def test_database_that_never_comes_back_leaves_a_complete_dump(postgres_url, caplog):
    sa = pytest.importorskip("sqlalchemy")
    url = sa.engine.make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    with caplog.at_level("ERROR"):
        run, observer = _run_through_proxy(
            proxied, proxy, give_up_after=1.0, schedule=[(0.5, proxy.cut)]
        )
    assert run.status == "COMPLETED"
    events = [json.loads(line) for line in open(observer.dump_path)]
    assert events[-1]["event"] == "completed_event"
    ((_, _, stored),) = stored_runs(postgres_url)
    dumped = [s for e in events if e["event"] == "log_metrics" for s in e["args"][0]["x"]["steps"]]
    assert sorted(stored + dumped) == list(range(run.result))  # stored or dumped: nothing lost
