"""The TensorBoard button's API: start TensorBoard on a run's log directories when it
is installed (a stand-in ``tensorboard`` serving HTTP on the port it is given), or
answer with the command when it is not."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import urllib.request

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from sacred import Experiment  # noqa: E402
from sacred.observers import FileStorageObserver  # noqa: E402
from sacredboard.app import create_app  # noqa: E402

EDIT = {"X-Sacredboard": "1"}

FAKE_TENSORBOARD = textwrap.dedent(
    f"""\
    #!{sys.executable}
    # Stands in for TensorBoard: serves its arguments on 127.0.0.1:--port until killed.
    import http.server, sys
    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = " ".join(args).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    """
)


@pytest.fixture
def store(tmp_path):
    logdir = tmp_path / "tf logs"
    logdir.mkdir()
    ex = Experiment("tf_demo", save_git_info=False)

    @ex.main
    def main(_run, with_logs=True):
        if with_logs:  # what sacred.stflow.LogFileWriter records
            _run.info["tensorflow"] = {"logdirs": [str(logdir)]}

    ex.observers.append(FileStorageObserver(str(tmp_path / "runs")))
    ex.run(options={"--loglevel": "WARNING"})
    ex.run(config_updates={"with_logs": False}, options={"--loglevel": "WARNING"})
    return str(tmp_path / "runs"), str(logdir)


@pytest.fixture
def path_with(tmp_path, monkeypatch):
    """PATH holding only a directory of our own (with a fake tensorboard if asked)."""

    def make(fake: bool) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        if fake:
            script = bin_dir / "tensorboard"
            script.write_text(FAKE_TENSORBOARD)
            script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", str(bin_dir))

    return make


def test_without_tensorboard_the_answer_is_the_command(store, path_with):
    location, logdir = store
    path_with(fake=False)
    with TestClient(create_app(location), base_url="http://127.0.0.1") as client:
        answer = client.post("/api/runs/1/tensorboard", headers=EDIT).json()
    assert answer == {"available": False, "command": f"tensorboard --logdir '{logdir}'"}


def test_tensorboard_is_started_once_and_stopped_with_the_board(store, path_with):
    location, logdir = store
    path_with(fake=True)
    with TestClient(create_app(location), base_url="http://127.0.0.1") as client:
        first = client.post("/api/runs/1/tensorboard", headers=EDIT).json()
        assert first["available"] is True
        assert first["url"].startswith("http://127.0.0.1:")
        with urllib.request.urlopen(first["url"], timeout=10) as response:
            served = response.read().decode()
        assert served.split() == ["--logdir", *logdir.split(), "--host", "127.0.0.1", "--port"] + [
            first["url"].rstrip("/").rsplit(":", 1)[1]
        ]
        again = client.post("/api/runs/1/tensorboard", headers=EDIT).json()
        assert again["url"] == first["url"]  # reused, not a second process
        (process, _port), *_ = client.app.state.board.tensorboards._running.values()
    assert process.poll() is not None  # the board's end stopped it


def test_runs_without_log_directories_and_read_only_boards_are_refused(store, path_with):
    location, _logdir = store
    path_with(fake=True)
    with TestClient(create_app(location), base_url="http://127.0.0.1") as client:
        response = client.post("/api/runs/2/tensorboard", headers=EDIT)
        assert response.status_code == 404
        assert "no TensorFlow log directories" in response.json()["error"]
        assert client.post("/api/runs/1/tensorboard").status_code == 403  # no CSRF header
    with TestClient(create_app(location, read_only=True), base_url="http://127.0.0.1") as client:
        response = client.post("/api/runs/1/tensorboard", headers=EDIT)
        assert response.status_code == 403
        assert "read-only" in response.json()["error"]


def test_a_tensorboard_that_fails_to_start_says_why(store, path_with, tmp_path):
    location, _logdir = store
    path_with(fake=False)
    script = tmp_path / "bin" / "tensorboard"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('no TensorFlow here')\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    assert os.access(script, os.X_OK)
    with TestClient(create_app(location), base_url="http://127.0.0.1") as client:
        response = client.post("/api/runs/1/tensorboard", headers=EDIT)
    assert response.status_code == 500
    assert "no TensorFlow here" in response.json()["error"]
