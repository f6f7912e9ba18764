"""A second factor (issue 15, item 4): an authenticator app (TOTP) and recovery codes, required
for coordinators and admins, offered to leaders; the recent sign-in before approvals, role
changes and exports asks for it; an admin can reset it. Every code here comes from pyotp, as
a phone's app computes it, from the key the setup page shows."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from authenticator import RECOVERY_CODES, TOTP_SECRETS, totp_code
from sqlmodel import select

from mentoring.auth import second_factor, throttle
from mentoring.models import AuditEvent, Notification, RecoveryCode, SecondFactor, User

from conftest import (
    TEST_PASSWORD,
    SignedIn,
    answer_second_factor,
    csrf_token,
    set_up_authenticator_app,
)

SETUP = "/account/second-factor/setup"
CHALLENGE = "/sign-in/second-factor"


def sign_in(client, email, password=TEST_PASSWORD):
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    return client.post("/sign-in", data={"email": email, "password": password,
                                         "csrf_token": token})


def post(client, url, data):
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def events(db, action):
    db.expire_all()
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def emails_to(db, email):
    db.expire_all()
    return list(db.exec(select(Notification).where(Notification.recipient_email == email,
                                                   Notification.kind == "second_factor_changed"))
                .all())


def secret_on(page: str) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


# --- a coordinator sets one up before anything else ------------------------------------------


def test_a_coordinator_without_one_sets_it_up_before_anything_else(app, db, coordinator):
    client = app.test_client()
    response = sign_in(client, coordinator.email)
    assert response.headers["Location"] == SETUP
    # Half-way, nothing that needs a signed-in user opens: the browser is not signed in yet.
    for path in ("/home", "/rounds", "/account", "/admin/users"):
        assert client.get(path).headers["Location"].startswith("/sign-in"), path
    page = client.get(SETUP).get_data(as_text=True)
    assert "<svg" in page and "<path" in page and "QR code for your authenticator app" in page
    secret = secret_on(page)
    assert len(secret) == 32  # 160 bits
    wrong = post(client, SETUP, {"code": "000000"})
    assert wrong.status_code == 400
    assert 'id="code-error"' in wrong.get_data(as_text=True)
    assert secret_on(client.get(SETUP).get_data(as_text=True)) == secret  # same key, kept
    response = post(client, SETUP, {"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"] == "/account/second-factor/recovery-codes"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "We will not show these codes again" in page
    # Shown once: the page goes to the second-factor page afterwards.
    assert client.get("/account/second-factor/recovery-codes").headers["Location"] == (
        "/account/second-factor")
    assert client.get("/rounds").status_code == 200
    # Only hashes are kept.
    stored = [row.code_hash for row in db.exec(select(RecoveryCode)).all()]
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert [e.detail["kind"] for e in events(db, "second_factor.added")] == ["totp"]
    [email] = emails_to(db, coordinator.email)
    assert "An authenticator app was set up" in email.subject


def test_the_setup_page_draws_the_qr_code_inline_with_nothing_for_the_csp_to_allow(app,
                                                                                   coordinator):
    client = app.test_client()
    sign_in(client, coordinator.email)
    response = client.get(SETUP)
    page = response.get_data(as_text=True)
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "style=" not in svg and "<script" not in svg and "<image" not in svg
    assert "otpauth" not in page.replace(secret_on(page), "")  # the address is only drawn
    assert response.headers["Cache-Control"] == "no-store"


def test_the_key_and_the_address_the_qr_code_holds_name_the_service_and_account():
    uri = second_factor.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "c@example.org")
    assert uri.startswith("otpauth://totp/Leadership%20exchange:c%40example.org?")
    assert "issuer=Leadership%20exchange" in uri and "secret=JBSWY3DPEHPK3PXP" in uri


# --- signing in with one ---------------------------------------------------------------------


def test_with_one_the_coordinator_is_asked_for_a_code_which_works_once(app, db, coordinator):
    SignedIn(app, coordinator)  # sets the app up
    client = app.test_client()
    response = sign_in(client, coordinator.email)
    assert response.headers["Location"] == CHALLENGE
    assert client.get("/home").headers["Location"].startswith("/sign-in")
    wrong = post(client, CHALLENGE, {"code": "123456"})
    assert wrong.status_code == 400 and "The code is not right" in wrong.get_data(as_text=True)
    code = totp_code(coordinator.email)
    assert post(client, CHALLENGE, {"code": code}).headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    # The same code again, in another browser: refused (seen over a shoulder, replayed).
    other = app.test_client()
    sign_in(other, coordinator.email)
    assert post(other, CHALLENGE, {"code": code}).status_code == 400
    assert len(events(db, "second_factor.failed")) == 2
    assert events(db, "second_factor.verified")


def test_a_recovery_code_works_once_in_place_of_the_app(app, db, coordinator):
    SignedIn(app, coordinator)
    code = RECOVERY_CODES[coordinator.email][0]
    client = app.test_client()
    sign_in(client, coordinator.email)
    response = post(client, CHALLENGE, {"code": code.upper().replace("-", " ")})
    assert response.headers["Location"] == "/home"
    assert "You used a recovery code: 9 left" in client.get("/home").get_data(as_text=True)
    again = app.test_client()
    sign_in(again, coordinator.email)
    assert post(again, CHALLENGE, {"code": code}).status_code == 400
    [email] = [e for e in emails_to(db, coordinator.email) if "recovery code" in e.subject]
    assert email.recipient_email == coordinator.email


def test_wrong_codes_are_throttled_like_passwords(app, db, coordinator):
    SignedIn(app, coordinator)
    client = app.test_client()
    sign_in(client, coordinator.email)
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        post(client, CHALLENGE, {"code": "000000"})
    response = post(client, CHALLENGE, {"code": totp_code(coordinator.email)})
    assert response.status_code == 400
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/home").headers["Location"].startswith("/sign-in")


def test_the_code_page_waits_ten_minutes_after_the_password(app, coordinator):
    SignedIn(app, coordinator)
    client = app.test_client()
    sign_in(client, coordinator.email)
    token = csrf_token(client.get(CHALLENGE).get_data(as_text=True))
    with client.session_transaction() as session:
        session["second_factor_pending"]["at"] -= 11 * 60
        session.modified = True
    response = client.post(CHALLENGE, data={"csrf_token": token,
                                            "code": totp_code(coordinator.email)})
    assert response.headers["Location"] == "/sign-in"
    assert client.get("/home").headers["Location"].startswith("/sign-in")


def test_signing_out_everywhere_meanwhile_ends_a_sign_in_waiting_for_its_code(app, db,
                                                                           coordinator):
    phone = SignedIn(app, coordinator)
    client = app.test_client()
    sign_in(client, coordinator.email)
    token = csrf_token(client.get(CHALLENGE).get_data(as_text=True))
    phone.post_form("/account/sign-out-everywhere", form_page="/account")
    response = client.post(CHALLENGE, data={"csrf_token": token,
                                            "code": totp_code(coordinator.email)})
    assert response.headers["Location"] == "/sign-in"


def test_an_email_link_sign_in_asks_for_the_second_factor_too(app, db, coordinator):
    from mentoring.auth import joining

    SignedIn(app, coordinator)
    db.expire_all()  # that sign-in moved the account's last sign-in, which links are tied to
    settings = app.extensions["mentoring.settings"]
    joining.request_sign_in_link(db, joining.Links(settings.secret_key, ""), coordinator.email)
    db.flush()
    body = db.exec(select(Notification.body_text).where(
        Notification.kind == "sign_in_link")).all()[-1]
    path = next(word for word in body.split() if word.startswith("/sign-in/link/"))
    client = app.test_client()
    response = post(client, path, {})
    assert response.headers["Location"] == CHALLENGE


# --- leaders: offered, not required -----------------------------------------------------------


def test_a_leader_signs_in_with_a_password_alone_until_they_set_one_up(app, db, leader):
    signed = SignedIn(app, leader.user)
    assert "Not set up" in signed.get("/account").get_data(as_text=True)
    assert "Set up an authenticator app" in signed.get("/account/second-factor").get_data(
        as_text=True)
    set_up_authenticator_app(signed.client, leader.user.email)
    assert "Authenticator app" in signed.get("/account").get_data(as_text=True)
    client = app.test_client()
    response = sign_in(client, leader.user.email)
    assert response.headers["Location"] == CHALLENGE
    assert answer_second_factor(client, response, leader.user.email).headers["Location"] == (
        "/home")


def test_a_leader_can_turn_it_off_and_a_coordinator_cannot(app, db, leader, coordinator):
    signed = SignedIn(app, leader.user)
    set_up_authenticator_app(signed.client, leader.user.email)
    response = signed.post_form("/account/second-factor/remove",
                                form_page="/account/second-factor")
    assert response.headers["Location"] == "/account/second-factor"
    assert db.exec(select(SecondFactor).where(SecondFactor.user_id == leader.user.id)).all() == []
    assert sign_in(app.test_client(), leader.user.email).headers["Location"] == "/home"
    staff = SignedIn(app, coordinator)
    assert "Turn off" not in staff.get("/account/second-factor").get_data(as_text=True)
    staff.post_form("/account/second-factor/remove", form_page="/account/second-factor")
    assert db.exec(select(SecondFactor).where(SecondFactor.user_id == coordinator.id)).all()


def test_new_recovery_codes_replace_the_old_ones(app, db, coordinator):
    signed = SignedIn(app, coordinator)
    old = list(RECOVERY_CODES[coordinator.email])
    response = signed.post_form("/account/second-factor/recovery-codes/new",
                                form_page="/account/second-factor")
    page = signed.get(response.headers["Location"]).get_data(as_text=True)
    new = re.findall(r"<code>([a-z2-7-]{19})</code>", page)
    assert len(new) == 10 and not set(old) & set(new)
    client = app.test_client()
    sign_in(client, coordinator.email)
    assert post(client, CHALLENGE, {"code": old[0]}).status_code == 400
    assert post(client, CHALLENGE, {"code": new[0]}).headers["Location"] == "/home"


# --- recent sign-in asks for it ----------------------------------------------------------------


def make_stale(client) -> None:
    with client.session_transaction() as session:
        session["signed_in_at"] -= 3600
        session["second_factor_at"] -= 3600


@pytest.mark.parametrize("path", ["/admin/audit.csv"])
def test_a_stale_sign_in_confirms_password_and_code_before_an_export(app, admin, path):
    signed = SignedIn(app, admin)
    make_stale(signed.client)
    response = signed.get(path)
    assert response.headers["Location"].startswith("/sign-in/confirm")
    confirm = response.headers["Location"]
    page = signed.get(confirm).get_data(as_text=True)
    assert 'name="code"' in page
    only_password = post(signed.client, confirm, {"password": TEST_PASSWORD})
    assert only_password.status_code == 400
    done = post(signed.client, confirm, {"password": TEST_PASSWORD,
                                         "code": totp_code(admin.email)})
    assert done.headers["Location"] == path
    assert signed.get(path).status_code == 200


def test_the_password_alone_is_not_a_recent_second_factor(app, coordinator):
    """Confirming a password (a leader's way) leaves the second factor's clock where it was."""
    signed = SignedIn(app, coordinator)
    with signed.client.session_transaction() as session:
        session["second_factor_at"] -= 3600
    response = signed.get("/admin/organisations")  # not sensitive: fine
    assert response.status_code == 200
    with signed.client.session_transaction() as session:
        session["signed_in_at"] = int(time.time())
    response = signed.client.get("/rounds/1/export/participants.csv")
    assert response.headers["Location"].startswith("/sign-in/confirm")


# --- an admin resets it --------------------------------------------------------------------------


def test_an_admin_resets_a_coordinators_second_factor(app, db, coordinator, admin_client):
    phone = SignedIn(app, coordinator)
    page = admin_client.get(f"/admin/users/{coordinator.id}").get_data(as_text=True)
    assert f"/admin/users/{coordinator.id}/second-factor/reset" in page
    refused = admin_client.post_form(f"/admin/users/{coordinator.id}/second-factor/reset",
                                     {"reason": ""})
    assert refused.status_code == 400
    response = admin_client.post_form(f"/admin/users/{coordinator.id}/second-factor/reset",
                                      {"reason": "Lost their phone; called them to check"})
    assert response.status_code == 302
    assert db.exec(select(SecondFactor).where(SecondFactor.user_id == coordinator.id)).all() == []
    assert db.exec(select(RecoveryCode).where(RecoveryCode.user_id == coordinator.id)).all() == []
    [event] = events(db, "second_factor.reset")
    assert event.actor_id == admin_client.user.id and event.object_id == str(coordinator.id)
    assert event.detail == {"reason": "Lost their phone; called them to check"}
    assert phone.get("/home").headers["Location"].startswith("/sign-in")  # signed out
    [email] = [e for e in emails_to(db, coordinator.email) if "reset" in e.subject]
    assert "An admin reset the second factor" in email.body_text
    # Their next sign-in sets up a new app.
    assert sign_in(app.test_client(), coordinator.email).headers["Location"] == SETUP
    assert TOTP_SECRETS  # (the old one is useless now)


def test_an_admin_cannot_reset_their_own(app, db, admin, admin_client):
    response = admin_client.post_form(f"/admin/users/{admin.id}/second-factor/reset",
                                      {"reason": "Testing"})
    assert response.status_code == 400
    assert db.exec(select(SecondFactor).where(SecondFactor.user_id == admin.id)).all()


def test_a_deleted_account_takes_its_second_factor_with_it(db, factory):
    user = factory.user(email="gone@example.org", role="coordinator")
    db.add(SecondFactor(user_id=user.id, secret=pyotp.random_base32()))
    second_factor.new_recovery_codes(db, user)
    db.delete(db.get(User, user.id))
    db.flush()
    assert db.exec(select(SecondFactor)).all() == [] and db.exec(select(RecoveryCode)).all() == []


# --- passkeys (the browser test signs in with a virtual authenticator) -------------------------

HOSTILE_JSON = ["", "not json", "null", "[]", '{"id": 1}', '{"id": "x", "response": {}}',
                '{"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": '
                '{"clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA"}}',
                "x" * 100_000, '{"id": "' + "\u202e" * 50 + '"}']


def json_post(client, url, body, token):
    return client.post(url, data=body, content_type="application/json",
                       headers={"X-CSRFToken": token})


def test_hostile_answers_to_a_passkey_sign_in_are_refused_and_sign_nobody_in(app, db,
                                                                            coordinator):
    db.add(SecondFactor(user_id=coordinator.id, kind="passkey", credential_id="AAAA",
                        public_key="pQECAyYgASFYIA", sign_count=0))
    db.flush()
    client = app.test_client()
    assert sign_in(client, coordinator.email).headers["Location"] == CHALLENGE
    page = client.get(CHALLENGE).get_data(as_text=True)
    assert "Use your passkey instead" in page
    token = csrf_token(page)
    options = json_post(client, "/sign-in/second-factor/passkey/options", "", token)
    assert options.status_code == 200 and options.get_json()["allowCredentials"][0]["id"] == (
        "AAAA")
    for body in HOSTILE_JSON:
        json_post(client, "/sign-in/second-factor/passkey/options", "", token)
        response = json_post(client, "/sign-in/second-factor/passkey", body, token)
        assert response.status_code == 400 and "error" in response.get_json(), body[:40]
    assert client.get("/home").headers["Location"].startswith("/sign-in")
    # Each counts as a failed attempt: after five, the account is locked out for a while.
    failed = throttle.MAX_FAILURES_PER_ACCOUNT
    assert len(events(db, "second_factor.failed")) == failed
    assert len(events(db, "second_factor.throttled")) == len(HOSTILE_JSON) - failed
    # Without the CSRF header, nothing is even tried.
    assert client.post("/sign-in/second-factor/passkey", data="{}",
                       content_type="application/json").status_code == 400


def test_hostile_passkeys_are_not_added(app, db, leader):
    signed = SignedIn(app, leader.user)
    token = csrf_token(signed.get("/account/second-factor").get_data(as_text=True))
    options = json_post(signed.client, "/account/second-factor/passkey/options", "", token)
    assert options.get_json()["rp"] == {"id": "localhost", "name": "Leadership exchange"}
    for body in HOSTILE_JSON:
        response = json_post(signed.client, "/account/second-factor/passkey", body, token)
        assert response.status_code == 400 and "error" in response.get_json(), body[:40]
    assert db.exec(select(SecondFactor)).all() == []
    # Nobody half-way through signing in, nobody signed in: nothing to add a passkey to.
    anyone = app.test_client()
    token = csrf_token(anyone.get("/sign-in").get_data(as_text=True))
    assert json_post(anyone, "/account/second-factor/passkey/options", "", token).status_code == (
        400)


def test_passkeys_belong_to_the_host_in_base_url():
    party = second_factor.RelyingParty.from_base_url("https://mentoring.example.nhs.uk/")
    assert (party.id, party.origin) == ("mentoring.example.nhs.uk",
                                        "https://mentoring.example.nhs.uk")
    party = second_factor.RelyingParty.from_base_url("http://localhost:5000")
    assert (party.id, party.origin) == ("localhost", "http://localhost:5000")


def test_a_stale_session_cannot_add_a_second_factor(app, db, leader):
    """Someone who finds a signed-in computer must not add their own app or passkey: the owner
    would be locked out at their next sign-in."""
    signed = SignedIn(app, leader.user)
    with signed.client.session_transaction() as session:
        session["signed_in_at"] -= 3600
    response = signed.get(SETUP)
    assert response.headers["Location"].startswith("/sign-in/confirm")
    token = csrf_token(signed.get("/account/second-factor").get_data(as_text=True))
    refused = json_post(signed.client, "/account/second-factor/passkey/options", "", token)
    assert refused.status_code == 400
    assert db.exec(select(SecondFactor)).all() == []
