"""Joining and getting back in: registration with email verification, invitations, password
reset, one-time sign-in links and throttling. Emails are read from the outbox, as sent."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mentoring.auth import joining, throttle
from mentoring.auth.services import authenticate
from mentoring.confidence.services import STATEMENT_KEYS
from mentoring.models import AuditEvent, Notification, SignInAttempt, User, utcnow

from conftest import TEST_PASSWORD, SignedIn, csrf_token

NEW_PASSWORD = "a-brand-new-passphrase"


def post(client, url, data, form_page=None):
    token = csrf_token(client.get(form_page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def emails_to(db, address) -> list[Notification]:
    db.expire_all()
    return list(db.exec(select(Notification).where(Notification.recipient_email == address)
                        .order_by(Notification.id)).all())


def link_in(notification: Notification, path: str) -> str:
    match = re.search(rf"http://localhost({re.escape(path)}/\S+)", notification.body_text)
    assert match, notification.body_text
    return match.group(1)


def test_register_verify_and_land_on_the_profile(client, db):
    response = post(client, "/register", {"email": "New.Leader@Example.org"})
    assert "Check your email" in response.get_data(as_text=True)
    [email] = emails_to(db, "new.leader@example.org")
    assert email.subject == "Confirm your email address" and email.body_html
    path = link_in(email, "/verify")
    assert "Create your account" in client.get(path).get_data(as_text=True)
    created = post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert created.headers["Location"] == "/profile/"
    user = db.exec(select(User).where(User.email == "new.leader@example.org")).one()
    assert user.verified_at is not None
    assert client.get("/profile/").status_code == 200  # signed in


def test_registration_errors_keep_the_email(client, db):
    bad_email = post(client, "/register", {"email": "not-an-email"})
    page = bad_email.get_data(as_text=True)
    assert bad_email.status_code == 400
    assert "Enter an email address in the correct format" in page
    assert 'value="not-an-email"' in page
    assert "Enter your email address" in post(client, "/register", {"email": ""}).get_data(
        as_text=True)
    post(client, "/register", {"email": "someone@example.org"})
    path = link_in(emails_to(db, "someone@example.org")[0], "/verify")
    short = post(client, path, {"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "Enter at least 12 characters" in short.get_data(
        as_text=True)
    mismatch = post(client, path, {"password": NEW_PASSWORD, "confirm": "different"})
    assert "The passwords do not match" in mismatch.get_data(as_text=True)


def test_registering_an_existing_email_reveals_nothing_and_tells_the_owner(client, db, leader):
    response = post(client, "/register", {"email": leader.user.email})
    assert "Check your email" in response.get_data(as_text=True)
    [email] = emails_to(db, leader.user.email)
    assert email.subject == "You already have an account"
    assert len(db.exec(select(User).where(User.email == leader.user.email)).all()) == 1


def test_forged_or_expired_links_do_not_work(client, db, leader, app):
    assert client.get("/verify/forged").status_code == 400
    secret = app.extensions["mentoring.settings"].secret_key
    from itsdangerous import URLSafeTimedSerializer

    other_purpose = URLSafeTimedSerializer(secret, salt="reset-password").dumps(
        {"u": leader.user.id, "e": leader.user.email})
    assert client.get(f"/verify/{other_purpose}").status_code == 400


def test_password_reset_changes_the_password_once_and_ends_sessions(client, db, leader):
    post(client, "/reset-password", {"email": leader.user.email})
    [email] = emails_to(db, leader.user.email)
    reset_path = link_in(email, "/reset-password")
    version = leader.user.session_version
    response = post(client, reset_path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/sign-in"
    db.expire_all()
    assert authenticate(db, leader.user.email, NEW_PASSWORD) is not None
    assert db.get(User, leader.user.id).session_version == version + 1
    assert client.get(reset_path).status_code == 400  # spent


def test_password_reset_for_an_unknown_email_sends_nothing(client, db):
    response = post(client, "/reset-password", {"email": "nobody@example.org"})
    assert "Check your email" in response.get_data(as_text=True)
    assert emails_to(db, "nobody@example.org") == []


def test_a_sign_in_link_works_once(client, db, leader):
    post(client, "/sign-in/link", {"email": leader.user.email})
    [email] = emails_to(db, leader.user.email)
    path = link_in(email, "/sign-in/link")
    page = client.get(path)
    assert page.status_code == 200  # opening the link only shows a button
    assert client.get("/home").status_code == 302
    assert post(client, path, {}).headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    fresh = client.application.test_client()
    assert post(fresh, path, {}).status_code == 400  # spent


def test_an_invitation_creates_a_verified_account_with_a_prefilled_profile(
    client, db, factory, coordinator, app
):
    programme_round = factory.programme_round(name="Spring exchange")
    settings = app.extensions["mentoring.settings"]
    links = joining.Links(secret=settings.secret_key, base_url=settings.base_url)
    joining.invite(db, links, "Invited@Example.org", invited_by=coordinator,
                   programme_round=programme_round,
                   prefill={"name": "Ines Invited", "profession": "social_worker"})
    joining.invite(db, links, "invited@example.org", invited_by=coordinator,
                   programme_round=programme_round, prefill={"name": "Ines Invited"})
    [email] = emails_to(db, "invited@example.org")  # inviting twice sends once
    assert "Spring exchange" in email.body_text
    path = link_in(email, "/join")
    response = post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/profile/"
    user = db.exec(select(User).where(User.email == "invited@example.org")).one()
    assert user.verified_at is not None
    step = client.get("/profile/about-you").get_data(as_text=True)
    assert 'value="Ines Invited"' in step
    assert client.application.test_client().get(path).status_code == 400  # used up


def test_five_failures_lock_the_account_for_everyone_then_unlock(client, db, leader):
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        post(client, "/sign-in", {"email": leader.user.email, "password": "wrong"})
    response = post(client, "/sign-in", {"email": leader.user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "sign_in.throttled")).first()
    # The lock is in the database: it holds for another process; it lifts after the window.
    db.expire_all()
    db.exec(sa.update(SignInAttempt).values(at=utcnow() - timedelta(minutes=16)))
    assert throttle.throttle_wait(db, leader.user.email, "127.0.0.1") == 0


def test_many_failures_from_one_address_lock_that_address(db, factory):
    for n in range(throttle.MAX_FAILURES_PER_ADDRESS):
        throttle.record_attempt(db, f"person{n}@example.org", "203.0.113.9", succeeded=False)
    db.flush()
    assert throttle.throttle_wait(db, "someone.else@example.org", "203.0.113.9") > 0
    assert throttle.throttle_wait(db, "someone.else@example.org", "198.51.100.1") == 0


@pytest.mark.parametrize("path", ["/register", "/reset-password", "/sign-in/link"])
def test_join_pages_need_csrf(client, path):
    assert client.post(path, data={"email": "a@example.org"}).status_code == 400


# --- what comes next: each step's message tells a new leader what happens after it ----------


def banner(response) -> str:
    """The success message on the page a step redirects to."""
    page = response.get_data(as_text=True)
    found = re.search(r'nhsuk-notification-banner__content">\s*<p[^>]*>(.*?)</p>', page, re.S)
    assert found, page[:2000]
    return " ".join(html.unescape(found.group(1)).split())


def save_profile(app, leader):
    signed_in = SignedIn(app, leader.user)
    return signed_in, signed_in.post_form("/profile/check", follow_redirects=True)


def test_saving_a_profile_says_to_join_a_round_when_one_is_open(app, factory, leader):
    factory.programme_round(name="Spring exchange")
    left = factory.programme_round(name="Winter exchange")
    factory.participant(left, leader, status="withdrawn")  # they may join again
    _, response = save_profile(app, leader)
    assert response.request.path == "/profile/"
    assert banner(response) == ("Your profile is saved. Next, join a round under 'When you are "
                                "free' and tell us which half-days you are free.")


def test_saving_a_profile_when_in_a_round_asks_for_half_days_until_there_are_some(
        app, factory, leader):
    programme_round = factory.programme_round(name="Spring exchange")
    factory.participant(programme_round, leader)
    signed_in, response = save_profile(app, leader)
    assert banner(response) == ("Your profile is saved. Next, tell us which half-days you are "
                                "free in Spring exchange.")
    factory.availability(programme_round, leader, date(2027, 1, 6), "pm")
    response = signed_in.post_form("/profile/check", follow_redirects=True)
    assert banner(response) == ("Your profile is saved. The programme coordinators use it to "
                                "find you a good match.")


def test_saving_a_profile_when_no_round_is_open_says_so(app, factory, leader):
    factory.programme_round(status="draft")
    factory.participant(factory.programme_round(status="closed"), leader)
    _, response = save_profile(app, leader)
    assert banner(response) == ("Your profile is saved. No round is open at the moment: your "
                                "coordinator will tell you when the next one opens.")


def test_joining_a_round_says_to_choose_half_days_in_its_window(app, factory, leader):
    programme_round = factory.programme_round(name="Spring exchange")
    signed_in = SignedIn(app, leader.user)
    response = signed_in.post_form(f"/rounds/{programme_round.id}/join",
                                   form_page="/availability", follow_redirects=True)
    assert response.request.path == f"/rounds/{programme_round.id}/self-assessment"
    assert banner(response) == "You have joined Spring exchange."
    response = signed_in.post_form(
        f"/rounds/{programme_round.id}/self-assessment",
        dict.fromkeys(STATEMENT_KEYS, "4"), follow_redirects=True)
    assert response.request.path == f"/rounds/{programme_round.id}/availability"
    assert banner(response) == (
        "Thank you: your answers are saved, and we will ask again when the round ends. Next, "
        "tell us which half-days you are free between 4 January 2027 and 28 March 2027.")
