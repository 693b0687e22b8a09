"""S3 and Google Cloud Storage observers write the file-storage layout into a bucket.
S3 runs against moto's server on 127.0.0.1; GCS against a small JSON-API emulator
started here (the client library talks to it through STORAGE_EMULATOR_HOST)."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sacred import Experiment

QUIET = {"--loglevel": "ERROR"}


def experiment(tmp_path) -> Experiment:
    ex = Experiment("bucket_test", save_git_info=False)
    ex.add_config(units=16)
    resource = tmp_path / "data.txt"
    resource.write_text("data")

    @ex.main
    def main(units, _run):
        print("fitting", units)
        _run.log_scalar("loss", 0.5)
        _run.info["epochs"] = 2
        ex.open_resource(str(resource)).close()
        artifact = tmp_path / "model.bin"
        artifact.write_bytes(b"m" * units)
        _run.add_artifact(str(artifact))
        return units * 2

    return ex


def check_layout(read, list_keys, prefix: str, units: int = 16) -> None:
    record = json.loads(read(f"{prefix}/1/run.json"))
    assert record["status"] == "COMPLETED"
    assert record["result"] == units * 2
    assert record["artifacts"] == ["model.bin"]
    assert json.loads(read(f"{prefix}/1/config.json"))["units"] == units
    assert "fitting 16" in read(f"{prefix}/1/cout.txt").decode()
    assert json.loads(read(f"{prefix}/1/info.json")) == {"epochs": 2}
    assert json.loads(read(f"{prefix}/1/metrics.json"))["loss"]["values"] == [0.5]
    assert read(f"{prefix}/1/model.bin") == b"m" * units
    name, stored = next(
        s for s in record["experiment"]["sources"] if s[0] == "test_bucket_observers.py"
    )
    assert re.fullmatch(r"_sources/test_bucket_observers_[0-9a-f]{32}\.py", stored)
    assert b"file-storage layout into a bucket" in read(f"{prefix}/{stored}")
    assert record["resources"][0][1].startswith("_resources/data_")
    assert json.loads(read(f"{prefix}/2/run.json"))["status"] == "COMPLETED"


# -- S3 --------------------------------------------------------------------------------


@pytest.fixture
def s3_endpoint(monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.mark.slow
def test_s3_observer_writes_the_file_layout(s3_endpoint, tmp_path):
    import boto3

    from sacred.observers import S3Observer

    ex = experiment(tmp_path)
    ex.observers.append(
        S3Observer(
            bucket="my-awesome-bucket",
            basedir="/my-project/my-cool-experiment/",
            region="eu-central-1",
            endpoint_url=s3_endpoint,
        )
    )
    assert ex.run(options=QUIET)._id == 1
    assert ex.run(options=QUIET)._id == 2
    s3 = boto3.client("s3", region_name="eu-central-1", endpoint_url=s3_endpoint)

    def read(key):
        return s3.get_object(Bucket="my-awesome-bucket", Key=key)["Body"].read()

    check_layout(read, None, "my-project/my-cool-experiment")


def test_s3_observer_needs_a_region(s3_endpoint, monkeypatch):
    from sacred.observers import S3Observer

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ValueError, match="needs a region"):
        S3Observer(bucket="my-bucket", basedir="x", endpoint_url=s3_endpoint)


# -- Google Cloud Storage ------------------------------------------------------------------


class GcsEmulator:
    """The parts of the GCS JSON API the observer and this test use."""

    def __init__(self, buckets: list[str]) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.buckets = set(buckets)
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes = b"{}", content_type="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _resource(self, bucket: str, name: str) -> bytes:
                data, ctype = emulator.objects[(bucket, name)]
                return json.dumps(
                    {
                        "kind": "storage#object",
                        "bucket": bucket,
                        "name": name,
                        "size": str(len(data)),
                        "contentType": ctype,
                        "generation": "1",
                    }
                ).encode()

            def do_GET(self):  # noqa: N802
                url = urllib.parse.urlparse(self.path)
                query = urllib.parse.parse_qs(url.query)
                parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
                if parts[:3] == ["download", "storage", "v1"]:
                    parts = parts[1:]
                if parts[:3] != ["storage", "v1", "b"] or len(parts) < 4:
                    return self._send(404)
                bucket = parts[3]
                if bucket not in emulator.buckets:
                    return self._send(404, b'{"error": {"code": 404}}')
                if len(parts) == 4:
                    return self._send(200, json.dumps({"name": bucket}).encode())
                if len(parts) == 5:  # list objects
                    prefix = query.get("prefix", [""])[0]
                    delimiter = query.get("delimiter", [None])[0]
                    items, prefixes = [], set()
                    for (b, name), _ in sorted(emulator.objects.items()):
                        if b != bucket or not name.startswith(prefix):
                            continue
                        rest = name[len(prefix) :]
                        if delimiter and delimiter in rest:
                            prefixes.add(prefix + rest.split(delimiter)[0] + delimiter)
                        else:
                            items.append(json.loads(self._resource(b, name)))
                    return self._send(
                        200,
                        json.dumps(
                            {
                                "kind": "storage#objects",
                                "items": items,
                                "prefixes": sorted(prefixes),
                            }
                        ).encode(),
                    )
                name = "/".join(parts[5:])
                if (bucket, name) not in emulator.objects:
                    return self._send(404, b'{"error": {"code": 404}}')
                if query.get("alt") == ["media"]:
                    data, ctype = emulator.objects[(bucket, name)]
                    return self._send(200, data, ctype)
                return self._send(200, self._resource(bucket, name))

            def do_POST(self):  # noqa: N802
                url = urllib.parse.urlparse(self.path)
                query = urllib.parse.parse_qs(url.query)
                parts = [p for p in url.path.split("/") if p]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                bucket = parts[4]
                if query.get("uploadType") == ["multipart"]:
                    boundary = self.headers["Content-Type"].split("boundary=")[1].strip('"')
                    sections = body.split(b"--" + boundary.encode())
                    meta_part, data_part = sections[1], sections[2]
                    metadata = json.loads(meta_part.split(b"\r\n\r\n", 1)[1])
                    head, data = data_part.split(b"\r\n\r\n", 1)
                    data = data[:-2] if data.endswith(b"\r\n") else data
                    ctype = metadata.get("contentType") or "application/octet-stream"
                    for line in head.decode().split("\r\n"):
                        if line.lower().startswith("content-type:"):
                            ctype = line.split(":", 1)[1].strip()
                    name = metadata.get("name") or query["name"][0]
                else:
                    name = query["name"][0]
                    data, ctype = body, self.headers.get("Content-Type", "")
                emulator.objects[(bucket, name)] = (data, ctype)
                return self._send(200, self._resource(bucket, name))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gcs(monkeypatch):
    pytest.importorskip("google.cloud.storage")
    emulator = GcsEmulator(["bucket-name"])
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="test", credentials=AnonymousCredentials())
    yield emulator, client
    emulator.stop()


@pytest.mark.slow
def test_gcs_observer_writes_the_file_layout(gcs, tmp_path):
    from sacred.observers import GoogleCloudStorageObserver

    emulator, client = gcs
    ex = experiment(tmp_path)
    ex.observers.append(
        GoogleCloudStorageObserver(bucket="bucket-name", basedir="/experiment-name/", client=client)
    )
    assert ex.run(options=QUIET)._id == 1
    assert ex.run(options=QUIET)._id == 2

    def read(key):
        return emulator.objects[("bucket-name", key)][0]

    check_layout(read, None, "experiment-name")


def test_gcs_observer_refuses_a_missing_bucket(gcs):
    from sacred.exceptions import ObserverError
    from sacred.observers import GoogleCloudStorageObserver

    _, client = gcs
    observer = GoogleCloudStorageObserver(bucket="nope", basedir="x", client=client)
    ex = Experiment("no_bucket", save_git_info=False)
    ex.main(lambda: 1)
    ex.observers.append(observer)
    with pytest.raises(ObserverError, match="the bucket 'nope' does not exist"):
        ex.run(options=QUIET)  # checked when the run starts, not at construction


# -- S3 bucket names are checked at construction, without the network ----------------------


@pytest.mark.parametrize(
    "name, problem",
    [
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("My-Bucket", "lowercase letters"),
        ("my_bucket", "lowercase letters"),
        ("-bucket", "begin and end"),
        ("bucket-", "begin and end"),
        ("my..bucket", "two adjacent dots"),
        ("my.-bucket", "next to a hyphen"),
        ("192.168.5.4", "IP address"),
        ("xn--bucket", "must not begin with 'xn--'"),
        ("bucket-s3alias", "end with '-s3alias'"),
    ],
)
def test_s3_observer_refuses_an_invalid_bucket_name(name, problem, monkeypatch):
    pytest.importorskip("boto3")
    from sacred.observers import S3Observer

    with pytest.raises(ValueError, match=f"not a valid S3 bucket name: .*{re.escape(problem)}"):
        S3Observer(bucket=name, basedir="x", region="eu-central-1")


@pytest.mark.parametrize("name", ["abc", "my-awesome-bucket", "logs.example.com", "a1-b2.c3"])
def test_s3_observer_accepts_valid_bucket_names(name):
    pytest.importorskip("boto3")
    from sacred.observers import S3Observer

    assert S3Observer(bucket=name, basedir="x", region="eu-central-1").bucket == name


@pytest.mark.slow
def test_s3_observer_takes_over_a_queued_run_and_refuses_any_other(s3_endpoint, tmp_path):
    from sacred.exceptions import ObserverError
    from sacred.observers import S3Observer

    def observer():
        return S3Observer(
            bucket="queue-bucket", basedir="runs", region="eu-central-1", endpoint_url=s3_endpoint
        )

    ex = experiment(tmp_path)
    ex.observers.append(observer())
    queued = ex.run(options={**QUIET, "--queue": True})._id
    started = ex.run(options={**QUIET, "--id": str(queued)})
    assert started._id == queued and started.status == "COMPLETED"
    with pytest.raises(ObserverError, match=r"already holds a run with the id 1 \(status COMPL"):
        ex.run(options={**QUIET, "--id": "1"})
