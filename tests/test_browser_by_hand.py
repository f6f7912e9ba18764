"""A coordinator in a real browser, with axe on every page: make a pair by hand (refused with the
reason beside the date, then offered), answer a leader's request to move with the half-days
that fit what they asked, and choose the date of an exchange that was cancelled."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.exchanges.services import cancel_and_release, request_reschedule
from mentoring.models import Exchange, LeaderProfile, Match, User, utcnow
from mentoring.offers.services import accept_offer

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.by-hand@example.org"
MONDAY = date(2030, 1, 7)
SCREENSHOTS = os.environ.get("BY_HAND_SCREENSHOTS")  # a folder, to look at the pages


@pytest.fixture(scope="module")
def world(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        programme_round = factory.programme_round(
            name="Hand-made round", starts_on=MONDAY, exchanges_per_pair=2,
            min_days_between_exchanges=7)
        people = [
            factory.mentor(name="Maya Mentor", mentor_capacity=1, sector="acute",
                           profession="acute_clinical_director", max_hosted_per_week=1,
                           protected_hours_per_month=16),
            factory.leader(name="Ned Mentee", profession="nurse", sector="community_health",
                           can_host=True, max_hosted_per_week=1, protected_hours_per_month=16),
        ]
        for person in people:
            factory.participant(programme_round, person)
            for day in (MONDAY + timedelta(days=n) for n in range(42)):
                if day.weekday() < 5:
                    for period in ("am", "pm"):
                        factory.availability(programme_round, person, day, period)
        session.commit()
        return programme_round.id


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


def test_make_a_pair_move_an_exchange_and_choose_a_date_by_hand(page, live_server, world):
    base, round_id = live_server.url, world
    browser_sign_in(page, base, COORDINATOR)
    page.goto(f"{base}/rounds/{round_id}/runs")
    page.get_by_role("link", name="Make pairs and choose dates by hand").click()
    expect(page.locator("h1")).to_have_text("Pairs and dates by hand")
    assert_accessible(page)

    page.get_by_role("button", name="Make a pair by hand").click()
    for field, name in (("mentor", "Maya Mentor"), ("mentee", "Ned Mentee")):
        option = page.locator(f"#{field} option", has_text=name)
        page.locator(f"#{field}").select_option(option.get_attribute("value"))
    page.get_by_role("button", name="Show their common free half-days").click()
    expect(page.get_by_role("heading", name="Half-days both are free")).to_be_visible()
    assert_accessible(page)
    shot(page, "pair")

    # Too close together: refused, with the reason beside the second date.
    page.locator("#exchange-1").select_option("2030-01-08-am")
    page.locator("#exchange-2").select_option("2030-01-10-am")
    page.get_by_role("button", name="Check and offer the pair").click()
    expect(page.locator("#exchange-2-error")).to_contain_text("less than 7 days apart")
    expect(page.locator("#exchange-2")).to_have_value("2030-01-10-am")
    assert_accessible(page)
    shot(page, "pair-refused")

    page.locator("#exchange-2").select_option("2030-01-15-pm")
    page.get_by_role("button", name="Check and offer the pair").click()
    expect(page.get_by_text("The pair is offered")).to_be_visible()
    expect(page.get_by_text("Tuesday 8 January 2030, 9:00am to 1:00pm")).to_be_visible()
    assert_accessible(page)
    shot(page, "index")

    # The same two again: the page says at once that the rules refuse the pair.
    page.get_by_role("button", name="Make a pair by hand").click()
    for field, name in (("mentor", "Maya Mentor"), ("mentee", "Ned Mentee")):
        option = page.locator(f"#{field} option", has_text=name)
        page.locator(f"#{field}").select_option(option.get_attribute("value"))
    page.get_by_role("button", name="Show their common free half-days").click()
    expect(page.get_by_text("These two are already a pair in this round")).to_be_visible()
    assert_accessible(page)
    shot(page, "pair-not-allowed")

    # Both accept; then Ned asks to move the second exchange.
    with live_server.session() as session:
        match = session.exec(select(Match).where(Match.round_id == round_id)).one()
        for leader_id in (match.mentor_id, match.mentee_id):
            leader = session.get(LeaderProfile, leader_id)
            accept_offer(session, leader, session.get(User, leader.user_id), match.id, utcnow())
        second = session.exec(select(Exchange).where(Exchange.match_id == match.id)
                              .order_by(Exchange.starts_at.desc())).first()
        mentee = session.get(LeaderProfile, match.mentee_id)
        request_reschedule(session, mentee, session.get(User, mentee.user_id), second.id,
                           "A board meeting", "Any Wednesday afternoon in late January",
                           utcnow())
        session.commit()
        match_id, second_id = match.id, second.id

    page.goto(f"{base}/rounds/{round_id}/changes")
    page.get_by_role("link", name=re.compile("See the half-days that fit what they asked")).click()
    expect(page.locator("h1")).to_have_text("Move this exchange")
    expect(page.locator(".nhsuk-inset-text").get_by_text(
        "Wednesday afternoons, from Monday 21 January")).to_be_visible()
    radios = page.locator("input[name=slot]")
    expect(radios).to_have_count(2)
    assert_accessible(page)
    shot(page, "move-request")
    page.get_by_label(re.compile("Wednesday 30 January afternoon")).check()
    page.get_by_role("button", name="Move the exchange to this half-day").click()
    expect(page.get_by_text("The exchange has moved")).to_be_visible()
    expect(page.get_by_text("Wednesday 30 January 2030, 1:00pm to 5:00pm")).to_be_visible()

    # The exchange is cancelled: choose the date of another.
    with live_server.session() as session:
        cancel_and_release(session, session.get(Exchange, second_id), "Unwell", utcnow(),
                           cause="leader")
        session.commit()
    page.reload()
    page.get_by_role("link", name=re.compile("Choose a date")).click()
    expect(page.locator("h1")).to_have_text("Choose a date")
    assert_accessible(page)
    page.get_by_role("button", name="Add the exchange on this half-day").click()
    expect(page.locator("#host-error")).to_be_visible()
    expect(page.locator("#slot-error")).to_be_visible()
    assert_accessible(page)
    shot(page, "choose-date-refused")
    page.get_by_label("Ned Mentee (mentee)").check()
    page.locator("input[name=slot]").first.check()
    page.get_by_role("button", name="Add the exchange on this half-day").click()
    expect(page.get_by_text("The exchange is added")).to_be_visible()
    with live_server.session() as session:
        exchanges = session.exec(select(Exchange).where(Exchange.match_id == match_id,
                                                        Exchange.status == "scheduled")).all()
        assert len(exchanges) == 2
