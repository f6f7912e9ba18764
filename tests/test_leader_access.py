"""A leader can never read or change another leader's matches, exchanges, feedback or calendar
feed by changing an id or a token in a URL or a form: every such request is a 404 and changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mentoring.exchanges import services
from mentoring.models import AuditEvent, Feedback, Reflection


@pytest.fixture
def mine(factory, leader):
    return factory.matched(leader)


@pytest.fixture
def theirs(factory):
    """Leader B mentors leader C: nothing to do with leader A."""
    return factory.matched(factory.leader(name="Cat Other"), factory.mentor(name="Bo Other"))


def reads(theirs) -> list[str]:
    match, upcoming, past = theirs.match.id, theirs.upcoming.id, theirs.past.id
    return [
        f"/matches/{match}",
        f"/matches/{match}/decline",
        f"/exchanges/{upcoming}",
        f"/exchanges/{upcoming}.ics",
        f"/exchanges/{upcoming}/cancel",
        f"/exchanges/{upcoming}/reschedule",
        f"/exchanges/{past}/feedback",
        f"/my-data/rounds/{theirs.round.id}/withdraw",
    ]


def test_other_leaders_pages_are_not_found(leader_client, mine, theirs):
    for url in reads(theirs):
        assert leader_client.get(url).status_code == 404, url
    # Their names appear nowhere in leader A's own pages.
    for url in ("/matches", "/reflections", "/my-data/export.json", "/my-data/export.csv"):
        html = leader_client.get(url).get_data(as_text=True)
        assert "Cat Other" not in html and "Bo Other" not in html, url


def test_other_leaders_objects_cannot_be_changed(db, leader_client, mine, theirs):
    own_page = f"/matches/{mine.match.id}"
    posts = {
        f"/matches/{theirs.match.id}/accept": {},
        f"/matches/{theirs.match.id}/decline": {"reason": "Not mine"},
        f"/exchanges/{theirs.upcoming.id}/cancel": {"reason": "Not mine"},
        f"/exchanges/{theirs.upcoming.id}/reschedule": {"reason": "Not mine"},
        f"/exchanges/{theirs.past.id}/feedback": {"rating": "1"},
        f"/my-data/rounds/{theirs.round.id}/withdraw": {"reason": "Not mine"},
        "/reflections": {"text": "Sneaky", "exchange_id": str(theirs.past.id)},
    }
    for url, data in posts.items():
        response = leader_client.post_form(url, data, form_page=own_page)
        assert response.status_code == 404, url
    for row in (theirs.match, theirs.upcoming, theirs.past):
        db.refresh(row)
    assert theirs.match.status == "accepted" and theirs.match.decline_reason == ""
    assert theirs.upcoming.status == "scheduled"
    assert not db.exec(select(Feedback)).all() and not db.exec(select(Reflection)).all()
    assert not db.exec(select(AuditEvent).where(
        AuditEvent.action.in_(["match.accepted", "exchange.reschedule_requested"])
    )).all()


def test_a_leader_does_not_see_proposed_or_rejected_matches_even_their_own(
    factory, leader_client, leader
):
    for month, status in ((3, "proposed"), (4, "rejected")):
        pair = factory.matched(leader, status=status,
                               upcoming_at=datetime(2031, month, 4, 9, tzinfo=UTC))
        assert leader_client.get(f"/matches/{pair.match.id}").status_code == 404
        assert leader_client.get(f"/exchanges/{pair.upcoming.id}").status_code == 404


def test_a_calendar_token_shows_only_its_owners_exchanges(db, client, leader, mine, theirs):
    my_token = services.create_calendar_token(db, leader, leader.user)
    their_token = services.create_calendar_token(db, theirs.mentee, theirs.mentee.user)
    mine_text = client.get(f"/calendar/{my_token}.ics").get_data(as_text=True)
    theirs_text = client.get(f"/calendar/{their_token}.ics").get_data(as_text=True)
    assert mine.upcoming.uid in mine_text and theirs.upcoming.uid not in mine_text
    assert theirs.upcoming.uid in theirs_text and mine.upcoming.uid not in theirs_text
    # A guessed, altered or hash-as-token value finds nothing.
    for token in (my_token[:-1] + ("A" if my_token[-1] != "A" else "B"),
                  leader.calendar_token_hash, "x" * 300):
        assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_revoking_my_link_does_not_touch_anyone_elses(db, client, leader_client, leader, theirs):
    their_token = services.create_calendar_token(db, theirs.mentee, theirs.mentee.user)
    services.create_calendar_token(db, leader, leader.user)
    leader_client.post_form("/calendar/revoke", form_page="/calendar")
    assert client.get(f"/calendar/{their_token}.ics").status_code == 200


def test_coordinators_and_visitors_are_kept_out_of_leader_pages(
    client, coordinator_client, mine
):
    for url in (f"/matches/{mine.match.id}", f"/exchanges/{mine.upcoming.id}.ics",
                "/my-data/export.json", "/reflections/export.md"):
        assert coordinator_client.get(url).status_code == 403, url
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
