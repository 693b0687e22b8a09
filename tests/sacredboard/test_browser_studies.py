"""Labwatch study pages in headless Chromium, while a `labwatch worker` runs trials:
the list, the optimization history, parallel coordinates coloured by cost, the
hyperparameters' importance, the best configuration with its command, and trial
states including pruned and dead ones."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import textwrap

import pytest

from tests.sacredboard.browser import browser_context_fixture, page_fixture, view_shot  # noqa: F401
from tests.sacredboard.serve import ROOT, serve

pytestmark = pytest.mark.slow  # a headless browser: the full suite only

SCRIPT = textwrap.dedent(
    """
    import os
    import time

    from labwatch.assistant import LabAssistant
    from labwatch.hyperparameters import UniformFloat
    from labwatch.optimizers import RandomSearch
    from sacred import Experiment

    ex = Experiment("lw_live", save_git_info=False)
    assistant = LabAssistant(ex, store=os.environ["LW_STORE"], optimizer=RandomSearch)


    @ex.config
    def cfg():
        lr = 0.01
        width = 3


    @assistant.searchspace
    def space():
        lr = UniformFloat(lower=0.001, upper=0.1, log_scale=True)
        width = UniformFloat(lower=1.0, upper=8.0)


    @ex.main
    def main(lr, width):
        # Held while the test looks at a running trial.
        while os.path.exists(os.environ["LW_HOLD"]):
            time.sleep(0.02)
        return lr * 10 + width / 100
    """
)


def extra_trial(location, study_meta, dead: bool, number: int) -> None:
    """A pruned trial (completed, marked PRUNED) or one whose worker died."""
    from sacred import Experiment
    from sacred._time import utc_now
    from sacred.observers import SqlObserver

    observer = SqlObserver(location)
    ex = Experiment("lw_live", save_git_info=False)
    meta = {"labwatch": {**study_meta, "trial": number}}
    if not dead:
        meta["labwatch"]["state"] = "PRUNED"
    start = utc_now() - datetime.timedelta(hours=1 if dead else 0)
    observer.started_event(
        ex_info=ex.get_experiment_info(),
        command="main",
        host_info={"hostname": "h"},
        start_time=start,
        config={"lr": 0.05, "width": 2.0, "seed": 3},
        meta_info=meta,
        _id=None,
    )
    observer.heartbeat_event(info={}, captured_out="", beat_time=start, result=None)
    if not dead:
        observer.completed_event(stop_time=utc_now(), result=0.9)


@pytest.fixture
def study(tmp_path):
    """(board url, worker environment, script path, store) with two finished trials
    run by a worker, one pruned and one dead."""
    location = f"sqlite:///{tmp_path / 'runs.db'}"
    script = tmp_path / "lw_live.py"
    script.write_text(SCRIPT)
    env = {
        **os.environ,
        "PYTHONPATH": ROOT,
        "LW_STORE": location,
        "LW_HOLD": str(tmp_path / "hold"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    worker = [sys.executable, "-m", "labwatch", "worker", str(script), "space", "--store"]
    worker += [location, "--beat-interval", "0.2", "--loglevel", "ERROR"]
    subprocess.run([*worker, "--n-trials", "2"], check=True, env=env, cwd=tmp_path, timeout=120)
    from sacred.store import open_store

    with open_store(location) as store:
        first = store.find("meta.labwatch exists", sort="meta.labwatch.trial", limit=1)[0]
    study_meta = {k: v for k, v in first.meta["labwatch"].items() if k != "trial"}
    extra_trial(location, study_meta, dead=False, number=10)
    extra_trial(location, study_meta, dead=True, number=11)
    with serve(location) as (url, _):
        yield url.rstrip("/"), env, worker, tmp_path, study_meta["study"]


def count(p, what: str) -> str:
    return p.locator(f".study-states [data-count={what}]").inner_text()


def test_study_pages_while_a_worker_runs(study, page):
    url, env, worker, tmp_path, name = study
    p = page.page
    p.goto(url + "/studies")
    p.wait_for_selector(".studies.drawn tr.study")
    row = p.locator("tr.study")
    assert row.locator("td.trials").inner_text() == "4"
    assert row.locator("td.pruned").inner_text() == "1"
    assert row.locator("td.dead").inner_text() == "1"
    row.locator("a").first.click()
    p.wait_for_selector(".study-page.drawn")
    assert count(p, "trials") == "4 trials"
    assert count(p, "completed") == "2 completed"
    states = p.locator("tr.trial").evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert states[:2] == ["DEAD", "PRUNED"]  # newest first
    # The history: a cost per trial with one (pruned trials have a cost too).
    assert p.locator(".study-history .uplot").get_attribute("data-trials") == "3"
    # Parallel coordinates of the space's entries, coloured by cost.
    p.wait_for_selector(".study-parallel .parallel.drawn")
    paths = p.locator(".parallel-label").evaluate_all("ls => ls.map(l => l.dataset.path)")
    assert paths == ["lr", "width", "cost"]
    # The importance of the space's entries, one bar each, over the 2 completed trials.
    p.wait_for_selector(".study-importance.drawn .importance-row")
    assert p.locator(".study-importance").get_attribute("data-used") == "2"
    names = p.locator(".importance-name").all_inner_texts()
    assert sorted(names) == ["lr", "width"]
    # The best configuration and the command that runs it again.
    p.wait_for_selector(".rerun-command")
    command = p.locator(".rerun-command").inner_text()
    assert command.startswith("python ") and " main with lr=" in command and "width=" in command
    # A worker starts a trial: it shows as running, then completed, without a reload.
    (tmp_path / "hold").touch()
    process = subprocess.Popen([*worker, "--n-trials", "5"], env=env, cwd=tmp_path)
    try:
        p.wait_for_function(
            "document.querySelector('[data-count=running]').textContent === '1 running'",
            timeout=30_000,
        )
        p.wait_for_selector("tr.trial[data-state=RUNNING]")
        view_shot(p, "study")
        (tmp_path / "hold").unlink()
        p.wait_for_function(
            "parseInt(document.querySelector('[data-count=completed]').textContent) >= 3",
            timeout=30_000,
        )
    finally:
        if (tmp_path / "hold").exists():
            (tmp_path / "hold").unlink()
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
    # The history grew with the new trials (a retry of the dead one may run too).
    p.wait_for_function(
        "parseInt(document.querySelector('.study-history .uplot').dataset.trials) >= 4"
    )
    # The importance follows: fitted again over the newly completed trials.
    p.wait_for_function(
        "parseInt(document.querySelector('.study-importance.drawn').dataset.used) >= 3"
    )


# No dot in it: a dotted name reads as a nested configuration entry.
EVIL = "<img src=x onerror=\"window['__xss'] = 1\">"


def write_study(location: str, study: str, costs: list[float]) -> None:
    """A study written as Labwatch records it, one completed trial per cost, whose
    hyperparameters are lr and a name full of markup."""
    from sacred import Experiment
    from sacred._time import utc_now
    from sacred.observers import SqlObserver

    ex = Experiment("lw_written", save_git_info=False)
    uniform = {"kind": "uniform", "lower": 0.0, "upper": 1.0, "type": "float", "log_scale": False}
    space_def = {"lr": uniform, EVIL: uniform}
    for number, cost in enumerate(costs):
        meta = {
            "study": study,
            "space": "space",
            "optimizer": "RandomSearch",
            "direction": "minimize",
            "trial": number,
            "space_def": space_def,
        }
        observer = SqlObserver(location)
        observer.started_event(
            ex_info=ex.get_experiment_info(),
            command="main",
            host_info={"hostname": "h"},
            start_time=utc_now(),
            config={"lr": cost / 10, EVIL: (number % 3) / 3, "seed": number},
            meta_info={"labwatch": meta},
            _id=None,
        )
        observer.completed_event(stop_time=utc_now(), result=cost)


@pytest.fixture
def written(tmp_path):
    """The board's url over a study of 8 completed trials and one of a single trial
    (started before the page, stopped after it: the page polls until it closes)."""
    location = f"sqlite:///{tmp_path / 'runs.db'}"
    write_study(location, "lw_written/markup", [float(i) for i in range(1, 9)])
    write_study(location, "lw_written/single", [1.0])
    with serve(location) as (url, _):
        yield url.rstrip("/")


def test_importance_shows_stored_names_as_text_and_says_when_there_is_none(written, page):
    p = page.page
    p.goto(written + "/studies/lw_written%2Fmarkup")
    p.wait_for_selector(".study-importance.drawn .importance-row")
    names = p.locator(".importance-name").all_inner_texts()
    assert sorted(names) == sorted(["lr", EVIL])
    # The cost follows lr: its bar is the longest.
    assert p.locator(".importance-row").first.get_attribute("data-name") == "lr"
    assert p.locator(".study-importance img").count() == 0
    assert p.evaluate("window.__xss") is None
    view_shot(p, "study-importance")
    p.goto(written + "/studies/lw_written%2Fsingle")
    p.wait_for_selector(".study-importance.drawn")
    assert p.locator(".importance-message").inner_text() == (
        "Hyperparameter importance needs at least 2 completed trials; this study has 1."
    )
    assert p.locator(".importance-row").count() == 0
