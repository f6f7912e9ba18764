"""Review decisions and one-step approval: pins, forbidden and removed pairs, publishing a
proposal in one transaction, and refusing to approve anything built on an outdated state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from mentoring.exchanges.services import my_matches
from mentoring.insights.figures import dashboard
from mentoring.matching.decisions import (
    DecisionError,
    approve_run,
    plan_changes,
    remove_pair,
    set_pair_rule,
)
from mentoring.matching.proposal import compare, read_proposal
from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import AuditEvent, Exchange, ExchangeBooking, Match, Notification
from mentoring.offers.services import decline_offer

from matching_world import make_round, worker

NOW = datetime(2029, 12, 1, 12, 0, tzinfo=UTC)  # before the round's window


@pytest.fixture
def small(factory):
    return make_round(factory)


def solved(app, db, programme_round, user, **kwargs):
    run = request_run(db, programme_round, user, time_limit=30, **kwargs)
    db.commit()
    run_queued_optimisations(worker(app))
    db.refresh(run)
    assert run.status == "succeeded", run.error
    return run


def count(db, model, *where) -> int:
    return db.exec(select(func.count()).select_from(model).where(*where)).one()


def test_approval_offers_matches_holds_exchanges_and_queues_introductions_at_once(
        app, db, small, coordinator):
    run = solved(app, db, small.round, coordinator)
    result = approve_run(db, run, coordinator, NOW, "Looks balanced")
    db.commit()
    assert (result.pairs, result.exchanges) == (2, 4)
    matches = db.exec(select(Match).where(Match.round_id == small.round.id)).all()
    assert {m.status for m in matches} == {"offered"} and len(matches) == 2
    assert all(m.run_id == run.id and m.reasons and m.decided_by_id == coordinator.id
               for m in matches)
    exchanges = db.exec(select(Exchange)).all()
    assert len(exchanges) == 4 and {x.status for x in exchanges} == {"held"}
    assert count(db, ExchangeBooking) == 8  # held: one per leader per exchange
    # An introduction to each leader, and nothing for a calendar until both accept.
    offers = db.exec(select(Notification).where(Notification.kind == "match-offer")).all()
    assert len(offers) == 4 and all(row.ics is None for row in offers)
    assert count(db, Notification, Notification.kind != "match-offer") == 0
    assert small.round.status == "published" and run.approved_by_id == coordinator.id
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "optimiser.run_approved")).one()
    assert event.detail["reason"] == "Looks balanced" and event.detail["new_pairs"] == 2
    # The leaders see their match.
    mentee = next(p for p in small.mentees if any(m.mentee_id == p.id for m in matches))
    assert [view.match.status for view in my_matches(db, mentee)] == ["offered"]


def test_exchanges_fall_in_both_leaders_free_half_days(app, db, small, coordinator):
    from mentoring.matching.problem import parse_slot
    from mentoring.slots import half_day_of

    run = solved(app, db, small.round, coordinator)
    approve_run(db, run, coordinator, NOW)
    free_days = {(small.round.starts_on + timedelta(days=offset)) for offset in (1, 8, 15, 22)}
    for exchange in db.exec(select(Exchange)).all():
        assert half_day_of(exchange.starts_at)[0] in free_days
    assert parse_slot("2030-01-08-am") == (datetime(2030, 1, 8).date(), "am")


def test_a_run_is_approved_once(app, db, small, coordinator):
    run = solved(app, db, small.round, coordinator)
    approve_run(db, run, coordinator, NOW)
    with pytest.raises(DecisionError, match="already been approved"):
        approve_run(db, run, coordinator, NOW)


def test_a_run_built_before_another_approval_is_refused(app, db, small, coordinator):
    first = solved(app, db, small.round, coordinator)
    second = solved(app, db, small.round, coordinator)
    approve_run(db, first, coordinator, NOW)
    with pytest.raises(DecisionError, match="run the optimiser again"):
        approve_run(db, second, coordinator, NOW)
    assert count(db, Match) == 2  # nothing doubled


def test_approval_refuses_a_half_day_a_leader_has_since_given_up(app, db, small, coordinator):
    from mentoring.models import Availability

    run = solved(app, db, small.round, coordinator)
    for availability in db.exec(select(Availability).where(
            Availability.leader_id == small.mentors[0].id)).all():
        db.delete(availability)
    db.flush()
    with pytest.raises(DecisionError, match="Mentor 1 is no longer free"):
        approve_run(db, run, coordinator, NOW)


def test_pinned_pairs_stay_and_forbidden_pairs_go_in_the_next_run(app, db, factory,
                                                                  coordinator):
    people = make_round(factory, mentors=2, mentees=2)
    (m1, m2), (e1, e2) = people.mentors, people.mentees
    set_pair_rule(db, people.round, coordinator, m1.id, e2.id, "pin", "They asked")
    set_pair_rule(db, people.round, coordinator, m2.id, e2.id, "forbid")
    set_pair_rule(db, people.round, coordinator, m2.id, e1.id, "forbid")
    run = solved(app, db, people.round, coordinator)
    pairs = {(p["mentor"], p["mentee"]) for p in run.solution["pairs"]}
    assert (str(m1.id), str(e2.id)) in pairs
    assert not {(str(m2.id), str(e2.id)), (str(m2.id), str(e1.id))} & pairs
    proposal = read_proposal(db, run)
    assert [pair.pinned for pair in proposal.pairs] == [True]
    # Approving turns the pin into the approved match (no second row for the pair).
    approve_run(db, run, coordinator, NOW)
    assert count(db, Match, Match.mentor_id == m1.id, Match.mentee_id == e2.id) == 1
    assert db.exec(select(Match.status).where(Match.mentee_id == e2.id,
                                              Match.mentor_id == m1.id)).one() == "offered"


def test_clearing_a_pin_removes_the_rule(db, small, coordinator):
    m, e = small.mentors[0], small.mentees[0]
    set_pair_rule(db, small.round, coordinator, m.id, e.id, "pin")
    set_pair_rule(db, small.round, coordinator, m.id, e.id, "clear")
    assert count(db, Match) == 0


def test_pairs_outside_the_round_cannot_be_pinned(db, small, factory, coordinator):
    stranger = factory.leader(name="Not in the round")
    with pytest.raises(DecisionError, match="take part"):
        set_pair_rule(db, small.round, coordinator, small.mentors[0].id, stranger.id, "pin")


def test_a_removed_pair_is_not_approved_and_shows_as_unmatched(app, db, small, coordinator):
    run = solved(app, db, small.round, coordinator)
    pair = run.solution["pairs"][0]
    remove_pair(db, run, coordinator, int(pair["mentor"]), int(pair["mentee"]), "Line managers")
    proposal = read_proposal(db, run)
    assert len(proposal.pairs) == 1
    assert any(u.person.id == int(pair["mentee"]) and "removed" in u.reason
               for u in proposal.unmatched)
    result = approve_run(db, run, coordinator, NOW)
    assert result.pairs == 1 and count(db, Match) == 1
    with pytest.raises(DecisionError):
        remove_pair(db, run, coordinator, int(pair["mentor"]), int(pair["mentee"]))


def test_the_review_summary_and_filters(app, db, factory, coordinator):
    people = make_round(factory, mentors=2, mentees=2)
    people.mentees[1].profession = "gp"  # not a priority group
    people.mentees[1].borough = "bromley"
    db.add(people.mentees[1])
    db.flush()
    run = solved(app, db, people.round, coordinator)
    proposal = read_proposal(db, run)
    summary = proposal.summary
    assert (summary.mentees, summary.matched_mentees) == (2, 2)
    assert (summary.priority_mentees, summary.matched_priority_mentees) == (1, 1)
    assert summary.cross_sector_share == 1.0  # acute mentors, community mentees
    assert summary.exchanges == 4
    assert summary.protected_hours_used == 4 * 2 * 4  # 4 exchanges, 2 leaders, 4 hours
    # The same budget as the dashboard's (one definition: the window's length in months), as
    # every leader of the round is in the run.
    window = people.round
    months = ((window.ends_on - window.starts_on).days + 1) / (365.25 / 12)
    assert summary.protected_hours_budget == pytest.approx(4 * 16 * months)
    figures = dashboard(db, people.round.id, NOW)
    assert summary.protected_hours_budget == pytest.approx(figures.hours.overall.budget)
    filtered = read_proposal(db, run, {"borough": "bromley"})
    assert [pair.mentee.name for pair in filtered.shown] == ["Mentee 2"]
    assert [pair.mentee.name for pair in read_proposal(db, run, sort="mentee").shown] == [
        "Mentee 1", "Mentee 2"]


def test_two_runs_side_by_side(app, db, factory, coordinator):
    people = make_round(factory, mentors=2, mentees=2)
    first = solved(app, db, people.round, coordinator)
    pair = first.solution["pairs"][0]
    set_pair_rule(db, people.round, coordinator, int(pair["mentor"]), int(pair["mentee"]),
                  "forbid")
    second = solved(app, db, people.round, coordinator)
    comparison = compare(db, first, second)
    assert comparison.unchanged == 0 and len(comparison.changed) == 2
    mentor_of = lambda person: person.id if person else None  # noqa: E731
    changed = {row.mentee.id: (mentor_of(row.mentor_a), mentor_of(row.mentor_b))
               for row in comparison.changed}
    # Each run as approving it would do: the forbidden pair is out of the first (whose stored
    # proposal still holds it), and its mentee has another mentor in the second.
    assert changed[int(pair["mentee"])][0] is None
    assert changed[int(pair["mentee"])][1] not in (None, int(pair["mentor"]))
    db.refresh(first)
    assert pair in first.solution["pairs"]


def test_a_decline_is_re_optimised_locally_and_nothing_else_moves(app, db, factory,
                                                                  coordinator):
    people = make_round(factory, mentors=3, mentees=2)
    people.mentors[2].mentor_capacity = 1
    run = solved(app, db, people.round, coordinator)
    approve_run(db, run, coordinator, NOW)
    db.commit()
    before = {(x.id, x.starts_at, x.sequence) for x in db.exec(select(Exchange)).all()}
    declined = db.exec(select(Match).where(Match.mentee_id == people.mentees[0].id)).one()
    kept = db.exec(select(Match).where(Match.mentee_id == people.mentees[1].id)).one()
    later = NOW + timedelta(hours=1)
    decline_offer(db, people.mentees[0], people.mentees[0].user, declined.id, choice="other",
                  reason="Too far", wants_different_match=True, now=later)
    db.commit()

    from mentoring.matching.changes import pending_changes

    changes = pending_changes(db, people.round, later)
    assert [change.kind for change in changes] == ["declined"]
    scope = list(changes[0].leader_ids)
    local = solved(app, db, people.round, coordinator, scope=scope)
    plan = plan_changes(db, local)
    assert [p["mentee"] for p in plan.new_pairs] == [str(people.mentees[0].id)]
    assert plan.new_pairs[0]["mentor"] != str(declined.mentor_id)  # a declined pair stays out
    assert not plan.moved_exchanges and not plan.cancelled_exchanges
    assert len(plan.new_exchanges) == 2
    approve_run(db, local, coordinator, later + timedelta(minutes=5))
    db.commit()
    after = {(x.id, x.starts_at, x.sequence) for x in db.exec(select(Exchange)).all()}
    kept_exchanges = {x for x in before if x[0] in {
        e.id for e in db.exec(select(Exchange).where(Exchange.match_id == kept.id)).all()}}
    assert kept_exchanges <= after  # the other pair's exchanges are exactly as they were
    db.refresh(kept)
    assert kept.status == "offered"
    assert pending_changes(db, people.round, later + timedelta(minutes=6)) == []


def test_an_exchange_that_no_longer_fits_is_moved_not_rebooked(app, db, factory, coordinator):
    from mentoring.matching.changes import pending_changes
    from mentoring.models import Availability
    from mentoring.offers.services import accept_offer
    from mentoring.slots import half_day_of

    people = make_round(factory, mentors=1, mentees=1, days=(1, 8, 15, 22, 29))
    run = solved(app, db, people.round, coordinator)
    approve_run(db, run, coordinator, NOW)
    (match,) = db.exec(select(Match)).all()
    for leader in (people.mentors[0], people.mentees[0]):  # booked: both accepted
        accept_offer(db, leader, leader.user, match.id, NOW)
    db.commit()
    first = db.exec(select(Exchange).order_by(Exchange.starts_at)).first()
    uid, sequence = first.uid, first.sequence
    day, period = half_day_of(first.starts_at)
    mentee = people.mentees[0]
    gone = db.exec(select(Availability).where(
        Availability.leader_id == mentee.id, Availability.day == day,
        Availability.period == period)).one()
    db.delete(gone)
    db.commit()
    changes = pending_changes(db, people.round, NOW)
    assert [change.kind for change in changes] == ["unavailable"]
    assert "Mentee 1 no longer free" in changes[0].detail
    local = solved(app, db, people.round, coordinator, scope=list(changes[0].leader_ids))
    plan = plan_changes(db, local)
    assert [moved.exchange.id for moved in plan.moved_exchanges] == [first.id]
    assert not plan.new_pairs and not plan.new_exchanges and not plan.cancelled_exchanges
    approve_run(db, local, coordinator, NOW + timedelta(minutes=1))
    db.commit()
    db.refresh(first)
    assert first.uid == uid and first.sequence == sequence + 1  # the same calendar entry
    assert half_day_of(first.starts_at) != (day, period)
    updates = db.exec(select(Notification).where(Notification.kind == "exchange-updated")).all()
    assert {n.recipient_email for n in updates} == {people.mentors[0].user.email,
                                                   mentee.user.email}
    assert count(db, ExchangeBooking, ExchangeBooking.exchange_id == first.id) == 2
    assert pending_changes(db, people.round, NOW + timedelta(minutes=2)) == []
