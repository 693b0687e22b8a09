"""TensorBoard: LogFileWriter records torch's SummaryWriter directories, and
``sacred import-tensorboard`` turns a run's TensorBoard scalars into its metrics."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorboard")
torch = pytest.importorskip("torch")
from torch.utils.tensorboard import SummaryWriter  # noqa: E402

from sacred import Experiment  # noqa: E402
from sacred.integrations.tensorboard import read_scalars  # noqa: E402
from sacred.stflow import LogFileWriter  # noqa: E402
from sacred.store.cli import main as sacred_main  # noqa: E402


class _Current:
    """Stands for the experiment: LogFileWriter only reads its ``current_run``."""

    def __init__(self, run):
        self.current_run = run


def test_log_file_writer_records_summary_writer_dirs(run_experiment, tmp_path):
    def main(_run):
        with LogFileWriter(_Current(_run)):
            SummaryWriter(str(tmp_path / "tb" / "a")).close()
            SummaryWriter(log_dir=str(tmp_path / "tb" / "b")).close()
            default = SummaryWriter(comment="_x")  # runs/<time>_<host>_x under cwd
            default.close()
        SummaryWriter(str(tmp_path / "tb" / "after")).close()  # not recorded
        return default.log_dir

    stored = run_experiment(main)
    assert stored.result.startswith("runs") and stored.result.endswith("_x")
    assert stored.info["tensorflow"]["logdirs"] == [
        str(tmp_path / "tb" / "a"),
        str(tmp_path / "tb" / "b"),
        stored.result,
    ]
    assert not hasattr(SummaryWriter.__init__, "__wrapped__")  # restored on exit


def test_log_file_writer_as_decorator_of_the_main_function(tmp_path):
    ex = Experiment("tb_decorated", save_git_info=False)
    logdir = str(tmp_path / "tb")

    @ex.main
    @LogFileWriter(ex)
    def main(_run):
        SummaryWriter(logdir).close()
        return _run.info["tensorflow"]["logdirs"]

    assert ex.run(options={"--loglevel": "ERROR"}).result == [logdir]


def _write_events(logdir: str) -> None:
    writer = SummaryWriter(logdir)
    for step in range(5):
        writer.add_scalar("loss/train", 1.0 / (step + 1), step)
        writer.add_scalar("acc", step * 0.1, step * 10)
    writer.add_scalars("lr", {"group0": 0.1, "group1": 0.01}, 0)  # subdirectories
    writer.add_histogram("weights", torch.arange(10.0), 0)  # not a metric
    writer.close()


def test_read_scalars(tmp_path):
    _write_events(str(tmp_path / "tb"))
    scalars = read_scalars(tmp_path / "tb")
    assert sorted(scalars) == ["acc", "loss/train", "lr_group0/lr", "lr_group1/lr"]
    assert scalars["loss/train"]["steps"] == [0, 1, 2, 3, 4]
    assert scalars["loss/train"]["values"] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert scalars["acc"]["steps"] == [0, 10, 20, 30, 40]
    assert scalars["lr_group1/lr"]["values"] == pytest.approx([0.01])
    assert read_scalars(tmp_path / "tb", prefix="tb/").keys() == {"tb/" + name for name in scalars}


def test_import_tensorboard_command(run_experiment, store_location, tmp_path, capsys):
    logdir = str(tmp_path / "tb")

    def train(_run):
        _write_events(logdir)
        _run.log_scalar("acc", 0.5, 0)  # the run's own: kept, the imported one skipped

    stored = run_experiment(train, name="tb_train")
    assert sacred_main(["import-tensorboard", store_location, str(stored.id), logdir]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"run {stored.id}: imported 3 metric(s) from {logdir}: loss/train (5 points), "
        "lr_group0/lr (1 points), lr_group1/lr (1 points)",
        f"run {stored.id}: skipped acc: the run has metrics of that name already "
        "(use --prefix to import them under other names)",
    ]
    from sacred.store import open_store

    with open_store(store_location) as store:
        run = store.get(stored.id)
        assert sorted(run.metrics) == ["acc", "loss/train", "lr_group0/lr", "lr_group1/lr"]
        loss = run.metrics["loss/train"]
        assert list(loss.index) == [0, 1, 2, 3, 4]
        assert loss.tolist() == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
        assert run.metrics["acc"].tolist() == [0.5]
        assert len(run.metrics.timestamps("loss/train")) == 5

    # a prefix imports the rest under other names; nothing recorded changes
    args = ["import-tensorboard", store_location, str(stored.id), logdir, "--prefix", "tb/"]
    assert sacred_main(args) == 0
    capsys.readouterr()
    with open_store(store_location) as store:
        run = store.get(stored.id)
        assert run.metrics["tb/acc"].tolist() == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
        assert list(run.metrics["tb/acc"].index) == [0, 10, 20, 30, 40]
        assert run.metrics["acc"].tolist() == [0.5]
        assert len(run.metrics) == 8


@pytest.mark.parametrize(
    "case, message",
    [
        ("no_events", "No TensorBoard event files (events.out.tfevents.*) under"),
        ("no_dir", "No TensorBoard log directory at"),
        ("no_run", "No run with id '99'"),
    ],
)
def test_import_tensorboard_mistakes(
    case, message, run_experiment, store_location, tmp_path, capsys
):
    stored = run_experiment(lambda: None)
    logdir = tmp_path / "tb"
    run_id = str(stored.id)
    if case == "no_events":
        logdir.mkdir()
    elif case == "no_run":
        _write_events(str(logdir))
        run_id = "99"
    assert sacred_main(["import-tensorboard", store_location, run_id, str(logdir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sacred: error: ") and message in err and len(err.splitlines()) == 1


def test_a_queued_run_is_refused(store_location, tmp_path, capsys):
    from tests.integrations.conftest import add_observer

    ex = Experiment("queued", save_git_info=False)
    ex.main(lambda: None)
    add_observer(ex, store_location)
    run = ex.run(options={"--queue": True, "--loglevel": "ERROR"})
    _write_events(str(tmp_path / "tb"))
    args = ["import-tensorboard", store_location, str(run._id), str(tmp_path / "tb")]
    assert sacred_main(args) == 1
    err = capsys.readouterr().err
    assert err == (
        f"sacred: error: Run {run._id} is QUEUED: import its TensorBoard scalars once it "
        "has ended (its observer would overwrite them).\n"
    )


def test_import_into_postgresql(postgres_url, tmp_path, capsys):
    from sacred.observers import SqlObserver
    from sacred.store import open_store

    ex = Experiment("tb_pg", save_git_info=False)
    ex.main(lambda: None)
    ex.observers.append(SqlObserver(postgres_url))
    run = ex.run(options={"--loglevel": "ERROR"})
    _write_events(str(tmp_path / "tb"))
    args = ["import-tensorboard", postgres_url, str(run._id), str(tmp_path / "tb")]
    assert sacred_main(args) == 0
    with open_store(postgres_url) as store:
        stored = store.get(run._id)
        assert list(stored.metrics["acc"].index) == [0, 10, 20, 30, 40]
        assert len(stored.metrics) == 4
