"""Single sign-on through a real OpenID Connect provider (oidc-provider, started on loopback by
the `oidc_idp` fixture): sign-in end to end, the attacks a relying party must refuse (forged or
replayed state, a tampered nonce, the wrong issuer or tenant, an expired token), linking by
verified email only, deactivated accounts, and when a sign-in counts as two factors."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from oidc_provider import OTHER_TENANT, TENANT, local_path, with_query
from sqlmodel import select

from mentoring import create_app
from mentoring.access import SECOND_FACTOR_AT, SIGNED_IN_AT
from mentoring.models import AuditEvent, IdentityLink, User

from conftest import _session_on, csrf_token, make_settings, set_up_authenticator_app

CALLBACK = "http://localhost/sign-in/with/nhsmail/callback"


@pytest.fixture(scope="module")
def idp_client(oidc_idp):
    return oidc_idp.register_client(CALLBACK)


@pytest.fixture
def make_app(tmp_path, engine, connection, oidc_idp, idp_client):
    """An app whose NHSmail provider has these settings (over the defaults)."""

    def make(**overrides):
        provider = oidc_idp.provider_settings(idp_client, **overrides)
        app = create_app({"SETTINGS": make_settings(tmp_path, oidc_providers=(provider,)),
                          "ENGINE": engine})
        app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


def nhs_person(**claims):
    person = {"sub": "subject-ada", "email": "ada.lovelace@nhs.net", "email_verified": True,
              "tid": TENANT, "amr": ["pwd"]}
    person.update(claims)
    return person


def press_the_button(client, path="/sign-in/with/nhsmail", next_url=None):
    """What the sign-in page's "Sign in with NHSmail" button sends: a POST with its token."""
    form_page = "/sign-in" + (f"?next={next_url}" if next_url else "")
    page = client.get(form_page).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), **({"next": next_url} if next_url else {})}
    return client.post(path, data=data)


def start(client, path="/sign-in/with/nhsmail", next_url=None):
    response = press_the_button(client, path, next_url)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def sign_in_with_nhsmail(client, idp, **claims):
    """The whole round trip: the button, the provider, and back to the callback."""
    idp.next_sign_in(**nhs_person(**claims))
    return client.get(local_path(idp.authorize(start(client))))


def signed_in_as(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def events(db, action: str) -> list[AuditEvent]:
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)
                        .order_by(AuditEvent.id)).all())


def last_refusal(db) -> dict:
    refusals = events(db, "sign_in.failed")
    assert refusals, "a refused sign-in is audited"
    return refusals[-1].detail


# --- signing in ----------------------------------------------------------------------------


def test_the_sign_in_page_offers_nhsmail_when_configured(client, tmp_path, engine, connection):
    page = client.get("/sign-in").get_data(as_text=True)
    assert "Sign in with NHSmail" in page and 'action="/sign-in/with/nhsmail"' in page
    assert 'name="password"' in page  # passwords stay for VCSE, pharmacy and council staff
    plain_app = create_app({"SETTINGS": make_settings(tmp_path), "ENGINE": engine})
    plain_app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
    assert "NHSmail" not in plain_app.test_client().get("/sign-in").get_data(as_text=True)


def test_the_flow_uses_pkce_state_and_nonce(client):
    query = dict(pair.split("=", 1) for pair in start(client).split("?", 1)[1].split("&"))
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    assert query["response_type"] == "code"
    assert query["redirect_uri"].startswith("http%3A%2F%2Flocalhost%2Fsign-in%2Fwith%2Fnhsmail")


def test_a_new_nhs_person_gets_a_verified_leader_account_and_is_signed_in(client, oidc_idp, db):
    response = sign_in_with_nhsmail(client, oidc_idp)
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile/")
    user = db.exec(select(User).where(User.email == "ada.lovelace@nhs.net")).one()
    assert user.role == "leader" and user.is_verified and user.password_hash is None
    assert signed_in_as(client) == user.get_id()
    with client.session_transaction() as session:
        assert session["sign_in_method"] == "oidc:nhsmail"
    link = db.exec(select(IdentityLink).where(IdentityLink.user_id == user.id)).one()
    assert (link.provider, link.issuer, link.subject) == ("nhsmail", oidc_idp.issuer,
                                                          "subject-ada")
    assert [e.detail["by"] for e in events(db, "user.created")] == ["oidc:nhsmail"]
    assert client.get("/home").status_code == 200


def test_later_sign_ins_match_the_subject_not_the_email(client, app, oidc_idp, db):
    sign_in_with_nhsmail(client, oidc_idp)
    user = db.exec(select(User).where(User.email == "ada.lovelace@nhs.net")).one()
    # The provider now sends another address (a changed name, say): still the same account.
    again = app.test_client()
    response = sign_in_with_nhsmail(again, oidc_idp, email="ada.king@nhs.net")
    assert response.status_code == 302
    assert signed_in_as(again) == user.get_id()
    assert db.exec(select(User).where(User.email == "ada.king@nhs.net")).first() is None


def test_the_next_page_is_kept_through_the_provider_but_never_off_site(client, oidc_idp, factory):
    factory.user(email="ada.lovelace@nhs.net")
    oidc_idp.next_sign_in(**nhs_person())
    location = start(client, next_url="/account")
    response = client.get(local_path(oidc_idp.authorize(location)))
    assert response.headers["Location"].endswith("/account")
    other = client.application.test_client()
    oidc_idp.next_sign_in(**nhs_person())
    location = start(other, next_url="https://evil.example/")
    response = other.get(local_path(oidc_idp.authorize(location)))
    assert response.headers["Location"] in ("/home", "http://localhost/home")


def test_signed_in_people_are_sent_home_and_unknown_providers_are_not_found(leader_client,
                                                                            client):
    assert leader_client.post_form("/sign-in/with/nhsmail", form_page="/home").headers[
        "Location"].endswith("/home")
    assert leader_client.post_form("/sign-in/with/google", form_page="/home").status_code == 404
    assert press_the_button(client, "/sign-in/with/google").status_code == 404


def test_a_sign_in_cannot_be_started_by_a_link_or_another_site(client, oidc_idp):
    """ASVS 7.6.2: only the sign-in page's own button (a POST with its token) starts one."""
    assert client.get("/sign-in/with/nhsmail").status_code == 405
    forged = client.post("/sign-in/with/nhsmail", data={"next": "/account"})
    assert forged.status_code == 400



# --- linking to an existing account ----------------------------------------------------------


def test_an_existing_account_is_linked_by_its_verified_email(client, oidc_idp, factory, db):
    user = factory.user(email="Ada.Lovelace@nhs.net".lower(), role="coordinator")
    # NHSmail enforced MFA: two factors, so the coordinator is signed in at once.
    response = sign_in_with_nhsmail(client, oidc_idp, email="Ada.Lovelace@NHS.net",
                                    amr=["pwd", "mfa"])
    assert response.status_code == 302
    assert signed_in_as(client) == user.get_id()
    assert db.exec(select(IdentityLink).where(IdentityLink.user_id == user.id)).one()
    linked = events(db, "identity.linked")[-1]
    assert linked.actor_id == user.id and linked.detail["by"] == "email"
    assert user.role == "coordinator"  # linking changes nobody's role


def test_a_coordinator_whose_provider_did_not_enforce_mfa_sets_up_a_second_factor(
        client, oidc_idp, factory):
    user = factory.user(email="ada.lovelace@nhs.net", role="coordinator")
    response = sign_in_with_nhsmail(client, oidc_idp, amr=["pwd"])
    assert response.headers["Location"].endswith("/account/second-factor/setup")
    assert signed_in_as(client) is None  # not before the second factor
    set_up_authenticator_app(client, user.email)
    assert signed_in_as(client) == user.get_id()


def test_an_unverified_email_never_links_or_creates_an_account(client, oidc_idp, factory, db):
    user = factory.user(email="ada.lovelace@nhs.net")
    response = sign_in_with_nhsmail(client, oidc_idp, email_verified=False)
    assert response.status_code == 403
    assert "did not confirm your email address" in response.get_data(as_text=True)
    assert signed_in_as(client) is None
    assert db.exec(select(IdentityLink)).first() is None
    assert last_refusal(db)["reason"] == "unverified_email"
    stranger = client.application.test_client()
    response = sign_in_with_nhsmail(stranger, oidc_idp, sub="subject-new",
                                    email="new.person@nhs.net", email_verified=False)
    assert response.status_code == 403
    assert db.exec(select(User).where(User.email == "new.person@nhs.net")).first() is None
    assert user.is_active


def test_entra_emails_count_only_when_configured_to_trust_them(make_app, oidc_idp, factory, db):
    """Entra sends no email_verified for work accounts: its xms_edov claim, or trusting the
    tenant's directory, is an explicit per-provider choice."""
    user = factory.user(email="ada.lovelace@nhs.net")
    entra = {"email_verified": None}
    assert sign_in_with_nhsmail(make_app().test_client(), oidc_idp, xms_edov=True,
                                **entra).status_code == 403
    client = make_app(trust_xms_edov=True).test_client()
    assert sign_in_with_nhsmail(client, oidc_idp, xms_edov=False, **entra).status_code == 403
    assert sign_in_with_nhsmail(client, oidc_idp, xms_edov=True, **entra).status_code == 302
    assert signed_in_as(client) == user.get_id()
    trusted = make_app(trust_tenant_emails=True).test_client()
    assert sign_in_with_nhsmail(trusted, oidc_idp, sub="subject-bo", email="bo@nhs.net",
                                **entra).status_code == 302
    # A provider whose email_verified is not trusted links nobody by it.
    distrusted = make_app(trust_email_verified=False).test_client()
    assert sign_in_with_nhsmail(distrusted, oidc_idp, sub="subject-cy",
                                email="cy@nhs.net").status_code == 403


def test_an_address_registered_by_someone_else_loses_its_password_when_the_owner_signs_in(
        client, oidc_idp, factory, db):
    """An attacker registered the owner's address with a password and never verified it: the
    owner's NHSmail sign-in proves the address, and the attacker's password ends."""
    from conftest import TEST_PASSWORD

    squatted = factory.user(email="ada.lovelace@nhs.net")
    squatted.verified_at = None
    db.add(squatted)
    db.flush()
    assert squatted.password_hash
    sign_in_with_nhsmail(client, oidc_idp)
    db.refresh(squatted)
    assert squatted.is_verified and squatted.password_hash is None
    attacker = client.application.test_client()
    page = attacker.get("/sign-in").get_data(as_text=True)
    from conftest import csrf_token

    response = attacker.post("/sign-in", data={"email": "ada.lovelace@nhs.net",
                                               "password": TEST_PASSWORD,
                                               "csrf_token": csrf_token(page)})
    assert response.status_code == 400 and signed_in_as(attacker) is None


def test_an_account_linked_to_one_identity_is_not_taken_by_another(client, oidc_idp, factory,
                                                                     db):
    user = factory.user(email="ada.lovelace@nhs.net")
    sign_in_with_nhsmail(client, oidc_idp)
    other = client.application.test_client()
    response = sign_in_with_nhsmail(other, oidc_idp, sub="someone-else")
    assert response.status_code == 403 and signed_in_as(other) is None
    assert last_refusal(db)["reason"] == "linked_to_another"
    assert len(db.exec(select(IdentityLink).where(IdentityLink.user_id == user.id)).all()) == 1


def test_unknown_people_are_refused_when_the_provider_creates_no_accounts(make_app, oidc_idp, db):
    client = make_app(create_accounts=False).test_client()
    response = sign_in_with_nhsmail(client, oidc_idp)
    assert response.status_code == 403
    assert "no account for ada.lovelace@nhs.net" in response.get_data(as_text=True)
    assert db.exec(select(User).where(User.email == "ada.lovelace@nhs.net")).first() is None
    assert last_refusal(db)["reason"] == "no_account"


# --- deactivated accounts ----------------------------------------------------------------------


def test_a_deactivated_account_is_refused_by_subject_and_by_email(client, oidc_idp, factory, db):
    user = factory.user(email="ada.lovelace@nhs.net")
    sign_in_with_nhsmail(client, oidc_idp)
    user.is_active = False
    db.add(user)
    db.flush()
    for browser in (client.application.test_client(), client.application.test_client()):
        response = sign_in_with_nhsmail(browser, oidc_idp)
        assert response.status_code == 403
        assert "deactivated" in response.get_data(as_text=True)
        assert signed_in_as(browser) is None
    refusal = events(db, "sign_in.failed")[-1]
    assert refusal.detail["reason"] == "deactivated" and refusal.actor_id == user.id
    # Not yet linked: found by email, still refused, and nothing is linked.
    other = factory.user(email="bo@nhs.net")
    other.is_active = False
    db.add(other)
    db.flush()
    browser = client.application.test_client()
    assert sign_in_with_nhsmail(browser, oidc_idp, sub="subject-bo",
                                email="bo@nhs.net").status_code == 403
    assert db.exec(select(IdentityLink).where(IdentityLink.user_id == other.id)).first() is None


# --- the attacks a relying party must refuse ---------------------------------------------------


def test_a_forged_state_is_refused(client, oidc_idp, db):
    oidc_idp.next_sign_in(**nhs_person())
    callback = oidc_idp.authorize(start(client))
    response = client.get(local_path(with_query(callback, state="forged-state-value")))
    assert response.status_code == 400 and signed_in_as(client) is None
    assert "does not belong to a sign-in started in this browser" in response.get_data(
        as_text=True)
    assert last_refusal(db)["reason"] == "state"


def test_an_answer_for_another_browser_is_refused_and_a_callback_works_once(app, oidc_idp, db):
    """Login CSRF: the attacker's own code and state, planted in the victim's browser, signs
    nobody in; and the victim's callback replayed after use is refused."""
    attacker, victim = app.test_client(), app.test_client()
    oidc_idp.next_sign_in(**nhs_person(sub="attacker", email="attacker@nhs.net"))
    planted = local_path(oidc_idp.authorize(start(attacker)))
    start(victim)  # the victim has a sign-in of their own under way
    assert victim.get(planted).status_code == 400 and signed_in_as(victim) is None
    oidc_idp.next_sign_in(**nhs_person())
    callback = local_path(oidc_idp.authorize(start(victim)))
    assert victim.get(callback).status_code == 302
    replay = app.test_client()
    assert replay.get(callback).status_code == 400 and signed_in_as(replay) is None


def test_a_tampered_nonce_is_refused(client, oidc_idp, db):
    oidc_idp.next_sign_in(**nhs_person())
    authorization = with_query(start(client), nonce="attacker-chosen-nonce-0123456789")
    response = client.get(local_path(oidc_idp.authorize(authorization)))
    assert response.status_code == 400 and signed_in_as(client) is None
    detail = last_refusal(db)
    assert detail["reason"] == "invalid_token" and "nonce" in detail["error"]
    assert db.exec(select(User).where(User.email == "ada.lovelace@nhs.net")).first() is None


def test_a_dropped_pkce_challenge_gets_no_code(client, oidc_idp):
    """The provider requires PKCE: an authorization request stripped of its challenge (a
    downgrade) gets an error instead of a code, and the app signs nobody in."""
    parts = urlsplit(start(client))
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("code_challenge")]
    answer = oidc_idp.authorize(urlunsplit(parts._replace(query=urlencode(query))))
    assert "error=invalid_request" in answer and "code=" not in answer
    assert client.get(local_path(answer)).status_code == 400 and signed_in_as(client) is None


def test_an_expired_id_token_is_refused(client, oidc_idp, db):
    oidc_idp.set_clock(-3600)  # the token endpoint issues a token that expired 55 minutes ago
    try:
        response = sign_in_with_nhsmail(client, oidc_idp)
    finally:
        oidc_idp.set_clock(0)
    assert response.status_code == 400 and signed_in_as(client) is None
    assert "had expired" in response.get_data(as_text=True)
    assert last_refusal(db)["reason"] == "expired"


def test_a_token_from_a_tenant_not_allowed_is_refused(make_app, oidc_idp, db):
    client = make_app(allowed_tenants=(OTHER_TENANT,)).test_client()
    response = sign_in_with_nhsmail(client, oidc_idp)
    assert response.status_code == 403 and signed_in_as(client) is None
    assert "not one this service accepts" in response.get_data(as_text=True)
    assert last_refusal(db)["reason"] == "wrong_tenant"
    assert last_refusal(db)["tenant"] == TENANT


def test_a_token_from_an_issuer_not_allowed_is_refused(make_app, oidc_idp, db):
    client = make_app(allowed_issuers=("https://login.microsoftonline.com/other/v2.0",),
                      allowed_tenants=()).test_client()
    response = sign_in_with_nhsmail(client, oidc_idp)
    assert response.status_code == 403 and signed_in_as(client) is None
    assert last_refusal(db)["reason"] == "wrong_issuer"


def test_multi_tenant_metadata_checks_the_tenant_against_the_issuer_and_the_allowlist(
        make_app, oidc_idp, db):
    """Entra's "common" metadata names the issuer https://…/{tenantid}/v2.0. The token's tenant
    goes into that placeholder and must give its issuer; and the tenant must be allowed."""
    common = {"discovery_url": oidc_idp.multi_tenant_discovery_url}
    client = make_app(**common).test_client()
    assert sign_in_with_nhsmail(client, oidc_idp).status_code == 302
    # A token whose tid claims another tenant than its issuer's.
    lying = make_app(**common, allowed_tenants=(TENANT, OTHER_TENANT)).test_client()
    response = sign_in_with_nhsmail(lying, oidc_idp, sub="subject-2", tid=OTHER_TENANT)
    assert response.status_code == 403 and signed_in_as(lying) is None
    assert last_refusal(db)["reason"] == "wrong_issuer"
    # A real tenant, but not one on the allowlist.
    elsewhere = make_app(**common, allowed_tenants=(OTHER_TENANT,)).test_client()
    assert sign_in_with_nhsmail(elsewhere, oidc_idp, sub="subject-3").status_code == 403
    assert last_refusal(db)["reason"] == "wrong_tenant"


def test_a_provider_that_cannot_be_reached_gets_a_clear_page(make_app, db):
    client = make_app(discovery_url="http://127.0.0.1:9/.well-known/openid-configuration",
                      ).test_client()
    response = press_the_button(client)
    assert response.status_code == 503
    assert "cannot be reached just now" in response.get_data(as_text=True)
    assert last_refusal(db)["reason"] == "unavailable"


def test_the_person_saying_no_at_the_provider_is_told_so(client, db):
    start(client)
    response = client.get("/sign-in/with/nhsmail/callback?error=access_denied"
                          "&error_description=End-User+aborted")
    assert response.status_code == 400 and signed_in_as(client) is None
    assert last_refusal(db)["error"] == "access_denied"


# --- a second factor -----------------------------------------------------------------------------


def second_factor_of_last_sign_in(db) -> bool:
    return events(db, "sign_in.succeeded")[-1].detail["second_factor"]


@pytest.mark.parametrize(("claims", "settings_overrides", "counted"), [
    ({"amr": ["pwd", "mfa"]}, {}, True),
    ({"amr": ["pwd"]}, {}, False),
    ({"amr": None}, {}, False),
    ({"amr": ["otp"]}, {}, False),  # one-time code by email: one factor, by default
    ({"amr": ["pwd", "otp"]}, {"mfa_amr_values": ("mfa", "otp", "hwk")}, True),
    ({"amr": ["pwd"], "acr": "urn:test:loa:mfa"}, {"mfa_acr_values": ("urn:test:loa:mfa",)},
     True),
    ({"amr": ["pwd"], "acr": "urn:test:loa:password"},
     {"mfa_acr_values": ("urn:test:loa:mfa",)}, False),
    ({"amr": ["pwd"], "acrs": ["c1"]}, {"mfa_acr_values": ("c1",)}, True),
], ids=["amr-mfa", "amr-pwd", "no-amr", "amr-otp-default", "amr-otp-configured", "acr-mfa",
        "acr-password", "entra-acrs"])
def test_a_sign_in_counts_as_two_factors_only_when_the_token_says_so(
        make_app, oidc_idp, db, claims, settings_overrides, counted):
    client = make_app(**settings_overrides).test_client()
    assert sign_in_with_nhsmail(client, oidc_idp, **claims).status_code == 302
    assert second_factor_of_last_sign_in(db) is counted


@pytest.mark.parametrize("query", [
    "state=" + "x" * 5000 + "&code=abc",
    "state=%00&code=%00",
    "state=caf%C3%A9%F0%9F%98%80&code=%FF%FE",
    "code=abc",
    "state=a&state=b&code=c&code=d",
    "error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error_description=%3Cb%3Ex%3C%2Fb%3E",
])
def test_hostile_callbacks_are_refused_cleanly(client, db, query):
    start(client)
    response = client.get(f"/sign-in/with/nhsmail/callback?{query}")
    assert response.status_code == 400 and signed_in_as(client) is None
    assert "<script>alert(1)" not in response.get_data(as_text=True)
    if "%00" not in query:  # NUL characters are refused before any view runs (mentoring.forms)
        assert last_refusal(db)["method"] == "oidc:nhsmail"


# --- confirming it is you, with the provider ---------------------------------------------------


def _older_than_a_recent_sign_in(client) -> None:
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] = int(time.time()) - 3600
        session.pop(SECOND_FACTOR_AT, None)


def _confirm_with_nhsmail(client, next_url: str = "/account/password") -> str:
    """The confirm page's "Confirm with NHSmail" button; returns the provider's address."""
    page = client.get(f"/sign-in/confirm?next={next_url}").get_data(as_text=True)
    response = client.post("/confirm-it-is-you/with/nhsmail",
                           data={"csrf_token": csrf_token(page), "next": next_url})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def _keep(name: str, page: str) -> None:
    """Pages to look at: written to $KEEP_PAGES when it is set."""
    if os.environ.get("KEEP_PAGES"):
        Path(os.environ["KEEP_PAGES"], name).write_text(page, encoding="utf-8")


def test_someone_who_signs_in_only_with_nhsmail_confirms_it_is_them_there(
        client, oidc_idp, factory, db):
    user = factory.user(email="ada.lovelace@nhs.net", role="coordinator", password_hash=None)
    assert sign_in_with_nhsmail(client, oidc_idp, amr=["pwd", "mfa"]).status_code == 302
    _older_than_a_recent_sign_in(client)
    # a sensitive page sends them to confirm it is them: there is no password to ask for
    asked = client.get("/account/password")
    assert urlsplit(asked.headers["Location"]).path == "/sign-in/confirm"
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    _keep("confirm_with_nhsmail.html", page)
    assert "Confirm with NHSmail" in page and 'name="password"' not in page
    # the provider is asked to sign them in again, and to say when it did
    at_provider = _confirm_with_nhsmail(client)
    asked_for = dict(parse_qsl(urlsplit(at_provider).query))
    assert asked_for["prompt"] == "login" and asked_for["max_age"] == "0"
    oidc_idp.next_sign_in(**nhs_person(amr=["pwd", "mfa"]))
    back = client.get(local_path(oidc_idp.authorize(at_provider)))
    assert back.status_code == 302 and back.headers["Location"] == "/account/password"
    assert client.get("/account/password").status_code == 200
    confirmed = events(db, "sign_in.confirmed")[-1]
    assert confirmed.actor_id == user.id and confirmed.detail["second_factor"] is True


def test_confirming_as_someone_else_at_the_provider_confirms_nothing(client, oidc_idp, factory,
                                                                     db):
    factory.user(email="ada.lovelace@nhs.net", role="coordinator", password_hash=None)
    sign_in_with_nhsmail(client, oidc_idp, amr=["pwd", "mfa"])
    _older_than_a_recent_sign_in(client)
    at_provider = _confirm_with_nhsmail(client)
    oidc_idp.next_sign_in(**nhs_person(sub="subject-grace", email="grace.hopper@nhs.net",
                                       amr=["pwd", "mfa"]))
    refused = client.get(local_path(oidc_idp.authorize(at_provider)))
    assert refused.status_code == 403
    assert "as someone else" in refused.get_data(as_text=True)
    assert last_refusal(db)["reason"] == "not_this_account"
    # still not confirmed: the sensitive page asks again
    assert urlsplit(client.get("/account/password").headers["Location"]).path == \
        "/sign-in/confirm"


def test_a_provider_sign_in_without_a_second_factor_still_asks_for_the_code(
        client, oidc_idp, factory, db):
    user = factory.user(email="ada.lovelace@nhs.net", role="coordinator", password_hash=None)
    sign_in_with_nhsmail(client, oidc_idp, amr=["pwd"])
    set_up_authenticator_app(client, user.email)
    _older_than_a_recent_sign_in(client)
    at_provider = _confirm_with_nhsmail(client)
    oidc_idp.next_sign_in(**nhs_person(amr=["pwd"]))
    back = client.get(local_path(oidc_idp.authorize(at_provider)))
    assert urlsplit(back.headers["Location"]).path == "/sign-in/confirm"
    page = client.get(back.headers["Location"]).get_data(as_text=True)
    _keep("confirm_code_after_nhsmail.html", page)
    assert "Your sign-in is confirmed" in page and 'name="code"' in page
    assert 'name="password"' not in page


def test_an_old_sign_in_at_the_provider_does_not_count_as_confirming(app, oidc_idp, idp_client,
                                                                       factory, db):
    from datetime import UTC, datetime

    from mentoring.auth import oidc

    user = factory.user(email="ada.lovelace@nhs.net", password_hash=None)
    provider = oidc_idp.provider_settings(idp_client)
    identity = oidc.Identity(issuer=oidc_idp.issuer, subject="subject-ada", tenant=TENANT,
                             email=user.email, email_verified=True, second_factor=False)
    db.add(IdentityLink(user_id=user.id, provider="nhsmail", issuer=oidc_idp.issuer,
                        subject="subject-ada", email=user.email))
    db.flush()
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    for auth_time in (None, "1765000000", int(now.timestamp()) - 3600,
                      int(now.timestamp()) + 3600):
        with pytest.raises(oidc.Refused) as refused:
            oidc.confirm(db, provider, identity, user, auth_time, now)
        assert refused.value.reason == "not_recent"
    oidc.confirm(db, provider, identity, user, int(now.timestamp()) - 30, now)  # just now


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x",
                                      "/\\evil.example", "javascript:alert(1)"])
def test_confirming_never_sends_anyone_off_site(client, oidc_idp, factory, next_url):
    factory.user(email="ada.lovelace@nhs.net", role="coordinator", password_hash=None)
    sign_in_with_nhsmail(client, oidc_idp, amr=["pwd", "mfa"])
    _older_than_a_recent_sign_in(client)
    page = client.get("/sign-in/confirm").get_data(as_text=True)
    at_provider = client.post("/confirm-it-is-you/with/nhsmail", data={
        "csrf_token": csrf_token(page), "next": next_url}).headers["Location"]
    oidc_idp.next_sign_in(**nhs_person(amr=["pwd", "mfa"]))
    back = client.get(local_path(oidc_idp.authorize(at_provider)))
    assert back.status_code == 302 and back.headers["Location"] == "/home"


def test_the_confirm_button_needs_its_form_token(client, oidc_idp, factory):
    factory.user(email="ada.lovelace@nhs.net", role="coordinator", password_hash=None)
    sign_in_with_nhsmail(client, oidc_idp, amr=["pwd", "mfa"])
    assert client.post("/confirm-it-is-you/with/nhsmail", data={"next": "/"}).status_code == 400
