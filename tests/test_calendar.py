"""Calendar: each exchange as an .ics file, and a secret, revocable personal feed."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from mentoring.exchanges import services

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


def test_an_exchange_downloads_as_an_invitation_in_london_time(db, leader, pair):
    text, filename = services.exchange_ics(db, leader, pair.upcoming.id, "Team <t@example.org>")
    assert filename == f"exchange-{pair.upcoming.id}.ics"
    text = unfolded(text)
    assert "METHOD:REQUEST" in text and "STATUS:CONFIRMED" in text
    assert f"UID:{pair.upcoming.uid}" in text and "SEQUENCE:0" in text
    assert "DTSTART;TZID=Europe/London:20300305T090000" in text
    assert "BEGIN:VTIMEZONE" in text and "LOCATION:Guy's Hospital" in text
    assert 'ORGANIZER;CN="Team":mailto:t@example.org' in text
    assert "organizer@invalid" not in text
    assert "mailto:leader.a@example.org" in text
    event = Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Leadership exchange: Ada Leader visits Ben Mentor"


def test_a_cancelled_exchange_downloads_as_a_cancellation_with_a_higher_sequence(db, leader, pair):
    services.cancel_my_exchange(db, leader, leader.user, pair.upcoming.id, "Ill", NOW)
    text = unfolded(services.exchange_ics(db, leader, pair.upcoming.id, "t@example.org")[0])
    assert "METHOD:CANCEL" in text and "STATUS:CANCELLED" in text
    assert "SEQUENCE:1" in text and f"UID:{pair.upcoming.uid}" in text


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


def test_the_feed_has_every_exchange_and_marks_cancelled_ones(db, factory, leader, pair):
    services.cancel_my_exchange(db, leader, leader.user, pair.upcoming.id, "Ill", NOW)
    other = factory.matched(factory.leader(), factory.mentor())  # not leader A's
    text = unfolded(services.calendar_feed(db, leader, "t@example.org"))
    assert "METHOD:PUBLISH" in text and "X-WR-CALNAME:Leadership exchanges" in text
    calendar = Calendar.from_ical(text)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {pair.upcoming.uid, pair.past.uid}
    assert str(events[pair.upcoming.uid]["STATUS"]) == "CANCELLED"
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
