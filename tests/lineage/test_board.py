"""The board: the run API answers a run's inputs and consumers, the run page shows
them as links, and deleting a consumed run asks again."""

from __future__ import annotations

import pytest

from tests.sacredboard.browser import browser_context_fixture, page_fixture  # noqa: F401

EDIT = {"X-Sacredboard": "1"}


@pytest.fixture
def linked(lab):
    """Two training runs (1, 2) and two evaluations of run 1 (3, 4) in SQLite, and an
    evaluation of runs 1 and 2 together (5)."""
    lab = lab("sqlite")
    first, second = lab.train(lr=0.05), lab.train(lr=0.1)
    lab.evaluate(first._id)
    lab.evaluate(first._id)
    from sacred import Experiment

    ex = Experiment("ensemble")

    @ex.main
    def main(_run):
        return [_run.use_run(i).config["lr"] for i in (first._id, second._id)]

    ex.observers.append(lab.observer)
    ex.run(options={"--capture": "no"})
    return lab


@pytest.fixture
def client(linked):
    from starlette.testclient import TestClient

    from sacredboard import create_app

    with TestClient(create_app(linked.location), base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_the_run_api_lists_inputs_and_consumers(client, linked):
    from sacred.store.lineage import store_label

    training = client.get("/api/runs/1").json()["lineage"]
    assert training["inputs"] == []
    assert [(c["id"], c["experiment"]) for c in training["consumers"]] == [
        (3, "evaluate"),
        (4, "evaluate"),
        (5, "ensemble"),
    ]
    evaluation = client.get("/api/runs/3").json()["lineage"]
    (entry,) = evaluation["inputs"]
    assert entry["id"] == 1 and entry["here"] and not entry["missing"]
    assert entry["experiment"] == "train" and entry["status"] == "COMPLETED"
    assert entry["store"] == store_label(linked.location)
    assert list(entry["artifacts"]) == ["model.json"]
    assert evaluation["consumers"] == []


def test_deleting_a_consumed_run_needs_a_confirmation(client):
    response = client.post("/api/edit/delete", json={"ids": [2]}, headers=EDIT)
    assert response.status_code == 409
    body = response.json()
    assert body["error"].startswith("run 2 was consumed by run 5 (ensemble): ")
    assert body["error"].endswith("(nothing was deleted).")
    assert body["consumed"] == {"2": [5]}
    assert client.get("/api/runs/2").status_code == 200

    dry = client.post("/api/edit/delete", json={"ids": [2, 3], "dry_run": True}, headers=EDIT)
    assert dry.json() == {
        "consumed": {"2": [5]},
        "message": body["error"][: -len(" (nothing was deleted).")],
    }
    assert client.get("/api/runs/2").status_code == 200

    body = {"ids": [2], "confirm_consumed": True}
    response = client.post("/api/edit/delete", json=body, headers=EDIT)
    assert response.json() == {"deleted": [2]}
    (kept, gone) = client.get("/api/runs/5").json()["lineage"]["inputs"]
    assert (kept["id"], kept["missing"]) == (1, False)
    assert (gone["id"], gone["missing"]) == (2, True)


@pytest.fixture
def board(linked):
    """The board's URL over the linked runs (served until the page is closed)."""
    from tests.sacredboard.serve import serve

    with serve(linked.location) as (url, _):
        yield url.rstrip("/")


@pytest.mark.slow
def test_the_run_page_links_inputs_and_consumers(board, page):
    page = page.page
    page.goto(f"{board}/run/5")
    section = page.locator("details.lineage")
    section.wait_for()
    assert section.locator("summary").text_content() == "Linked runs (2 in, 0 out)"
    assert section.locator("li.input-run a").all_text_contents() == ["run 1", "run 2"]
    section.locator("a.compare-inputs").click()
    page.wait_for_url(f"{board}/compare?ids=1,2")

    page.goto(f"{board}/run/1")
    consumers = page.locator("details.lineage li.consumer-run a")
    consumers.first.wait_for()
    assert consumers.all_text_contents() == ["run 3", "run 4", "run 5"]
    consumers.first.click()
    page.wait_for_url(f"{board}/run/3")
    page.locator("h1", has_text="Run 3").wait_for()


@pytest.mark.slow
def test_deleting_a_consumed_run_in_the_table_names_its_consumers(board, page):
    p = page.page
    p.goto(f"{board}/?sort=id")
    p.wait_for_selector("tr.run[data-id='2']")
    p.locator("tr.run[data-id='2'] td.sel input").check()
    p.click("text=Delete…")
    question = p.locator("dialog.ask[open]:has-text('Move 1 consumed run to the trash?')")
    question.wait_for()
    assert "run 2 was consumed by run 5 (ensemble)" in question.locator("p").text_content()
    p.click("dialog.ask .ask-cancel")
    p.wait_for_selector("dialog.ask", state="detached")
    assert p.locator("tr.run[data-id='2']").count() == 1  # kept: the user said no

    p.click("text=Delete…")
    p.click("dialog.ask .ask-ok:has-text('Move anyway')")
    p.wait_for_selector("tr.run[data-id='2']", state="detached")
