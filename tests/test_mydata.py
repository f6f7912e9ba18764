"""A leader's own data (UK GDPR): download it, leave a round, delete the account."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mentoring.exchanges import reflections
from mentoring.exchanges import services as exchanges
from mentoring.exchanges.services import LeaderError
from mentoring.models import (
    AuditEvent,
    Availability,
    Exchange,
    Feedback,
    LeaderProfile,
    Match,
    Notification,
    ProfileDraft,
    Reflection,
    RoundParticipant,
    User,
)
from mentoring.mydata import services
from mentoring.profile import services as profile

from conftest import TEST_PASSWORD, SignedIn, csrf_token

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def pair(factory, leader):
    pair = factory.matched(leader, factory.mentor(name="Ben Mentor"))
    factory.availability(pair.round, leader, pair.round.starts_on)
    return pair


@pytest.fixture
def history(db, leader, pair):
    """Leader A has given feedback and written a reflection."""
    exchanges.give_feedback(db, leader, leader.user, pair.past.id,
                            {"rating": 4, "learned": "How pharmacy triage works"}, NOW)
    reflections.add_reflection(db, leader, "Triage is a team sport", pair.past.id, NOW)
    return pair


# --- export ---------------------------------------------------------------------------------


def test_the_export_holds_everything_about_me_and_no_secrets(db, leader, history):
    exchanges.create_calendar_token(db, leader, leader.user)
    data = services.export_data(db, leader.user, NOW)
    assert data["account"]["email"] == "leader.a@example.org"
    assert "password_hash" not in data["account"]
    assert data["profile"]["name"] == "Ada Leader" and data["profile"]["has_calendar_link"]
    assert "calendar_token_hash" not in data["profile"]
    assert len(data["availability"]) == 1 and len(data["rounds"]) == 1
    (match,) = data["matches"]
    assert match["mentor"] == "Ben Mentor" and match["your_role"] == "mentee"
    assert match["reasons"] == ["Strong overlap of goals and strengths"]
    assert {e["id"] for e in data["exchanges"]} == {history.upcoming.id, history.past.id}
    assert data["feedback"][0]["learned"] == "How pharmacy triage works"
    assert data["reflections"][0]["text"] == "Triage is a team sport"
    assert {e["action"] for e in data["audit_events"]} >= {"feedback.given",
                                                           "calendar.feed_created"}
    json.dumps(data)  # all plain values


def test_the_csv_export_is_long_form_and_safe_in_spreadsheets(db, leader, pair):
    reflections.add_reflection(db, leader, "=HYPERLINK(\"http://x\")", None, NOW)
    text = services.export_csv(services.export_data(db, leader.user, NOW))
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["section", "item", "field", "value"]
    assert ["profile", "1", "name", "Ada Leader"] in rows
    texts = [row[3] for row in rows if row[0] == "reflections" and row[2] == "text"]
    assert texts == ["'=HYPERLINK(\"http://x\")"]


def test_export_downloads(leader_client, pair):
    response = leader_client.get("/my-data/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_json()["profile"]["name"] == "Ada Leader"
    response = leader_client.get("/my-data/export.csv")
    assert response.mimetype == "text/csv"
    assert "Ada Leader" in response.get_data(as_text=True)


def test_answers_not_yet_saved_to_the_profile_are_in_the_export(db, factory):
    user = factory.user(email="half.way@example.org")
    assert services.export_data(db, user, NOW)["profile_draft"] is None
    page = profile.STEP_BY_SLUG["about-you"]
    assert profile.answer_step(db, user, page, {"name": "Hana \u5c71\u7530",
                                                "job_title": None}) == {}
    data = services.export_data(db, user, NOW)
    draft = data["profile_draft"]
    assert (draft["name"], draft["pages_answered"]) == ("Hana \u5c71\u7530", ["about-you"])
    assert draft["updated_at"] and data["profile"] is None
    json.dumps(data)
    rows = list(csv.reader(io.StringIO(services.export_csv(data).removeprefix("\ufeff"))))
    assert ["profile_draft", "1", "name", "Hana \u5c71\u7530"] in rows


# --- withdrawing from a round ---------------------------------------------------------------


def test_withdrawing_ends_live_matches_in_that_round_only(db, factory, leader, pair):
    elsewhere = factory.matched(leader, upcoming_at=datetime(2030, 6, 4, 9, tzinfo=UTC))
    services.withdraw(db, leader, leader.user, pair.round.id, "New job", NOW)
    participant = db.exec(select(RoundParticipant).where(
        RoundParticipant.round_id == pair.round.id, RoundParticipant.leader_id == leader.id
    )).one()
    assert (participant.status, participant.withdrawal_reason) == ("withdrawn", "New job")
    assert participant.withdrawn_at == NOW
    assert pair.match.status == "cancelled" and pair.upcoming.status == "cancelled"
    assert pair.past.status == "scheduled"
    assert elsewhere.match.status == "accepted"
    (event,) = db.exec(select(AuditEvent).where(AuditEvent.action == "round.withdrawn")).all()
    assert event.detail["affected_leader_ids"] == [pair.mentor.id]
    with pytest.raises(LeaderError):
        services.withdraw(db, leader, leader.user, pair.round.id, "", NOW)
    # Calendars subscribed to the feed drop the cancelled exchange: it is left out.
    from icalendar import Calendar

    feed = Calendar.from_ical(exchanges.calendar_feed(db, leader, "t@example.org"))
    status = {str(e["UID"]): str(e["STATUS"]) for e in feed.walk("VEVENT")}
    assert pair.upcoming.uid not in status and status[pair.past.uid] == "CONFIRMED"


def test_withdraw_form_error_and_success(db, leader_client, leader, pair):
    url = f"/my-data/rounds/{pair.round.id}/withdraw"
    response = leader_client.post_form(url, {"reason": "x" * 501})
    assert response.status_code == 400
    assert "Enter no more than 500 characters" in response.get_data(as_text=True)
    response = leader_client.post_form(url, {"reason": ""})
    assert response.status_code == 302
    html = leader_client.get("/my-data/").get_data(as_text=True)
    assert "You left on" in html
    assert leader_client.get(url).status_code == 302


# --- deleting the account -------------------------------------------------------------------


def test_deleting_needs_the_right_password(db, leader, pair):
    for password, message in (("", "Enter your password"), ("wrong", "Your password is not right")):
        with pytest.raises(LeaderError) as error:
            services.delete_account(db, leader.user, password, NOW)
        assert error.value.errors == {"password": message}
    assert db.get(User, leader.user_id) is not None


def test_deleting_anonymises_feedback_and_removes_the_rest(db, leader, history):
    user_id, profile_id, email = leader.user_id, leader.id, leader.user.email
    other_email = history.mentor.user.email
    summary = services.delete_account(db, leader.user, TEST_PASSWORD, NOW)
    db.expire_all()
    assert db.get(User, user_id) is None and db.get(LeaderProfile, profile_id) is None
    for model in (Reflection, Availability, RoundParticipant):
        assert not db.exec(select(model).where(model.leader_id == profile_id)).all()
    assert not db.exec(select(Match).where(Match.mentee_id == profile_id)).all()
    assert not db.exec(select(Exchange).where(Exchange.visitor_id == profile_id)).all()
    (feedback,) = db.exec(select(Feedback)).all()
    assert feedback.leader_id is None and feedback.rating == 4
    assert (feedback.author_profession, feedback.author_sector) == ("gp", "primary_care")
    assert feedback.round_id == history.round.id
    # The other leader hears that the exchange to come is off; nothing is left for the deleted one.
    emails = db.exec(select(Notification)).all()
    assert {n.recipient_email for n in emails} == {other_email}
    assert {n.kind for n in emails} == {"exchange-cancelled", "partner-left"}
    assert not db.exec(select(AuditEvent).where(AuditEvent.actor_email == email)).all()
    (event,) = db.exec(select(AuditEvent).where(AuditEvent.action == "account.deleted")).all()
    assert event.detail["feedback_anonymised"] == 1
    assert event.detail["exchanges_taken_place"] == 1
    assert event.detail["affected_leader_ids"] == [history.mentor.id]
    assert summary["had_profile"]


def test_delete_account_through_the_form(app, db, factory):
    from mentoring.models import User as UserModel

    profile = factory.leader(email="leaving@example.org")
    client = SignedIn(app, profile.user)
    response = client.post_form("/my-data/delete", {"password": "nope"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your password is not right" in html and 'href="#password"' in html
    response = client.post_form("/my-data/delete", {"password": TEST_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert db.exec(select(UserModel).where(UserModel.email == "leaving@example.org")).first() \
        is None
    assert client.get("/my-data/").status_code == 302  # signed out
    # And they cannot sign in again.
    page = client.client.get("/sign-in").get_data(as_text=True)
    response = client.client.post("/sign-in", data={
        "email": "leaving@example.org", "password": TEST_PASSWORD, "csrf_token": csrf_token(page)
    })
    assert response.status_code == 400


def test_deleting_the_account_deletes_the_profile_draft(db, leader, factory):
    half_way = factory.user(email="half.way@example.org")
    staying = factory.user(email="staying@example.org")
    for user, name in ((leader.user, "Ada L"), (half_way, "Hana"), (staying, "Sam")):
        profile.answer_step(db, user, profile.STEP_BY_SLUG["about-you"], {"name": name})
    services.delete_account(db, leader.user, TEST_PASSWORD, NOW)
    services.delete_account(db, half_way, TEST_PASSWORD, NOW)
    db.expire_all()
    # Gone with the account (the database's ON DELETE CASCADE); nobody else's draft goes.
    assert [d.user_id for d in db.exec(select(ProfileDraft)).all()] == [staying.id]


def test_a_leader_without_a_profile_can_export_and_delete(app, db, factory):
    user = factory.user(email="noprofile@example.org")
    client = SignedIn(app, user)
    assert client.get("/my-data/export.json").get_json()["profile"] is None
    assert client.get("/my-data/").status_code == 200
    assert client.post_form("/my-data/delete", {"password": TEST_PASSWORD}).status_code == 302
