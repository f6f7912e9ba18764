"""The availability page's checkboxes: written out in the template rather than through the
NHS.UK checkboxes macro, so they must keep the macro's markup (ids, labels, fieldset, hint); and
what saving says comes next."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from mentoring.availability import services
from mentoring.filters import format_date, to_london
from mentoring.models import utcnow

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
    participant = factory.participant(programme_round, leader, status="withdrawn")
    assert services.free_half_days_if_joined(db, programme_round.id, leader.id) is None  # left
    participant.status = "joined"
    db.add(participant)
    db.flush()
    assert services.free_half_days_if_joined(db, programme_round.id, leader.id) == set()
    factory.availability(programme_round, leader, WEDNESDAY, "am")
    assert services.free_half_days_if_joined(db, programme_round.id, leader.id) == {
        (WEDNESDAY, "am")}


# --- saving says what comes next ---------------------------------------------------------------


def save(client, programme_round, free: list[str], **extra) -> str:
    """Save these half-days; the message on the page the save lands on."""
    url = f"/rounds/{programme_round.id}/availability"
    response = client.post_form(url, {"free": free, **extra}, follow_redirects=True)
    assert response.request.path == url
    found = re.search(r'nhsuk-notification-banner__content">\s*<p[^>]*>(.*?)</p>',
                      response.get_data(as_text=True), re.S)
    assert found, "no message after saving"
    return " ".join(html.unescape(found.group(1)).split())


def test_saving_in_an_open_round_says_the_coordinators_match_next(client, programme_round):
    assert save(client, programme_round, ["2027-01-06:pm", "2027-01-07:am"]) == (
        "Saved. 2 half-days free: 2 in January. Next, the programme coordinators match the "
        "leaders in this round. We will email you when the programme coordinators offer you a "
        "match.")


def test_saving_once_matched_promises_no_new_offer(factory, client, programme_round, leader):
    factory.match(programme_round, factory.mentor(), leader, status="accepted")
    message = save(client, programme_round, ["2027-01-06:pm"])
    assert "offer you a match" not in message
    assert "use these half-days for any new offer or changed exchange" in message


def test_saving_names_the_rounds_dates_still_to_come(db, client, programme_round):
    today = to_london(utcnow()).date()
    closes, offers = today + timedelta(days=10), today + timedelta(days=30)
    programme_round.joining_closes_on, programme_round.offers_on = closes, offers
    db.add(programme_round)
    db.flush()
    assert save(client, programme_round, ["2027-01-06:pm"]) == (
        f"Saved. 1 half-day free: 1 in January. Matching starts after joining closes on "
        f"{format_date(closes)}. We will email you when the programme coordinators offer you a "
        f"match, around {format_date(offers)}.")
    # Dates that have passed are not promised again.
    programme_round.joining_closes_on = programme_round.offers_on = today - timedelta(days=1)
    db.add(programme_round)
    db.flush()
    assert save(client, programme_round, ["2027-01-06:pm"]).endswith(
        "Next, the programme coordinators match the leaders in this round. We will email you "
        "when the programme coordinators offer you a match.")


def test_saving_after_offers_have_gone_out_says_so(db, client, programme_round):
    programme_round.status = "published"
    db.add(programme_round)
    db.flush()
    assert save(client, programme_round, ["2027-01-06:pm"]) == (
        "Saved. 1 half-day free: 1 in January. This round's match offers have gone out: the "
        "programme coordinators use these half-days for any new offer or changed exchange.")


def test_removing_a_booked_half_day_says_the_coordinator_will_rearrange(
        factory, client, programme_round, leader):
    match = factory.match(programme_round, factory.mentor(), leader, status="accepted")
    factory.exchange(match, datetime(2027, 1, 13, 14, 0, tzinfo=UTC), status="scheduled")
    message = save(client, programme_round, ["2027-01-06:pm"], confirm="yes")
    assert message == (
        "Saved. 1 half-day free: 1 in January. Your coordinator will be told, and will "
        "rearrange the exchanges in the half-days you removed.")
