"""The leader's journey in a real browser, with axe on every page: sign in with a match offer,
see its held half-days (no calendar file yet), accept it; once the other leader accepts too the
exchanges are booked and the .ics is there; decline another offer with a reason; give feedback,
download my data."""

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
        pair = factory.matched(leader, mentor, status="offered",
                               upcoming_at=datetime(2030, 9, 3, 8, 0, tzinfo=UTC))
        other = factory.matched(leader, factory.mentor(email="dee@example.org", name="Dee Far"),
                                status="offered",
                                upcoming_at=datetime(2030, 9, 10, 8, 0, tzinfo=UTC))
        factory.user(email="coordinator@example.org", role="coordinator")
        session.commit()
        return {"email": "walker@example.org", "match_id": pair.match.id,
                "upcoming_id": pair.upcoming.id, "past_id": pair.past.id,
                "uid": pair.upcoming.uid, "mentor_id": mentor.id,
                "declined_id": other.match.id, "declined_exchange": other.upcoming.id}


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
    expect(page.get_by_text("This is an offer: nothing is booked until you")).to_be_visible()
    expect(page.get_by_role("heading", name="Why we think you fit")).to_be_visible()
    expect(page.get_by_text("out of 10")).to_have_count(0)  # the score is for coordinators
    assert_accessible(page)

    # A held half-day: nothing to put in a calendar before both accept.
    page.get_by_role("link", name="Tuesday 3 September 2030, 9:00am to 1:00pm").click()
    expect(page.get_by_text("held for you both")).to_be_visible()
    expect(page.get_by_role("link", name="Add to your calendar (.ics file)")).to_have_count(0)
    assert_accessible(page)
    page.go_back()

    page.get_by_role("button", name="Accept this match").click()
    expect(page.get_by_text("You have accepted the match")).to_be_visible()
    assert_accessible(page)

    # Gus accepts too (in his own session): the exchanges are booked.
    with live_server.session() as session:
        from mentoring.models import LeaderProfile, utcnow
        from mentoring.offers.services import accept_offer

        gus = session.get(LeaderProfile, journey["mentor_id"])
        accept_offer(session, gus, gus.user, journey["match_id"], utcnow())
        session.commit()
    page.reload()
    expect(page.get_by_text("You have both accepted. Your exchanges are booked and")
           ).to_be_visible()
    expect(page.get_by_role("link", name="guide@example.org")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Your matches and exchanges").click()
    page.get_by_role("link", name="Tuesday 3 September 2030, 9:00am to 1:00pm").click()
    expect(page.locator("h1")).to_have_text("Exchange on 3 September 2030")
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to your calendar (.ics file)").click()
    ics = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VCALENDAR" in ics and f"UID:{journey['uid']}" in ics.replace("\r\n ", "")

    # A file to import, not an invitation (issue 16): PUBLISH, no attendees.
    assert "METHOD:PUBLISH" in ics and "ATTENDEE" not in ics

    # Or all of them by a calendar link: https and webcal://, Outlook, Google and Apple, and
    # why a link and the emailed invitations together show each exchange twice.
    page.get_by_role("link", name="Add all your exchanges with a calendar link").click()
    expect(page.get_by_text("you will see each exchange twice")).to_be_visible()
    page.get_by_role("button", name="Create a calendar link").click()
    feed_url = page.get_by_label("Calendar link").input_value()
    webcal = page.get_by_role("link", name="Open the calendar link in your calendar app")
    assert webcal.get_attribute("href") == "webcal://" + feed_url.partition("://")[2]
    for client in ("Outlook", "Google Calendar", "Apple Calendar"):
        expect(page.get_by_role("heading", name=client, exact=True)).to_be_visible()
    assert_accessible(page)

    # The other offer does not suit: decline it with a reason and ask for another match.
    page.goto(f"{base}/matches/{journey['declined_id']}")
    page.get_by_role("link", name="Decline this match").click()
    page.get_by_role("button", name="Decline match").click()  # no reason chosen: an error
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("The workplace is too far for me to travel").check()
    page.get_by_label("Anything else the coordinators should know").fill("Two buses each way")
    page.get_by_label("I would like a different match").check()
    page.get_by_role("button", name="Decline match").click()
    expect(page.get_by_text("its half-days are free again")).to_be_visible()
    assert_accessible(page)
    with live_server.session() as session:
        import sqlalchemy as sa

        from mentoring.models import ExchangeBooking, Notification, utcnow

        assert not session.exec(sa.select(ExchangeBooking).where(
            ExchangeBooking.exchange_id == journey["declined_exchange"])).all()
        (told,) = session.exec(sa.select(Notification).where(
            Notification.kind == "offer-declined-coordinator")).scalars().all()
        assert told.recipient_email == "coordinator@example.org" and told.due_at <= utcnow()
        assert "Two buses each way" in told.body_text

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
