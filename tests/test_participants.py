"""A round's participants: inviting one leader, an invitation that ends in taking part,
readiness and reminders."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select
from test_profile import answer_every_step

from mentoring.auth import joining
from mentoring.auth.joining import Links
from mentoring.models import AuditEvent, Invitation, Notification, RoundParticipant, User
from mentoring.profile.services import save_profile
from mentoring.rounds import participants

from conftest import SignedIn, csrf_token

LINKS = Links(secret="s" * 40, base_url="http://localhost")
TODAY = date(2027, 1, 11)


def emails_to(db, address: str) -> list[Notification]:
    db.expire_all()
    return list(db.exec(select(Notification).where(Notification.recipient_email == address)
                        .order_by(Notification.id)).all())


def participant_of(db, programme_round, profile) -> RoundParticipant | None:
    return db.exec(select(RoundParticipant).where(
        RoundParticipant.round_id == programme_round.id,
        RoundParticipant.leader_id == profile.id)).first()


# --- inviting one leader -------------------------------------------------------------------


def invite_url(programme_round) -> str:
    return f"/rounds/{programme_round.id}/participants/invite"


def test_inviting_a_new_leader_emails_an_invitation_with_the_details_prefilled(
        coordinator_client, factory, db):
    programme_round = factory.programme_round(name="Spring exchange")
    response = coordinator_client.post_form(invite_url(programme_round), {
        "email": " New.Person@NHS.net ", "name": "Nia Person", "profession": "nurse",
        "organisation": "Bromley Healthcare", "borough": "bromley"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/rounds/{programme_round.id}/participants"
    invitation = db.exec(select(Invitation).where(Invitation.email == "new.person@nhs.net")).one()
    assert invitation.round_id == programme_round.id
    assert invitation.prefill == {"name": "Nia Person", "profession": "nurse",
                                  "borough": "bromley", "new_organisation": "Bromley Healthcare"}
    [email] = emails_to(db, "new.person@nhs.net")
    assert "Spring exchange" in email.body_text and "/join/" in email.body_text
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "We have emailed an invitation to new.person@nhs.net." in page
    assert "Invited, not yet taking part (1)" in page and "Nia Person" in page


def test_inviting_a_leader_with_a_profile_adds_them_and_tells_them(coordinator_client, factory,
                                                                   db):
    programme_round = factory.programme_round(name="Spring exchange")
    leader = factory.leader(email="known@nhs.net", name="Kim Known")
    response = coordinator_client.post_form(invite_url(programme_round),
                                            {"email": "known@nhs.net"})
    assert response.status_code == 302
    assert participant_of(db, programme_round, leader).status == "joined"
    [email] = emails_to(db, "known@nhs.net")
    assert email.subject == "You have been added to Spring exchange"
    assert email.recipient_user_id == leader.user_id and email.round_id == programme_round.id
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "they are now taking part" in page
    assert "Taking part (1)" in page and "Kim Known" in page
    again = coordinator_client.post_form(invite_url(programme_round), {"email": "known@nhs.net"})
    assert "known@nhs.net is already in this round (joined)." in coordinator_client.get(
        again.headers["Location"]).get_data(as_text=True)
    assert len(emails_to(db, "known@nhs.net")) == 1


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"email": "not an email"}, "email", "&#39;not an email&#39; is not a valid email address"),
    ({"email": "<b>bold</b>"}, "email", "&#39;&lt;b&gt;bold&lt;/b&gt;&#39; is not a valid"),
    ({"email": ""}, "email", "Enter an email address"),
    ({"email": "ok@nhs.net", "name": "x" * 121}, "name", "The name is longer than 120"),
    ({"email": "coordinator@example.org"}, "email", "belongs to a coordinator"),
])
def test_invite_errors_are_shown_beside_the_field_with_the_input_kept(
        coordinator_client, factory, db, data, field, message):
    programme_round = factory.programme_round()
    response = coordinator_client.post_form(invite_url(programme_round),
                                            data | {"organisation": "Kept Org"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page and message in page
    assert 'value="Kept Org"' in page
    assert not db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)).all()


def test_a_closed_round_takes_no_invitations(coordinator_client, factory):
    programme_round = factory.programme_round(status="closed")
    response = coordinator_client.post_form(invite_url(programme_round), {"email": "a@nhs.net"})
    assert response.status_code == 400
    assert "People cannot be added to a closed round" in response.get_data(as_text=True)


def test_inviting_needs_a_coordinator_and_a_csrf_token(leader_client, coordinator_client,
                                                       factory, db):
    programme_round = factory.programme_round()
    assert leader_client.get(invite_url(programme_round)).status_code == 403
    assert leader_client.get(f"/rounds/{programme_round.id}/participants").status_code == 403
    response = coordinator_client.client.post(invite_url(programme_round),
                                              data={"email": "a@nhs.net"})
    assert response.status_code == 400
    assert not db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)).all()


# --- from invitation to participant ----------------------------------------------------------


def test_an_invited_person_ends_up_taking_part_in_the_round(app, coordinator_client, factory,
                                                            db):
    programme_round = factory.programme_round(name="Spring exchange")
    coordinator_client.post_form(invite_url(programme_round), {
        "email": "invitee@nhs.net", "name": "Ivy Invitee"})
    [email] = emails_to(db, "invitee@nhs.net")
    join_path = re.search(r"http://localhost(/join/\S+)", email.body_text).group(1)
    client = app.test_client()
    token = csrf_token(client.get(join_path).get_data(as_text=True))
    password = "a-long-new-passphrase"
    response = client.post(join_path, data={"csrf_token": token, "password": password,
                                            "confirm": password})
    assert response.status_code == 302
    user = db.exec(select(User).where(User.email == "invitee@nhs.net")).one()
    signed_in = SignedIn.__new__(SignedIn)
    signed_in.client, signed_in.user = client, user
    answer_every_step(signed_in)
    assert signed_in.post_form("/profile/check").status_code == 302
    db.expire_all()
    participant = db.exec(select(RoundParticipant).where(
        RoundParticipant.round_id == programme_round.id)).one()
    assert participant.status == "joined"
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "round.joined")).one()
    page = coordinator_client.get(f"/rounds/{programme_round.id}/participants")
    assert "Invited, not yet taking part" not in page.get_data(as_text=True)


def test_someone_who_already_had_an_account_joins_when_they_finish_their_profile(
        db, factory, coordinator):
    programme_round = factory.programme_round()
    closed = factory.programme_round(status="closed")
    user = factory.user(email="registered@nhs.net")
    for round_ in (programme_round, closed):
        joining.invite(db, LINKS, user.email, invited_by=coordinator, programme_round=round_)
    draft = {"name": "Reg", "profession": "gp", "sector": "primary_care",
             "borough": "lewisham", "new_organisation": "Reg Practice",
             "career_stage": "emerging", "mentor_capacity": 0, "wants_mentor": True,
             "can_host": False, "strengths": [], "goals": [], "profession_preference": "any",
             "travel_boroughs": [], "consent": True,
             "_answered": ["about-you", "profession", "organisation", "experience", "mentoring",
                           "hosting", "strengths", "goals", "time", "line-manager", "preferences",
                           "consent"]}
    profile = save_profile(db, user, draft)
    assert participant_of(db, programme_round, profile).status == "joined"
    assert participant_of(db, closed, profile) is None  # a closed round takes nobody new
    invitation = db.exec(select(Invitation).where(
        Invitation.round_id == programme_round.id)).one()
    assert invitation.accepted_at is not None


# --- readiness and reminders -----------------------------------------------------------------


@pytest.fixture
def round_in_preparation(db, factory, coordinator):
    """A round with one ready leader and one of each way of not being ready."""
    programme_round = factory.programme_round(name="Spring exchange")
    day = programme_round.starts_on + timedelta(days=1)

    def joined(email, **fields):
        leader = factory.leader(email=email, name=email.split("@")[0].title(), **fields)
        factory.participant(programme_round, leader)
        return leader

    ready = joined("ready@nhs.net")
    factory.availability(programme_round, ready, day)
    unverified = joined("unverified@nhs.net")
    unverified.user.verified_at = None
    factory.availability(programme_round, unverified, day)
    joined("no.days@nhs.net")
    unconsented = joined("no.consent@nhs.net", consent_at=None)
    factory.availability(programme_round, unconsented, day)
    withdrawn = factory.leader(email="gone@nhs.net")
    factory.participant(programme_round, withdrawn, status="withdrawn")
    joining.invite(db, LINKS, "stranger@nhs.net", invited_by=coordinator,
                   programme_round=programme_round, prefill={"name": "Sam Stranger"})
    factory.user(email="has.account@nhs.net")
    joining.invite(db, LINKS, "has.account@nhs.net", invited_by=coordinator,
                   programme_round=programme_round)
    db.flush()
    return programme_round


def test_readiness_lists_each_way_of_not_being_ready(db, round_in_preparation):
    state = participants.readiness(db, round_in_preparation)
    assert [row.user.email for row in state.ready] == ["ready@nhs.net"]
    assert len(state.joined) == 4 and len(state.withdrawn) == 1
    assert [p.email for p in state.not_accepted] == ["stranger@nhs.net"]
    assert [row.user.email for row in state.unverified] == ["unverified@nhs.net"]
    assert [row.user.email for row in state.no_availability] == ["no.days@nhs.net"]
    assert [getattr(p, "email", None) or p.user.email for p in state.profile_unfinished] == [
        "has.account@nhs.net", "no.consent@nhs.net"]
    assert state.to_remind == 5
    assert participants.counts(db, round_in_preparation) == {
        "invited": 2, "joined": 4, "withdrawn": 1, "ready": 1}


def test_reminders_go_once_per_person_per_day_saying_what_is_missing(db, round_in_preparation,
                                                                     coordinator):
    queued = participants.send_reminders(db, LINKS, round_in_preparation, coordinator, TODAY)
    assert queued == (5, 0)
    assert not emails_to(db, "ready@nhs.net") and not emails_to(db, "gone@nhs.net")
    def reminders_to(address):
        return [e for e in emails_to(db, address) if e.kind == "round_reminder"]

    [stranger] = reminders_to("stranger@nhs.net")
    assert "/join/" in stranger.body_text and "Dear Sam Stranger" in stranger.body_text
    [unverified] = reminders_to("unverified@nhs.net")
    assert "/verify/" in unverified.body_text and "/profile/" not in unverified.body_text
    [no_days] = emails_to(db, "no.days@nhs.net")
    assert f"/rounds/{round_in_preparation.id}/availability" in no_days.body_text
    assert "/verify/" not in no_days.body_text
    [no_consent] = emails_to(db, "no.consent@nhs.net")
    assert "finish your profile" in no_consent.body_text
    [account] = reminders_to("has.account@nhs.net")
    assert "finish your profile" in account.body_text and "/join/" not in account.body_text

    assert participants.send_reminders(db, LINKS, round_in_preparation, coordinator,
                                       TODAY) == (0, 5)
    assert len(reminders_to("stranger@nhs.net")) == 1
    assert participants.send_reminders(db, LINKS, round_in_preparation, coordinator,
                                       TODAY + timedelta(days=1)) == (5, 0)
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "round.reminders_sent")
                     .order_by(AuditEvent.id)).all()
    assert [e.detail for e in events] == [{"queued": 5, "already_today": 0},
                                          {"queued": 0, "already_today": 5},
                                          {"queued": 5, "already_today": 0}]


def test_the_readiness_page_and_its_button(coordinator_client, round_in_preparation, db):
    url = f"/rounds/{round_in_preparation.id}/readiness"
    page = coordinator_client.get(url).get_data(as_text=True)
    assert "Send a reminder to all 5" in page
    assert "Sam Stranger" in page and "unverified@nhs.net" in page
    response = coordinator_client.post_form(f"{url}/remind", form_page=url)
    assert response.status_code == 302
    assert "5 reminders queued." in coordinator_client.get(url).get_data(as_text=True)
    coordinator_client.post_form(f"{url}/remind", form_page=url)
    page = coordinator_client.get(url).get_data(as_text=True)
    assert "0 reminders queued. 5 people were already reminded today" in page
    reminders = db.exec(select(Notification).where(Notification.kind == "round_reminder")).all()
    assert len(reminders) == 5


def test_reminders_need_a_csrf_token_and_a_coordinator(coordinator_client, leader_client,
                                                       round_in_preparation, db):
    url = f"/rounds/{round_in_preparation.id}/readiness"
    assert leader_client.get(url).status_code == 403
    assert coordinator_client.client.post(f"{url}/remind").status_code == 400
    assert not db.exec(select(Notification).where(Notification.kind == "round_reminder")).all()
