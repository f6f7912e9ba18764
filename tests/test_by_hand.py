"""Decisions by hand: a pair and its dates made by the coordinator, a date chosen or moved, each
checked by the optimiser's independent checker against the round's approved state, and a
leader's request to move answered with the half-days that fit what they asked."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from mentoring.exchanges.services import request_reschedule
from mentoring.matching import by_hand
from mentoring.matching.by_hand import HandError, Pair, Planned
from mentoring.matching.half_day_filter import read_wish
from mentoring.models import AuditEvent, Exchange, ExchangeBooking, Match, RoundBlackout
from mentoring.offers.services import accept_offer
from mentoring.slots import bounds

from conftest import emails_to

NOW = datetime(2029, 12, 3, 12, 0, tzinfo=UTC)  # a month before the round
FIRST_MONDAY = date(2029, 12, 31)  # the round's window holds New Year's Day 2030


def weekdays_from(first: date, weeks: int):
    days = (first + timedelta(days=n) for n in range(weeks * 7))
    return [day for day in days if day.weekday() < 5]


class World:
    """A round (two exchanges a pair, seven days apart) with a mentor and a mentee of different
    organisations and sectors, both free every half-day of its first eight weeks."""

    def __init__(self, factory, **round_fields) -> None:
        values = {"starts_on": FIRST_MONDAY, "exchanges_per_pair": 2,
                  "min_days_between_exchanges": 7, "reciprocal": "where_possible"}
        self.round = factory.programme_round(**(values | round_fields))
        self.factory = factory
        self.mentor = self.leader(name="Maya Mentor", mentor_capacity=1, wants_mentor=False,
                                  career_stage="experienced", profession="acute_clinical_director",
                                  sector="acute", strengths=["system_leadership"])
        self.mentee = self.leader(name="Ned Mentee", profession="nurse",
                                  sector="community_health", goals=["system_leadership"])

    def leader(self, free=None, **fields):
        defaults = {"can_host": True, "max_hosted_per_week": 2, "protected_hours_per_month": 16}
        person = self.factory.leader(**(defaults | fields))
        self.factory.participant(self.round, person)
        for day in weekdays_from(FIRST_MONDAY, 8) if free is None else free:
            for period in ("am", "pm"):
                self.factory.availability(self.round, person, day, period)
        return person

    @property
    def pair(self) -> Pair:
        return Pair(self.mentor.id, self.mentee.id)

    def planned(self, *slots_and_hosts, pair=None):
        ids = set(pair or (self.mentor.id, self.mentee.id))
        return [Planned(host.id, next(iter(ids - {host.id})), slot)
                for slot, host in slots_and_hosts]


@pytest.fixture
def world(factory):
    return World(factory)


def offer(db, world, coordinator, *slots_and_hosts, pair=None):
    pair = pair or world.pair
    return by_hand.make_pair(db, world.round, coordinator, pair,
                             world.planned(*slots_and_hosts, pair=(pair.mentor_id,
                                                                  pair.mentee_id)),
                             NOW, "They asked to work together")


def refusal(db, world, coordinator, *slots_and_hosts) -> dict[str, str]:
    savepoint = db.begin_nested()
    with pytest.raises(HandError) as refused:
        offer(db, world, coordinator, *slots_and_hosts)
    savepoint.rollback()
    assert db.exec(select(Match).where(Match.mentee_id == world.mentee.id,
                                       Match.round_id == world.round.id)).first() is None
    return refused.value.errors


# --- a valid pair goes through the offer and is booked -----------------------------------------


def test_a_pair_made_by_hand_is_offered_and_booked_with_emails_once_both_accept(
        db, world, coordinator):
    match = offer(db, world, coordinator, ("2030-01-08-am", world.mentor),
                  ("2030-01-15-pm", world.mentee))
    db.commit()
    assert match.status == "offered" and match.run_id is None and match.respond_by
    exchanges = db.exec(select(Exchange).where(Exchange.match_id == match.id)
                        .order_by(Exchange.starts_at)).all()
    assert [(x.status, x.host_id, x.starts_at) for x in exchanges] == [
        ("held", world.mentor.id, bounds(date(2030, 1, 8), "am")[0]),
        ("held", world.mentee.id, bounds(date(2030, 1, 15), "pm")[0])]
    assert len(db.exec(select(ExchangeBooking)).all()) == 4  # the half-days are held
    for person in (world.mentor, world.mentee):
        introduction = emails_to(db, person.user.email, "match-offer")
        assert len(introduction) == 1 and introduction[0].ics is None
        assert emails_to(db, person.user.email, "exchange-confirmed") == []
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "match.made_by_hand")).one()
    assert event.actor_id == coordinator.id and len(event.detail["exchanges"]) == 2

    accept_offer(db, world.mentor, world.mentor.user, match.id, NOW)
    accept_offer(db, world.mentee, world.mentee.user, match.id, NOW)
    db.commit()
    db.refresh(match)
    assert match.status == "accepted"
    assert {x.status for x in db.exec(select(Exchange)).all()} == {"scheduled"}
    for person in (world.mentor, world.mentee):
        confirmations = emails_to(db, person.user.email, "exchange-confirmed")
        assert len(confirmations) == 2 and all(c.ics for c in confirmations)


# --- one refusal for each rule, with its reason, beside the date that breaks it ------------------


def test_protected_time_refuses_a_month_beyond_the_leaders_budget(db, world, coordinator):
    world.mentee.protected_hours_per_month = 4  # one half-day a month
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-15-am", world.mentee))
    assert "Ned Mentee would have 8 hours of exchanges in January 2030: their protected time " \
           "is 4 hours a month" in errors["exchange-1"]


def test_hosting_limit_refuses_a_host_busy_that_week(db, world, coordinator, factory):
    world.mentor.max_hosted_per_week = 1
    world.mentor.mentor_capacity = 2
    other = world.leader(name="Olu Other", profession="pharmacist", sector="pharmacy")
    offer(db, world, coordinator, ("2030-01-07-am", world.mentor),
          ("2030-01-21-am", other), pair=Pair(world.mentor.id, other.id))
    errors = refusal(db, world, coordinator, ("2030-01-09-am", world.mentor),
                     ("2030-01-16-am", world.mentee))
    assert errors == {"exchange-1": "Maya Mentor would host 2 exchanges in the week of Monday "
                                    "7 January: they host at most 1 a week"}


def test_spacing_refuses_exchanges_too_close_together(db, world, coordinator):
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-10-am", world.mentee))
    assert errors == {"exchange-2": "The pair's exchanges on Tuesday 8 January and Thursday "
                                    "10 January would be less than 7 days apart, the round's "
                                    "spacing between exchanges"}


def test_a_bank_holiday_is_refused_even_when_both_said_they_were_free(db, world, coordinator):
    # Both leaders' availability includes New Year's Day (the factory saves it regardless).
    errors = refusal(db, world, coordinator, ("2030-01-01-am", world.mentor),
                     ("2030-01-15-am", world.mentee))
    assert errors == {"exchange-1": "Tuesday 1 January morning is closed (Bank holiday: New "
                                    "Year's Day): no exchange can take place then"}


def test_a_blackout_day_is_refused(db, world, coordinator):
    db.add(RoundBlackout(round_id=world.round.id, starts_on=date(2030, 1, 14),
                         ends_on=date(2030, 1, 18), reason="Winter pressures"))
    db.flush()
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-15-am", world.mentee))
    assert "Closed: Winter pressures" in errors["exchange-2"]


def test_availability_refuses_a_half_day_one_of_them_is_not_free(db, world, coordinator):
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-03-05-am", world.mentee))  # after their eight free weeks
    assert errors == {"exchange-2": "Maya Mentor is not free on Tuesday 5 March morning. "
                                    "Ned Mentee is not free on Tuesday 5 March morning"}


def test_reciprocity_and_pairing_rules_are_refused_beside_their_fields(db, world, coordinator):
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-15-am", world.mentor))
    assert "Each of the two must host at least one exchange" in errors["host-2"]
    world.mentee.organisation_id = world.mentor.organisation_id
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-15-am", world.mentee))
    assert errors["mentee"].startswith("Both work for ")


def test_notice_refuses_hosting_sooner_than_the_hosts_organisation_allows(
        db, world, coordinator):
    from mentoring.models import Organisation

    db.get(Organisation, world.mentor.organisation_id).notice_weeks = 8  # from 28 January
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-15-am", world.mentee))
    assert errors == {"exchange-1": "Maya Mentor cannot host before Monday 28 January 2030: "
                                    "their organisation needs that much notice"}


def test_a_half_day_taken_in_another_round_is_refused_by_the_database(
        db, world, coordinator, factory):
    # The checker sees one round; the booking rows see every round.
    factory.matched(world.mentee, upcoming_at=bounds(date(2030, 1, 8), "am")[0])
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-15-am", world.mentee))
    assert "already taken" in errors[""]


# --- choosing and moving dates ------------------------------------------------------------------


def booked(db, world, coordinator):
    match = offer(db, world, coordinator, ("2030-01-08-am", world.mentor),
                  ("2030-01-15-pm", world.mentee))
    accept_offer(db, world.mentor, world.mentor.user, match.id, NOW)
    accept_offer(db, world.mentee, world.mentee.user, match.id, NOW)
    db.commit()
    return match, db.exec(select(Exchange).where(Exchange.match_id == match.id)
                          .order_by(Exchange.starts_at)).all()


def test_moving_a_booked_exchange_books_the_new_date_and_sends_the_update(
        db, world, coordinator):
    _match, (first, _second) = booked(db, world, coordinator)
    by_hand.move_exchange(db, world.round, coordinator, first.id, "2030-01-02-pm", NOW,
                          "Ned asked")
    db.commit()
    db.refresh(first)
    assert first.starts_at == bounds(date(2030, 1, 2), "pm")[0] and first.sequence == 1
    assert {b.starts_at for b in db.exec(select(ExchangeBooking).where(
        ExchangeBooking.exchange_id == first.id)).all()} == {first.starts_at}
    for person in (world.mentor, world.mentee):
        updates = emails_to(db, person.user.email, "exchange-updated")
        assert len(updates) == 1 and "SEQUENCE:1" in updates[0].ics
        assert "Wednesday 2 January" in updates[0].body_text
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "exchange.moved_by_hand")).one()
    assert event.detail["note"] == "Ned asked"


def test_a_move_that_breaks_a_rule_is_refused_and_nothing_moves(db, world, coordinator):
    _match, (first, _second) = booked(db, world, coordinator)
    savepoint = db.begin_nested()
    with pytest.raises(HandError) as refused:
        by_hand.move_exchange(db, world.round, coordinator, first.id, "2030-01-11-am", NOW)
    savepoint.rollback()
    assert "less than 7 days apart" in refused.value.errors["slot"]
    db.refresh(first)
    assert first.sequence == 0 and emails_to(db, world.mentor.user.email, "exchange-updated") == []


def test_choosing_the_date_of_a_missing_exchange_books_it(db, world, coordinator):
    from mentoring.exchanges.services import cancel_and_release

    match, (_first, second) = booked(db, world, coordinator)
    cancel_and_release(db, second, "Ned is unwell", NOW, cause="leader")
    db.commit()
    exchange = by_hand.add_exchange(db, world.round, coordinator, match.id, "2030-01-22-am",
                                    world.mentee.id, NOW)
    db.commit()
    assert exchange.status == "scheduled" and exchange.host_id == world.mentee.id
    confirmations = emails_to(db, world.mentor.user.email, "exchange-confirmed")
    assert any(c.ics and "22 January" in c.body_text for c in confirmations)


def test_half_days_are_marked_whether_they_fit(db, world, coordinator):
    _match, (first, _second) = booked(db, world, coordinator)
    check = by_hand.RoundCheck(db, world.round, world.pair, NOW)
    weeks = by_hand.half_days_for(check, read_wish("Fridays in January", world.round.starts_on,
                                                   world.round.ends_on), NOW, moving=first)
    verdicts = {h.slot: h for week in weeks for h in week.half_days}
    assert sorted(verdicts) == ["2030-01-04-am", "2030-01-04-pm", "2030-01-11-am",
                                "2030-01-11-pm", "2030-01-18-am", "2030-01-18-pm",
                                "2030-01-25-am", "2030-01-25-pm"]
    assert verdicts["2030-01-04-am"].fits  # 11 days before the second exchange
    assert not verdicts["2030-01-11-am"].fits
    assert "less than 7 days apart" in verdicts["2030-01-11-am"].reasons[0]


# --- pages ---------------------------------------------------------------------------------------


def slots_listed(html: str) -> list[str]:
    return re.findall(r'name="slot" type="radio" value="([^"]+)"', html)


def test_the_move_request_page_shows_only_half_days_that_fit_what_the_leader_asked(
        app, db, world, coordinator, coordinator_client):
    match, (_first, second) = booked(db, world, coordinator)
    match.offered_at = datetime.now(UTC) - timedelta(days=1)  # approved before the request
    request_reschedule(db, world.mentee, world.mentee.user, second.id, "A board meeting",
                       "any Wednesday afternoon in late January", NOW)
    db.commit()
    changes = coordinator_client.get(f"/rounds/{world.round.id}/changes").get_data(as_text=True)
    link = f"/rounds/{world.round.id}/by-hand/exchanges/{second.id}/move"
    assert link in changes
    told = emails_to(db, coordinator.email, "move-requested-coordinator")
    assert len(told) == 1 and f"http://localhost{link}" in told[0].body_text
    page = coordinator_client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "any Wednesday afternoon in late January" in html
    assert "Wednesday afternoons, from Monday 21 January 2030 to Thursday 31 January 2030" in html
    assert slots_listed(html) == ["2030-01-23-pm", "2030-01-30-pm"]
    assert re.findall(r'data-slot="([^"]+)"', html) == []  # none refused among them

    moved = coordinator_client.post_form(link, {"slot": "2030-01-30-pm"})
    assert moved.status_code == 302
    db.refresh(second)
    assert second.starts_at == bounds(date(2030, 1, 30), "pm")[0]
    # The move answered the request: the changes page no longer lists it.
    changes = coordinator_client.get(f"/rounds/{world.round.id}/changes").get_data(as_text=True)
    assert "asked to move" not in changes


def test_a_move_request_lists_as_choices_only_the_half_days_the_rules_allow(
        db, world, coordinator, coordinator_client):
    _match, (_first, second) = booked(db, world, coordinator)
    request_reschedule(db, world.mentee, world.mentee.user, second.id, "Clinic moved",
                       "Wednesday afternoons in January", NOW)
    db.commit()
    html = coordinator_client.get(
        f"/rounds/{world.round.id}/by-hand/exchanges/{second.id}/move").get_data(as_text=True)
    # 2 and 9 January are too close to the first exchange (8 January).
    assert slots_listed(html) == ["2030-01-16-pm", "2030-01-23-pm", "2030-01-30-pm"]
    assert re.findall(r'data-slot="([^"]+)"', html) == ["2030-01-02-pm", "2030-01-09-pm"]
    assert "less than 7 days apart" in html


def test_the_pair_page_refuses_with_the_reason_beside_the_field_and_keeps_the_input(
        db, world, coordinator_client):
    url = f"/rounds/{world.round.id}/by-hand/pair"
    page = coordinator_client.get(f"{url}?mentor={world.mentor.id}&mentee={world.mentee.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Week of Monday 31 December 2029" in html
    assert 'value="2030-01-01-am"' not in html  # New Year's Day is no half-day of the round
    response = coordinator_client.post_form(url, {
        "mentor": world.mentor.id, "mentee": world.mentee.id,
        "exchange-1": "2030-01-08-am", "host-1": world.mentor.id,
        "exchange-2": "2030-01-09-am", "host-2": world.mentee.id, "note": "Keep me"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="exchange-2-error"' in html and "less than 7 days apart" in html
    assert '<option value="2030-01-09-am" selected>' in html and "Keep me" in html
    assert db.exec(select(Match)).first() is None

    response = coordinator_client.post_form(url, {
        "mentor": world.mentor.id, "mentee": world.mentee.id,
        "exchange-1": "2030-01-08-am", "host-1": world.mentor.id,
        "exchange-2": "2030-01-16-am", "host-2": world.mentee.id})
    assert response.status_code == 302
    assert db.exec(select(Match)).one().status == "offered"


@pytest.mark.parametrize("slot", ["2030-01-08-noon", "2030-02-30-am", "2030-01-08",
                                  "20300108-am", "2030-W02-2-am", "nonsense"])
def test_a_half_day_that_is_no_half_day_is_refused_beside_its_field(
        db, world, coordinator, coordinator_client, slot):
    """A forged half-day (an unknown period, a date that does not exist, another spelling of a
    date) is refused as no choice at all: a server error before (KeyError: 'noon' on the way
    to the calendar, ValueError where the pair page showed the choice it kept)."""
    pair_page = f"/rounds/{world.round.id}/by-hand/pair"
    response = coordinator_client.post_form(pair_page, {
        "mentor": world.mentor.id, "mentee": world.mentee.id,
        "exchange-1": slot, "host-1": world.mentor.id,
        "exchange-2": "2030-01-16-am", "host-2": world.mentee.id})
    assert response.status_code == 400
    assert "Choose a half-day for exchange 1" in response.get_data(as_text=True)
    from mentoring.exchanges.services import cancel_and_release

    match, (first, second) = booked(db, world, coordinator)
    cancel_and_release(db, second, "Ned is unwell", NOW, cause="leader")  # one to add
    db.commit()
    move = f"/rounds/{world.round.id}/by-hand/exchanges/{first.id}/move"
    add = f"/rounds/{world.round.id}/by-hand/matches/{match.id}/exchanges/new"
    for url, data in ((move, {"slot": slot}), (add, {"slot": slot, "host": world.mentee.id})):
        response = coordinator_client.post_form(url, data)
        assert response.status_code == 400
        assert 'id="slot-error"' in response.get_data(as_text=True)
    db.refresh(first)
    assert first.sequence == 0


def test_the_pair_page_says_at_once_when_the_pairing_rules_refuse_the_pair(
        db, world, coordinator, coordinator_client):
    offer(db, world, coordinator, ("2030-01-08-am", world.mentor),
          ("2030-01-15-pm", world.mentee))
    other = world.leader(name="Olu Other", profession="pharmacist", sector="pharmacy",
                         mentor_capacity=1, wants_mentor=False)
    db.commit()
    html = coordinator_client.get(f"/rounds/{world.round.id}/by-hand/pair?mentor={other.id}"
                                  f"&mentee={world.mentee.id}").get_data(as_text=True)
    assert "This pair cannot be made" in html
    assert "Ned Mentee already has a mentor in this round: Maya Mentor" in html


def test_only_coordinators_reach_the_pages_and_only_for_their_rounds_objects(
        app, db, world, coordinator, coordinator_client, factory):
    from conftest import SignedIn

    match, (first, _second) = booked(db, world, coordinator)
    leader_client = SignedIn(app, world.mentee.user)
    for path in (f"/rounds/{world.round.id}/by-hand",
                 f"/rounds/{world.round.id}/by-hand/pair",
                 f"/rounds/{world.round.id}/by-hand/exchanges/{first.id}/move",
                 f"/rounds/{world.round.id}/by-hand/matches/{match.id}/exchanges/new"):
        assert leader_client.get(path).status_code == 403
        assert coordinator_client.get(path).status_code == 200
    other_round = factory.programme_round()
    assert coordinator_client.get(
        f"/rounds/{other_round.id}/by-hand/exchanges/{first.id}/move").status_code == 404
    assert coordinator_client.get(
        f"/rounds/{other_round.id}/by-hand/matches/{match.id}/exchanges/new").status_code == 404


# --- reading a leader's words -------------------------------------------------------------------

WINDOW = (date(2030, 1, 7), date(2030, 3, 31))


@pytest.mark.parametrize(("words", "weekdays", "periods", "first", "last"), [
    ("any Wednesday afternoon in late January", {2}, {"pm"}, date(2030, 1, 21),
     date(2030, 1, 31)),
    ("I am free Tuesday mornings in March", {1}, {"am"}, date(2030, 3, 1), date(2030, 3, 31)),
    ("the week of 12 February", set(), set(), date(2030, 2, 11), date(2030, 2, 15)),
    ("after 3 March, not Fridays", {0, 1, 2, 3}, set(), date(2030, 3, 4), None),
    ("mid-February pm", set(), {"pm"}, date(2030, 2, 11), date(2030, 2, 20)),
    ("between 10/2 and 20/2", set(), set(), date(2030, 2, 10), date(2030, 2, 20)),
    ("before 1 February, mornings or afternoons", set(), {"am", "pm"}, None,
     date(2030, 1, 31)),
    ("whenever suits", set(), set(), None, None),
])
def test_a_leaders_words_are_read_as_a_filter(words, weekdays, periods, first, last):
    wish = read_wish(words, *WINDOW)
    assert (set(wish.weekdays), set(wish.periods), wish.first, wish.last) == (
        weekdays, periods, first, last)


def test_the_problem_of_a_few_leaders_is_the_whole_problem_cut_down_to_them(
        db, world, coordinator):
    from mentoring.matching.problem import build_problem

    other = world.leader(name="Olu Other", profession="pharmacist", sector="pharmacy")
    db.add(Match(round_id=world.round.id, mentor_id=world.mentor.id, mentee_id=other.id,
                 forbidden=True))
    db.flush()
    whole = build_problem(db, world.round)
    two = {world.mentor.id, world.mentee.id}
    part = build_problem(db, world.round, only=two)
    assert part["leaders"] == [leader for leader in whole["leaders"]
                               if int(leader["id"]) in two]
    assert part["slots"] == whole["slots"] and part["rules"] == whole["rules"]
    assert whole["excluded"] and part["excluded"] == []  # the forbidden pair is not theirs


def test_one_organisation_is_named_in_words_when_its_name_has_an_apostrophe(
        db, world, coordinator):
    """Python writes "King's College Hospital" in double quotes: the refusal still reads as a
    sentence, with no leader ids (the walk-through saw "('123', '119'): both in ...")."""
    from mentoring.models import Organisation

    organisation = db.get(Organisation, world.mentor.organisation_id)
    organisation.name = "King's College Hospital"
    world.mentee.organisation_id = organisation.id
    errors = refusal(db, world, coordinator, ("2030-01-08-am", world.mentor),
                     ("2030-01-15-am", world.mentee))
    assert errors["mentee"].startswith("Both work for King's College Hospital: ")


def test_an_exchange_is_not_offered_its_own_half_day_to_move_to(db, world, coordinator):
    """The walk-through saw the only 'fits' half-day of a move be where the exchange was."""
    _match, (first, _second) = booked(db, world, coordinator)
    check = by_hand.RoundCheck(db, world.round, world.pair, NOW)
    weeks = by_hand.half_days_for(check, read_wish("Tuesday mornings in January",
                                                   world.round.starts_on, world.round.ends_on),
                                  NOW, moving=first)
    slots = {h.slot for week in weeks for h in week.half_days}
    assert "2030-01-08-am" not in slots
    assert "2030-01-22-am" in slots


def test_a_move_page_with_nothing_that_fits_offers_no_button_to_press(
        app, db, world, coordinator, coordinator_client):
    _match, (_first, second) = booked(db, world, coordinator)
    link = f"/rounds/{world.round.id}/by-hand/exchanges/{second.id}/move"
    not_free = "from=2030-03-04&to=2030-03-08&filtered=1"  # after their eight free weeks
    html = coordinator_client.get(f"{link}?{not_free}").get_data(as_text=True)
    assert slots_listed(html) == []
    assert "Move the exchange to this half-day" not in html
    html = coordinator_client.get(link).get_data(as_text=True)
    assert slots_listed(html) and "Move the exchange to this half-day" in html
