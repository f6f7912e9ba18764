"""Sessions (issue 8, part 2): cookies, idle and absolute timeouts, no remember-me, and the
session version that ends every session at once (sign out everywhere, password change, role
change, deactivation); recent sign-in before sensitive changes."""

from __future__ import annotations

import base64
import hashlib
import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mentoring import create_app
from mentoring.config import ConfigError, load_settings
from mentoring.models import AuditEvent, User, UserSession

from conftest import (
    TEST_PASSWORD,
    SignedIn,
    _session_on,
    age_session_row,
    csrf_token,
    make_settings,
)

NEW_PASSWORD = "a-brand-new-passphrase"
STRONG = "x" * 48


def post(client, url, data, form_page=None):
    token = csrf_token(client.get(form_page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def sign_in(client, email, password=TEST_PASSWORD, base_url="http://localhost"):
    page = client.get("/sign-in", base_url=base_url)
    token = csrf_token(page.get_data(as_text=True))
    # Over HTTPS, Flask-WTF also checks that the form was posted from this site (Referer).
    return client.post("/sign-in", base_url=base_url, headers={"Referer": f"{base_url}/sign-in"},
                       data={"email": email, "password": password, "csrf_token": token})


def age_session(client, **seconds_ago) -> None:
    """Move the session's recorded times into the past, as if time had passed."""
    with client.session_transaction() as session:
        for key, seconds in seconds_ago.items():
            session[key] = session[key] - seconds


@contextmanager
def counted_statements(engine):
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


def is_signed_in(client) -> bool:
    response = client.get("/home")
    return response.status_code == 200


def events(db, action):
    db.expire_all()
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


# --- cookies -------------------------------------------------------------------------------


def test_over_https_the_session_cookie_is_host_only_secure_http_only_and_lax(
    tmp_path, engine, connection, leader
):
    settings = make_settings(tmp_path, base_url="https://mentoring.example.nhs.uk")
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
    response = sign_in(app.test_client(), leader.user.email, base_url="https://localhost")
    assert response.status_code == 302
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("__Host-session=")
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert {"Secure", "HttpOnly", "SameSite", "Path"} <= attributes
    assert "SameSite=Lax" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_remember_me_is_off_no_remember_cookie_is_ever_set(client, leader):
    response = sign_in(client, leader.user.email)
    assert response.status_code == 302
    cookies = [c.split("=")[0] for c in response.headers.getlist("Set-Cookie")]
    assert cookies == ["session"]
    assert client.get_cookie("remember_token") is None
    # The session cookie itself ends with the browser: no Expires, no Max-Age.
    assert "Expires" not in response.headers["Set-Cookie"]
    assert "Max-Age" not in response.headers["Set-Cookie"]


# --- timeouts ------------------------------------------------------------------------------


def test_a_session_idle_for_longer_than_the_limit_is_signed_out_with_a_message(app, db,
                                                                              leader):
    signed = SignedIn(app, leader.user)
    assert is_signed_in(signed.client)
    age_session_row(db, signed.client, last_seen=29 * 60, signed_in=29 * 60)
    assert is_signed_in(signed.client), "29 minutes idle is still within the limit"
    age_session_row(db, signed.client, last_seen=31 * 60)
    response = signed.client.get("/matches")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Fmatches"
    page = signed.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 30 minutes without activity" in page
    assert not is_signed_in(signed.client)


def test_the_idle_clock_is_written_at_most_once_a_minute(app, db, engine, leader):
    signed = SignedIn(app, leader.user)
    signed.client.get("/home")
    # Within the minute: the page writes nothing (a write per page is waste).
    with counted_statements(engine) as statements:
        assert signed.client.get("/home").status_code == 200
    assert not [s for s in statements if s.startswith("UPDATE user_session")]
    assert not [s for s in statements if not s.startswith(("SELECT", "SAVEPOINT", "RELEASE"))]
    age_session_row(db, signed.client, last_seen=20 * 60)
    with counted_statements(engine) as statements:
        response = signed.client.get("/home")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert len([s for s in statements if s.startswith("UPDATE user_session")]) == 1
    # That request restarted the idle clock: 20 more minutes idle is still within 30.
    age_session_row(db, signed.client, last_seen=20 * 60)
    assert is_signed_in(signed.client)


def test_activity_keeps_a_session_alive_until_the_absolute_limit(app, db, leader):
    signed = SignedIn(app, leader.user)
    # Busy all day: every request within the idle limit, but signed in 8 hours ago.
    age_session_row(db, signed.client, signed_in=7 * 3600 + 59 * 60)
    assert is_signed_in(signed.client)
    age_session_row(db, signed.client, signed_in=2 * 60)
    response = signed.client.get("/home")
    assert response.status_code == 302
    page = signed.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "you signed in more than 8 hours ago" in page
    assert not is_signed_in(signed.client)


def test_confirming_the_password_does_not_stretch_the_absolute_limit(app, db, leader):
    signed = SignedIn(app, leader.user)
    age_session_row(db, signed.client, signed_in=7 * 3600 + 58 * 60)
    post(signed.client, "/sign-in/confirm", {"password": TEST_PASSWORD})
    age_session_row(db, signed.client, signed_in=3 * 60)
    assert not is_signed_in(signed.client)


def test_timeouts_come_from_the_environment(tmp_path, engine, connection, db, leader):
    env = {"SECRET_KEY": STRONG, "SESSION_IDLE_MINUTES": "5", "SESSION_MAX_HOURS": "1"}
    settings = load_settings(env, instance_path=tmp_path)
    assert (settings.session_idle_minutes, settings.session_max_hours) == (5, 1)
    app = create_app({"SETTINGS": make_settings(tmp_path, session_idle_minutes=5),
                      "ENGINE": engine})
    app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
    signed = SignedIn(app, leader.user)
    age_session_row(db, signed.client, last_seen=6 * 60)
    response = signed.client.get("/home")
    assert response.status_code == 302
    assert "after 5 minutes without activity" in signed.client.get(
        response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS"])
@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5"])
def test_nonsense_timeouts_are_refused(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({"SECRET_KEY": STRONG, name: value}, instance_path=tmp_path)


def test_defaults_are_30_minutes_idle_and_8_hours_in_all(tmp_path):
    settings = load_settings({"SECRET_KEY": STRONG}, instance_path=tmp_path)
    assert (settings.session_idle_minutes, settings.session_max_hours) == (30, 8)


# --- ending every session at once ----------------------------------------------------------


def test_sign_out_everywhere_from_the_account_page_ends_every_session(app, db, leader):
    phone, laptop = SignedIn(app, leader.user), SignedIn(app, leader.user)
    page = laptop.get("/account").get_data(as_text=True)
    assert "Sign out everywhere" in page
    response = laptop.post_form("/account/sign-out-everywhere", form_page="/account")
    assert response.headers["Location"] == "/sign-in"
    assert not is_signed_in(laptop.client)
    assert not is_signed_in(phone.client)
    [event] = events(db, "user.sessions_ended")
    assert event.actor_id == leader.user.id and event.detail == {"by": "self"}
    assert event.ip == "127.0.0.1"


def test_sign_out_everywhere_needs_a_post_with_csrf(app, leader):
    signed = SignedIn(app, leader.user)
    assert signed.client.post("/account/sign-out-everywhere", data={}).status_code == 400
    assert signed.get("/account/sign-out-everywhere").status_code == 405
    assert is_signed_in(signed.client)


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(app, db, leader):
    other = SignedIn(app, leader.user)
    this = SignedIn(app, leader.user)
    response = this.post_form("/account/password", {
        "current": TEST_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    })
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "Your password is changed" in this.get("/account").get_data(as_text=True)
    assert is_signed_in(this.client)
    assert not is_signed_in(other.client)
    assert sign_in(other.client, leader.user.email, TEST_PASSWORD).status_code == 400
    assert sign_in(other.client, leader.user.email, NEW_PASSWORD).status_code == 302
    assert [e.actor_id for e in events(db, "password.changed")] == [leader.user.id]


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"current": "wrong-password-here", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "current", "Your current password is not right"),
    ({"current": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "current", "Enter your current password"),
    ({"current": TEST_PASSWORD, "password": "short", "confirm": "short"},
     "password", "Enter at least 12 characters"),
    ({"current": TEST_PASSWORD, "password": NEW_PASSWORD, "confirm": "something-else-x"},
     "confirm", "The passwords do not match"),
])
def test_password_change_errors_are_shown_beside_the_field(app, db, leader, form, field,
                                                           message):
    signed = SignedIn(app, leader.user)
    version = leader.user.session_version
    response = signed.post_form("/account/password", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    db.refresh(leader.user)
    assert leader.user.session_version == version  # nothing changed
    assert is_signed_in(signed.client)


def test_wrong_current_passwords_are_throttled_like_sign_ins(app, db, leader):
    signed = SignedIn(app, leader.user)
    for _ in range(5):
        signed.post_form("/account/password", {"current": "not-my-password",
                                                "password": NEW_PASSWORD,
                                                "confirm": NEW_PASSWORD})
    response = signed.post_form("/account/password", {
        "current": TEST_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    })
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert len(events(db, "sign_in.confirm_failed")) == 5


def _admin_decision(admin_client, path, data):
    return admin_client.post_form(path, data)


def test_a_role_change_ends_the_users_existing_sessions(app, db, leader, admin_client):
    old_cookie = SignedIn(app, leader.user)
    response = _admin_decision(admin_client, f"/admin/users/{leader.user.id}/role",
                               {"role": "coordinator", "reason": "Joins the programme team"})
    assert response.status_code == 302
    response = old_cookie.get("/home")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_deactivation_ends_the_users_existing_sessions(app, db, leader, admin_client):
    old_cookie = SignedIn(app, leader.user)
    response = _admin_decision(admin_client, f"/admin/users/{leader.user.id}/deactivate",
                               {"reason": "Left the NHS"})
    assert response.status_code == 302
    assert old_cookie.get("/home").headers["Location"].startswith("/sign-in")
    assert sign_in(old_cookie.client, leader.user.email).status_code == 400


def test_an_admin_ending_someones_sessions_signs_them_out(app, db, leader, admin_client):
    old_cookie = SignedIn(app, leader.user)
    response = _admin_decision(admin_client, f"/admin/users/{leader.user.id}/sign-out",
                               {"reason": "Reported a lost laptop"})
    assert response.status_code == 302
    assert not is_signed_in(old_cookie.client)
    assert sign_in(old_cookie.client, leader.user.email).status_code == 302  # may sign in again


# --- recent sign-in ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/password"])
def test_a_password_change_needs_a_recent_sign_in(app, leader, path):
    signed = SignedIn(app, leader.user)
    age_session(signed.client, signed_in_at=16 * 60)
    response = signed.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in/confirm?next=%2Faccount%2Fpassword"
    post(signed.client, "/sign-in/confirm?next=/account/password", {"password": TEST_PASSWORD})
    assert signed.get(path).status_code == 200


def test_a_stale_role_change_post_is_not_carried_out(app, db, leader, admin, admin_client):
    age_session(admin_client.client, signed_in_at=16 * 60)
    page = admin_client.get(f"/admin/users/{leader.user.id}")  # the GET of the user page works
    token = csrf_token(page.get_data(as_text=True))
    response = admin_client.client.post(
        f"/admin/users/{leader.user.id}/role",
        data={"csrf_token": token, "role": "admin", "reason": "Promote"},
        headers={"Referer": f"http://localhost/admin/users/{leader.user.id}/role"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in/confirm?next=")
    db.expire_all()
    assert db.get(User, leader.user.id).role == "leader"
    assert not events(db, "user.role_changed")


@pytest.mark.parametrize("endpoint", [
    "auth.change_password", "admin.change_role", "admin.deactivate", "admin.reactivate",
    "admin.invite", "matching.approve", "rounds.export_participants", "rounds.export_matches",
    "rounds.export_exchanges", "admin.audit_csv", "admin.reset_second_factor",
    "second_factor.new_recovery_codes", "second_factor.remove",
])
def test_sensitive_changes_are_marked_as_needing_a_recent_sign_in(app, endpoint):
    assert getattr(app.view_functions[endpoint], "recent_sign_in", False)


# --- sessions held on the server (issue 15, item 3) ------------------------------------------


def rows_of(db, user):
    db.expire_all()
    return list(db.exec(select(UserSession).where(UserSession.user_id == user.id)).all())


def test_the_cookie_carries_only_a_random_id_whose_hash_the_server_keeps(app, db, leader):
    signed = SignedIn(app, leader.user)
    value = signed.client.get_cookie("session").value
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), "256 random bits, nothing else"
    assert "." not in value  # not a signed payload (Flask's cookie is data.timestamp.signature)
    decoded = base64.urlsafe_b64decode(value + "=")
    assert b"_user_id" not in decoded and str(leader.user.id).encode() not in decoded[:4]
    [row] = rows_of(db, leader.user)
    assert row.id_hash == hashlib.sha256(value.encode()).hexdigest()
    assert value not in row.data and value not in row.id_hash


def test_signing_in_gives_a_new_id_so_one_planted_before_is_worth_nothing(app, db, leader):
    client = app.test_client()
    page = client.get("/sign-in")
    before = client.get_cookie("session").value  # the visitor's session (its CSRF token)
    client.post("/sign-in", data={"email": leader.user.email, "password": TEST_PASSWORD,
                                  "csrf_token": csrf_token(page.get_data(as_text=True))})
    after = client.get_cookie("session").value
    assert after != before
    attacker = app.test_client()
    attacker.set_cookie("session", before)
    assert attacker.get("/home").status_code == 302


def test_a_cookie_replayed_after_sign_out_is_refused(app, db, leader):
    signed = SignedIn(app, leader.user)
    stolen = signed.client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/home").status_code == 200  # a copied cookie works while signed in
    signed.post_form("/sign-out", form_page="/home")
    assert rows_of(db, leader.user) == []
    response = thief.get("/home")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_a_real_cookie_replayed_over_http_after_sign_out_is_refused(tmp_path):
    """Over the wire, as an attacker would: a live server, the Cookie header copied by hand."""
    import requests

    from conftest import LiveServer
    from factories import Factory

    server = LiveServer(tmp_path)
    try:
        with server.session() as db:
            Factory(db, TEST_PASSWORD).leader(email="replayed@example.org", name="Re Played")
            db.commit()
        browser = requests.Session()
        page = browser.get(f"{server.url}/sign-in")
        response = browser.post(f"{server.url}/sign-in", allow_redirects=False, data={
            "email": "replayed@example.org", "password": TEST_PASSWORD,
            "csrf_token": csrf_token(page.text)})
        assert response.status_code == 302
        set_cookie = response.headers["Set-Cookie"]
        stolen = browser.cookies["session"]
        assert set_cookie.startswith(f"session={stolen};")

        def replay():
            return requests.get(f"{server.url}/account", allow_redirects=False, timeout=10,
                                headers={"Cookie": f"session={stolen}"})

        assert replay().status_code == 200
        home = browser.get(f"{server.url}/home")
        browser.post(f"{server.url}/sign-out", data={"csrf_token": csrf_token(home.text)})
        response = replay()
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/sign-in")
    finally:
        server.stop()


def test_sign_out_everywhere_deletes_every_session_row(app, db, leader):
    phone, laptop = SignedIn(app, leader.user), SignedIn(app, leader.user)
    assert len(rows_of(db, leader.user)) == 2
    stolen = phone.client.get_cookie("session").value
    laptop.post_form("/account/sign-out-everywhere", form_page="/account")
    assert rows_of(db, leader.user) == []
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/home").status_code == 302


def test_deactivation_and_role_changes_delete_the_users_sessions(app, db, leader, coordinator,
                                                                 admin_client):
    SignedIn(app, leader.user)
    SignedIn(app, coordinator)
    admin_client.post_form(f"/admin/users/{leader.user.id}/deactivate", {"reason": "Left"})
    assert rows_of(db, leader.user) == []
    admin_client.post_form(f"/admin/users/{coordinator.id}/role",
                           {"role": "leader", "reason": "Stepped down"})
    assert rows_of(db, coordinator) == []


def test_your_sessions_lists_each_device_and_signs_one_out(app, db, leader):
    phone_agent = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
    laptop_agent = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                    "Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0")
    phone = app.test_client()
    phone.environ_base.update(HTTP_USER_AGENT=phone_agent, REMOTE_ADDR="192.0.2.7")
    page = phone.get("/sign-in")
    phone.post("/sign-in", data={"email": leader.user.email, "password": TEST_PASSWORD,
                                 "csrf_token": csrf_token(page.get_data(as_text=True))})
    laptop = SignedIn(app, leader.user)
    laptop.client.environ_base.update(HTTP_USER_AGENT=laptop_agent)
    assert "/account/sessions" in laptop.get("/account").get_data(as_text=True)
    html = laptop.get("/account/sessions").get_data(as_text=True)
    assert "Mobile Safari 17 on iOS" in html and "192.0.2.7" in html
    assert "(this device)" in html and html.count("Sign out<span") == 1
    [phone_row] = [row for row in rows_of(db, leader.user) if row.ip == "192.0.2.7"]
    response = laptop.post_form(f"/account/sessions/{phone_row.id}/sign-out",
                                form_page="/account/sessions")
    assert response.headers["Location"] == "/account/sessions"
    assert phone.get("/home").status_code == 302  # the phone is signed out
    assert is_signed_in(laptop.client)
    [event] = events(db, "user.session_ended")
    assert event.actor_id == leader.user.id and event.detail["by"] == "self"


def test_no_one_can_sign_out_someone_elses_session(app, db, leader, factory):
    victim = SignedIn(app, leader.user)
    [row] = rows_of(db, leader.user)
    other = SignedIn(app, factory.leader(email="other@example.org", name="Other").user)
    response = other.post_form(f"/account/sessions/{row.id}/sign-out",
                               form_page="/account/sessions")
    assert response.status_code == 302
    assert "already signed out" in other.get("/account/sessions").get_data(as_text=True)
    assert is_signed_in(victim.client)


def test_a_signed_in_page_needs_no_more_queries_than_before(app, engine, leader):
    """The session row and its user come in one query (Flask-Login's loader used to make one
    for the user alone), so the session costs no extra query per page."""
    signed = SignedIn(app, leader.user)
    signed.get("/account")
    with counted_statements(engine) as statements:
        signed.get("/account")
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len([s for s in selects if "user_session" in s]) == 1
    assert len([s for s in selects if "FROM app_user" in s]) == 0


def test_the_worker_prunes_ended_sessions(app, db, leader, settings):
    from mentoring.auth import session_store
    from mentoring.models import utcnow

    signed = SignedIn(app, leader.user)
    anonymous = app.test_client()
    anonymous.get("/sign-in")
    age_session_row(db, signed.client, last_seen=31 * 60)
    limits = session_store.Limits.of(settings.session_idle_minutes, settings.session_max_hours)
    assert session_store.prune(db, utcnow(), limits) == 1  # the visitor's is good for 8 hours
    age_session_row(db, anonymous, signed_in=8 * 3600 + 1)
    assert session_store.prune(db, utcnow(), limits) == 1


def test_static_files_and_health_checks_never_read_the_session(app, engine, leader):
    signed = SignedIn(app, leader.user)
    with counted_statements(engine) as statements:
        signed.get("/static/vendor/app.css").close()  # a file held open until closed
        signed.get("/healthz")
    assert not [s for s in statements if "user_session" in s]
