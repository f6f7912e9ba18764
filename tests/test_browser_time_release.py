"""A line manager answers from the emailed link in a real browser, with axe on every page and no
account: an answer is required, a refusal needs a reason (shown beside the field), the answer is
then final; the leader sees it on their match page and the coordinator on the changes page."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser
# Set to a folder to keep a screenshot of each page (to look at what was built).
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def booked(live_server):
    from mentoring.models import Notification, utcnow
    from mentoring.releases.services import Kind, request_releases

    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        mentee = factory.leader(email="ravi@example.org", name="Ravi Sivakumar",
                                job_title="Pharmacist manager", protected_hours_per_month=8,
                                line_manager_name="Helen Okafor",
                                line_manager_email="helen@example.nhs.uk")
        mentor = factory.mentor(email="grace@example.org", name="Grace Mensah",
                                line_manager_name="Sam Adeyemi",
                                line_manager_email="sam@example.nhs.uk")
        factory.user(email="coordinator@example.org", role="coordinator")
        now = utcnow()
        pair = factory.matched(mentee, mentor, offered_at=now - timedelta(days=2),
                               upcoming_at=datetime(2030, 9, 3, 8, 0, tzinfo=UTC))
        pair.round.ask_line_manager_release = True
        session.add(pair.round)
        request_releases(session, pair.match, now)
        session.commit()
        links = {}
        for notification in session.exec(select(Notification).where(
                Notification.kind == Kind.REQUEST)).all():
            links[notification.recipient_email] = re.search(
                r"/release/\S+", notification.body_text).group(0)
        return {"links": links, "match_id": pair.match.id, "round_id": pair.round.id}


def test_a_line_manager_declines_with_a_reason_and_the_answer_is_final(page, live_server,
                                                                        booked):
    base = live_server.url
    page.goto(base + booked["links"]["helen@example.nhs.uk"])
    expect(page.locator("h1")).to_have_text(
        "Release Ravi Sivakumar's time for the leadership exchange")
    expect(page.get_by_role("cell", name="Tuesday 3 September 2030, 9:00am to 1:00pm")
           ).to_be_visible()
    expect(page.get_by_text("Sign out")).to_have_count(0)  # nobody is signed in
    assert_accessible(page)
    shot(page, "release-1-asked")

    page.get_by_role("button", name="Send your answer").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "Select whether you can release this time")
    assert_accessible(page)

    page.get_by_label("No, I cannot release this time").check()
    page.get_by_role("button", name="Send your answer").click()
    expect(page.locator("#reason-error")).to_contain_text(
        "Tell us why you cannot release this time")
    assert_accessible(page)
    shot(page, "release-2-reason-needed")

    page.get_by_label("If you cannot release this time, why not?").fill(
        "Our CQC inspection is that week; any Tuesday in October works")
    page.get_by_role("button", name="Send your answer").click()
    expect(page.get_by_role("heading", name="You have answered")).to_be_visible()
    expect(page.get_by_text("Our CQC inspection is that week")).to_be_visible()
    expect(page.get_by_role("button", name="Send your answer")).to_have_count(0)
    assert_accessible(page)
    shot(page, "release-3-answered")

    page.reload()  # a second use shows the answer, and offers no way to change it
    expect(page.get_by_text("This link cannot change the answer")).to_be_visible()


def test_a_line_manager_releases_the_time(page, live_server, booked):
    page.goto(live_server.url + booked["links"]["sam@example.nhs.uk"])
    page.get_by_label("Yes, I release this time").check()
    page.get_by_role("button", name="Send your answer").click()
    expect(page.get_by_text("You released Grace Mensah's time")).to_be_visible()
    assert_accessible(page)


def test_the_leader_and_the_coordinator_see_the_answers(page, live_server, booked):
    base = live_server.url
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill("ravi@example.org")
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/matches/{booked['match_id']}")
    expect(page.get_by_role("heading", name="Time from your line manager")).to_be_visible()
    expect(page.get_by_text("Time not released")).to_be_visible()
    assert_accessible(page)
    shot(page, "release-4-leader-match")
    # The leader following their manager's link cannot answer for them.
    page.goto(base + booked["links"]["helen@example.nhs.uk"])
    expect(page.locator("h1")).to_have_text("This link is for your line manager")
    assert_accessible(page)

    page.context.clear_cookies()
    browser_sign_in(page, base, "coordinator@example.org")  # with the second factor
    page.goto(f"{base}/rounds/{booked['round_id']}/changes")
    expect(page.get_by_role("heading", name="Time from line managers")).to_be_visible()
    expect(page.get_by_text("Time not released").first).to_be_visible()
    assert_accessible(page)
    shot(page, "release-5-changes")
    page.goto(f"{base}/rounds/{booked['round_id']}/dashboard")
    expect(page.get_by_text("1 released, 1 declined, 0 waiting")).to_be_visible()
    assert_accessible(page)
    shot(page, "release-6-dashboard")
