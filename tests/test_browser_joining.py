"""A new leader in a real browser, with axe on every page: register, confirm the email (the link
read from the outbox, as the worker would send it), answer every profile question, check the
answers, join the open round (skipping the self-assessment) and set 12 weeks of availability
with a weekly pattern."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.models import Availability, Notification

from accessibility import assert_accessible
from conftest import TEST_PASSWORD
from factories import Factory

pytestmark = pytest.mark.browser
EMAIL = "newcomer@example.org"


@pytest.fixture(scope="module")
def open_round(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        programme_round = factory.programme_round(name="Summer exchange",
                                                  starts_on=date(2030, 6, 3))
        factory.organisation(name="Peckham Community Pharmacy", sector="community_pharmacy",
                             borough="southwark")
        session.commit()
        return programme_round.id


def continue_(page):
    page.get_by_role("button", name="Continue").click()


def test_a_new_leader_joins_and_sets_twelve_weeks_in_a_few_clicks(page, live_server,
                                                                   open_round):
    base = live_server.url
    page.goto(f"{base}/sign-in")
    page.get_by_role("link", name="Create an account").click()
    assert_accessible(page)
    page.get_by_label("Work email address").fill(EMAIL)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    assert_accessible(page)

    with live_server.session() as session:
        email = session.exec(select(Notification).where(
            Notification.recipient_email == EMAIL)).one()
    link = re.search(r"http://\S+/verify/\S+", email.body_text).group(0)
    page.goto(base + link[link.index("/verify/"):])
    expect(page.locator("h1")).to_have_text("Create your account")
    assert_accessible(page)
    page.get_by_label("Create a password").fill("a-long-new-passphrase")
    page.get_by_label("Type the password again").fill("a-long-new-passphrase")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/profile/")
    expect(page.get_by_text("0% complete")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Start your profile").click()
    page.get_by_label("Your full name").fill("Nia Newcomer")
    page.get_by_label("Job title").fill("Community pharmacist")
    continue_(page)
    assert_accessible(page)
    page.get_by_label("Community pharmacist").check()
    continue_(page)
    page.get_by_label("Organisation", exact=True).select_option(label="Peckham Community Pharmacy")
    page.get_by_label("Community pharmacy").check()
    page.get_by_label("Southwark").check()
    assert_accessible(page)
    continue_(page)
    page.get_by_label("Emerging leader").check()
    continue_(page)
    page.get_by_label("None, I do not want to mentor").check()
    page.get_by_role("group", name="Would you like a mentor?").get_by_label("Yes").check()
    continue_(page)
    page.get_by_label("Yes").check()
    page.get_by_label("How many visits could you host in a week?").fill("1")
    continue_(page)
    # Hosts say once where visitors go (site and address are required).
    page.locator("#visit_site").fill("Peckham Community Pharmacy")
    page.locator("#visit_address").fill("12 Rye Lane\nLondon SE15 5BY")
    assert_accessible(page)
    continue_(page)
    page.get_by_label("Medicines optimisation").check()
    continue_(page)
    page.get_by_label("System leadership across organisations").check()
    continue_(page)
    page.get_by_label("How many hours a month").fill("8")
    continue_(page)
    page.get_by_label("Your line manager's email address (optional)").fill("h.okafor@nhs.net")
    assert_accessible(page)
    continue_(page)
    assert_accessible(page)
    continue_(page)  # preferences: anyone, anywhere
    page.get_by_label("I agree to take part").check()
    continue_(page)
    expect(page.locator("h1")).to_have_text("Check your answers")
    expect(page.get_by_text("Peckham Community Pharmacy").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Save your profile").click()
    expect(page.get_by_text("100% complete")).to_be_visible()

    page.get_by_role("link", name="When you are free").first.click()
    assert_accessible(page)
    page.get_by_role("button", name="Join Summer exchange").click()
    # First the self-assessment (tests/test_browser_confidence.py answers it): skipped here.
    expect(page.locator("h1")).to_have_text(
        "How confident do you feel working across organisations?")
    page.get_by_role("link", name="Skip this for now").click()
    expect(page.locator("h1")).to_have_text("When are you free?")
    assert_accessible(page)
    # Twelve weeks in three clicks and a button: Tuesday mornings and Thursday afternoons.
    page.get_by_label("Tuesday morning").check()
    page.get_by_label("Thursday afternoon").check()
    page.get_by_role("button", name="Apply to every week").click()
    expect(page.get_by_text("Saved. 24 half-days free")).to_be_visible()
    # Then an exception: away on the first Tuesday.
    page.get_by_label("Tuesday 4 June Morning").uncheck()
    page.get_by_role("button", name="Save dates").click()
    expect(page.get_by_text("Saved. 23 half-days free")).to_be_visible()
    assert_accessible(page)

    with live_server.session() as session:
        rows = session.exec(select(Availability).where(Availability.round_id == open_round)).all()
    assert len(rows) == 23
    assert (date(2030, 6, 4), "am") not in {(row.day, row.period) for row in rows}
