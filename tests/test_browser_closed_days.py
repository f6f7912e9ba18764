"""Closed days in a real browser, with axe on every page: a coordinator closes Christmas week
(after a mistake shown beside its field) and sees it on the round; a leader sees Christmas Day,
the Boxing Day substitute and Christmas week in place of checkboxes, and cannot tick them."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.closed@example.org"
LEADER = "leader.closed@example.org"


@pytest.fixture(scope="module")
def round_id(live_server) -> int:
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        leader = factory.leader(email=LEADER, name="Lee Leader")
        programme_round = factory.programme_round(name="Winter exchange",
                                                  starts_on=date(2026, 12, 14),
                                                  ends_on=date(2027, 1, 15))
        factory.participant(programme_round, leader)
        session.commit()
        return programme_round.id


def sign_in(page, base: str, email: str) -> None:
    browser_sign_in(page, base, email)


def fill_date(page, legend: str, day: str, month: str, year: str) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(day)
    group.get_by_label("Month").fill(month)
    group.get_by_label("Year").fill(year)


def test_a_coordinator_closes_christmas_week_and_a_leader_sees_it(page, live_server, round_id):
    base = live_server.url
    sign_in(page, base, COORDINATOR)
    page.goto(f"{base}/rounds/{round_id}")
    page.get_by_role("link", name="Bank holidays and blackout dates").click()
    expect(page.locator("h1")).to_have_text("Closed days")
    expect(page.get_by_text("Monday 28 December 2026: Boxing Day (observed)")).to_be_visible()
    assert_accessible(page)

    fill_date(page, "First day", "31", "12", "2026")
    fill_date(page, "Last day (optional)", "29", "12", "2026")
    page.get_by_role("button", name="Close these days").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "The last day must be the same as or after the first day")
    expect(page.locator("#reason-error")).to_contain_text("Enter the reason")
    assert_accessible(page)

    fill_date(page, "First day", "29", "12", "2026")
    fill_date(page, "Last day (optional)", "31", "12", "2026")
    page.get_by_label("Reason").fill("Christmas week")
    page.get_by_role("button", name="Close these days").click()
    expect(page.get_by_text("Closed 29 December 2026 to 31 December 2026: Christmas week."))\
        .to_be_visible()
    expect(page.get_by_role("button", name="Remove Christmas week")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Back to the round").click()
    expect(page.get_by_text("29 December 2026 to 31 December 2026: Christmas week"))\
        .to_be_visible()

    page.context.clear_cookies()
    sign_in(page, base, LEADER)
    page.goto(f"{base}/rounds/{round_id}/availability")
    christmas = page.get_by_role("table", name="Week beginning 28 December 2026")
    expect(christmas.get_by_role("row", name="Monday 28 December")).to_contain_text(
        "Bank holiday: Boxing Day (observed)")
    expect(christmas.get_by_role("row", name="Tuesday 29 December")).to_contain_text(
        "Closed: Christmas week")
    expect(christmas.get_by_role("checkbox")).to_have_count(0)
    before = page.get_by_role("table", name="Week beginning 21 December 2026")
    expect(before.get_by_role("row", name="Friday 25 December")).to_contain_text(
        "Bank holiday: Christmas Day")
    expect(before.get_by_role("checkbox")).to_have_count(8)  # Monday to Thursday
    assert_accessible(page)
