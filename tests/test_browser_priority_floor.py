"""In a real browser, with axe: the round setting that priority groups are matched at least as
often as everyone (the optimiser's priority floor), from the round form to a run's review."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import ProgrammeRound, User
from mentoring.worker_context import WorkerContext

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory
from matching_world import make_round

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.floor@example.org"
# set to a folder to keep screenshots of the pages (to look at them)
SCREENSHOTS = os.environ.get("PRIORITY_FLOOR_SCREENSHOTS")
FLOOR = "Match mentees in priority groups at least as often as mentees overall"


def snap(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def world(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        people = make_round(factory, mentors=2, mentees=3, priority_professions=["nurse"],
                            name="Browser priority floor round")
        session.commit()
        return people.round.id


def test_the_floor_is_set_on_the_form_and_reported_on_the_review(page, live_server, world):
    round_id, base = world, live_server.url
    browser_sign_in(page, base, COORDINATOR)
    page.goto(f"{base}/rounds/{round_id}/edit")
    floor = page.get_by_label(FLOOR)
    expect(floor).not_to_be_checked()  # off unless the coordinator asks
    floor.check()
    snap(page, "priority-floor-form")
    assert_accessible(page)
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Yes, whenever possible")).to_be_visible()
    assert_accessible(page)
    with live_server.session() as session:
        programme_round = session.get(ProgrammeRound, round_id)
        assert programme_round.priority_floor is True
        user = session.exec(select(User).where(User.email == COORDINATOR)).one()
        request_run(session, programme_round, user)
        session.commit()
    run_queued_optimisations(WorkerContext(live_server.session, live_server.app.extensions[
        "mentoring.settings"]))
    page.goto(f"{base}/rounds/{round_id}/runs")
    page.get_by_role("link", name="Run", exact=False).first.click()
    expect(page.get_by_text("Mentees in priority groups were matched at least as often")
           ).to_be_visible()
    snap(page, "priority-floor-review")
    assert_accessible(page)
