"""A leader's matches and exchanges: see them with reasons, accept, decline, cancel, ask to move."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mentoring.exchanges import services
from mentoring.exchanges.services import LeaderError, NotFound
from mentoring.models import AuditEvent, ExchangeBooking, Notification

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def pair(factory, leader):
    return factory.matched(leader, factory.mentor(name="Ben Mentor", job_title="Chief pharmacist"))


def fresh(db, row):
    """The row as the app left it (the app writes through its own session)."""
    db.refresh(row)
    return row


def events(db, action):
    return db.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- services ------------------------------------------------------------------------------


def test_leaders_see_offered_booked_and_ended_matches_but_not_proposals(db, factory, leader,
                                                                         pair):
    for status in ("proposed", "rejected", "cancelled", "declined"):
        factory.match(pair.round, factory.mentor(), leader, status=status)
    statuses = sorted(view.match.status for view in services.my_matches(db, leader))
    assert statuses == ["accepted", "cancelled", "declined"]
    view = services.my_matches(db, leader)[0]
    assert view.other.name == "Ben Mentor" and not view.i_am_mentor
    assert [e.id for e in view.exchanges] == [pair.past.id, pair.upcoming.id]


def test_cancelling_an_exchange_tells_both_leaders_and_frees_the_slot(db, leader, pair):
    sequence = pair.upcoming.sequence
    with pytest.raises(LeaderError) as error:
        services.cancel_my_exchange(db, leader, leader.user, pair.upcoming.id, "", NOW)
    assert "reason" in error.value.errors
    view = services.cancel_my_exchange(db, leader, leader.user, pair.upcoming.id, "Ill", NOW)
    exchange = view.exchange
    assert (exchange.status, exchange.cancel_reason) == ("cancelled", "Ill")
    assert exchange.sequence == sequence + 1
    assert not db.exec(select(ExchangeBooking)).all()
    sent = db.exec(select(Notification).where(Notification.exchange_id == exchange.id)).all()
    assert {n.kind for n in sent} == {"exchange-cancelled"}
    assert {n.recipient_email for n in sent} == {"leader.a@example.org", pair.mentor.user.email}
    assert all(n.ics_method == "CANCEL" for n in sent)
    assert events(db, "exchange.cancelled")[0].detail["reason"] == "Ill"


def test_an_exchange_that_has_happened_cannot_be_cancelled_or_moved(db, leader, pair):
    with pytest.raises(LeaderError):
        services.cancel_my_exchange(db, leader, leader.user, pair.past.id, "Late", NOW)
    with pytest.raises(LeaderError):
        services.request_reschedule(db, leader, leader.user, pair.past.id, "Late", "", NOW)


def test_a_reschedule_request_is_recorded_until_the_exchange_moves(db, factory, leader, pair):
    factory.user(email="coord@example.org", role="coordinator")
    view = services.request_reschedule(
        db, leader, leader.user, pair.upcoming.id, "Clinic moved", "Any Tuesday", NOW
    )
    assert view.reschedule_requested
    # The partner and the coordinators are emailed; the coordinators get the reason.
    sent = {n.kind: n for n in db.exec(select(Notification)).all()}
    assert sent["move-requested-partner"].recipient_email == pair.mentor.user.email
    assert "Clinic moved" not in sent["move-requested-partner"].body_text
    to_coordinator = sent["move-requested-coordinator"]
    assert to_coordinator.recipient_email == "coord@example.org"
    assert "Clinic moved" in to_coordinator.body_text and "Any Tuesday" in to_coordinator.body_text
    (event,) = events(db, "exchange.reschedule_requested")
    assert event.detail["reason"] == "Clinic moved" and event.detail["preferred"] == "Any Tuesday"
    pair.upcoming.sequence += 1  # the coordinator moved it
    db.add(pair.upcoming)
    assert not services.get_exchange(db, leader, pair.upcoming.id).reschedule_requested


def test_exchanges_of_a_declined_match_stay_visible_but_not_of_a_proposed_one(db, factory, leader):
    proposed = factory.matched(leader, status="proposed")
    with pytest.raises(NotFound):
        services.get_exchange(db, leader, proposed.upcoming.id)
    assert services.my_exchanges(db, leader) == []


# --- web -----------------------------------------------------------------------------------


def test_the_matches_page_lists_matches_and_exchanges(leader_client, pair):
    html = leader_client.get("/matches").get_data(as_text=True)
    assert "Ben Mentor" in html and "Booked" in html
    assert "Tuesday 5 March 2030, 9:00am to 1:00pm" in html  # London time
    assert "Guy&#39;s Hospital" in html


def test_the_decline_form_shows_errors_and_keeps_input(leader_client, pair):
    url = f"/matches/{pair.match.id}/decline"
    response = leader_client.post_form(url, {"reason": "", "wants_different_match": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and 'href="#choice"' in html
    assert "Choose why you are declining this match" in html
    assert 'value="yes" checked' in html
    response = leader_client.post_form(url, {"choice": "other", "reason": "  "})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'href="#reason"' in html
    assert "Tell us why you are declining this match" in html
    assert 'value="other" checked' in html
    assert html.startswith("<!DOCTYPE html>") or "<title>Error:" in html


def test_declining_through_the_form(db, leader_client, pair):
    url = f"/matches/{pair.match.id}/decline"
    response = leader_client.post_form(url, {"choice": "know_already",
                                             "reason": "We work together already"})
    assert response.status_code == 302
    match = fresh(db, pair.match)
    assert match.status == "declined" and not match.wants_different_match
    assert "Declined" in leader_client.get("/matches").get_data(as_text=True)
    assert leader_client.get(url).status_code == 302  # nothing left to decline


def test_exchange_page_shows_time_place_host_and_preparation(leader_client, pair):
    html = leader_client.get(f"/exchanges/{pair.upcoming.id}").get_data(as_text=True)
    for text in ("Ben Mentor", "Guy&#39;s Hospital", "Read the team&#39;s plan",
                 "9:00am to 1:00pm", "Cancel this exchange", "Ask to move this exchange"):
        assert text in html


def test_cancel_form_error_and_success(db, leader_client, pair):
    url = f"/exchanges/{pair.upcoming.id}/cancel"
    response = leader_client.post_form(url, {"reason": ""})
    assert response.status_code == 400
    assert "Enter why you are cancelling this exchange" in response.get_data(as_text=True)
    response = leader_client.post_form(url, {"reason": "Clinic emergency"})
    assert response.status_code == 302
    assert fresh(db, pair.upcoming).status == "cancelled"
    html = leader_client.get(f"/exchanges/{pair.upcoming.id}").get_data(as_text=True)
    assert "Clinic emergency" in html and "Cancel this exchange" not in html
    assert leader_client.get(url).status_code == 302


def test_reschedule_form_error_and_success(db, leader_client, pair):
    url = f"/exchanges/{pair.upcoming.id}/reschedule"
    response = leader_client.post_form(url, {"reason": "", "preferred": "Mondays"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and ">Mondays</textarea>" in html
    response = leader_client.post_form(url, {"reason": "Audit week", "preferred": "Mondays"})
    assert response.status_code == 302
    html = leader_client.get(f"/exchanges/{pair.upcoming.id}").get_data(as_text=True)
    assert "Move requested" in html and "Ask to move this exchange" not in html
    assert events(db, "exchange.reschedule_requested")[0].detail["preferred"] == "Mondays"


def test_a_leader_without_a_profile_sees_an_empty_page(app, factory):
    from conftest import SignedIn

    client = SignedIn(app, factory.user(email="new@example.org"))
    html = client.get("/matches").get_data(as_text=True)
    assert "You have no matches yet" in html
    assert client.get("/calendar").status_code == 404
