"""No done deals: an approved match is offered, its exchanges held; booked only when both accept;
declines release the half-days and reach the coordinators; unanswered offers are reminded, lapse
and can be extended or withdrawn; leaving a round keeps the partner's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from mentoring.exchanges.services import LeaderError, get_match
from mentoring.matching.decisions import approve_run
from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import Exchange, ExchangeBooking, Match, Notification
from mentoring.mydata.services import withdraw
from mentoring.notifications.outbox import absolute
from mentoring.offers.services import (
    OfferError,
    accept_offer,
    answer_rematch,
    decline_offer,
    extend_offer,
    plan_offer_deadlines,
    stage_counts,
    withdraw_offer,
)
from mentoring.vocab import MatchStage

from matching_world import make_round, worker

BASE_URL = "http://localhost"  # the test settings' BASE_URL
APPROVED_AT = datetime(2029, 12, 1, 12, 0, tzinfo=UTC)  # before the round's window
LATER = APPROVED_AT + timedelta(hours=2)


@pytest.fixture
def offered(app, db, factory, coordinator):
    """A round whose optimiser run has just been approved: two offers, their exchanges held."""
    small = make_round(factory)
    run = request_run(db, small.round, coordinator, time_limit=30)
    db.commit()
    run_queued_optimisations(worker(app))
    db.refresh(run)
    approve_run(db, run, coordinator, APPROVED_AT)
    db.commit()
    small.matches = db.exec(select(Match).where(Match.round_id == small.round.id)
                            .order_by(Match.id)).all()
    return small


def sides(db, match):
    from mentoring.models import LeaderProfile

    return db.get(LeaderProfile, match.mentor_id), db.get(LeaderProfile, match.mentee_id)


def mail(db, *, kind=None, to=None, match=None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    if to:
        query = query.where(Notification.recipient_email == to)
    rows = db.exec(query).all()
    if match is not None:
        rows = [row for row in rows if f":{match.id}:" in row.idempotency_key
                or row.exchange_id in {x.id for x in exchanges(db, match)}]
    return rows


def exchanges(db, match) -> list[Exchange]:
    return db.exec(select(Exchange).where(Exchange.match_id == match.id)).all()


def bookings(db, match) -> int:
    ids = [x.id for x in exchanges(db, match)]
    return db.exec(select(func.count()).select_from(ExchangeBooking)
                   .where(ExchangeBooking.exchange_id.in_(ids))).one()


# --- approval publishes offers ------------------------------------------------------------------


def test_an_offer_introduces_each_leader_with_dates_hosts_deadline_and_a_link(db, offered):
    match = offered.matches[0]
    mentor, mentee = sides(db, match)
    assert match.status == "offered" and match.offered_at == APPROVED_AT
    assert match.respond_by == APPROVED_AT + timedelta(days=7)  # the round's default
    assert {x.status for x in exchanges(db, match)} == {"held"} and bookings(db, match) == 4
    (to_mentee,) = mail(db, kind="match-offer", to=mentee.user.email)
    body = to_mentee.body_text
    assert mentor.name in to_mentee.subject and f"{mentor.name} would be your mentor" in body
    assert absolute(f"/matches/{match.id}") == f"{BASE_URL}/matches/{match.id}"
    assert f"{BASE_URL}/matches/{match.id}" in body  # absolute, from BASE_URL
    assert "Saturday 8 December 2029" in body  # the date to answer by
    assert "hosts you" in body or "you host" in body
    assert "Why we think you fit" in body and "Questions? Write to" in body
    assert to_mentee.ics is None
    assert f'href="{BASE_URL}/matches/{match.id}"' in to_mentee.body_html


def test_no_calendar_invitation_before_both_accept_then_booking_goes_out(db, offered):
    match = offered.matches[0]
    mentor, mentee = sides(db, match)
    view = accept_offer(db, mentee, mentee.user, match.id, LATER)
    db.commit()
    assert view.match.status == "offered" and view.i_accepted and not view.other_accepted
    assert view.match.stage == MatchStage.ACCEPTED
    assert not [row for row in mail(db, match=match) if row.ics]
    assert {x.status for x in exchanges(db, match)} == {"held"}
    (told,) = mail(db, kind="offer-partner-accepted")
    assert told.recipient_email == mentor.user.email and mentee.name in told.subject
    with pytest.raises(LeaderError):
        accept_offer(db, mentee, mentee.user, match.id, LATER)

    view = accept_offer(db, mentor, mentor.user, match.id, LATER)
    db.commit()
    assert view.match.status == "accepted" and view.match.stage == MatchStage.BOOKED
    assert {x.status for x in exchanges(db, match)} == {"scheduled"} and bookings(db, match) == 4
    confirmations = mail(db, kind="exchange-confirmed")
    assert len(confirmations) == 4  # two exchanges, two leaders
    assert len({row.subject for row in confirmations}) == 2  # each names its date
    assert all(row.ics_method == "REQUEST" and "METHOD:REQUEST" in row.ics
               for row in confirmations)
    to_mentee = [row for row in confirmations if row.recipient_email == mentee.user.email]
    assert mentor.user.email in to_mentee[0].body_text  # the partner's contact details
    assert "/exchanges/" in to_mentee[0].body_text
    assert mail(db, kind="exchange-reminder")  # reminders planned once booked


def test_declining_releases_the_half_days_tells_partner_kindly_and_coordinators(
        db, offered, coordinator):
    match = offered.matches[0]
    mentor, mentee = sides(db, match)
    with pytest.raises(LeaderError) as error:
        decline_offer(db, mentee, mentee.user, match.id, choice="", reason="",
                      wants_different_match=False, now=LATER)
    assert set(error.value.errors) == {"choice"}
    decline_offer(db, mentee, mentee.user, match.id, choice="travel",
                  reason="My clinic is in Bexley on those days", wants_different_match=True,
                  now=LATER)
    db.commit()
    db.refresh(match)
    assert (match.status, match.declined_by_id, match.rematch) == ("declined", mentee.id,
                                                                   "requested")
    assert {x.status for x in exchanges(db, match)} == {"cancelled"}
    assert bookings(db, match) == 0  # free again, at once
    assert not [row for row in mail(db) if row.ics]  # nothing was ever in a calendar
    (partner,) = mail(db, kind="offer-declined-partner")
    assert partner.recipient_email == mentor.user.email
    assert "Bexley" not in partner.body_text and "not a judgement" in partner.body_text
    (to_coordinator,) = mail(db, kind="offer-declined-coordinator")
    assert to_coordinator.recipient_email == coordinator.email
    assert to_coordinator.due_at == LATER  # sent by the next worker pass, within a minute
    assert "Bexley" in to_coordinator.body_text and "travel" in to_coordinator.body_text
    assert f"/rounds/{match.round_id}/changes" in to_coordinator.body_text
    assert stage_counts(db, match.round_id)[MatchStage.DECLINED] == 1


def test_a_request_for_another_match_is_answered_and_the_leader_told(db, offered, coordinator):
    match = offered.matches[0]
    _, mentee = sides(db, match)
    decline_offer(db, mentee, mentee.user, match.id, choice="fit", reason="",
                  wants_different_match=True, now=LATER)
    with pytest.raises(OfferError):
        answer_rematch(db, offered.round, match.id, coordinator, "", LATER)
    answer_rematch(db, offered.round, match.id, coordinator,
                   "Everyone else is matched this round: you are first in line next time", LATER)
    db.commit()
    (told,) = mail(db, kind="rematch-outcome")
    assert told.recipient_email == mentee.user.email and "first in line" in told.body_text
    assert get_match(db, mentee, match.id).match.rematch == "not_possible"


def test_an_unanswered_offer_is_reminded_once_at_half_time_then_lapses(db, offered,
                                                                       coordinator):
    match = offered.matches[0]
    mentor, mentee = sides(db, match)
    accept_offer(db, mentor, mentor.user, match.id, LATER)
    assert plan_offer_deadlines(db, APPROVED_AT + timedelta(days=3)) == 0  # before half-time
    # One to each leader who has not answered: the mentee of this offer, both of the other.
    assert plan_offer_deadlines(db, APPROVED_AT + timedelta(days=4)) == 3
    assert plan_offer_deadlines(db, APPROVED_AT + timedelta(days=5)) == 0  # once each
    reminders = mail(db, kind="offer-reminder", match=match)
    assert [row.recipient_email for row in reminders] == [mentee.user.email]  # not who accepted
    assert "has already accepted" in reminders[0].body_text
    plan_offer_deadlines(db, APPROVED_AT + timedelta(days=7, minutes=1))
    db.commit()
    db.refresh(match)
    assert match.status == "lapsed" and bookings(db, match) == 4  # held for the coordinator
    (to_coordinator,) = mail(db, kind="offer-lapsed-coordinator", match=match)
    assert to_coordinator.recipient_email == coordinator.email
    assert mentee.name in to_coordinator.body_text
    with pytest.raises(LeaderError, match="passed"):
        accept_offer(db, mentee, mentee.user, match.id, APPROVED_AT + timedelta(days=8))


def test_a_lapsed_offer_can_be_extended_or_withdrawn(db, offered, coordinator):
    first, second = offered.matches
    plan_offer_deadlines(db, APPROVED_AT + timedelta(days=8))
    now = APPROVED_AT + timedelta(days=9)
    extend_offer(db, offered.round, first.id, coordinator, 5, now)
    db.commit()
    assert (first.status, first.respond_by) == ("offered", now + timedelta(days=5))
    assert len(mail(db, kind="offer-extended", match=first)) == 2
    _, mentee = sides(db, first)
    accept_offer(db, mentee, mentee.user, first.id, now)  # they can answer again

    withdraw_offer(db, offered.round, second.id, coordinator, "Diaries did not line up", now)
    db.commit()
    assert second.status == "cancelled" and bookings(db, second) == 0
    withdrawn = mail(db, kind="offer-withdrawn", match=second)
    assert len(withdrawn) == 2 and "Diaries did not line up" in withdrawn[0].body_text
    with pytest.raises(OfferError):
        extend_offer(db, offered.round, second.id, coordinator, 5, now)


def test_leaving_a_round_keeps_the_partners_history_and_tells_both(db, offered):
    match = offered.matches[0]
    mentor, mentee = sides(db, match)
    for leader in (mentor, mentee):
        accept_offer(db, leader, leader.user, match.id, LATER)
    db.commit()
    withdraw(db, mentee, mentee.user, offered.round.id, "New job", LATER)
    db.commit()
    db.refresh(match)
    assert match.status == "cancelled"
    view = get_match(db, mentor, match.id)  # the partner still reads it (no 404)
    assert {x.status for x in view.exchanges} == {"cancelled"}
    cancellations = mail(db, kind="exchange-cancelled", to=mentor.user.email)
    assert cancellations and all(row.ics_method == "CANCEL" for row in cancellations)
    assert f"{mentee.name} has left the programme round" in cancellations[0].body_text
    (partner,) = mail(db, kind="partner-left")
    assert partner.recipient_email == mentor.user.email
    assert f"/matches/{match.id}" in partner.body_text
    (leaver,) = mail(db, kind="you-left")
    assert leaver.recipient_email == mentee.user.email
    assert "rejoin" not in leaver.body_text  # matching has happened: the round is not open


def test_a_leader_who_left_an_open_round_is_not_asked_for_availability_and_can_rejoin(
        db, factory, leader, leader_client):
    programme_round = factory.programme_round(name="Spring round", status="open")
    factory.participant(programme_round, leader)
    withdraw(db, leader, leader.user, programme_round.id, "", LATER)
    db.commit()
    (leaver,) = mail(db, kind="you-left")
    assert "rejoin" in leaver.body_text and f"{BASE_URL}/availability" in leaver.body_text
    page = leader_client.get(f"/rounds/{programme_round.id}/availability")
    assert page.status_code == 302  # no longer asked when they are free
    html = leader_client.get("/availability").get_data(as_text=True)
    assert "You left this round" in html and "Rejoin this round" in html
    assert "You have left Spring round" in leader_client.get("/matches").get_data(as_text=True)
    assert "Rejoin the round" in leader_client.get("/home").get_data(as_text=True)
    response = leader_client.post_form(f"/rounds/{programme_round.id}/join",
                                       form_page="/availability")
    assert response.status_code == 302
    assert leader_client.get(f"/rounds/{programme_round.id}/availability").status_code == 200


def test_every_offer_email_links_to_where_the_reader_acts(db, offered, coordinator):
    first, second = offered.matches
    mentor, mentee = sides(db, first)
    accept_offer(db, mentor, mentor.user, first.id, LATER)
    plan_offer_deadlines(db, APPROVED_AT + timedelta(days=4))
    decline_offer(db, mentee, mentee.user, first.id, choice="dates", reason="",
                  wants_different_match=True, now=LATER)
    answer_rematch(db, offered.round, first.id, coordinator, "No one else is free", LATER)
    plan_offer_deadlines(db, APPROVED_AT + timedelta(days=8))
    extend_offer(db, offered.round, second.id, coordinator, 3, APPROVED_AT + timedelta(days=8))
    db.commit()
    rows = mail(db)
    assert len({row.kind for row in rows}) >= 7
    for row in rows:
        assert f"{BASE_URL}/" in row.body_text, row.kind
        assert "Questions? Write to" in row.body_text, row.kind
