"""The matches page reads its matches and exchanges in three queries: what it shows must be what
`my_matches` and `my_exchanges` (a few queries each) say, field by field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mentoring import audit
from mentoring.exchanges import services


@pytest.fixture
def world(db, factory, leader):
    """The leader mentored (an offer accepted by them only, its exchange held; their feedback on
    the past exchange and the mentor's), mentoring someone with no organisation (booked: a move
    asked for, one exchange cancelled), a declined match, and a proposed one they must not see."""
    mentored = factory.matched(leader, factory.mentor(name="Ben Mentor"), status="offered",
                               mentee_accepted_at=datetime(2027, 1, 9, tzinfo=UTC))
    factory.feedback(mentored.past, leader, rating=5)
    factory.feedback(mentored.past, mentored.mentor, rating=2)
    mentee = factory.leader(name="Cara Mentee", organisation_id=None)
    mentoring = factory.matched(mentee, leader, status="accepted",
                                upcoming_at=datetime(2030, 3, 6, 9, 0, tzinfo=UTC))
    mentoring.past.status, mentoring.past.sequence = "cancelled", 1  # as cancelling does
    db.add(mentoring.past)
    audit.record(db, services.RESCHEDULE_REQUESTED, actor=leader.user, obj=mentoring.upcoming,
                 detail={"leader_id": leader.id, "sequence": mentoring.upcoming.sequence})
    declined = factory.matched(leader, factory.mentor(name="Dev Declined"), status="declined",
                               upcoming_at=datetime(2030, 3, 7, 9, 0, tzinfo=UTC))
    proposed = factory.matched(leader, factory.mentor(name="Eve Proposed"), status="proposed",
                               upcoming_at=datetime(2030, 3, 8, 9, 0, tzinfo=UTC))
    db.flush()
    return mentored, mentoring, declined, proposed


def match_fields(view: services.MatchView) -> tuple:
    return (view.match.id, view.other.id, view.other_organisation and view.other_organisation.id,
            view.programme_round and view.programme_round.id, view.i_am_mentor, view.i_accepted,
            view.other_accepted, [exchange.id for exchange in view.exchanges])


def exchange_fields(view: services.ExchangeView) -> tuple:
    return (view.exchange.id, view.host.id, view.visitor.id, view.match.id,
            view.programme_round and view.programme_round.id, view.reschedule_requested,
            view.my_feedback and view.my_feedback.id)


def test_the_page_reads_what_my_matches_and_my_exchanges_say(db, leader, world):
    mentored, mentoring, declined, proposed = world
    matches, exchanges = services.my_matches_and_exchanges(db, leader)
    assert [match_fields(view) for view in matches] == [
        match_fields(view) for view in services.my_matches(db, leader)]
    assert [exchange_fields(view) for view in exchanges] == [
        exchange_fields(view) for view in services.my_exchanges(db, leader)]
    # and what they say is the world above: declined last, the proposed match nowhere
    assert [view.match.id for view in matches][-1] == declined.match.id
    assert proposed.match.id not in {view.match.id for view in matches}
    by_match = {view.match.id: view for view in matches}
    assert by_match[mentored.match.id].i_accepted
    assert not by_match[mentored.match.id].other_accepted
    assert by_match[mentoring.match.id].other_organisation is None
    assert by_match[mentoring.match.id].i_am_mentor
    by_exchange = {view.exchange.id: view for view in exchanges}
    assert by_exchange[mentoring.upcoming.id].reschedule_requested
    assert by_exchange[mentored.past.id].my_feedback.rating == 5  # theirs, not the mentor's
    assert by_exchange[mentoring.past.id].my_feedback is None


def test_a_leader_with_nothing_yet_has_empty_lists(db, leader):
    assert services.my_matches_and_exchanges(db, leader) == ([], [])


def test_every_status_is_an_nhs_tag(leader_client, world):
    html = leader_client.get("/matches").get_data(as_text=True)
    for colour, text in [("aqua-green", "Accepted"), ("green", "Booked"), ("red", "Declined"),
                         ("yellow", "Move requested"), ("white", "Held for the offer"),
                         ("grey", "Cancelled"), ("grey", "Taken place")]:
        assert f'<strong class="nhsuk-tag nhsuk-tag--{colour}">{text}</strong>' in html
    assert "Eve Proposed" not in html
    assert "You have accepted. Waiting for Ben Mentor to answer by 15 January 2027." in html
