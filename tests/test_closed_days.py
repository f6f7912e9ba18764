"""Closed days: bank holidays (the `holidays` package, by region, substitute days included) and a
round's blackout dates are never offered, saved or booked; availability already saved on them is
set aside; an exchange already on one is listed in the changes since approval.

Real dates: Christmas 2026 is a Friday, so Boxing Day falls on Saturday 26 December and the bank
holiday is Monday 28 December; in 2027 both fall at the weekend (Monday 27 and Tuesday 28 are the
substitute days); New Year's Day 2028 is a Saturday (Monday 3 January). Scotland adds 2 January.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from mentoring import calendar_days
from mentoring.availability import services as availability
from mentoring.calendar_days import closed_between, closed_days
from mentoring.config import ConfigError, load_settings
from mentoring.matching.changes import exchanges_to_release, pending_changes
from mentoring.matching.problem import build_problem, fixed_part
from mentoring.models import Availability, Exchange, ExchangeBooking, Match, RoundBlackout
from mentoring.slots import bounds, half_day_of
from optimiser import check_solution, load_problem, solve

from conftest import SignedIn, make_settings

ENGLAND, SCOTLAND, NORTHERN_IRELAND = "england-and-wales", "scotland", "northern-ireland"
STRONG_SECRET = "x" * 48
CHRISTMAS_2026 = date(2026, 12, 25)
BOXING_DAY_SUBSTITUTE_2026 = date(2026, 12, 28)
NEW_YEAR_2027 = date(2027, 1, 1)
CHRISTMAS_WEEK = (date(2026, 12, 29), date(2026, 12, 31))  # the weekdays between the holidays


def weekday_holidays(first: date, last: date, region: str) -> dict[date, str]:
    return {day: closed.reason for day, closed in closed_between(first, last, region=region)
            .items() if day.weekday() < 5}


# --- the calendar --------------------------------------------------------------------------


def test_english_bank_holidays_2026_to_2028_with_substitute_days():
    assert date(2026, 12, 26).weekday() == 5  # Boxing Day 2026 is a Saturday...
    assert weekday_holidays(date(2026, 12, 21), date(2027, 1, 8), ENGLAND) == {
        CHRISTMAS_2026: "Christmas Day",
        BOXING_DAY_SUBSTITUTE_2026: "Boxing Day (observed)",  # ...so Monday is the holiday
        NEW_YEAR_2027: "New Year's Day",
    }
    assert weekday_holidays(date(2027, 12, 20), date(2028, 1, 7), ENGLAND) == {
        date(2027, 12, 27): "Christmas Day (observed)",  # Christmas 2027 is a Saturday
        date(2027, 12, 28): "Boxing Day (observed)",
        date(2028, 1, 3): "New Year's Day (observed)",  # New Year's Day 2028 is a Saturday
    }
    spring = weekday_holidays(date(2027, 3, 1), date(2027, 6, 30), ENGLAND)
    assert spring == {date(2027, 3, 26): "Good Friday", date(2027, 3, 29): "Easter Monday",
                      date(2027, 5, 3): "May Day", date(2027, 5, 31): "Spring Bank Holiday"}
    assert weekday_holidays(date(2028, 8, 1), date(2028, 8, 31), ENGLAND) == {
        date(2028, 8, 28): "Late Summer Bank Holiday"}


def test_scotland_has_2_january_and_no_easter_monday():
    new_year = weekday_holidays(date(2026, 1, 1), date(2026, 1, 9), SCOTLAND)
    assert new_year == {date(2026, 1, 1): "New Year's Day", date(2026, 1, 2): "New Year Holiday"}
    assert date(2026, 1, 2) not in closed_between(date(2026, 1, 1), date(2026, 1, 9),
                                                  region=ENGLAND)
    # 2 January 2027 is a Saturday: Scotland's holiday moves to Monday 4 January.
    assert weekday_holidays(date(2027, 1, 1), date(2027, 1, 8), SCOTLAND) == {
        NEW_YEAR_2027: "New Year's Day", date(2027, 1, 4): "New Year Holiday (observed)"}
    assert date(2027, 3, 29) not in closed_between(date(2027, 3, 29), date(2027, 3, 29),
                                                   region=SCOTLAND)
    assert weekday_holidays(date(2027, 11, 29), date(2027, 12, 3), SCOTLAND) == {
        date(2027, 11, 30): "Saint Andrew's Day"}


def test_northern_ireland_has_saint_patricks_day():
    assert weekday_holidays(date(2027, 3, 15), date(2027, 3, 19), NORTHERN_IRELAND) == {
        date(2027, 3, 17): "Saint Patrick's Day"}
    assert weekday_holidays(date(2027, 3, 15), date(2027, 3, 19), ENGLAND) == {}


def test_blackouts_close_days_and_bank_holidays_keep_their_names():
    closed = closed_between(date(2026, 12, 21), date(2027, 1, 8),
                            [(date(2026, 12, 24), NEW_YEAR_2027, "Christmas week")], ENGLAND)
    assert closed.label(CHRISTMAS_2026) == "Bank holiday: Christmas Day"
    assert closed.label(date(2026, 12, 24)) == "Closed: Christmas week"
    assert closed.label(date(2026, 12, 23)) == ""
    assert closed[BOXING_DAY_SUBSTITUTE_2026].bank_holiday
    assert not closed[date(2026, 12, 29)].bank_holiday
    half_days = {(date(2026, 12, 23), "am"), (CHRISTMAS_2026, "pm"), (date(2026, 12, 30), "am")}
    assert closed.open(half_days) == {(date(2026, 12, 23), "am")}
    # Only the window counts: a blackout reaching beyond it closes nothing outside.
    assert max(closed) == date(2027, 1, 1)


def test_the_region_is_a_setting(tmp_path):
    env = {"SECRET_KEY": STRONG_SECRET}
    assert load_settings(env, instance_path=tmp_path).bank_holiday_region == ENGLAND
    scottish = load_settings(env | {"BANK_HOLIDAY_REGION": " Scotland "}, instance_path=tmp_path)
    assert scottish.bank_holiday_region == SCOTLAND
    with pytest.raises(ConfigError, match="BANK_HOLIDAY_REGION must be one of"):
        load_settings(env | {"BANK_HOLIDAY_REGION": "wales"}, instance_path=tmp_path)


@pytest.fixture
def scottish_app(tmp_path, engine, connection):
    """The app as a Scottish deployment runs it (the region is restored afterwards)."""
    from mentoring import create_app

    from conftest import _session_on

    app = create_app({"SETTINGS": make_settings(tmp_path, bank_holiday_region=SCOTLAND),
                      "ENGINE": engine})
    app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
    yield app
    calendar_days.set_region(ENGLAND)


def test_a_scottish_deployment_closes_2_january(scottish_app, factory, leader):
    programme_round = factory.programme_round(starts_on=date(2025, 12, 29),
                                              ends_on=date(2026, 1, 9))
    factory.participant(programme_round, leader)
    html = SignedIn(scottish_app, leader.user).get(
        f"/rounds/{programme_round.id}/availability").get_data(as_text=True)
    assert "Bank holiday: New Year Holiday" in html
    assert 'value="2026-01-02:am"' not in html


# --- availability --------------------------------------------------------------------------


@pytest.fixture
def christmas_round(factory):
    """Monday 14 December 2026 to Friday 15 January 2027."""
    return factory.programme_round(starts_on=date(2026, 12, 14), ends_on=date(2027, 1, 15))


def christmas_week(factory, programme_round) -> RoundBlackout:
    return factory._save(RoundBlackout(round_id=programme_round.id, starts_on=CHRISTMAS_WEEK[0],
                                       ends_on=CHRISTMAS_WEEK[1], reason="Christmas week"))


def saved(db, programme_round, leader) -> set:
    return availability.free_half_days(db, programme_round.id, leader.id)


def row_of(html: str, day_label: str) -> str:
    match = re.search(rf'<th scope="row" class="nhsuk-table__header">{day_label}</th>(.*?)</tr>',
                      html, re.S)
    assert match, f"no row for {day_label}"
    return match.group(1)


def test_the_grid_shows_closed_days_instead_of_checkboxes(app, factory, christmas_round,
                                                          leader):
    factory.participant(christmas_round, leader)
    christmas_week(factory, christmas_round)
    html = SignedIn(app, leader.user).get(
        f"/rounds/{christmas_round.id}/availability").get_data(as_text=True)
    assert "Bank holiday: Christmas Day" in row_of(html, "Friday 25 December")
    assert "Bank holiday: Boxing Day (observed)" in row_of(html, "Monday 28 December")
    assert "Closed: Christmas week" in row_of(html, "Tuesday 29 December")
    assert "Bank holiday: New Year&#39;s Day" in row_of(html, "Friday 1 January")
    assert 'colspan="2"' in row_of(html, "Friday 25 December")
    for day in ("2026-12-25", "2026-12-28", "2026-12-29", "2026-12-31", "2027-01-01"):
        assert f'value="{day}:am"' not in html and f'id="free-{day}-pm"' not in html
    assert 'value="2026-12-24:am"' in row_of(html, "Thursday 24 December")
    assert 'value="2027-01-04:pm"' in html
    assert "No exchange takes place on bank holidays" in html


def test_saving_ignores_closed_days(app, db, factory, christmas_round, leader):
    factory.participant(christmas_round, leader)
    christmas_week(factory, christmas_round)
    client = SignedIn(app, leader.user)
    path = f"/rounds/{christmas_round.id}/availability"
    response = client.post_form(path, {"action": "dates", "free": [
        "2026-12-24:am", "2026-12-25:am", "2026-12-28:pm", "2026-12-30:am", "2027-01-04:am"]})
    assert response.status_code == 302
    assert saved(db, christmas_round, leader) == {(date(2026, 12, 24), "am"),
                                                  (date(2027, 1, 4), "am")}


def test_the_weekly_pattern_skips_closed_days(app, db, factory, christmas_round, leader):
    factory.participant(christmas_round, leader)
    christmas_week(factory, christmas_round)
    client = SignedIn(app, leader.user)
    response = client.post_form(f"/rounds/{christmas_round.id}/availability",
                                {"action": "pattern", "pattern": ["0:am", "1:am", "4:am"]})
    assert response.status_code == 302
    days = sorted(day for day, _ in saved(db, christmas_round, leader))
    assert days == [date(2026, 12, 14), date(2026, 12, 15), date(2026, 12, 18),
                    date(2026, 12, 21), date(2026, 12, 22),  # Tue 29, Fri 25, Mon 28: closed
                    date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 8),
                    date(2027, 1, 11), date(2027, 1, 12), date(2027, 1, 15)]
    pattern = availability.apply_pattern(christmas_round, {(4, "am")},
                                         closed_days(db, christmas_round))
    assert (CHRISTMAS_2026, "am") not in pattern and (NEW_YEAR_2027, "am") not in pattern


def test_availability_saved_before_a_day_closed_is_set_aside_not_lost(app, db, factory,
                                                                      christmas_round, leader):
    factory.participant(christmas_round, leader)
    for day in (date(2026, 12, 22), date(2026, 12, 29), date(2026, 12, 30)):
        factory.availability(christmas_round, leader, day, "am")
    blackout = christmas_week(factory, christmas_round)
    client = SignedIn(app, leader.user)
    path = f"/rounds/{christmas_round.id}/availability"
    html = client.get(path).get_data(as_text=True)
    assert "1 half-day free: 1 in December" in html  # the two on closed days do not count
    # Saving the page (which has no boxes for those days) keeps what was said about them.
    client.post_form(path, {"action": "dates", "free": ["2026-12-22:am", "2027-01-05:pm"]})
    assert saved(db, christmas_round, leader) == {
        (date(2026, 12, 22), "am"), (date(2026, 12, 29), "am"), (date(2026, 12, 30), "am"),
        (date(2027, 1, 5), "pm")}
    # The problem builder does not pass them on...
    problem = build_problem(db, christmas_round)
    (entry,) = problem["leaders"]
    assert entry["available"] == ["2026-12-22-am", "2027-01-05-pm"]
    # ...and when the blackout goes, they count again.
    db.delete(blackout)
    db.flush()
    html = client.get(path).get_data(as_text=True)
    assert 'value="2026-12-29:am" checked' in html
    assert "4 half-days free" in html


# --- the problem builder -------------------------------------------------------------------


@pytest.fixture
def pair_free_over_christmas(factory, christmas_round):
    """A mentor and a mentee free every weekday morning, closed days included (as saved before
    the days closed, or through old data)."""
    mentor = factory.mentor(name="Mo Mentor", profession="pcn_clinical_director",
                            strengths=["system_leadership"], max_hosted_per_week=2)
    mentee = factory.leader(name="Mia Mentee", profession="community_pharmacist",
                            sector="community_pharmacy", goals=["system_leadership"],
                            can_host=True, max_hosted_per_week=2)
    day = christmas_round.starts_on
    while day <= christmas_round.ends_on:
        if day.weekday() < 5:
            for leader in (mentor, mentee):
                factory.availability(christmas_round, leader, day, "am")
        day += timedelta(days=1)
    for leader in (mentor, mentee):
        factory.participant(christmas_round, leader)
    return mentor, mentee


CLOSED_OVER_CHRISTMAS = {CHRISTMAS_2026, BOXING_DAY_SUBSTITUTE_2026, NEW_YEAR_2027,
                         *(CHRISTMAS_WEEK[0] + timedelta(days=n) for n in range(3))}


def test_the_problem_builder_never_offers_closed_days(db, factory, christmas_round,
                                                      pair_free_over_christmas):
    christmas_week(factory, christmas_round)
    problem = build_problem(db, christmas_round)
    slot_days = {date.fromisoformat(slot["id"][:10]) for slot in problem["slots"]}
    assert not slot_days & CLOSED_OVER_CHRISTMAS
    assert len(problem["slots"]) == 2 * (25 - len(CLOSED_OVER_CHRISTMAS))  # 25 weekdays
    for leader in problem["leaders"]:
        days = {date.fromisoformat(slot[:10]) for slot in leader["available"]}
        assert not days & CLOSED_OVER_CHRISTMAS
        assert date(2026, 12, 24) in days
    loaded = load_problem(problem)
    solution = solve(loaded, time_limit=30)
    assert solution.exchanges and check_solution(loaded, solution) == []
    assert not {date.fromisoformat(x.slot[:10]) for x in solution.exchanges} & (
        CLOSED_OVER_CHRISTMAS)


def test_an_exchange_already_on_a_closed_day_stays_a_valid_fixed_part(
        db, factory, christmas_round, pair_free_over_christmas):
    mentor, mentee = pair_free_over_christmas
    match = factory.match(christmas_round, mentor, mentee, status="accepted")
    start, end = bounds(CHRISTMAS_WEEK[0], "am")
    factory.exchange(match, start, ends_at=end, status="scheduled")
    christmas_week(factory, christmas_round)
    problem = build_problem(db, christmas_round)
    slots = {slot["id"] for slot in problem["slots"]}
    assert "2026-12-29-am" in slots  # it holds the exchange: kept, with nobody free in it
    assert "2026-12-29-pm" not in slots and "2026-12-25-am" not in slots
    assert all("2026-12-29-am" not in leader["available"] for leader in problem["leaders"])
    fixed = fixed_part(db, christmas_round)
    assert [x.slot for x in fixed.exchanges] == ["2026-12-29-am"]
    solution = solve(load_problem(problem), fixed=fixed, time_limit=30)
    assert solution.status in {"optimal", "feasible"}
    (other,) = {x.slot for x in solution.exchanges} - {"2026-12-29-am"}  # that one is kept
    assert date.fromisoformat(other[:10]) not in CLOSED_OVER_CHRISTMAS


# --- the changes since approval ------------------------------------------------------------

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def booked_before_christmas(factory, christmas_round, pair_free_over_christmas):
    """An accepted pair with exchanges on Wednesday 30 December and Monday 11 January."""
    mentor, mentee = pair_free_over_christmas
    match = factory.match(christmas_round, mentor, mentee, status="accepted",
                          offered_at=NOW - timedelta(days=7))
    exchanges = []
    for day, host, visitor in ((date(2026, 12, 30), mentor, mentee),
                               (date(2027, 1, 11), mentee, mentor)):
        start, end = bounds(day, "am")
        exchange = factory.exchange(match, start, ends_at=end, status="scheduled",
                                    host_id=host.id, visitor_id=visitor.id)
        for leader in (host, visitor):
            factory._save(ExchangeBooking(exchange_id=exchange.id, leader_id=leader.id,
                                          starts_at=start))
        exchanges.append(exchange)
    return match, exchanges


def test_an_exchange_on_a_day_closed_since_approval_is_listed(db, factory, christmas_round,
                                                              booked_before_christmas):
    match, (in_christmas_week, _) = booked_before_christmas
    assert pending_changes(db, christmas_round, NOW) == []
    christmas_week(factory, christmas_round)
    (change,) = pending_changes(db, christmas_round, NOW)
    assert change.kind == "closed"  # not also "no longer free": that availability is set aside
    assert change.summary == "Mia Mentee visiting Mo Mentor: on a closed day"
    assert change.detail == "Wednesday 30 December morning. Closed: Christmas week"
    assert change.exchange_id == in_christmas_week.id
    assert set(change.leader_ids) == {match.mentor_id, match.mentee_id}
    assert exchanges_to_release(db, christmas_round, {match.mentee_id}, NOW) == {
        in_christmas_week.id}
    assert exchanges_to_release(db, christmas_round, {999_999}, NOW) == frozenset()
    # Once it has happened (or been moved) it is no longer a change to make.
    assert pending_changes(db, christmas_round, datetime(2026, 12, 31, tzinfo=UTC)) == []


def test_an_exchange_on_a_bank_holiday_is_listed_with_its_name(db, factory, christmas_round,
                                                               booked_before_christmas):
    _, (exchange, _) = booked_before_christmas
    exchange.starts_at, exchange.ends_at = bounds(BOXING_DAY_SUBSTITUTE_2026, "pm")
    factory._save(exchange)
    (change,) = pending_changes(db, christmas_round, NOW)
    assert change.kind == "closed"
    assert change.detail == "Monday 28 December afternoon. Bank holiday: Boxing Day (observed)"


def test_the_changes_page_shows_closed_days(app, db, factory, christmas_round, coordinator,
                                            booked_before_christmas):
    christmas_week(factory, christmas_round)
    html = SignedIn(app, coordinator).get(
        f"/rounds/{christmas_round.id}/changes").get_data(as_text=True)
    assert "Closed day" in html and "Closed: Christmas week" in html


# --- end to end: the optimiser, approval and a local run -----------------------------------


def over_christmas(factory, *, mentors=1, mentees=1):
    """Pairs free on Christmas Day, the Boxing Day substitute, in Christmas week and after."""
    from matching_world import SimpleRound

    programme_round = factory.programme_round(
        starts_on=date(2026, 12, 14), ends_on=date(2027, 1, 29), exchanges_per_pair=2,
        min_days_between_exchanges=7)
    people = SimpleRound(programme_round, [], [])
    for number in range(mentors):
        people.mentors.append(factory.mentor(
            name=f"Mentor {number + 1}", profession="acute_clinical_director", sector="acute",
            strengths=["system_leadership"], mentor_capacity=1, max_hosted_per_week=2,
            protected_hours_per_month=16))
    for number in range(mentees):
        people.mentees.append(factory.leader(
            name=f"Mentee {number + 1}", profession="nurse", sector="community_health",
            goals=["system_leadership"], can_host=True, max_hosted_per_week=2,
            protected_hours_per_month=16))
    # Two open days a week apart: the two exchanges must take them.
    free_days = [CHRISTMAS_2026, BOXING_DAY_SUBSTITUTE_2026, date(2026, 12, 30), NEW_YEAR_2027,
                 date(2027, 1, 8)]
    for leader in people.mentors + people.mentees:
        factory.participant(programme_round, leader)
        for day in free_days:
            factory.availability(programme_round, leader, day, "am")
    return people


def exchange_days(db) -> set[date]:
    return {half_day_of(exchange.starts_at)[0] for exchange in db.exec(select(Exchange)).all()}


def test_nothing_is_booked_on_a_closed_day_and_a_closed_exchange_is_moved(app, db, factory,
                                                                          coordinator):
    from test_matching_approval import solved

    from mentoring.matching.decisions import approve_run, plan_changes
    from mentoring.offers.services import accept_offer
    from mentoring.rounds.blackouts import add_blackout

    people = over_christmas(factory)
    run = solved(app, db, people.round, coordinator)
    approve_run(db, run, coordinator, NOW)
    db.commit()
    days = exchange_days(db)
    assert days == {date(2026, 12, 30), date(2027, 1, 8)}  # the open days, not the holidays
    (match,) = db.exec(select(Match)).all()
    for leader in (people.mentors[0], people.mentees[0]):
        accept_offer(db, leader, leader.user, match.id, NOW)
    db.commit()
    # The coordinator closes Christmas week after the exchanges are booked.
    add_blackout(db, people.round, blackout_form("29", "12", "2026", "31", "12", "2026",
                                                 "Christmas week"), coordinator)
    for leader in (people.mentors[0], people.mentees[0]):  # and both leaders free up a day
        factory.availability(people.round, leader, date(2027, 1, 22), "am")
    db.commit()
    (change,) = pending_changes(db, people.round, NOW)
    assert change.kind == "closed"
    local = solved(app, db, people.round, coordinator, scope=list(change.leader_ids))
    plan = plan_changes(db, local)
    assert len(plan.moved_exchanges) == 1 and not plan.new_pairs
    approve_run(db, local, coordinator, NOW + timedelta(minutes=1))
    db.commit()
    assert exchange_days(db) == {date(2027, 1, 8), date(2027, 1, 22)}
    assert pending_changes(db, people.round, NOW + timedelta(minutes=2)) == []


def test_approval_refuses_a_day_closed_since_the_run(app, db, factory, coordinator):
    from test_matching_approval import solved

    from mentoring.matching.decisions import DecisionError, approve_run
    from mentoring.rounds.blackouts import add_blackout

    people = over_christmas(factory)
    run = solved(app, db, people.round, coordinator)
    add_blackout(db, people.round, blackout_form("29", "12", "2026", "31", "12", "2026",
                                                 "Christmas week"), coordinator)
    with pytest.raises(DecisionError, match=r"Wednesday 30 December morning is now closed "
                                            r"\(Closed: Christmas week\)"):
        approve_run(db, run, coordinator, NOW)


def blackout_form(day, month, year, end_day, end_month, end_year, reason) -> dict:
    return {"starts_on": {"day": day, "month": month, "year": year},
            "ends_on": {"day": end_day, "month": end_month, "year": end_year},
            "reason": reason}


# --- the demo ------------------------------------------------------------------------------


def test_the_demo_round_offers_and_books_no_closed_day_over_christmas(db):
    from mentoring.demo import load_demo
    from mentoring.models import ProgrammeRound

    load_demo(db, leaders=60, today=date(2026, 12, 10))
    demo_round = db.exec(select(ProgrammeRound).where(ProgrammeRound.status == "open")).one()
    assert demo_round.starts_on == date(2026, 12, 14)
    (blackout,) = db.exec(select(RoundBlackout)).all()
    assert (blackout.starts_on, blackout.ends_on, blackout.reason) == (
        date(2026, 12, 24), NEW_YEAR_2027, "Christmas week")
    closed = closed_days(db, demo_round)
    assert {CHRISTMAS_2026, BOXING_DAY_SUBSTITUTE_2026, NEW_YEAR_2027} <= set(closed)
    free_days = set(db.exec(select(Availability.day)).all())
    assert free_days and not free_days & set(closed)
    assert exchange_days(db) and not exchange_days(db) & set(closed)
    problem = build_problem(db, demo_round)
    assert not {date.fromisoformat(slot["id"][:10]) for slot in problem["slots"]} & set(closed)


def test_the_demo_round_at_easter_has_no_blackout_and_no_bank_holiday(db):
    from mentoring.demo import load_demo

    load_demo(db, leaders=30, today=date(2027, 3, 17))  # window from Monday 22 March 2027
    assert db.exec(select(RoundBlackout)).all() == []
    free_days = set(db.exec(select(Availability.day)).all())
    assert date(2027, 3, 25) in free_days or date(2027, 3, 30) in free_days
    assert not free_days & {date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 3)}
    assert not exchange_days(db) & {date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 3)}
