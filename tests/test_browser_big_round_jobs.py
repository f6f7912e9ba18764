"""A big import and a big approval in a real browser, with axe on the progress page: the
worker does the work while the page says how far it has got, then shows what a small one shows
at once. The thresholds are lowered so that a handful of rows stands in for thousands."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.jobs import run_queued_jobs
from mentoring.matching import approval_jobs
from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import ProgrammeRound, User
from mentoring.rounds import import_jobs
from mentoring.worker_context import WorkerContext

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory
from matching_world import make_round

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.big@example.org"
# Where the pages are saved to look at (SCREENSHOTS=folder to choose another).
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", tempfile.gettempdir()))
CSV = ("email,name,profession\r\n"
       + "".join(f"big{n}@nhs.net,Big Leader {n},GP\r\n" for n in range(6)))


@pytest.fixture(scope="module")
def world(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        people = make_round(factory, name="Big round in a browser")
        session.commit()
        return people.round.id


def worker(live_server) -> WorkerContext:
    return WorkerContext(live_server.session, live_server.app.extensions["mentoring.settings"])


def test_a_big_import_and_a_big_approval_show_their_progress(page, live_server, world,
                                                             monkeypatch):
    monkeypatch.setattr(import_jobs, "IMPORT_IN_REQUEST_UP_TO", 2)
    monkeypatch.setattr(approval_jobs, "APPROVE_IN_REQUEST_UP_TO", 0)
    round_id, base = world, live_server.url
    browser_sign_in(page, base, COORDINATOR)

    page.goto(f"{base}/rounds/{round_id}/participants/import")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="CSV file").click()
    chooser.value.set_files(
        files=[{"name": "leaders.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 6 leaders").click()
    expect(page.locator("h1")).to_have_text("Importing leaders")
    status = page.locator("#job-progress-text")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("Waiting for the worker: 6 people to go.")
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "big-import-progress.png", full_page=True)

    run_queued_jobs(worker(live_server))
    # The page notices the end by itself and shows the result, as a small import does.
    expect(page.locator("h1")).to_have_text("Leaders imported", timeout=15_000)
    expect(page.get_by_text("Invited", exact=True)).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "big-import-result.png", full_page=True)

    with live_server.session() as session:
        user = session.exec(select(User).where(User.email == COORDINATOR)).one()
        run = request_run(session, session.get(ProgrammeRound, round_id), user, time_limit=30)
        session.commit()
        run_id = run.id
    run_queued_optimisations(worker(live_server))
    page.goto(f"{base}/rounds/{round_id}/runs/{run_id}/approve")
    page.get_by_role("button", name="Approve and publish").click()
    expect(page.locator("h1")).to_have_text(f"Approving run {run_id}")
    expect(page.locator("#job-progress-text")).to_contain_text("matches and exchanges to go")
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "big-approval-progress.png", full_page=True)

    run_queued_jobs(worker(live_server))
    expect(page.get_by_text("Approved: 2 matches offered")).to_be_visible(timeout=15_000)
    assert_accessible(page)
