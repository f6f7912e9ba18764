"""Availability: a weekly pattern across the window, exceptions by date, clashes with exchanges."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from mentoring.availability import services
from mentoring.models import AuditEvent, Availability
from mentoring.slots import bounds, half_day_of

from conftest import SignedIn

MONDAY = date(2027, 1, 4)


@pytest.fixture
def programme_round(factory):
    return factory.programme_round(name="Spring exchange", starts_on=MONDAY)  # 12 weeks


@pytest.fixture
def joined(factory, programme_round, leader):
    factory.participant(programme_round, leader)
    return leader


def url(programme_round) -> str:
    return f"/rounds/{programme_round.id}/availability"


def saved(db, programme_round, leader) -> set:
    db.expire_all()
    return services.free_half_days(db, programme_round.id, leader.id)


def test_a_weekly_pattern_fills_the_whole_window(app, db, programme_round, joined):
    client = SignedIn(app, joined.user)
    response = client.post_form(url(programme_round),
                                {"action": "pattern", "pattern": ["1:am", "3:pm"]})
    assert response.status_code == 302
    free = saved(db, programme_round, joined)
    assert len(free) == 24  # Tuesday mornings and Thursday afternoons, 12 weeks
    assert {day.weekday() for day, _ in free} == {1, 3}
    assert min(free) == (date(2027, 1, 5), "am")
    page = client.get(url(programme_round)).get_data(as_text=True)
    assert "24 half-days free: 8 in January, 8 in February, 8 in March" in page
    assert 'value="1:am" checked' in page  # the usual week is ticked again


def test_exceptions_by_date_replace_the_chosen_half_days(app, db, programme_round, joined):
    client = SignedIn(app, joined.user)
    client.post_form(url(programme_round), {"action": "pattern", "pattern": ["1:am"]})
    chosen = ["2027-01-05:am", "2027-01-06:pm"]  # one usual Tuesday kept, a Wednesday added
    client.post_form(url(programme_round), {"action": "dates", "free": chosen})
    assert saved(db, programme_round, joined) == {(date(2027, 1, 5), "am"),
                                                  (date(2027, 1, 6), "pm")}
    audit = db.exec(select(AuditEvent).where(AuditEvent.action == "availability.changed")).all()
    assert len(audit) == 2


def test_dates_outside_the_window_or_at_weekends_are_refused_and_nothing_is_saved(
    app, db, programme_round, joined
):
    client = SignedIn(app, joined.user)
    client.post_form(url(programme_round), {"action": "dates", "free": ["2027-01-05:am"]})
    for bad in ["2027-01-09:am", "2026-12-31:am", "2027-01-05:evening", "not-a-date:am"]:
        response = client.post_form(url(programme_round),
                                    {"action": "dates", "free": ["2027-01-06:am", bad]})
        assert response.status_code == 400
        assert "There is a problem" in response.get_data(as_text=True)
    assert saved(db, programme_round, joined) == {(date(2027, 1, 5), "am")}


def test_removing_a_half_day_with_a_booked_exchange_warns_first(app, db, factory,
                                                                  programme_round, joined):
    mentor = factory.mentor()
    match = factory.match(programme_round, mentor, joined, status="offered")
    start, end = bounds(date(2027, 1, 12), "am")
    factory.exchange(match, start, ends_at=end)
    client = SignedIn(app, joined.user)
    client.post_form(url(programme_round), {"action": "dates", "free": ["2027-01-12:am",
                                                                        "2027-01-13:am"]})
    response = client.post_form(url(programme_round), {"action": "dates",
                                                      "free": ["2027-01-13:am"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This affects booked exchanges" in page and "12 January 2027 at 09:00" in page
    assert (date(2027, 1, 12), "am") in saved(db, programme_round, joined)  # not yet saved
    confirmed = client.post_form(url(programme_round),
                                 {"confirm": "yes", "free": ["2027-01-13:am"]})
    assert confirmed.status_code == 302
    assert saved(db, programme_round, joined) == {(date(2027, 1, 13), "am")}
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "availability.changed")
                    .order_by(AuditEvent.id.desc())).first()
    assert event.detail["affected_exchanges"]


def test_joining_an_open_round_then_setting_availability(app, db, programme_round, leader):
    client = SignedIn(app, leader.user)
    assert client.get(url(programme_round)).status_code == 302  # not joined yet
    response = client.post_form(f"/rounds/{programme_round.id}/join", form_page="/availability")
    # First the self-assessment (skippable), whose "Skip" link leads to the availability page.
    assert response.headers["Location"] == f"/rounds/{programme_round.id}/self-assessment"
    assert url(programme_round) in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert services.participation(db, programme_round.id, leader.id) is not None


def test_closed_rounds_cannot_be_joined(app, db, factory, leader):
    closed = factory.programme_round(status="closed")
    client = SignedIn(app, leader.user)
    client.post_form(f"/rounds/{closed.id}/join", form_page="/availability")
    assert services.participation(db, closed.id, leader.id) is None


def test_a_leader_cannot_change_another_leaders_availability(app, db, factory, programme_round,
                                                             joined):
    other = factory.leader(email="other@example.org")
    factory.participant(programme_round, other)
    factory.availability(programme_round, other, date(2027, 1, 5), "am")
    client = SignedIn(app, joined.user)
    client.post_form(url(programme_round), {"action": "dates", "free": ["2027-01-06:am"],
                                            "leader_id": str(other.id)})
    db.expire_all()
    assert services.free_half_days(db, programme_round.id, other.id) == {(date(2027, 1, 5),
                                                                         "am")}
    assert len(db.exec(select(Availability)).all()) == 2


def test_half_days_are_london_time_across_the_clock_change():
    summer_start, _ = bounds(date(2027, 4, 6), "am")
    winter_start, _ = bounds(date(2027, 1, 5), "am")
    assert summer_start.hour == 8 and winter_start.hour == 9  # 09:00 BST is 08:00 UTC
    assert half_day_of(summer_start) == (date(2027, 4, 6), "am")


def test_summary_counts_by_month():
    free = {(date(2027, 1, 5), "am"), (date(2027, 1, 6), "pm"), (date(2027, 2, 2), "am")}
    assert services.summarise(free).sentence() == "3 half-days free: 2 in January, 1 in February"
    assert services.summarise(set()).sentence() == "No half-days free yet"
