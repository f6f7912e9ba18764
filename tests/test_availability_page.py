"""The availability page's checkboxes: written out in the template rather than through the
NHS.UK checkboxes macro, so they must keep the macro's markup (ids, labels, fieldset, hint)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from mentoring.availability import services

from conftest import SignedIn

WEDNESDAY = date(2027, 1, 6)


@pytest.fixture
def programme_round(factory):
    # Starts mid-week and ends on a Tuesday: the first and last weeks are short.
    return factory.programme_round(starts_on=WEDNESDAY, ends_on=date(2027, 1, 19))


@pytest.fixture
def client(app, factory, programme_round, leader):
    factory.participant(programme_round, leader)
    for day, period in [(WEDNESDAY, "pm"), (date(2027, 1, 13), "pm"), (date(2027, 1, 18), "am")]:
        factory.availability(programme_round, leader, day, period)
    return SignedIn(app, leader.user)


def page(client, programme_round) -> str:
    response = client.get(f"/rounds/{programme_round.id}/availability")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_half_day_of_the_window_is_a_labelled_checkbox(client, programme_round):
    html = page(client, programme_round)
    ids = re.findall(r'<input class="nhsuk-checkboxes__input" id="(free-[^"]+)" name="free"', html)
    assert len(ids) == 20  # ten weekdays, two half-days each
    assert ids[:2] == ["free-2027-01-06-am", "free-2027-01-06-pm"]
    assert ids[-1] == "free-2027-01-19-pm"
    assert ('<input class="nhsuk-checkboxes__input" id="free-2027-01-06-pm" name="free" '
            'type="checkbox" value="2027-01-06:pm" checked>') in html
    assert 'value="2027-01-06:am">' in html  # not ticked
    assert len(re.findall(r'name="free" type="checkbox" value="[^"]+" checked>', html)) == 3
    assert ('<label class="nhsuk-label nhsuk-checkboxes__label" for="free-2027-01-18-am">'
            '<span class="nhsuk-u-visually-hidden">Monday 18 January </span>Morning</label>'
            ) in html
    captions = re.findall(r"Week beginning ([^<]+)</caption>", html)
    assert captions == ["6 January 2027", "11 January 2027", "18 January 2027"]


def test_the_usual_week_has_the_macros_ids_fieldset_and_hint(client, programme_round):
    html = page(client, programme_round)
    assert '<fieldset class="nhsuk-fieldset" aria-describedby="pattern-hint">' in html
    assert '<div class="nhsuk-hint" id="pattern-hint">' in html
    ids = re.findall(r'id="(pattern[^"]*)" name="pattern" type="checkbox" value="([^"]+)"', html)
    assert ids[:3] == [("pattern", "0:am"), ("pattern-2", "0:pm"), ("pattern-3", "1:am")]
    assert ids[-1] == ("pattern-10", "4:pm")
    assert '<label class="nhsuk-label nhsuk-checkboxes__label" for="pattern-6">' \
           'Wednesday afternoon</label>' in html
    # Wednesday afternoons are free in both Wednesdays of a three-week window: most weeks.
    assert 'id="pattern-6" name="pattern" type="checkbox" value="2:pm" checked>' in html
    assert 'value="0:am" checked' not in html


def test_a_changed_window_shows_its_own_dates(db, client, programme_round):
    page(client, programme_round)
    programme_round.ends_on = date(2027, 1, 26)
    db.add(programme_round)
    db.flush()
    assert 'id="free-2027-01-26-pm"' in page(client, programme_round)


def test_free_half_days_if_joined_tells_joined_with_none_free_from_not_joined(
        db, factory, programme_round, leader):
    assert services.free_half_days_if_joined(db, programme_round.id, leader.id) is None
    factory.participant(programme_round, leader, status="withdrawn")
    assert services.free_half_days_if_joined(db, programme_round.id, leader.id) == set()
    factory.availability(programme_round, leader, WEDNESDAY, "am")
    assert services.free_half_days_if_joined(db, programme_round.id, leader.id) == {
        (WEDNESDAY, "am")}
