"""Issue 20 in a real browser, with axe on every new page: a pair writes and confirms their
agreement, a leader checks in and raises a concern that only the coordinators see, and a quiet
pair is flagged on the coordinators' pages."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from accessibility import assert_accessible, assert_nhs_font
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("OUTCOMES_SCREENSHOTS")  # a folder, to look at the pages by eye
CONCERN = "Ben keeps cancelling at the last minute and I do not want to say so to him"


@pytest.fixture(scope="module")
def seeded(live_server):
    """A round 80 days in, 20 to go (so past its quiet date): Ben mentors Ada; Quinn mentors
    Ravi and neither has done anything."""
    today = date.today()
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        programme_round = factory.programme_round(
            name="Spring exchange", starts_on=today - timedelta(days=80),
            ends_on=today + timedelta(days=20))
        ada = factory.leader(email="ada@example.org", name="Ada Okafor")
        ben = factory.mentor(email="ben@example.org", name="Ben Adeyemi")
        ravi = factory.leader(email="ravi@example.org", name="Ravi Shah")
        quinn = factory.mentor(email="quinn@example.org", name="Quinn Lee")
        for person in (ada, ben, ravi, quinn):
            factory.participant(programme_round, person)
        match = factory.match(programme_round, ben, ada, status="accepted")
        factory.match(programme_round, quinn, ravi, status="accepted")
        coordinator = factory.user(email="outcomes.coord@example.org", role="coordinator")
        session.commit()
        return {"match": match.id, "round": programme_round.id, "coordinator": coordinator.email}


def sign_in(page, base: str, email: str) -> None:
    """Through the sign-in form, with the second factor where the app asks for one."""
    browser_sign_in(page, base, email)


def check(page, name: str) -> None:
    assert_accessible(page)
    assert_nhs_font(page)
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_a_pair_agrees_checks_in_and_a_concern_reaches_only_the_coordinators(
        browser, live_server, seeded):
    base, match = live_server.url, seeded["match"]
    ada = browser.new_context().new_page()
    sign_in(ada, base, "ada@example.org")
    ada.goto(f"{base}/matches/{match}")
    ada.get_by_role("link", name="Write your agreement with Ben Adeyemi").click()
    expect(ada.locator("h1")).to_have_text("Your agreement")
    check(ada, "agreement-new")
    ada.get_by_label("What you (Ada Okafor) want to learn (optional)").fill(
        "How an acute trust decides what to stop doing")
    ada.get_by_role("button", name="Save and confirm").click()
    expect(ada.locator("#shared_work-error")).to_contain_text("Enter the question or piece")
    check(ada, "agreement-error")
    ada.get_by_label("A question or piece of work you will take on together").fill(
        "Map one discharge pathway across our two organisations and share it with the PCN")
    ada.get_by_label("How you will keep in touch (optional)").fill("A call every other Friday")
    ada.get_by_label("Share our agreement with the programme coordinators").check()
    ada.get_by_role("button", name="Save and confirm").click()
    expect(ada.get_by_text("Waiting for Ben Adeyemi").first).to_be_visible()
    check(ada, "agreement-waiting")

    ada.goto(f"{base}/matches/{match}")
    ada.get_by_role("link", name="Mid-point check-in: answer three questions").click()
    expect(ada.locator("h1")).to_have_text("Mid-point check-in")
    check(ada, "check-in")
    ada.get_by_role("button", name="Send my answers").click()
    expect(ada.locator("#have_met-error")).to_be_visible()
    check(ada, "check-in-error")
    ada.get_by_label("Yes", exact=True).check()
    ada.get_by_label("Partly").check()
    ada.get_by_label("Anything we should know? (optional)").fill("Our diaries clash")
    ada.get_by_role("button", name="Send my answers").click()
    expect(ada.get_by_text("Your answers go to the programme coordinators only")).to_be_visible()

    ada.get_by_role("link",
                    name="Raise a concern privately with the programme coordinators").click()
    expect(ada.locator("h1")).to_have_text("Raise a concern privately")
    check(ada, "concern")
    ada.get_by_label("Your concern").fill(CONCERN)
    ada.get_by_role("button", name="Send to the coordinators").click()
    expect(ada.get_by_text("Your concern has been sent")).to_be_visible()
    check(ada, "match-after-concern")

    ben = browser.new_context().new_page()
    sign_in(ben, base, "ben@example.org")
    ben.goto(f"{base}/matches/{match}")
    assert CONCERN not in ben.content() and "Our diaries clash" not in ben.content()
    ben.get_by_role("link", name="Read your agreement").click()
    expect(ben.get_by_text("Waiting for you")).to_be_visible()
    ben.get_by_role("button", name="Confirm this agreement").click()
    expect(ben.get_by_text("Confirmed by both").first).to_be_visible()
    check(ben, "agreement-confirmed")

    coordinator = browser.new_context().new_page()
    sign_in(coordinator, base, seeded["coordinator"])
    coordinator.goto(f"{base}/rounds/{seeded['round']}/pair-progress")
    expect(coordinator.locator("h1")).to_have_text("How pairs are getting on")
    expect(coordinator.get_by_text(CONCERN)).to_be_visible()
    expect(coordinator.get_by_text("Our diaries clash")).to_be_visible()
    expect(coordinator.locator(".nhsuk-tag--red")).to_have_count(1)  # Quinn and Ravi
    check(coordinator, "pair-progress")
    coordinator.get_by_role("link", name="Read it").click()
    expect(coordinator.get_by_text("Map one discharge pathway")).to_be_visible()
    check(coordinator, "shared-agreement")
    coordinator.goto(f"{base}/rounds/{seeded['round']}/dashboard")
    expect(coordinator.get_by_text("Quinn Lee mentoring Ravi Shah")).to_be_visible()
    check(coordinator, "dashboard")
    coordinator.goto(f"{base}/rounds/{seeded['round']}/you-said-we-did")
    expect(coordinator.get_by_text("1 check-in was answered")).to_be_visible()
    check(coordinator, "you-said-we-did")
