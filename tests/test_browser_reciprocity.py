"""In a real browser, with axe: the review's warning that a rule leaves out priority-group
members, the round form's three-way reciprocity question, and a re-run's line about the run
it kept close to (issue 18)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import User
from mentoring.worker_context import WorkerContext

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory
from matching_world import make_round

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.reciprocity@example.org"


@pytest.fixture(scope="module")
def world(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        people = make_round(factory, mentors=2, mentees=2, reciprocal="required",
                            priority_professions=["nurse"], name="Browser reciprocity round")
        people.mentees[0].can_host = False
        session.add(people.mentees[0])
        session.commit()
        return people.round.id


def run_once(live_server, round_id: int) -> None:
    from sqlmodel import select

    from mentoring.models import ProgrammeRound

    with live_server.session() as session:
        user = session.exec(select(User).where(User.email == COORDINATOR)).one()
        request_run(session, session.get(ProgrammeRound, round_id), user)
        session.commit()
    run_queued_optimisations(WorkerContext(live_server.session, live_server.app.extensions[
        "mentoring.settings"]))


def test_warning_rule_choice_and_kept_close(page, live_server, world):
    round_id, base = world, live_server.url
    browser_sign_in(page, base, COORDINATOR)  # with the coordinator's second factor

    run_once(live_server, round_id)
    page.goto(f"{base}/rounds/{round_id}/runs")
    page.get_by_role("link", name="Run", exact=False).first.click()
    expect(page.get_by_text("The round's rules leave out leaders in priority groups")
           ).to_be_visible()
    assert_accessible(page)

    page.goto(f"{base}/rounds/{round_id}/edit")
    page.get_by_label("Yes, when both can host").check()
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Yes, when both can host")).to_be_visible()
    assert_accessible(page)

    run_once(live_server, round_id)
    page.goto(f"{base}/rounds/{round_id}/runs")
    page.get_by_role("link", name="Run", exact=False).first.click()
    expect(page.get_by_text("kept as close as it could to")).to_be_visible()
    expect(page.get_by_text("leave out leaders in priority groups")).to_have_count(0)
    assert_accessible(page)
