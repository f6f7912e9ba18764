"""The second factor in a real browser (issue 15): a coordinator sets up an authenticator app
(codes from pyotp, as a phone computes them) or a passkey (Chromium's virtual authenticator,
through the DevTools protocol's WebAuthn domain, stands in for a phone or security key), and
signs in with it again; every page passes axe (WCAG 2.2 AA)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.models import AuditEvent, SecondFactor, User

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, LiveServer, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The live server, reached as localhost: a passkey belongs to a host name (WebAuthn does
    not accept an IP address), and BASE_URL names it."""
    live = LiveServer(tmp_path_factory.mktemp("second-factor"))
    live.url = f"http://localhost:{live.server.server_port}"
    settings = live.app.extensions["mentoring.settings"]
    live.app.extensions["mentoring.settings"] = dataclasses.replace(settings, base_url=live.url)
    yield live
    live.stop()


def staff(server, email: str) -> None:
    with server.session() as db:
        Factory(db, TEST_PASSWORD).user(email=email, role="coordinator")
        db.commit()


def sign_in_with_password(page, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/sign-in$"))


def virtual_authenticator(page) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def test_a_coordinator_sets_up_an_authenticator_app_and_is_asked_for_it_again(page, server):
    staff(server, "app@example.org")
    sign_in_with_password(page, server.url, "app@example.org")
    page.wait_for_url(f"{server.url}/account/second-factor/setup")
    assert page.locator("svg.segno title").text_content() == "QR code for your authenticator app"
    assert_accessible(page)
    page.get_by_label("Enter the 6-digit code the app now shows").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("link", name=re.compile("The code is not right"))).to_be_visible()
    assert_accessible(page)
    page.context.clear_cookies()  # start again, through the shared helper this time
    browser_sign_in(page, server.url, "app@example.org")  # sets up, saves the codes, home
    sign_out(page)
    sign_in_with_password(page, server.url, "app@example.org")
    page.wait_for_url(f"{server.url}/sign-in/second-factor")
    assert_accessible(page)
    page.context.clear_cookies()
    browser_sign_in(page, server.url, "app@example.org")  # the code page this time, then home


def test_a_coordinator_adds_a_passkey_and_signs_in_with_it(page, server):
    cdp, authenticator = virtual_authenticator(page)
    staff(server, "passkey@example.org")
    sign_in_with_password(page, server.url, "passkey@example.org")
    page.wait_for_url(f"{server.url}/account/second-factor/setup")
    page.get_by_role("button", name="Add a passkey instead").click()
    page.wait_for_url(re.compile(r".*/account/second-factor/recovery-codes"))
    assert page.locator("#recovery-codes code").count() == 10
    assert_accessible(page)
    page.get_by_role("button", name="I have saved my codes").click()
    page.wait_for_url(f"{server.url}/home")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1

    sign_out(page)
    sign_in_with_password(page, server.url, "passkey@example.org")
    page.wait_for_url(f"{server.url}/sign-in/second-factor")
    page.get_by_role("button", name="Use your passkey instead").click()
    page.wait_for_url(f"{server.url}/home")
    # Confirming before a sensitive action: the password was given minutes ago, so only the
    # second factor is asked for, and the passkey answers.
    page.goto(f"{server.url}/sign-in/confirm?next=/account")
    expect(page.get_by_text("Your password is confirmed")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Use your passkey instead").click()
    page.wait_for_url(f"{server.url}/account")
    with server.session() as db:
        user = db.exec(select(User).where(User.email == "passkey@example.org")).one()
        [key] = db.exec(select(SecondFactor).where(SecondFactor.user_id == user.id)).all()
        assert key.kind == "passkey" and key.last_used_at is not None
        used = db.exec(select(AuditEvent).where(AuditEvent.action == "second_factor.verified",
                                                AuditEvent.actor_id == user.id)).all()
        assert [event.detail["with"] for event in used] == ["passkey", "passkey"]


def test_a_passkey_of_another_site_or_a_replayed_answer_signs_nobody_in(page, server):
    """The page's script is bypassed: the answer the browser made for one sign-in, posted again
    for the next, is refused (its challenge was spent), and nothing is signed in."""
    virtual_authenticator(page)
    staff(server, "replay@example.org")
    sign_in_with_password(page, server.url, "replay@example.org")
    page.wait_for_url(f"{server.url}/account/second-factor/setup")
    page.get_by_role("button", name="Add a passkey instead").click()
    page.wait_for_url(re.compile(r".*/recovery-codes"))
    page.get_by_role("button", name="I have saved my codes").click()
    sign_out(page)
    sign_in_with_password(page, server.url, "replay@example.org")
    page.wait_for_url(f"{server.url}/sign-in/second-factor")
    answered = page.evaluate("""async () => {
        const token = document.getElementById("passkey-button").dataset.csrf;
        const headers = {"X-CSRFToken": token, "Content-Type": "application/json"};
        const options = await (await fetch("/sign-in/second-factor/passkey/options",
                                           {method: "POST", headers})).json();
        const credential = await navigator.credentials.get(
            {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
        const body = JSON.stringify(credential.toJSON());
        const first = await fetch("/sign-in/second-factor/passkey",
                                  {method: "POST", headers, body});
        return [first.status, body];
    }""")
    assert answered[0] == 200  # signed in by the script's own answer
    page.goto(f"{server.url}/home")
    sign_out(page)
    sign_in_with_password(page, server.url, "replay@example.org")
    page.wait_for_url(f"{server.url}/sign-in/second-factor")
    status = page.evaluate("""async (body) => {
        const token = document.getElementById("passkey-button").dataset.csrf;
        const headers = {"X-CSRFToken": token, "Content-Type": "application/json"};
        await fetch("/sign-in/second-factor/passkey/options", {method: "POST", headers});
        return (await fetch("/sign-in/second-factor/passkey",
                            {method: "POST", headers, body})).status;
    }""", answered[1])
    assert status == 400
    page.goto(f"{server.url}/home")
    assert "/sign-in" in page.url
