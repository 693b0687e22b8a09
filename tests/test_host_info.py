"""Host info: the documented entries, settings switches, custom gatherers, GPUs."""

from __future__ import annotations

import logging
import os
import platform
import socket
import stat
import sys
from pathlib import Path

import pytest

from sacred import host_info as hi
from sacred.host_info import (
    HostInfoGetter,
    get_host_info,
    host_info_gatherer,
    host_info_gatherers,
    host_info_getter,
)
from sacred.settings import SETTINGS


@pytest.fixture(autouse=True)
def _no_global_gatherers():
    saved = dict(host_info_gatherers)
    host_info_gatherers.clear()
    yield
    host_info_gatherers.clear()
    host_info_gatherers.update(saved)


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def fake_nvidia_smi(directory: Path, script: str) -> None:
    directory.mkdir(exist_ok=True)
    path = directory / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_default_entries(no_gpu: None) -> None:
    info = get_host_info()
    assert list(info) == ["hostname", "os", "python_version", "cpu", "ENV"]
    assert info["hostname"] == socket.gethostname()
    assert info["os"] == [platform.system(), platform.platform()]
    assert info["python_version"] == platform.python_version()
    assert isinstance(info["cpu"], str) and info["cpu"]
    assert info["ENV"] == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_cpu_is_the_model_name_from_proc_cpuinfo() -> None:
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
        models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    if not models:
        pytest.skip("this CPU has no 'model name' line")
    assert " ".join(models[0].split()) == get_host_info()["cpu"]


@pytest.mark.parametrize(
    ("content", "model"),
    [
        (
            "processor\t: 0\nvendor_id\t: GenuineIntel\n"
            "model name\t: Intel(R)  Xeon(R)  CPU @ 2GHz\n"
            "\nprocessor\t: 1\nmodel name\t: other\n",
            "Intel(R) Xeon(R) CPU @ 2GHz",
        ),
        (
            "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\n",
            "ARMv7 Processor rev 4 (v7l)",
        ),
        ("processor\t: 0\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\n", "BCM2835"),
        ("processor\t: 0\nCPU implementer\t: 0x41\n", None),
    ],
)
def test_cpuinfo_parsing(tmp_path: Path, content: str, model: str | None) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(content)
    assert hi._cpu_from_proc(str(path)) == model


def test_cpuinfo_unreadable(tmp_path: Path) -> None:
    assert hi._cpu_from_proc(str(tmp_path / "missing")) is None


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("INCLUDE_HOSTNAME", "hostname"),
        ("INCLUDE_OS_INFO", "os"),
        ("INCLUDE_PYTHON_VERSION", "python_version"),
        ("INCLUDE_CPU_INFO", "cpu"),
    ],
)
def test_entries_can_be_turned_off(no_gpu: None, setting: str, key: str) -> None:
    SETTINGS.HOST_INFO[setting] = False
    info = get_host_info()
    assert key not in info
    assert len(info) == 4


def test_captured_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SACRED_TEST_VAR", "42")
    monkeypatch.delenv("SACRED_TEST_UNSET", raising=False)
    SETTINGS.HOST_INFO.CAPTURED_ENV.append("SACRED_TEST_VAR")
    SETTINGS.HOST_INFO.CAPTURED_ENV.append("SACRED_TEST_UNSET")
    assert get_host_info()["ENV"] == {"SACRED_TEST_VAR": "42"}


def test_gpu_from_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_nvidia_smi(
        tmp_path / "bin",
        'echo "NVIDIA GeForce RTX 3090, 24576, Enabled"\n'
        'echo "Tesla V100-SXM2-16GB, 16384, Disabled"\n',
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert get_host_info()["gpu"] == {
        "gpus": [
            {"model": "NVIDIA GeForce RTX 3090", "total_memory": 24576, "persistence_mode": True},
            {"model": "Tesla V100-SXM2-16GB", "total_memory": 16384, "persistence_mode": False},
        ]
    }


def test_gpu_info_is_cached_per_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    counter = tmp_path / "calls"
    fake_nvidia_smi(tmp_path / "bin", f'echo x >> "{counter}"\necho "GPU, 1024, Enabled"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    first, second = get_host_info()["gpu"], get_host_info()["gpu"]
    assert first == second
    assert counter.read_text() == "x\n"


def test_gpu_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_nvidia_smi(tmp_path / "bin", 'echo "GPU, 1024, Enabled"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    SETTINGS.HOST_INFO.INCLUDE_GPU_INFO = False
    assert "gpu" not in get_host_info()


@pytest.mark.parametrize(
    "script",
    [
        'echo "NVIDIA-SMI has failed because it could not communicate with the driver"\nexit 9\n',
        "exit 0\n",
        'echo "garbage without commas"\n',
    ],
)
def test_failing_nvidia_smi_records_no_gpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str
) -> None:
    fake_nvidia_smi(tmp_path / "bin", script)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    info = get_host_info()
    assert "gpu" not in info
    assert "cpu" in info


def test_hanging_nvidia_smi_times_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_nvidia_smi(tmp_path / "bin", "exec sleep 30\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(hi, "GPU_INFO_TIMEOUT", 0.2)
    assert "gpu" not in get_host_info()


def test_host_info_gatherer_decorator(no_gpu: None) -> None:
    @host_info_gatherer("host IP address")
    def ip() -> str:
        """The address."""
        return "10.0.0.1"

    assert ip.__name__ == "ip" and ip.__doc__ == "The address."
    assert ip() == "10.0.0.1"  # the decorated function stays usable
    assert get_host_info([ip])["host IP address"] == "10.0.0.1"
    assert "host IP address" not in get_host_info()  # not registered globally


def test_public_import_path() -> None:
    from sacred import host_info_gatherer as public

    assert public is host_info_gatherer


def test_plain_function_as_additional_host_info(no_gpu: None) -> None:
    def gpu_count() -> int:
        return 0

    assert get_host_info([gpu_count])["gpu_count"] == 0


def test_host_info_gatherer_returns_the_function_itself() -> None:
    def ip() -> str:
        return "10.0.0.1"

    assert host_info_gatherer("host IP address")(ip) is ip


def test_host_info_gatherer_wraps_what_cannot_carry_a_name(no_gpu: None) -> None:
    getter = host_info_gatherer("cwd")(os.getcwd)  # a builtin: no attributes can be set
    assert isinstance(getter, HostInfoGetter) and getter() == os.getcwd()
    assert get_host_info([getter])["cwd"] == os.getcwd()


def test_host_info_getter_is_deprecated(no_gpu: None) -> None:
    with pytest.warns(DeprecationWarning, match="use|instead"):

        @host_info_getter
        def legacy() -> str:
            return "old"

    with pytest.warns(DeprecationWarning):
        host_info_getter(lambda: 1, name="one_more")
    assert get_host_info()["legacy"] == "old"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_host_info_getter_registers_globally(no_gpu: None) -> None:
    @host_info_getter
    def greeting() -> str:
        return "hi"

    assert greeting() == "hi"  # the function itself is returned
    assert host_info_gatherers["greeting"].name == "greeting"
    assert get_host_info()["greeting"] == "hi"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_host_info_getter_with_name(no_gpu: None) -> None:
    host_info_getter(lambda: 1, name="one")

    @host_info_getter(name="two")
    def second() -> int:
        return 2

    info = get_host_info()
    assert info["one"] == 1 and info["two"] == 2


def test_failing_gatherer_logs_and_records_nothing(
    no_gpu: None, caplog: pytest.LogCaptureFixture
) -> None:
    @host_info_gatherer("broken")
    def broken() -> None:
        raise OSError("network unreachable")

    @host_info_gatherer("fine")
    def fine() -> int:
        return 1

    with caplog.at_level(logging.WARNING, logger="sacred.host_info"):
        info = get_host_info([broken, fine])
    assert "broken" not in info
    assert info["fine"] == 1
    assert "Host info 'broken' is not recorded" in caplog.text
    assert "OSError: network unreachable" in caplog.text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: host_info_gatherer(lambda: 1), "takes the name of the host-info entry"),
        (lambda: host_info_gatherer("")(lambda: 1), "takes the name of the host-info entry"),
        (lambda: host_info_gatherer("x")(42), "decorates a function, not 42"),
        (lambda: host_info_getter(42), "registers a function, not 42"),
    ],
)
def test_misuse_errors(call, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()


def test_default_gathering_is_fast_without_slow_imports() -> None:
    """No subprocess, no socket and no platform import on Linux with glibc."""
    if not sys.platform.startswith("linux") or not hasattr(os, "confstr"):
        pytest.skip("Linux only")
    import subprocess

    code = (
        "import sys, os\n"
        "os.environ['PATH'] = ''\n"
        "from sacred.host_info import get_host_info\n"
        "get_host_info()\n"
        "print(sorted(m for m in ('subprocess', 'socket', 'platform', 'cpuinfo') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
