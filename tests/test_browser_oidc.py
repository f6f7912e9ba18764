"""In a real browser: "Sign in with NHSmail" through the real OpenID Connect provider on
loopback, end to end, and the page that says why a sign-in was refused (axe, WCAG 2.2 AA)."""

from __future__ import annotations

import threading

import pytest
from oidc_provider import TENANT
from sqlmodel import Session, select

from mentoring import create_app
from mentoring.db import make_engine
from mentoring.migrate import upgrade
from mentoring.models import AuditEvent, IdentityLink, User

from accessibility import assert_accessible, assert_nhs_font
from conftest import make_settings
from factories import Factory

pytestmark = pytest.mark.browser


class SingleSignOnServer:
    """The app on a loopback port whose BASE_URL is its real address (the redirect URI the
    provider sends the browser back to), with NHSmail configured against the test provider."""

    def __init__(self, tmp_path, idp) -> None:
        from werkzeug.serving import make_server

        self.engine = make_engine(f"sqlite:///{tmp_path / 'sso.db'}")
        upgrade(self.engine)
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        client = idp.register_client(f"{self.url}/sign-in/with/nhsmail/callback")
        self.app = create_app({
            "SETTINGS": make_settings(tmp_path, self.engine.url.render_as_string(),
                                      base_url=self.url,
                                      oidc_providers=(idp.provider_settings(client),)),
            "ENGINE": self.engine,
        })
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory, oidc_idp):
    server = SingleSignOnServer(tmp_path_factory.mktemp("sso"), oidc_idp)
    yield server
    server.stop()


def test_sign_in_with_nhsmail_end_to_end(page, sso_server, oidc_idp):
    with sso_server.session() as session:
        coordinator = Factory(session, "unused-password-1234").user(
            email="grace.hopper@nhs.net", role="coordinator")
        session.commit()
    oidc_idp.next_sign_in(sub="grace-subject", email="Grace.Hopper@nhs.net", email_verified=True,
                          tid=TENANT, amr=["pwd", "mfa"])
    page.goto(f"{sso_server.url}/sign-in")
    assert_accessible(page)
    assert_nhs_font(page)
    page.get_by_role("button", name="Sign in with NHSmail").click()
    page.wait_for_url(f"{sso_server.url}/home")
    assert page.get_by_role("button", name="Sign out").count() == 1
    with sso_server.session() as session:
        link = session.exec(select(IdentityLink).where(
            IdentityLink.user_id == coordinator.id)).one()
        assert link.subject == "grace-subject" and link.issuer == oidc_idp.issuer
        signed_in = session.exec(select(AuditEvent).where(
            AuditEvent.action == "sign_in.succeeded", AuditEvent.actor_id == coordinator.id)).one()
        assert signed_in.detail["method"] == "oidc:nhsmail" and signed_in.detail["second_factor"]


def test_a_refused_sign_in_says_why_and_offers_the_other_ways(page, sso_server, oidc_idp):
    oidc_idp.next_sign_in(sub="someone-unverified", email="not.verified@nhs.net",
                          email_verified=False, tid=TENANT)
    page.goto(f"{sso_server.url}/sign-in")
    page.get_by_role("button", name="Sign in with NHSmail").click()
    page.wait_for_url(f"{sso_server.url}/sign-in/with/nhsmail/callback*")
    assert page.locator("h1").inner_text() == "You could not sign in with NHSmail"
    assert "did not confirm your email address" in page.content()
    assert page.get_by_role("link", name="Email me a sign-in link").count() == 1
    assert_accessible(page)
    with sso_server.session() as session:
        refused = select(User).where(User.email == "not.verified@nhs.net")
        assert session.exec(refused).first() is None
