"""A round's blackout dates: coordinators add and remove them on the round's "Closed days" page
(errors beside the fields, every change audited); the overview shows them; leaders cannot."""

from __future__ import annotations

import html as html_lib
from datetime import date

import pytest
from sqlmodel import select

from mentoring.models import AuditEvent, RoundBlackout

from conftest import SignedIn


@pytest.fixture
def christmas_round(factory):
    """Monday 14 December 2026 to Friday 15 January 2027."""
    return factory.programme_round(name="Winter exchange", starts_on=date(2026, 12, 14),
                                   ends_on=date(2027, 1, 15))


@pytest.fixture
def coordinator_client(app, coordinator) -> SignedIn:
    return SignedIn(app, coordinator)


def form(first: str, last: str = "", reason: str = "Christmas week") -> dict:
    """Dates as '29 12 2026' (day month year), as a person types them."""
    data = {"reason": reason}
    for name, value in (("starts_on", first), ("ends_on", last)):
        parts = value.split() or ["", "", ""]
        data |= {f"{name}[day]": parts[0], f"{name}[month]": parts[1],
                 f"{name}[year]": parts[2]}
    return data


def blackouts(db, programme_round) -> list[tuple[date, date, str]]:
    return [(b.starts_on, b.ends_on, b.reason) for b in db.exec(
        select(RoundBlackout).where(RoundBlackout.round_id == programme_round.id)
        .order_by(RoundBlackout.starts_on)).all()]


def page(client, programme_round) -> str:
    response = client.get(f"/rounds/{programme_round.id}/blackouts")
    assert response.status_code == 200
    return html_lib.unescape(response.get_data(as_text=True))


def test_the_page_lists_the_windows_bank_holidays(coordinator_client, christmas_round):
    text = page(coordinator_client, christmas_round)
    assert "Weekday bank holidays in the window, in England and Wales" in text
    assert "Friday 25 December 2026: Christmas Day" in text
    assert "Monday 28 December 2026: Boxing Day (observed)" in text  # Boxing Day is a Saturday
    assert "Friday 1 January 2027: New Year's Day" in text
    assert "Saturday 26 December" not in text
    assert "None yet." in text


def test_a_coordinator_adds_blackout_dates(db, coordinator_client, christmas_round,
                                           coordinator):
    path = f"/rounds/{christmas_round.id}/blackouts"
    response = coordinator_client.post_form(path, form("29 12 2026", "31 12 2026"))
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    assert blackouts(db, christmas_round) == [(date(2026, 12, 29), date(2026, 12, 31),
                                               "Christmas week")]
    text = page(coordinator_client, christmas_round)
    assert "Closed 29 December 2026 to 31 December 2026: Christmas week." in text
    assert "29 December 2026 to 31 December 2026" in text
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "round.blackout_added")).one()
    assert event.actor_id == coordinator.id and event.object_id == str(christmas_round.id)
    assert event.detail | {"blackout_id": 0} == {
        "blackout_id": 0, "starts_on": "2026-12-29", "ends_on": "2026-12-31",
        "reason": "Christmas week"}
    # A single day: the last day left blank.
    coordinator_client.post_form(path, form("11 1 2027", reason="Winter pressures: OPEL 4"))
    assert blackouts(db, christmas_round)[-1] == (date(2027, 1, 11), date(2027, 1, 11),
                                                  "Winter pressures: OPEL 4")
    overview = html_lib.unescape(coordinator_client.get(
        f"/rounds/{christmas_round.id}").get_data(as_text=True))
    assert "29 December 2026 to 31 December 2026: Christmas week" in overview
    assert "11 January 2027: Winter pressures: OPEL 4" in overview
    assert "bank holidays in England and Wales (3 on weekdays in the window)" in overview


@pytest.mark.parametrize(("data", "field", "message"), [
    (form("31 12 2026", "29 12 2026"), "ends_on",
     "The last day must be the same as or after the first day"),
    (form("7 12 2026", "11 12 2026"), "starts_on",
     "The first day must be inside the round's window, 14 December 2026 to 15 January 2027"),
    (form("14 1 2027", "18 1 2027"), "ends_on",
     "The last day must be inside the round's window, 14 December 2026 to 15 January 2027"),
    (form("29 12 2026", "31 12 2026", reason=""), "reason",
     "Enter the reason, for example 'Christmas week'"),
    (form("29 12 2026", "31 12 2026", reason="  "), "reason",
     "Enter the reason, for example 'Christmas week'"),
    (form("29 12 2026", reason="x" * 121), "reason",
     "Enter a reason of no more than 120 characters"),
    (form(""), "starts_on", "Enter the first day"),
    (form("30 2 2027"), "starts_on", "The first day must be a real date, like 21 12 2026"),
    (form("29 12 26"), "starts_on", "The first day must be a real date, like 21 12 2026"),
    ({**form("29 12 2026"), "starts_on[month]": ""}, "starts_on",
     "The first day must include a month"),
    (form("29 12 2026", "9" * 40 + " 12 2026"), "ends_on",
     "The last day must be a real date, like 21 12 2026"),
    (form("2 1 2027", "3 1 2027"), "ends_on",
     "The dates must include a weekday: exchanges only take place Monday to Friday"),
])
def test_bad_input_is_shown_beside_its_field(db, coordinator_client, christmas_round, data,
                                             field, message):
    response = coordinator_client.post_form(f"/rounds/{christmas_round.id}/blackouts", data)
    assert response.status_code == 400
    text = html_lib.unescape(response.get_data(as_text=True))
    assert "There is a problem" in text
    assert f'href="#{field}-day"' in text or f'href="#{field}"' in text  # the summary links
    error = text.split(f'id="{field}-error"', 1)[1].split("</span>", 2)[1]
    assert message in error  # beside the field
    assert blackouts(db, christmas_round) == []
    if data["reason"].strip():
        assert f'value="{data["reason"]}"' in text  # what was typed is kept


def test_overlapping_blackouts_are_refused(db, coordinator_client, christmas_round):
    path = f"/rounds/{christmas_round.id}/blackouts"
    coordinator_client.post_form(path, form("24 12 2026", "1 1 2027"))
    response = coordinator_client.post_form(path, form("31 12 2026", "5 1 2027", "New year"))
    assert response.status_code == 400
    assert ("These dates overlap 'Christmas week' (24 December 2026 to 1 January 2027)"
            in html_lib.unescape(response.get_data(as_text=True)))
    assert len(blackouts(db, christmas_round)) == 1


def test_a_coordinator_removes_blackout_dates(db, factory, coordinator_client, christmas_round,
                                              coordinator):
    blackout = factory._save(RoundBlackout(round_id=christmas_round.id,
                                           starts_on=date(2026, 12, 29),
                                           ends_on=date(2026, 12, 31), reason="Christmas week"))
    text = page(coordinator_client, christmas_round)
    assert "Remove<span class=\"nhsuk-u-visually-hidden\"> Christmas week</span>" in text
    response = coordinator_client.post_form(
        f"/rounds/{christmas_round.id}/blackouts/remove", {"blackout_id": str(blackout.id)},
        form_page=f"/rounds/{christmas_round.id}/blackouts")
    assert response.status_code == 302
    assert blackouts(db, christmas_round) == []
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "round.blackout_removed")
                    ).one()
    assert event.actor_id == coordinator.id and event.detail["reason"] == "Christmas week"
    assert "'Christmas week' removed" in page(coordinator_client, christmas_round)


@pytest.mark.parametrize("blackout_id", ["", "abc", "\u00b2", "9" * 40, "other round"])
def test_removing_anything_but_one_of_the_rounds_blackouts_is_refused(
        db, factory, coordinator_client, christmas_round, blackout_id):
    other_round = factory.programme_round(name="Another round")
    theirs = factory._save(RoundBlackout(round_id=other_round.id, starts_on=date(2027, 1, 4),
                                         ends_on=date(2027, 1, 4), reason="Their day"))
    if blackout_id == "other round":
        blackout_id = str(theirs.id)
    response = coordinator_client.post_form(
        f"/rounds/{christmas_round.id}/blackouts/remove", {"blackout_id": blackout_id},
        form_page=f"/rounds/{christmas_round.id}/blackouts")
    assert response.status_code == 400
    assert "Choose blackout dates of this round to remove" in response.get_data(as_text=True)
    assert blackouts(db, other_round) == [(date(2027, 1, 4), date(2027, 1, 4), "Their day")]


def test_an_archived_rounds_dates_cannot_change(db, factory, coordinator_client):
    archived = factory.programme_round(starts_on=date(2026, 12, 14), ends_on=date(2027, 1, 15),
                                       status="archived")
    response = coordinator_client.post_form(f"/rounds/{archived.id}/blackouts",
                                            form("29 12 2026"))
    assert response.status_code == 400
    assert "An archived round's dates cannot change" in html_lib.unescape(
        response.get_data(as_text=True))
    assert blackouts(db, archived) == []


def test_exchanges_on_closed_days_are_pointed_out(db, factory, coordinator_client,
                                                  christmas_round):
    from mentoring.slots import bounds

    mentor, mentee = factory.mentor(), factory.leader()
    match = factory.match(christmas_round, mentor, mentee, status="accepted")
    start, end = bounds(date(2026, 12, 30), "pm")
    factory.exchange(match, start, ends_at=end, status="scheduled")
    response = coordinator_client.post_form(f"/rounds/{christmas_round.id}/blackouts",
                                            form("29 12 2026", "31 12 2026"))
    assert response.status_code == 302
    text = page(coordinator_client, christmas_round)
    assert "1 exchange is on closed days: see the changes since approval." in text  # the flash
    assert "Exchanges on closed days" in text  # and the warning, with a link
    assert f'href="/rounds/{christmas_round.id}/changes"' in text
    overview = coordinator_client.get(f"/rounds/{christmas_round.id}").get_data(as_text=True)
    assert "1 exchange is on closed days" in overview


def test_leaders_cannot_see_or_change_blackouts(db, factory, app, leader, christmas_round):
    blackout = factory._save(RoundBlackout(round_id=christmas_round.id,
                                           starts_on=date(2026, 12, 29),
                                           ends_on=date(2026, 12, 31), reason="Christmas week"))
    factory.participant(christmas_round, leader)
    client = SignedIn(app, leader.user)
    assert client.get(f"/rounds/{christmas_round.id}/blackouts").status_code == 403
    response = client.post_form(f"/rounds/{christmas_round.id}/blackouts",
                                form("4 1 2027"), form_page="/home")
    assert response.status_code == 403
    response = client.post_form(f"/rounds/{christmas_round.id}/blackouts/remove",
                                {"blackout_id": str(blackout.id)}, form_page="/home")
    assert response.status_code == 403
    assert len(blackouts(db, christmas_round)) == 1
    # What a leader does see: the reason, in place of the days.
    availability = client.get(f"/rounds/{christmas_round.id}/availability")
    assert "Closed: Christmas week" in availability.get_data(as_text=True)
