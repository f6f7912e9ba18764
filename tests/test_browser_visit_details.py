"""Visit details in a real browser, with axe on every page: a host gives them on their profile
and changes them for one exchange; the visitor finds where to go, whom to call and when feedback
opens on the exchange page, and the pair write their shared note."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from accessibility import assert_accessible, assert_nhs_font
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pair(live_server):
    from mentoring.exchanges.visits import copy_from_host

    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        visitor = factory.leader(email="ravi@example.org", name="Ravi Sivakumar",
                                 phone="07700 900 456", job_title="Pharmacist manager")
        host = factory.mentor(
            email="grace@example.org", name="Grace Mensah", max_hosted_per_week=1,
            job_title="PCN clinical director", phone="07700 900 123",
            visit_site="Deptford Creek Health Centre",
            visit_address="27 Creekside Walk\nDeptford\nLondon SE8 4QX",
            visit_directions="Deptford Bridge DLR is a 5-minute walk.",
            visit_meeting="Main reception: ask for Grace.",
            visit_bring="Photo ID. Smart casual.",
            visit_accessibility="Step-free entrance and a lift.",
            visit_phone="020 7946 0321")
        booked = factory.matched(visitor, host, status="accepted",
                                 upcoming_at=datetime(2030, 9, 3, 8, 0, tzinfo=UTC))
        copy_from_host(booked.upcoming, host)
        session.add(booked.upcoming)
        session.commit()
        return {"exchange": booked.upcoming.id}


def sign_in(page, base: str, email: str) -> None:
    browser_sign_in(page, base, email)


def test_a_host_gives_visit_details_and_changes_them_for_one_exchange(page, live_server, pair,
                                                                      tmp_path):
    base = live_server.url
    sign_in(page, base, "grace@example.org")
    page.goto(f"{base}/profile/visit-details")
    expect(page.locator("h1")).to_have_text("Visit details")
    assert_accessible(page)
    assert_nhs_font(page)
    page.get_by_label("Site name").fill("")
    page.get_by_label("Phone number on the day (optional)").fill("call me")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page.locator("#visit_site-error")).to_contain_text("Enter the name of the site")
    expect(page.locator("#visit_phone-error")).to_contain_text("Enter a phone number")
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "profile-visit-details-errors.png"), full_page=True)
    page.get_by_label("Site name").fill("Deptford Creek Health Centre")
    page.get_by_label("Phone number on the day (optional)").fill("020 7946 0321")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("What could you offer another leader?")

    page.goto(f"{base}/exchanges/{pair['exchange']}")
    expect(page.get_by_text("Ravi Sivakumar visits you")).to_be_visible()
    page.get_by_role("link", name="Change the visit details for this exchange").click()
    expect(page.locator("h1")).to_have_text("Visit details for this exchange")
    assert_accessible(page)
    assert_nhs_font(page)
    page.screenshot(path=str(tmp_path / "exchange-visit-details.png"), full_page=True)
    page.get_by_label("Site name").fill("Creekside Annexe")
    page.get_by_role("button", name="Save the visit details").click()
    expect(page.get_by_text("We have emailed Ravi Sivakumar and you the new details")) \
        .to_be_visible()
    expect(page.locator(".nhsuk-summary-list").first).to_contain_text("Creekside Annexe")
    assert_accessible(page)


def test_the_visitor_finds_the_day_on_the_exchange_page_and_writes_the_shared_note(
        page, live_server, pair, tmp_path):
    base = live_server.url
    sign_in(page, base, "ravi@example.org")
    page.goto(f"{base}/exchanges/{pair['exchange']}")
    expect(page.get_by_text("You visit Grace Mensah")).to_be_visible()
    details = page.locator(".nhsuk-summary-list").first
    expect(details).to_contain_text("27 Creekside Walk")
    expect(details).to_contain_text("Deptford Bridge DLR")
    expect(page.get_by_role("link", name="020 7946 0321")).to_have_attribute(
        "href", "tel:02079460321")
    expect(page.get_by_role("link", name="grace@example.org")).to_be_visible()
    expect(page.get_by_role("link", name="07700 900 123")).to_be_visible()
    expect(page.get_by_text("opens at 9am on Wednesday 4 September 2030")).to_be_visible()
    assert_accessible(page)
    assert_nhs_font(page)

    page.get_by_label("Your shared note").fill("How does a PCN decide what to stop doing?")
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_text("Your shared note is saved")).to_be_visible()
    expect(page.get_by_label("Your shared note")).to_have_value(
        "How does a PCN decide what to stop doing?")
    expect(page.get_by_text("Last changed by you on")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "exchange-visitor.png"), full_page=True)

    page.get_by_label("Your shared note").fill("x" * 501)
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
