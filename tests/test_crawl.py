"""Visit every page as every role: no server errors, the wrong role is kept out, and no serious
or critical accessibility violations (axe, WCAG 2.2 AA) in a real browser."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from accessibility import assert_accessible, assert_nhs_font
from conftest import TEST_PASSWORD, SignedIn, browser_sign_in
from matching_world import stored_run
from pages import PAGES, REDIRECTS_WHEN_SIGNED_IN, ROLES, Page


@pytest.fixture
def settings(settings_with_sign_in_provider):
    """With "Sign in with NHSmail" configured, so its pages are visited too."""
    return settings_with_sign_in_provider


@dataclass
class World:
    """Objects the crawl's URLs point at: leader A's data, and a round with them in it."""

    leader_a: object
    leader_b: object
    programme_round: object
    # Leader B mentors leader A: an approved match, an exchange to come and one that has been.
    match: object = None
    exchange: object = None
    past_exchange: object = None
    hosted_exchange: object = None  # one to come that leader A hosts
    calendar_token: str = ""  # leader A's calendar feed secret
    run: object = None  # a finished optimisation run of the round
    reflection: object = None  # leader A's reflection on the past exchange
    import_job: object = None  # a big import the worker has done (issue 17)
    approval_job: object = None  # a big approval of `run` waiting for the worker


@pytest.fixture
def world(factory, leader) -> World:
    programme_round = factory.programme_round(name="Crawl round")
    other = factory.mentor(email="leader.b@example.org", name="Ben Mentor")
    factory.participant(programme_round, leader)
    factory.participant(programme_round, other)
    matched = leader_a_matched(factory, leader, other, programme_round)
    return World(leader_a=leader, leader_b=other, programme_round=programme_round, **matched,
                 **background_jobs(factory, programme_round, matched["run"]))


def leader_a_matched(factory, leader_a, leader_b, programme_round) -> dict:
    """Leader B mentors leader A (approved); one exchange to come, one past; a calendar link."""
    from datetime import UTC, datetime

    from mentoring.exchanges.reflections import add_reflection
    from mentoring.exchanges.services import create_calendar_token

    match = factory.match(
        programme_round, leader_b, leader_a, status="offered", score=7.5,
        reasons=["Ben can help with system leadership, one of Ada's goals"],
    )
    exchange = factory.exchange(match, datetime(2030, 3, 5, 9, 0, tzinfo=UTC),
                                location="Lewisham Hospital", preparation="Read the brief")
    past = factory.exchange(match, datetime(2024, 3, 5, 9, 0, tzinfo=UTC),
                            host_id=leader_a.id, visitor_id=leader_b.id)
    hosted = factory.exchange(match, datetime(2030, 3, 19, 13, 0, tzinfo=UTC),
                              host_id=leader_a.id, visitor_id=leader_b.id,
                              location="Hilly Fields Surgery", address="1 Hilly Fields\nSE4 1AA")
    token = create_calendar_token(factory.session, leader_a, leader_a.user)
    reflection = add_reflection(factory.session, leader_a, "I learned to listen first.", past.id,
                                datetime(2024, 3, 6, 9, 0, tzinfo=UTC))
    # Insights (issue 7): leader B's feedback on the past exchange, and a published "you said,
    # we did" page that leader A can read.
    factory.feedback(past, leader_b, rating=4, learned="How a GP practice runs its huddles")
    programme_round.you_said_we_did = "You asked for more notice. We now book four weeks ahead."
    programme_round.you_said_we_did_published_at = datetime(2024, 4, 1, tzinfo=UTC)
    factory.session.add(programme_round)
    factory.session.flush()
    # Outcomes (issue 20): an agreement both confirmed and shared, leader A's mid-point
    # check-in and a concern leader A raised.
    from mentoring.models import CheckIn, Concern, PairAgreement

    signed = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)
    factory.session.add_all([
        PairAgreement(match_id=match.id, shared_work="Map one discharge pathway together",
                      mentor_learning="How a practice plans", mentee_learning="How boards decide",
                      share_with_coordinators=True, mentor_confirmed_at=signed,
                      mentee_confirmed_at=signed),
        CheckIn(match_id=match.id, round_id=programme_round.id, leader_id=leader_b.id,
                point="midpoint", have_met="yes", going_well="well",
                anything_else="Our first visit was a revelation"),
        Concern(match_id=match.id, round_id=programme_round.id, raised_by_id=leader_a.id,
                text="I am worried the visits keep moving"),
    ])
    factory.session.flush()
    run = stored_run(factory.session, programme_round, leader_b, leader_a)
    return {"match": match, "exchange": exchange, "past_exchange": past, "hosted_exchange": hosted,
            "calendar_token": token, "run": run, "reflection": reflection}


def background_jobs(factory, programme_round, run) -> dict:
    """A big import the worker has done, and a big approval of `run` still waiting for it."""
    from mentoring.models import BackgroundJob

    done = BackgroundJob(kind="import", round_id=programme_round.id, status="succeeded",
                         payload={"filename": "leaders.csv", "people": [], "skipped": []},
                         result={"invited": ["new.leader@example.org"]}, total=1, done=1)
    waiting = BackgroundJob(kind="approval", round_id=programme_round.id, total=4,
                            payload={"run_id": run.id, "pairs": 2}, stage="Waiting")
    factory.session.add_all([done, waiting])
    factory.session.flush()
    return {"import_job": done, "approval_job": waiting}


def page_url(app, page: Page, world=None) -> str:
    if callable(page.url):
        return page.url(world)
    if page.url:
        return page.url
    with app.test_request_context():
        from flask import url_for

        return url_for(page.endpoint)


def test_every_page_is_declared(app):
    declared = {page.endpoint for page in PAGES}
    get_routes = {
        rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())
    }
    undeclared = sorted(get_routes - declared)
    assert not undeclared, f"add these pages to tests/pages.py with who may see them: {undeclared}"
    assert not declared - get_routes, "tests/pages.py lists pages the app no longer has"


@pytest.fixture
def clients(app, client, leader, coordinator, admin):
    return {
        "anonymous": client,
        "leader": SignedIn(app, leader.user).client,
        "coordinator": SignedIn(app, coordinator).client,
        "admin": SignedIn(app, admin).client,
    }


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_its_pages_and_is_kept_out_of_others(app, clients, world, role):
    client = clients[role]
    for page in PAGES:
        url = page_url(app, page, world)
        response = client.get(url)
        response.close()  # file responses hold the file open until closed
        assert response.status_code < 500, f"{url} as {role}: {response.status_code}"
        if page.allows(role):
            expected = {302} if (role != "anonymous" and page.endpoint in
                                 REDIRECTS_WHEN_SIGNED_IN) else {page.status}
        elif role == "anonymous":
            expected = {302}
            assert "/sign-in" in response.headers.get("Location", ""), url
        else:
            expected = {403}
        assert response.status_code in expected, f"{url} as {role}: {response.status_code}"


def test_unknown_pages_get_the_service_404_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


CSP_NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'")
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
# Pages with secrets in their address (the calendar feed) send no referrer at all.
STRICT_REFERRER_POLICIES = {"strict-origin-when-cross-origin", "no-referrer"}


def assert_security_headers(response, where: str, *, https: bool) -> str:
    """CSP with a fresh nonce that every script on the page carries, no framing, no sniffing, a
    referrer policy, and HSTS exactly when served over HTTPS. Returns the nonce.
    (tests/test_operations.py runs it over HTTPS.)"""
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, where
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    nonce = CSP_NONCE.search(csp)
    assert nonce, f"{where}: no script nonce in {csp}"
    if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
        scripts = SCRIPT_TAG.findall(response.get_data(as_text=True))
        assert scripts, f"{where}: the NHS.UK frontend's scripts are missing"
        for tag in scripts:
            assert f'nonce="{nonce.group(1)}"' in tag, f"{where}: {tag} lacks the nonce"
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] in STRICT_REFERRER_POLICIES, where
    hsts = response.headers.get("Strict-Transport-Security")
    if https:
        assert hsts and "max-age=31536000" in hsts, where
    else:
        assert hsts is None, f"{where}: HSTS over plain HTTP"
    return nonce.group(1)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_sends_security_headers(app, clients, world, role):
    nonces = set()
    for page in PAGES:
        if not page.allows(role):
            continue
        response = clients[role].get(page_url(app, page, world))
        response.close()
        nonces.add(assert_security_headers(response, f"{page.endpoint} as {role}",
                                           https=False))
    assert len(nonces) == len([page for page in PAGES if page.allows(role)]), "nonce reused"


def test_healthz_checks_the_database(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


# --- in a real browser, with axe ------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, oidc_idp):
    """The live server, with "Sign in with NHSmail" configured like the test client's app."""
    from conftest import LiveServer

    client = oidc_idp.register_client("http://localhost/sign-in/with/nhsmail/callback")
    server = LiveServer(tmp_path_factory.mktemp("live"),
                        oidc_providers=(oidc_idp.provider_settings(client),))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_world(live_server):
    """Accounts for each role and the crawl's World, in the live server's database."""
    from factories import Factory

    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        leader = factory.leader(email="leader@example.org", name="Ada Leader")
        other = factory.mentor(email="mentor@example.org", name="Ben Mentor")
        programme_round = factory.programme_round(name="Spring exchange")
        factory.participant(programme_round, leader)
        factory.participant(programme_round, other)
        matched = leader_a_matched(factory, leader, other, programme_round)
        matched |= background_jobs(factory, programme_round, matched["run"])
        users = {
            "leader": leader.user.email,
            "coordinator": factory.user(email="coord@example.org", role="coordinator").email,
            "admin": factory.user(email="admin@example.org", role="admin").email,
        }
        session.commit()
        return users, World(leader_a=leader, leader_b=other, programme_round=programme_round,
                            **matched)


@pytest.mark.browser
@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_accessible_in_a_real_browser(page, live_server, live_world, role):
    users, world = live_world
    if role != "anonymous":
        browser_sign_in(page, live_server.url, users[role])
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    for declared in PAGES:
        if not declared.html or not declared.allows(role):
            continue
        if role != "anonymous" and declared.endpoint in REDIRECTS_WHEN_SIGNED_IN:
            continue
        response = page.goto(live_server.url + page_url(live_server.app, declared, world))
        assert response.status == declared.status, f"{declared.endpoint} as {role}"
        assert page.locator("h1").count() == 1, f"{declared.endpoint} needs exactly one h1"
        assert_accessible(page)
        assert_nhs_font(page)
    # The NHS.UK frontend's JavaScript loads under the strict CSP and marks the page as enhanced.
    assert "nhsuk-frontend-supported" in (page.get_attribute("body", "class") or "")
    assert not [e for e in errors if "Content Security Policy" in e], errors
