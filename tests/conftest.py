"""Shared fixtures: the app on each database backend, signed-in clients, factories, a browser.

Every test that uses the database runs on SQLite, and also on PostgreSQL when TEST_DATABASE_URL
is set. Each backend gets a scratch database, migrated with Alembic (so the migrations are
exercised on every run); each test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from authenticator import RECOVERY_CODES, TOTP_SECRETS, USED_STEPS, totp_code
from sqlmodel import Session

from mentoring import create_app
from mentoring.config import Settings
from mentoring.db import make_engine
from mentoring.migrate import upgrade
from mentoring.passwords import use_fast_hashing_for_tests
from mentoring.releases.services import set_link_secret

from factories import Factory

use_fast_hashing_for_tests()
# Services sign line managers' links with the secret create_app sets; tests that build no app
# (the demo loader's) need one too.
set_link_secret(secrets.token_urlsafe(48))

TEST_PASSWORD = "correct-horse-battery"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def make_settings(tmp_path: Path, database_url: str = "sqlite://", **overrides) -> Settings:
    values = {
        "environment": "testing",
        "secret_key": secrets.token_urlsafe(48),
        "database_url": database_url,
        "smtp_url": None,
        "mail_from": "Leadership exchange <no-reply@example.org>",
        "base_url": "http://localhost",
        "instance_path": tmp_path,
        "mail_dir": tmp_path / "mail",
    }
    values.update(overrides)
    return Settings(**values)


# --- databases -----------------------------------------------------------------------------


class ScratchPostgres:
    """Creates a uniquely named database on the TEST_DATABASE_URL server and drops it after."""

    def __init__(self, admin_url: str) -> None:
        self.admin = sa.make_url(admin_url)
        self.name = f"mentoring_test_{secrets.token_hex(4)}"
        self.url = self.admin.set(database=self.name)

    def __enter__(self) -> str:
        engine = sa.create_engine(self.admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()
        return self.url.render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        engine = sa.create_engine(self.admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        engine.dispose()


def scratch_database_url(backend: str, tmp_dir: Path, stack) -> str:
    if backend == "postgresql":
        return stack.enter_context(ScratchPostgres(os.environ["TEST_DATABASE_URL"]))
    return f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request, tmp_path_factory) -> Iterator[sa.Engine]:
    from contextlib import ExitStack

    with ExitStack() as stack:
        url = scratch_database_url(request.param, tmp_path_factory.mktemp(request.param), stack)
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def connection(engine) -> Iterator[sa.Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()


def _session_on(connection: sa.Connection) -> Session:
    # Commits inside the code under test become savepoints; the test's transaction rolls back.
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(connection) -> Iterator[Session]:
    session = _session_on(connection)
    yield session
    session.close()


@pytest.fixture
def factory(db) -> Factory:
    return Factory(db, TEST_PASSWORD)


# --- the app -------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings, engine, connection):
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


class SignedIn:
    """A test client signed in through the real sign-in form (CSRF and all), and through the
    second factor the way a person does it: a coordinator or admin sets up the authenticator
    app when asked (reading the key off the page) and answers its codes (pyotp)."""

    def __init__(self, app, user) -> None:
        self.user = user
        self.client = app.test_client()
        page = self.client.get("/sign-in")
        token = csrf_token(page.get_data(as_text=True))
        response = self.client.post(
            "/sign-in", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, "signing in the test user failed"
        response = answer_second_factor(self.client, response, user.email)
        assert response.status_code == 302, "the second factor of the test user failed"

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        """POST with the CSRF token from the page at `url` (or kwargs['form_page'])."""
        page = self.client.get(kwargs.pop("form_page", url))
        payload = {"csrf_token": csrf_token(page.get_data(as_text=True)), **(data or {})}
        return self.client.post(url, data=payload, **kwargs)


SETUP_PATH = "/account/second-factor/setup"
CHALLENGE_PATH = "/sign-in/second-factor"


def set_up_authenticator_app(client, email: str, path: str = SETUP_PATH):
    """Scan the key off the setup page into an "app", answer its first code, and save the
    recovery codes shown once. Returns the answer to the setup form."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert match, "the setup page shows no key"
    TOTP_SECRETS[email] = match.group(1).replace(" ", "")
    USED_STEPS.pop(email, None)
    response = client.post(path, data={"csrf_token": csrf_token(page), "code": totp_code(email)})
    assert response.status_code == 302, "setting up the authenticator app failed"
    codes = client.get(response.headers["Location"]).get_data(as_text=True)
    RECOVERY_CODES[email] = re.findall(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", codes)
    assert len(RECOVERY_CODES[email]) == 10
    return response


def answer_second_factor(client, response, email: str):
    """After the password: set up the app, or enter its code, if the app asks."""
    location = response.headers.get("Location", "")
    if location.endswith(SETUP_PATH):
        return set_up_authenticator_app(client, email)
    if location.endswith(CHALLENGE_PATH):
        page = client.get(CHALLENGE_PATH).get_data(as_text=True)
        return client.post(CHALLENGE_PATH, data={"csrf_token": csrf_token(page),
                                                 "code": totp_code(email)})
    return response


def browser_sign_in(page, base: str, email: str, password: str = TEST_PASSWORD) -> None:
    """Sign in in a real browser, with the second factor where the app asks for one."""
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(f"{re.escape(base)}/(home|account/second-factor/setup|"
                                 "sign-in/second-factor)$"))
    if page.url.endswith(SETUP_PATH):
        TOTP_SECRETS[email] = page.locator("#totp-secret").inner_text().replace(" ", "")
        USED_STEPS.pop(email, None)
        page.get_by_label("Enter the 6-digit code the app now shows").fill(totp_code(email))
        page.get_by_role("button", name="Continue").click()
        RECOVERY_CODES[email] = page.locator("#recovery-codes code").all_inner_texts()
        page.get_by_role("button", name="I have saved my codes").click()
    elif page.url.endswith(CHALLENGE_PATH):
        page.get_by_label("Enter the code from your authenticator app").fill(totp_code(email))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/home")


def session_row(db: Session, client):
    """The server's row for the session this test client's cookie names (or None)."""
    from sqlmodel import select

    from mentoring.auth.session_store import hash_id
    from mentoring.models import UserSession

    cookie = client.get_cookie("session")
    if cookie is None:
        return None
    db.expire_all()
    return db.exec(select(UserSession).where(UserSession.id_hash == hash_id(cookie.value))).first()


def age_session_row(db: Session, client, *, signed_in: int = 0, last_seen: int = 0) -> None:
    """Move a session's times on the server into the past by so many seconds, as if time had
    passed (the idle and absolute limits read them)."""
    from datetime import timedelta

    row = session_row(db, client)
    assert row is not None, "the client has no session on the server"
    row.created_at -= timedelta(seconds=signed_in)
    row.last_seen_at -= timedelta(seconds=last_seen)
    db.add(row)
    db.commit()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def leader(factory):
    return factory.leader(email="leader.a@example.org", name="Ada Leader")


@pytest.fixture
def coordinator(factory):
    return factory.user(email="coordinator@example.org", role="coordinator")


@pytest.fixture
def admin(factory):
    return factory.user(email="admin@example.org", role="admin")


@pytest.fixture
def leader_client(app, leader) -> SignedIn:
    return SignedIn(app, leader.user)


@pytest.fixture
def coordinator_client(app, coordinator) -> SignedIn:
    return SignedIn(app, coordinator)


@pytest.fixture
def admin_client(app, admin) -> SignedIn:
    return SignedIn(app, admin)


# --- a live server and a real browser --------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class LiveServer:
    """The real app on a loopback port, on its own migrated SQLite file, in a thread."""

    def __init__(self, tmp_path: Path, **settings) -> None:
        from werkzeug.serving import make_server

        self.engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
        upgrade(self.engine)
        self.app = create_app(
            {
                "SETTINGS": make_settings(tmp_path, self.engine.url.render_as_string(),
                                          **settings),
                "ENGINE": self.engine,
            }
        )
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def stop(self) -> None:
        self.server.shutdown()
        self.engine.dispose()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


# --- a real OpenID Connect provider on loopback (tests/oidc/provider.mjs) -------------------


@pytest.fixture(scope="session")
def oidc_idp():
    from oidc_provider import OidcTestProvider

    idp = OidcTestProvider()
    yield idp
    idp.stop()


@pytest.fixture
def settings_with_sign_in_provider(tmp_path, oidc_idp) -> Settings:
    """Settings with "Sign in with NHSmail" configured against the test provider (for the
    access matrix and the crawl, which visit its pages)."""
    client = oidc_idp.register_client("http://localhost/sign-in/with/nhsmail/callback")
    return make_settings(tmp_path, oidc_providers=(oidc_idp.provider_settings(client),))


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


# The optimiser tests' helper (tests/optimiser). Here rather than in a conftest.py of its own:
# two modules named `conftest` on the path made `from conftest import SignedIn` find the wrong
# one when a worker collected tests/optimiser first.
@pytest.fixture
def mk():
    from optimiser import testing

    return testing


@pytest.fixture
def cli_env(tmp_path):
    """The environment of a `mentoring` command run as a real process: production settings on
    a scratch SQLite file (test_cli, test_configuration)."""
    env = {
        **os.environ,
        "MENTORING_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "INSTANCE_PATH": str(tmp_path),
    }
    env.pop("FLASK_APP", None)
    return env


# --- emails and links, as the sign-in tests read them -------------------------------------------


def post_with_csrf(client, url, data, form_page=None):
    """A raw test client's POST with the CSRF token of the page at `form_page` (or `url`)."""
    token = csrf_token(client.get(form_page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def emails_to(db, address, kind=None):
    """The emails written to `address` (of one kind, if given), oldest first."""
    from sqlmodel import select

    from mentoring.models import Notification

    db.expire_all()
    query = select(Notification).where(Notification.recipient_email == address)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.exec(query.order_by(Notification.id)).all())


def path_in(notification, prefix: str) -> str:
    """The path of the link starting with `prefix` in an email's text."""
    match = re.search(rf"http://localhost({re.escape(prefix)}/\S+)", notification.body_text)
    assert match, notification.body_text
    return match.group(1)
