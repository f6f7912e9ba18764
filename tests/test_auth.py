"""Signing in and out: the form, its errors, CSRF, redirects and ending sessions."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mentoring.auth.services import end_all_sessions
from mentoring.models import AuditEvent, Notification

from conftest import TEST_PASSWORD, SignedIn, answer_second_factor, csrf_token


def sign_in(client, email, password, next_url=None):
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    url = "/sign-in" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def test_a_leader_signs_in_and_reaches_their_home_page(client, leader):
    response = sign_in(client, "LEADER.A@example.org ", TEST_PASSWORD)
    assert response.status_code == 302
    home = client.get(response.headers["Location"], follow_redirects=True)
    assert "Hello, Ada Leader" in home.get_data(as_text=True)


def test_a_coordinator_signs_in_and_sees_the_rounds(client, coordinator, factory):
    factory.programme_round(name="Winter exchange")
    response = sign_in(client, coordinator.email, TEST_PASSWORD)
    answer_second_factor(client, response, coordinator.email)
    page = client.get("/home").get_data(as_text=True)
    assert "Programme rounds" in page and "Winter exchange" in page


def test_a_wrong_password_shows_an_error_beside_the_field_and_keeps_the_email(client, leader, db):
    response = sign_in(client, leader.user.email, "not-the-password")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert "Your email address or password is not right" in page
    assert 'value="leader.a@example.org"' in page
    assert 'href="#email"' in page  # the error summary links to the field
    failed = db.exec(sa.select(AuditEvent).where(AuditEvent.action == "sign_in.failed")).all()
    assert len(failed) == 1


def test_empty_fields_are_named(client):
    page = sign_in(client, "", "").get_data(as_text=True)
    assert "Enter your email address" in page and "Enter your password" in page


def test_an_unknown_email_gets_the_same_message_as_a_wrong_password(client):
    page = sign_in(client, "nobody@example.org", TEST_PASSWORD).get_data(as_text=True)
    assert "Your email address or password is not right" in page


def test_a_deactivated_account_cannot_sign_in(client, leader, db):
    leader.user.is_active = False
    db.flush()
    assert sign_in(client, leader.user.email, TEST_PASSWORD).status_code == 400


def test_sign_in_without_a_csrf_token_is_refused(client, leader):
    response = client.post(
        "/sign-in", data={"email": leader.user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/home").status_code == 302  # still signed out


def test_next_redirect_is_followed_only_within_the_site(client, leader):
    assert sign_in(client, leader.user.email, TEST_PASSWORD, "/accessibility").headers[
        "Location"
    ] == "/accessibility"


def test_next_redirect_to_another_site_is_ignored(client, leader):
    for target in ["https://evil.example", "//evil.example", "/\\evil.example"]:
        fresh = client.application.test_client()
        response = sign_in(fresh, leader.user.email, TEST_PASSWORD, target)
        assert response.headers["Location"] == "/home"


def test_pages_that_need_sign_in_send_people_to_sign_in(client):
    response = client.get("/home")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_sign_out_needs_a_post_with_csrf(app, leader):
    signed_in = SignedIn(app, leader.user)
    assert signed_in.client.get("/sign-out").status_code == 405
    signed_in.client.post("/sign-out", data={})  # no token: nothing happens
    assert signed_in.get("/home").status_code == 200
    signed_in.post_form("/sign-out", form_page="/home")
    assert signed_in.get("/home").status_code == 302


def test_ending_all_sessions_signs_the_user_out_everywhere(app, leader, db):
    phone, desktop = SignedIn(app, leader.user), SignedIn(app, leader.user)
    end_all_sessions(leader.user)
    db.flush()
    assert phone.get("/home").status_code == 302
    assert desktop.get("/home").status_code == 302


def test_session_cookie_is_http_only_and_same_site(client, leader):
    response = sign_in(client, leader.user.email, TEST_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_confirming_an_email_address_says_so_on_the_page_it_signs_in_to(client, db):
    # Following the link signs the new leader in, which starts a fresh session: the message
    # flashed just before must survive it, and say what to do next.
    register_page = client.get("/register").get_data(as_text=True)
    client.post("/register", data={"email": "new.leader@example.org",
                                   "csrf_token": csrf_token(register_page)})
    db.expire_all()
    [email] = db.exec(sa.select(Notification).where(
        Notification.recipient_email == "new.leader@example.org")).scalars().all()
    path = re.search(r"http://localhost(/verify/\S+)", email.body_text).group(1)
    token = csrf_token(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, "password": TEST_PASSWORD,
                                       "confirm": TEST_PASSWORD}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/profile/"
    assert ("Your email address is confirmed and you are signed in. Next, complete your "
            "profile: it is how we find you a good match.") in page
    assert "confirmed" not in client.get("/profile/").get_data(as_text=True)  # shown once
