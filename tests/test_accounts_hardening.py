"""The remaining sign-in findings of issue 15 (item 6), each tried as an attacker would."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import select

from mentoring.auth import email_links, joining, throttle
from mentoring.auth.notices import notify_security_change
from mentoring.auth.services import authenticate
from mentoring.exchanges.services import create_calendar_token
from mentoring.models import (
    AuditEvent,
    EmailLink,
    EmailRequest,
    Invitation,
    User,
    utcnow,
)

from conftest import TEST_PASSWORD, SignedIn, emails_to, path_in
from conftest import post_with_csrf as post

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def links(app):
    settings = app.extensions["mentoring.settings"]
    return joining.Links(secret=settings.secret_key, base_url=settings.base_url)


# --- /register says the same for every address ---------------------------------------------


def _page_without(response, email) -> str:
    text = response.get_data(as_text=True).replace(email, "EMAIL")
    text = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", text)
    return re.sub(r'nonce="[^"]+"', "", text)


@pytest.mark.parametrize("typed", [{}, {"password": "short", "confirm": "short"}])
def test_register_answers_the_same_for_an_existing_and_a_new_address(app, leader, typed):
    existing = post(app.test_client(), "/register", {"email": leader.user.email, **typed})
    new = post(app.test_client(), "/register", {"email": "nobody.yet@example.org", **typed})
    assert existing.status_code == new.status_code == 200
    assert _page_without(existing, leader.user.email) == _page_without(
        new, "nobody.yet@example.org")


# --- common and guessable passwords ---------------------------------------------------------


@pytest.mark.parametrize("password", ["password1234", "qwertyuiop123", "leader.a@example.org1"])
def test_common_or_guessable_passwords_are_refused_beside_the_field(leader_client, password):
    response = leader_client.post_form(
        "/account/password", {"current": TEST_PASSWORD, "password": password,
                              "confirm": password})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose a password that is harder to guess" in page
    assert 'href="#password"' in page  # the error summary links to the field


def test_a_guessable_password_is_refused_when_creating_an_account(client, db):
    post(client, "/register", {"email": "new.person@example.org"})
    path = path_in(emails_to(db, "new.person@example.org")[0], "/verify")
    response = post(client, path, {"password": "Password1234", "confirm": "Password1234"})
    assert response.status_code == 400
    assert "This is similar to a commonly used password" in response.get_data(as_text=True)


# --- deleting the account: the password check is throttled and audited ---------------------


def test_account_deletion_guesses_are_audited_and_throttled(app, db, leader):
    signed_in = SignedIn(app, leader.user)
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        response = signed_in.post_form("/my-data/delete", {"password": "a-wrong-guess"})
        assert "Your password is not right" in response.get_data(as_text=True)
    response = signed_in.post_form("/my-data/delete", {"password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, leader.user.id) is not None  # not deleted
    actions = db.exec(select(AuditEvent.action)).all()
    assert actions.count("sign_in.confirm_failed") == throttle.MAX_FAILURES_PER_ACCOUNT
    assert "sign_in.throttled" in actions


def test_account_deletion_is_refused_while_sign_in_is_locked(app, db, leader):
    signed_in = SignedIn(app, leader.user)  # a session left open on a shared computer
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        post(app.test_client(), "/sign-in", {"email": leader.user.email, "password": "wrong"})
    response = signed_in.post_form("/my-data/delete", {"password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, leader.user.id) is not None


# --- limits on the emails the public forms send ---------------------------------------------


@pytest.mark.parametrize(("path", "kind"), [("/reset-password", "reset_password"),
                                             ("/sign-in/link", "sign_in_link"),
                                             ("/register", "account_exists")])
def test_one_address_gets_a_few_emails_an_hour_then_a_clear_refusal(app, db, leader, path,
                                                                      kind):
    client = app.test_client()
    for _ in range(email_links.MAX_REQUESTS_PER_EMAIL):
        assert post(client, path, {"email": leader.user.email}).status_code == 200
    refused = post(client, path, {"email": leader.user.email})
    assert refused.status_code == 429
    assert "You have asked for too many emails" in refused.get_data(as_text=True)
    # (account_exists is sent once a day, however often the form is used)
    assert 1 <= len(emails_to(db, leader.user.email, kind)) <= email_links.MAX_REQUESTS_PER_EMAIL
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "email.throttled")).first()
    # An hour later the address may ask again.
    db.exec(sa.update(EmailRequest).values(at=utcnow() - timedelta(minutes=61)))
    assert post(client, path, {"email": leader.user.email}).status_code == 200


def test_an_address_without_an_account_is_limited_the_same_way(app):
    client = app.test_client()
    for _ in range(email_links.MAX_REQUESTS_PER_EMAIL):
        post(client, "/reset-password", {"email": "nobody@example.org"})
    assert post(client, "/reset-password", {"email": "nobody@example.org"}).status_code == 429


def test_one_network_address_cannot_send_mail_at_scale(app, db):
    client = app.test_client()
    for n in range(email_links.MAX_REQUESTS_PER_ADDRESS):
        assert post(client, "/register", {"email": f"person{n}@example.org"}).status_code == 200
    refused = post(client, "/register", {"email": "one.more@example.org"})
    assert refused.status_code == 429
    assert emails_to(db, "one.more@example.org") == []


# --- calendar feeds end with the account's sessions -----------------------------------------


def _feed(app, db, leader) -> str:
    token = create_calendar_token(db, leader, leader.user)
    db.flush()
    path = f"/calendar/{token}.ics"
    assert app.test_client().get(path).status_code == 200
    return path


def test_signing_out_everywhere_ends_the_calendar_feed(app, db, leader):
    path = _feed(app, db, leader)
    SignedIn(app, leader.user).post_form("/account/sign-out-everywhere", form_page="/account")
    assert app.test_client().get(path).status_code == 404


def test_deactivation_ends_the_calendar_feed(app, db, leader, admin):
    path = _feed(app, db, leader)
    admin_client = SignedIn(app, admin)
    response = admin_client.post_form(f"/admin/users/{leader.user.id}/deactivate",
                                      {"reason": "Left the trust"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert app.test_client().get(path).status_code == 404


def test_deleting_the_account_ends_the_calendar_feed(app, db, leader):
    path = _feed(app, db, leader)
    SignedIn(app, leader.user).post_form("/my-data/delete", {"password": TEST_PASSWORD})
    assert app.test_client().get(path).status_code == 404


# --- one-line answers -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Ada\nBcc: everyone@example.org", "Ada\rLeader",
                                  "Ada\u2028Leader", "Ada\tLeader"])
def test_a_name_must_be_one_line(leader_client, db, leader, name):
    response = leader_client.post_form("/profile/about-you", {"name": name,
                                                              "job_title": "Pharmacist"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter this on one line" in page or "control character" in page


def test_other_control_characters_are_refused_anywhere(leader_client):
    response = leader_client.post_form("/profile/about-you", {"name": "Ada\x1b[2J Leader"})
    assert response.status_code == 400
    assert "control character" in response.get_data(as_text=True)


def test_round_and_organisation_names_are_one_line():
    from pydantic import ValidationError

    from mentoring.models import OrganisationCreate, ProgrammeRoundCreate
    from mentoring.models.matching import VisitDetails

    for model, data in ((ProgrammeRoundCreate, {"name": "Spring\nexchange"}),
                        (OrganisationCreate, {"name": "Trust\nname"}),
                        (VisitDetails, {"location": "Site\nname", "address": "1 Road"})):
        with pytest.raises(ValidationError) as error:
            model.model_validate(data)
        assert "Enter this on one line" in str(error.value)


def test_an_imported_name_with_a_control_character_is_refused():
    from mentoring.rounds.imports import check_person

    person, errors = check_person(2, {"email": "a@example.org", "name": "Ada\x07 Leader"})
    assert person is None and "control characters" in errors["name"]


# --- pages with a token in their URL are not cached ------------------------------------------


def test_pages_with_a_token_in_their_url_are_not_stored(app, db, leader, coordinator, links,
                                                       factory):
    client = app.test_client()
    post(client, "/reset-password", {"email": leader.user.email})
    post(client, "/sign-in/link", {"email": leader.user.email})
    joining.invite(db, links, "invited@example.org", invited_by=coordinator,
                   programme_round=factory.programme_round())
    paths = [path_in(emails_to(db, leader.user.email, "reset_password")[0], "/reset-password"),
             path_in(emails_to(db, leader.user.email, "sign_in_link")[0], "/sign-in/link"),
             path_in(emails_to(db, "invited@example.org")[0], "/join"),
             "/verify/not-a-token", "/reset-password/not-a-token"]
    for path in paths:
        response = app.test_client().get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path


# --- emails about changes to how someone signs in ------------------------------------------


def test_changing_the_password_emails_the_owner(leader_client, db, leader):
    leader_client.post_form("/account/password", {"current": TEST_PASSWORD,
                                                  "password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD})
    [notice] = emails_to(db, leader.user.email, "security_change")
    assert notice.subject == "Your password was changed"
    assert "If it was not you" in notice.body_text
    assert "http://localhost/reset-password" in notice.body_text and notice.body_html


def test_resetting_the_password_emails_the_owner(app, db, leader):
    client = app.test_client()
    post(client, "/reset-password", {"email": leader.user.email})
    path = path_in(emails_to(db, leader.user.email, "reset_password")[0], "/reset-password")
    post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    [notice] = emails_to(db, leader.user.email, "security_change")
    assert "It was reset with a link we emailed to you." in notice.body_text


@pytest.mark.parametrize("what", ["email", "second_factor"])
def test_other_sign_in_changes_have_a_notice_to_send(db, leader, what):
    notify_security_change(db, leader.user, what, detail="A passkey was added.")
    [notice] = emails_to(db, leader.user.email, "security_change")
    assert "A passkey was added." in notice.body_text and notice.body_html


# --- withdrawing an invitation --------------------------------------------------------------


def test_a_coordinator_withdraws_a_pending_invitation(app, db, factory, coordinator, links):
    programme_round = factory.programme_round(name="Spring exchange")
    invitation = joining.invite(db, links, "invited@example.org", invited_by=coordinator,
                                programme_round=programme_round)
    path = path_in(emails_to(db, "invited@example.org")[0], "/join")
    signed_in = SignedIn(app, coordinator)
    page = signed_in.get(f"/rounds/{programme_round.id}/participants").get_data(as_text=True)
    assert "Withdraw" in page
    response = signed_in.post_form(
        f"/rounds/{programme_round.id}/invitations/{invitation.id}/revoke",
        form_page=f"/rounds/{programme_round.id}/participants", follow_redirects=True)
    assert "The invitation to invited@example.org is withdrawn" in response.get_data(
        as_text=True)
    assert app.test_client().get(path).status_code == 400
    db.expire_all()
    assert db.exec(select(Invitation)).all() == []
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "invitation.revoked")).one()
    # Its email, if it had not gone yet, does not go.
    assert [n.status for n in emails_to(db, "invited@example.org")] == ["withdrawn"]


def test_an_admin_withdraws_a_staff_invitation(app, db, admin, links):
    invitation = joining.invite(db, links, "new.coordinator@example.org", invited_by=admin,
                                prefill={"account_role": "coordinator"})
    path = path_in(emails_to(db, "new.coordinator@example.org")[0], "/join")
    signed_in = SignedIn(app, admin)
    response = signed_in.post_form(f"/admin/invitations/{invitation.id}/revoke",
                                   form_page="/account")
    assert response.headers["Location"] == "/admin/invite"
    assert app.test_client().get(path).status_code == 400


def test_an_invitation_of_another_round_is_not_found(app, db, factory, coordinator, links):
    invitation = joining.invite(db, links, "invited@example.org", invited_by=coordinator,
                                programme_round=factory.programme_round())
    other = factory.programme_round(name="Other")
    response = SignedIn(app, coordinator).post_form(
        f"/rounds/{other.id}/invitations/{invitation.id}/revoke", form_page="/account")
    assert response.status_code == 404


# --- reset links carry nothing about the password ------------------------------------------


def test_a_reset_link_carries_no_password_hash_material(app, db, leader):
    post(app.test_client(), "/reset-password", {"email": leader.user.email})
    path = path_in(emails_to(db, leader.user.email, "reset_password")[0], "/reset-password")
    token = path.rsplit("/", 1)[1]
    db.expire_all()
    password_hash = db.get(User, leader.user.id).password_hash
    assert not any(password_hash[i:i + 8] in token for i in range(len(password_hash) - 8))
    secret = app.extensions["mentoring.settings"].secret_key
    with pytest.raises(Exception):  # noqa: B017 (not a signed payload at all)
        URLSafeTimedSerializer(secret, salt="reset-password").loads(token)
    [link] = db.exec(select(EmailLink)).all()
    assert link.token_hash != token and len(link.token_hash) == 64  # only a hash is kept


def test_a_reset_link_works_once_and_dies_when_the_owner_signs_out_everywhere(app, db, leader):
    client = app.test_client()
    post(client, "/reset-password", {"email": leader.user.email})
    path = path_in(emails_to(db, leader.user.email, "reset_password")[0], "/reset-password")
    SignedIn(app, leader.user).post_form("/account/sign-out-everywhere", form_page="/account")
    assert client.get(path).status_code == 400
    assert authenticate(db, leader.user.email, TEST_PASSWORD) is not None


# --- the demo refuses production ------------------------------------------------------------


def test_demo_refuses_production(tmp_path):
    env = {"MENTORING_ENV": "production", "SECRET_KEY": "s" * 48,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INSTANCE_PATH": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "mentoring", "demo"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "does not run in production" in result.stderr


def test_old_email_requests_and_dead_links_are_forgotten_by_the_retention_run(app, db, leader):
    from mentoring.retention import RetentionPeriods, apply_retention

    client = app.test_client()
    post(client, "/reset-password", {"email": leader.user.email})
    post(client, "/register", {"email": "nobody.yet@example.org"})
    later = utcnow() + timedelta(days=3)
    done = apply_retention(db, RetentionPeriods(), later)
    assert done["email_requests_deleted"] == 2 and done["email_links_deleted"] == 2
    assert db.exec(select(EmailRequest)).all() == [] and db.exec(select(EmailLink)).all() == []
