"""The host's checks in a real browser, with axe on every page: the host ticks their checklist on
the exchange page, the visitor reads what is still open, a coordinator finds the visit at risk
on the dashboard, confirms an item for the host, and changes what the organisation needs (errors
beside the fields first). Set SCREENSHOT_DIR to keep a picture of each page."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_crawl import browser_sign_in

from accessibility import assert_accessible, assert_nhs_font
from conftest import TEST_PASSWORD
from factories import Factory

pytestmark = pytest.mark.browser


def snap(page, name: str, full_page: bool = True) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def check(page, name: str, full_page: bool = True) -> None:
    assert_accessible(page)
    assert_nhs_font(page)
    snap(page, name, full_page)


@pytest.fixture(scope="module")
def visit(live_server):
    """Ben hosts Ada tomorrow at 9am at an acute trust (letter of access, every check): booked,
    nothing confirmed yet, so it is at risk."""
    from mentoring.models import Organisation, OrganisationCreate, utcnow
    from mentoring.slots import LONDON
    from mentoring.visits.checks import open_checklist

    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        trust = Organisation.model_validate(OrganisationCreate.model_validate(
            {"name": "Lambeth Park NHS Foundation Trust", "sector": "acute",
             "borough": "lambeth", "size": "large"}))
        session.add(trust)
        session.flush()
        host = factory.mentor(email="host@example.org", name="Ben Host",
                              organisation_id=trust.id)
        visitor = factory.leader(email="visitor@example.org", name="Ada Visitor")
        tomorrow = (utcnow().astimezone(LONDON) + timedelta(days=1)).date()
        starts = datetime.combine(tomorrow, time(9), LONDON)
        pair = factory.matched(visitor, host, status="accepted", upcoming_at=starts,
                               offered_at=utcnow() - timedelta(days=40))
        open_checklist(session, pair.upcoming, utcnow())
        factory.user(email="coordinator@example.org", role="coordinator")
        session.commit()
        return {"exchange": pair.upcoming.id, "round": pair.round.id, "trust": trust.id}


def test_the_host_ticks_and_the_visitor_sees_what_is_open(page, live_server, visit):
    base = live_server.url
    browser_sign_in(page, base, "host@example.org")
    page.goto(f"{base}/exchanges/{visit['exchange']}")
    expect(page.get_by_role("heading", name="Before the visit")).to_be_visible()
    expect(page.get_by_text("At risk")).to_be_visible()
    check(page, "exchange-host")
    page.get_by_label("Letter of access issued").check()
    page.get_by_label("DBS check confirmed").check()
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.get_by_text("Checklist saved: 2 items confirmed.")).to_be_visible()
    expect(page.get_by_label("DBS check confirmed")).to_be_checked()
    expect(page.get_by_text("Confirmed on").first).to_be_visible()
    check(page, "exchange-host-saved")

    page.context.clear_cookies()
    browser_sign_in(page, base, "visitor@example.org")
    page.goto(f"{base}/exchanges/{visit['exchange']}")
    expect(page.get_by_text("Still to confirm: Confidentiality agreement signed, Photo ID "
                            "arranged, Infection-control induction done, Patients told and "
                            "free to refuse.")).to_be_visible()
    expect(page.get_by_role("checkbox")).to_have_count(0)
    check(page, "exchange-visitor")


def test_a_coordinator_finds_the_visit_at_risk_and_changes_the_organisation(page, live_server,
                                                                            visit):
    base = live_server.url
    browser_sign_in(page, base, "coordinator@example.org")
    page.goto(f"{base}/rounds/{visit['round']}/dashboard")
    at_risk = page.locator("#at-risk")
    expect(at_risk).to_have_text("Exchanges at risk")
    at_risk.scroll_into_view_if_needed()
    check(page, "dashboard", full_page=False)
    page.get_by_role("link", name="Ada Visitor visits Ben Host").click()
    expect(page.locator("h1")).to_have_text("Ada Visitor visits Ben Host")
    check(page, "coordinator-checklist")
    page.get_by_label("Confidentiality agreement signed").check()
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.get_by_text("Checklist saved: 1 item confirmed.")).to_be_visible()
    expect(page.get_by_text("by coordinator@example.org")).to_be_visible()

    page.goto(f"{base}/rounds/{visit['round']}/changes")
    expect(page.get_by_role("cell", name="Ada Visitor visiting Ben Host: at risk",
                            exact=True)).to_be_visible()
    check(page, "changes")

    page.get_by_role("link", name="Organisations").first.click()
    expect(page.locator("h1")).to_have_text("Organisations")
    check(page, "organisations")
    page.get_by_role("link", name="Lambeth Park NHS Foundation Trust").click()
    expect(page.get_by_label("Letter of access")).to_be_checked()
    page.get_by_label("How many weeks' notice does it need?").fill("thirty")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.locator("#notice_weeks-error")).to_contain_text(
        "Enter the notice as a whole number of weeks, like 2")
    check(page, "organisation-error")
    page.get_by_label("How many weeks' notice does it need?").fill("6")
    page.get_by_label("Honorary contract").check()
    page.get_by_label("DBS check").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved what Lambeth Park NHS Foundation Trust needs")).to_be_visible()
    row = page.get_by_role("row", name="Lambeth Park NHS Foundation Trust")
    expect(row).to_contain_text("Honorary contract")
    expect(row).to_contain_text("6 weeks")
