"""The self-assessment in a real browser with axe (WCAG 2.2 AA): a leader joins a round, is
asked the eight statements, leaves one out and is told which beside it, answers it and goes on
to their availability; a coordinator reads the paired change on the dashboard.
CONFIDENCE_SCREENSHOTS=folder saves each page to look at by eye."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.confidence.services import STATEMENTS
from mentoring.models import SelfAssessment

from accessibility import assert_accessible
from confidence_world import build_evidence_round
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("CONFIDENCE_SCREENSHOTS")


def snap(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


@pytest.fixture(scope="module")
def seeded(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        leader = factory.leader(email="self.assessing@example.org", name="Sam Assessing")
        programme_round = factory.programme_round(name="Autumn exchange",
                                                  starts_on=date(2030, 9, 2))
        coordinator = factory.user(email="evidence.coord@example.org", role="coordinator")
        evidence = build_evidence_round(factory)
        session.commit()
        return leader.id, programme_round.id, coordinator.email, evidence.id


def sign_in(page, base: str, email: str) -> None:
    """Through the sign-in form, with the second factor where the app asks for one."""
    browser_sign_in(page, base, email)


def statement(page, index: int):
    return page.get_by_role("group", name=re.compile(re.escape(STATEMENTS[index].text)))


def test_a_leader_joins_and_answers_the_eight_statements(page, live_server, seeded):
    leader_id, round_id, _, _ = seeded
    base = live_server.url
    sign_in(page, base, "self.assessing@example.org")
    page.goto(f"{base}/availability")
    page.get_by_role("button", name="Join Autumn exchange").click()
    expect(page.locator("h1")).to_have_text(
        "How confident do you feel working across organisations?")
    expect(page.get_by_role("link", name="Skip this for now")).to_be_visible()
    assert_accessible(page)
    snap(page, "self-assessment")

    for index in range(len(STATEMENTS) - 1):  # the last one left out
        statement(page, index).get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Save answers").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Choose how far you agree: " + STATEMENTS[-1].text)
    assert_accessible(page)
    snap(page, "self-assessment-error")
    # The error summary's link goes to the statement; what was answered is kept.
    page.get_by_role("link", name="Choose how far you agree: " + STATEMENTS[-1].text).click()
    expect(statement(page, 0).get_by_label("Agree", exact=True)).to_be_checked()
    statement(page, len(STATEMENTS) - 1).get_by_label("Strongly agree").check()
    page.get_by_role("button", name="Save answers").click()

    expect(page.locator("h1")).to_have_text("When are you free?")
    expect(page.get_by_text("Thank you: your answers are saved")).to_be_visible()
    with live_server.session() as session:
        saved = session.exec(select(SelfAssessment).where(
            SelfAssessment.leader_id == leader_id, SelfAssessment.round_id == round_id)).one()
    assert saved.moment == "joining"
    assert list(saved.answers.values()) == [4] * 7 + [5]


def test_the_dashboard_shows_the_change_with_small_groups_hidden(page, live_server, seeded):
    _, _, coordinator, evidence_id = seeded
    base = live_server.url
    sign_in(page, base, coordinator)
    page.goto(f"{base}/rounds/{evidence_id}/dashboard#confidence")
    expect(page.get_by_text("14 paired leaders: overall +1.4")).to_be_visible()
    sector = page.get_by_role("table", name="Change by sector")
    expect(sector.get_by_role("row", name=re.compile("^Mental health"))).to_contain_text(
        "Not shown, so that a smaller group cannot be worked out")
    expect(sector.get_by_role("row", name=re.compile("^Voluntary"))).to_contain_text(
        "Fewer than 5")
    assert_accessible(page)
    page.locator("#confidence").scroll_into_view_if_needed()
    snap(page, "dashboard")
