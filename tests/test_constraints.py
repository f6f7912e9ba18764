"""The database itself refuses what must never happen, whatever code path tries it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mentoring.models import ExchangeBooking, Match, Notification, OptimiserRun


def refused(db, row) -> None:
    savepoint = db.begin_nested()
    db.add(row)
    with pytest.raises(sa.exc.IntegrityError):
        db.flush()
    savepoint.rollback()


def test_a_mentee_cannot_have_two_approved_mentors_in_one_round(db, factory):
    round_ = factory.programme_round()
    mentee = factory.leader()
    first, second = factory.mentor(), factory.mentor()
    factory.match(round_, first, mentee, status="offered")
    refused(db, Match(round_id=round_.id, mentor_id=second.id, mentee_id=mentee.id,
                      status="accepted"))


def test_a_mentee_may_have_other_proposals_and_mentors_in_other_rounds(db, factory):
    round_, other_round = factory.programme_round(), factory.programme_round()
    mentee = factory.leader()
    first, second = factory.mentor(), factory.mentor()
    factory.match(round_, first, mentee, status="offered")
    factory.match(round_, second, mentee, status="proposed")
    factory.match(other_round, second, mentee, status="offered")
    assert db.scalar(sa.select(sa.func.count()).select_from(Match)) == 3


def test_a_leader_cannot_be_matched_with_themself(db, factory):
    round_ = factory.programme_round()
    leader = factory.mentor(wants_mentor=True)
    refused(db, Match(round_id=round_.id, mentor_id=leader.id, mentee_id=leader.id))


def test_a_notification_key_is_written_once(db, factory):
    db.add(Notification(idempotency_key="reminder:1:7d:a@example.org", kind="reminder",
                        recipient_email="a@example.org", subject="Reminder", body_text="Hi"))
    db.flush()
    refused(db, Notification(idempotency_key="reminder:1:7d:a@example.org", kind="reminder",
                             recipient_email="a@example.org", subject="Reminder", body_text="Hi"))


def test_a_leader_cannot_be_booked_twice_in_one_half_day(db, factory):
    round_ = factory.programme_round()
    mentor, mentee, other = factory.mentor(), factory.leader(), factory.leader()
    start = datetime(2027, 1, 5, 9, tzinfo=UTC)
    first = factory.exchange(factory.match(round_, mentor, mentee), start)
    second = factory.exchange(factory.match(round_, mentor, other), start)
    db.add(ExchangeBooking(exchange_id=first.id, leader_id=mentor.id, starts_at=start))
    db.flush()
    refused(db, ExchangeBooking(exchange_id=second.id, leader_id=mentor.id, starts_at=start))


def test_only_one_optimiser_run_per_round_at_a_time(db, factory):
    round_ = factory.programme_round()
    db.add(OptimiserRun(round_id=round_.id, status="running"))
    db.add(OptimiserRun(round_id=round_.id, status="succeeded"))
    db.flush()
    refused(db, OptimiserRun(round_id=round_.id, status="queued"))
