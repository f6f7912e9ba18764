"""Calendar: each exchange as an .ics file, and a secret, revocable personal feed."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from mentoring.configuration import programme
from mentoring.exchanges import services
from mentoring.notifications.outbox import absolute

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def pair(factory, leader):
    return factory.matched(leader, factory.mentor(name="Ben Mentor"))


def unfolded(text: str) -> str:
    return text.replace("\r\n ", "")


def fresh(db, row):
    db.refresh(row)
    return row


# --- one exchange --------------------------------------------------------------------------


def test_an_exchange_downloads_as_a_file_to_import_in_london_time(db, leader, pair):
    """A download is PUBLISH: a copy to import, not an invitation (RFC 5546: no ATTENDEE)."""
    text, filename = services.exchange_ics(db, leader, pair.upcoming.id, "Team <t@example.org>")
    assert filename == f"exchange-{pair.upcoming.id}.ics"
    text = unfolded(text)
    assert "METHOD:PUBLISH" in text and "STATUS:CONFIRMED" in text
    assert "METHOD:REQUEST" not in text and "METHOD:CANCEL" not in text
    assert f"UID:{pair.upcoming.uid}" in text and "SEQUENCE:0" in text
    assert "DTSTART;TZID=Europe/London:20300305T090000" in text
    assert "BEGIN:VTIMEZONE" in text and "LOCATION:Guy's Hospital" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text and "RDATE" not in text
    # The organiser is the programme's mailbox (its contact in the configuration).
    contact = programme.of(db)["contact_email"]
    assert f"mailto:{contact}" in text and "ORGANIZER" in text
    assert "organizer@invalid" not in text and "ATTENDEE" not in text
    assert f"URL:{absolute(f'/exchanges/{pair.upcoming.id}')}" in text
    event = Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Leadership exchange: Ada Leader visits Ben Mentor"


def test_without_a_programme_contact_the_download_names_mail_from(db, leader, pair):
    programme.save(db, {**programme.of(db), "contact_email": ""})
    text = services.exchange_ics(db, leader, pair.upcoming.id, "Team <t@example.org>")[0]
    organizer = Calendar.from_ical(text).walk("VEVENT")[0]["ORGANIZER"]
    assert (str(organizer), organizer.params["CN"]) == ("mailto:t@example.org", "Team")


def test_a_cancelled_exchange_has_no_download(db, leader, leader_client, pair):
    services.cancel_my_exchange(db, leader, leader.user, pair.upcoming.id, "Ill", NOW)
    with pytest.raises(services.NotFound):
        services.exchange_ics(db, leader, pair.upcoming.id, "t@example.org")
    db.commit()
    assert leader_client.get(f"/exchanges/{pair.upcoming.id}.ics").status_code == 404
    page = leader_client.get(f"/exchanges/{pair.upcoming.id}").get_data(as_text=True)
    assert ".ics" not in page and "Remove it from your calendar" not in page
    assert "delete it there" in page


def test_the_ics_download_is_a_calendar_file(leader_client, pair):
    response = leader_client.get(f"/exchanges/{pair.upcoming.id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "BEGIN:VCALENDAR" in response.get_data(as_text=True)


# --- the personal feed ---------------------------------------------------------------------


def test_only_a_hash_of_the_feed_secret_is_stored(db, leader):
    token = services.create_calendar_token(db, leader, leader.user)
    assert len(token) >= 43
    assert leader.calendar_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in leader.calendar_token_hash
    assert services.leader_for_token(db, token).id == leader.id
    assert services.leader_for_token(db, "not-the-token") is None
    assert services.leader_for_token(db, "") is None


def test_a_new_link_revokes_the_old_one(db, leader):
    old = services.create_calendar_token(db, leader, leader.user)
    new = services.create_calendar_token(db, leader, leader.user)
    assert services.leader_for_token(db, old) is None
    assert services.leader_for_token(db, new).id == leader.id
    services.revoke_calendar_token(db, leader, leader.user)
    assert services.leader_for_token(db, new) is None


def test_the_feed_publishes_booked_exchanges_without_attendees_or_cancelled_ones(
        db, factory, leader, pair):
    """A subscribed calendar mirrors the feed: a cancelled exchange left out is removed at the
    next refresh. Under METHOD:PUBLISH events carry no ATTENDEE (RFC 5546)."""
    before = Calendar.from_ical(services.calendar_feed(db, leader, "t@example.org"))
    assert {str(e["UID"]) for e in before.walk("VEVENT")} == {pair.upcoming.uid, pair.past.uid}
    services.cancel_my_exchange(db, leader, leader.user, pair.upcoming.id, "Ill", NOW)
    other = factory.matched(factory.leader(), factory.mentor())  # not leader A's
    text = unfolded(services.calendar_feed(db, leader, "t@example.org"))
    assert "METHOD:PUBLISH" in text and "X-WR-CALNAME:Leadership exchanges" in text
    assert "ATTENDEE" not in text and "CANCEL" not in text
    calendar = Calendar.from_ical(text)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {pair.past.uid}
    assert str(events[pair.past.uid]["STATUS"]) == "CONFIRMED"
    assert other.upcoming.uid not in text
    assert len(calendar.walk("VTIMEZONE")) == 1


def test_the_feed_is_public_by_its_secret_and_404_once_revoked(db, client, leader_client, pair):
    html = leader_client.post_form("/calendar/new", form_page="/calendar").get_data(as_text=True)
    url = re.search(r'value="(http://localhost/calendar/[^"]+\.ics)"', html).group(1)
    path = url.removeprefix("http://localhost")
    response = client.get(path)  # no session: a calendar app
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert pair.upcoming.uid in unfolded(response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"
    # The secret is shown once only.
    assert path not in leader_client.get("/calendar").get_data(as_text=True)
    # The page offers the webcal:// form (calendar apps subscribe from it).
    assert f'href="webcal://localhost{path}"' in html
    leader_client.post_form("/calendar/revoke", form_page="/calendar")
    assert client.get(path).status_code == 404
    assert client.get("/calendar/made-up-token.ics").status_code == 404


def test_creating_a_new_link_through_the_page_replaces_the_old(client, leader_client, pair):
    first = leader_client.post_form("/calendar/new", form_page="/calendar").get_data(as_text=True)
    second = leader_client.post_form("/calendar/new", form_page="/calendar").get_data(as_text=True)
    pattern = r'value="http://localhost(/calendar/[^"]+\.ics)"'
    old, new = re.search(pattern, first).group(1), re.search(pattern, second).group(1)
    assert old != new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_the_calendar_page_needs_csrf_to_create_a_link(db, leader_client, leader):
    response = leader_client.client.post("/calendar/new")
    assert response.status_code in (302, 400)
    assert fresh(db, leader).calendar_token_hash is None
