"""The leader's journey in a real browser, with axe on every page: sign in with an approved
match, accept it, see the exchanges, download the .ics, give feedback, download my data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accessibility import assert_accessible
from conftest import TEST_PASSWORD
from factories import Factory

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def journey(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        leader = factory.leader(email="walker@example.org", name="Wren Walker")
        mentor = factory.mentor(email="guide@example.org", name="Gus Guide",
                                job_title="Director of pharmacy")
        pair = factory.matched(leader, mentor,
                               upcoming_at=datetime(2030, 9, 3, 8, 0, tzinfo=UTC))
        session.commit()
        return {"email": "walker@example.org", "match_id": pair.match.id,
                "upcoming_id": pair.upcoming.id, "past_id": pair.past.id,
                "uid": pair.upcoming.uid}


def test_a_leader_accepts_a_match_and_follows_it_through(page, live_server, journey):
    base = live_server.url
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill(journey["email"])
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/home")

    page.get_by_role("link", name="Matches and exchanges").first.click()
    page.wait_for_url(f"{base}/matches")
    assert_accessible(page)
    page.get_by_role("link", name="Gus Guide").click()
    expect(page.locator("h1")).to_have_text("Your match with Gus Guide")
    expect(page.get_by_text("Strong overlap of goals and strengths")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Accept this match").click()
    expect(page.get_by_text("You have accepted the match")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Your matches and exchanges").click()
    page.get_by_role("link", name="Tuesday 3 September 2030, 9:00am to 1:00pm").click()
    expect(page.locator("h1")).to_have_text("Exchange on 3 September 2030")
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to your calendar (.ics file)").click()
    ics = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VCALENDAR" in ics and f"UID:{journey['uid']}" in ics.replace("\r\n ", "")

    page.goto(f"{base}/exchanges/{journey['past_id']}")
    assert_accessible(page)
    page.get_by_role("link", name="Give feedback on this exchange").click()
    assert_accessible(page)
    page.get_by_role("button", name="Send feedback").click()  # nothing chosen: errors
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("5 \N{EN DASH} excellent").check()
    page.get_by_label("What did you learn?").fill("How a pharmacy team triages")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_text("Thank you for your feedback")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Your data").first.click()
    expect(page.locator("h1")).to_have_text("Your data")
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download your data (JSON, for other software)").click()
    data = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert data["profile"]["name"] == "Wren Walker"
    assert data["feedback"][0]["learned"] == "How a pharmacy team triages"
