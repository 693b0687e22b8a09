"""A claim on a file-store study reads only the records that changed since the
worker's last claim, however many trials the study holds (counted, not timed)."""

from __future__ import annotations

from labwatch import LabAssistant
from labwatch.hyperparameters import UniformFloat
from labwatch.optimizers import RandomSearch
from sacred import Experiment
from sacred.observers.file_storage import reader as file_reader

QUIET = {"--loglevel": "ERROR"}


def test_a_claim_on_a_file_store_reads_only_new_and_changed_records(tmp_path, monkeypatch):
    # Records younger than 2 s when indexed are re-read at the next look (their mtime
    # may not have settled): that depends on the clock, not on the study's size. Off
    # here, so the count depends only on what changed.
    monkeypatch.setattr(file_reader, "RACY_NS", 0)
    reads: list[str] = []
    original = file_reader.FileStoreReader._read_record

    def counting(self, name):
        reads.append(name)
        return original(self, name)

    monkeypatch.setattr(file_reader.FileStoreReader, "_read_record", counting)
    ex = Experiment("lw_flat_files", save_git_info=False)
    a = LabAssistant(ex, store=str(tmp_path / "runs"), optimizer=RandomSearch)

    @ex.config
    def cfg():
        x = 0.0

    @a.searchspace
    def space():
        x = UniformFloat(-1.0, 1.0)

    @ex.main
    def main(x):
        return x * x

    per_claim = []
    for seed in range(30):
        reads.clear()
        ex.run(named_configs=["space"], config_updates={"seed": seed}, options=QUIET)
        per_claim.append(len(reads))
    # the first claim reads the (empty) study; each later one the trial finished
    # since, and the record it wrote itself: the same at 29 trials as at 2
    assert per_claim[1:] == [per_claim[1]] * 29, per_claim
    assert per_claim[1] <= 2
    assert len(a.trials("space")) == 30
