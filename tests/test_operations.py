"""Operations (issue 8, part 7): health and readiness, JSON-lines logs with a request id, and
honouring X-Forwarded-* only behind a configured proxy."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import pytest
from sqlmodel import select
from test_crawl import assert_security_headers, page_url
from test_crawl import world as crawl_world  # noqa: F401 (a fixture, asked for by name below)

from mentoring import create_app, logs
from mentoring.config import ConfigError, load_settings
from mentoring.db import make_engine
from mentoring.migrate import head_revision, upgrade
from mentoring.models import AuditEvent

from conftest import TEST_PASSWORD, SignedIn, _session_on, csrf_token, make_settings
from pages import PAGES

STRONG = "x" * 48


def app_on(tmp_path, engine, connection=None, **settings):
    app = create_app({"SETTINGS": make_settings(tmp_path, **settings), "ENGINE": engine})
    if connection is not None:
        app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
    return app


# --- health and readiness ----------------------------------------------------------------------


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "revision": head_revision()}


def test_readyz_is_not_ready_while_migrations_are_behind(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    upgrade(engine, "0001")
    client = app_on(tmp_path, engine).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert (body["revision"], body["expected"]) == ("0001", head_revision())
    assert "mentoring db upgrade" in body["reason"]
    assert client.get("/healthz").status_code == 200  # alive, just not ready
    upgrade(engine)
    assert client.get("/readyz").status_code == 200
    engine.dispose()


def test_readyz_and_healthz_fail_when_the_database_is_unreachable(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}")
    client = app_on(tmp_path, engine).test_client()
    for path in ("/readyz", "/healthz"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.get_json()["status"] == "error"
    assert "database unreachable (OperationalError)" in client.get("/readyz").get_json()["reason"]
    engine.dispose()


def test_an_empty_database_is_not_ready(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    response = app_on(tmp_path, engine).test_client().get("/readyz")
    assert response.status_code == 503
    assert "schema at nothing" in response.get_json()["reason"]
    engine.dispose()


# --- logs --------------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """Install the JSON log handler on a buffer; give back a function that reads its lines."""
    buffer = io.StringIO()
    handler = logs.configure("json", "INFO", stream=buffer)
    root = logging.getLogger()
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def access_lines(lines):
    return [line for line in lines if line["logger"] == logs.ACCESS_LOGGER]


def test_each_request_has_an_id_echoed_in_a_header_and_one_json_access_line(client, log_lines):
    response = client.get("/privacy?email=someone@example.org")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    [line] = access_lines(log_lines())
    assert line["request_id"] == request_id
    assert line["method"] == "GET" and line["path"] == "/privacy" and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["message"] == "GET /privacy 200"
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
    assert "someone@example.org" not in json.dumps(line)  # query strings are never logged
    assert client.get("/privacy").headers["X-Request-ID"] != request_id


def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(client, log_lines):
    kept = client.get("/privacy", headers={"X-Request-ID": "c0ffee-1234.abcd:5"})
    assert kept.headers["X-Request-ID"] == "c0ffee-1234.abcd:5"
    for hostile in ['x" injected="1', "a" * 200, "line\\nbreak", "<script>", " spaced"]:
        response = client.get("/privacy", headers={"X-Request-ID": hostile})
        assert response.headers["X-Request-ID"] != hostile
        assert len(response.headers["X-Request-ID"]) == 32
    ids = [line["request_id"] for line in access_lines(log_lines())]
    assert ids[0] == "c0ffee-1234.abcd:5" and len(set(ids)) == len(ids)


def test_every_record_made_during_a_request_carries_its_id_and_the_users_id(
    app, leader, log_lines
):
    @app.route("/log-something")
    def log_something():
        logging.getLogger("mentoring.test").warning("something happened")
        return "done"

    signed = SignedIn(app, leader.user)
    log_lines()  # (sign-in lines)
    response = signed.get("/log-something")
    lines = [line for line in log_lines() if line.get("request_id") ==
             response.headers["X-Request-ID"]]
    assert [line["logger"] for line in lines] == ["mentoring.test", logs.ACCESS_LOGGER]
    warning, access = lines
    assert warning["level"] == "WARNING" and warning["message"] == "something happened"
    assert warning["user_id"] == access["user_id"] == leader.user.id
    assert warning["path"] == "/log-something"
    everything = json.dumps(log_lines())
    assert leader.user.email not in everything and TEST_PASSWORD not in everything


def test_secret_tokens_in_paths_are_not_logged(client, log_lines):
    client.get("/calendar/secret-calendar-token.ics")
    client.get("/reset-password/secret-reset-token")
    paths = [line["path"] for line in access_lines(log_lines())]
    assert paths == ["/calendar/<token>.ics", "/reset-password/<token>"]


def test_refused_access_is_logged_as_a_security_event(app, leader, log_lines):
    """ASVS 16.3.2: a failed authorisation leaves a warning naming who tried what."""
    signed = SignedIn(app, leader.user)
    log_lines()  # (sign-in lines)
    response = signed.get("/admin/users")
    assert response.status_code == 403
    [event] = [line for line in log_lines() if line["logger"] == logs.SECURITY_LOGGER]
    assert event["level"] == "WARNING" and event["event"] == "access.refused"
    assert event["user_id"] == leader.user.id and event["path"] == "/admin/users"
    assert event["request_id"] == response.headers["X-Request-ID"]


def test_a_forged_or_expired_form_is_logged_as_a_security_event(client, log_lines):
    """ASVS 16.3.3: an attempt to get round CSRF protection is logged (a form without its token)."""
    response = client.post("/sign-in", data={"email": "a@example.org", "password": "x"})
    assert response.status_code == 400
    [event] = [line for line in log_lines() if line["logger"] == logs.SECURITY_LOGGER]
    assert event["event"] == "csrf.refused" and event["method"] == "POST"
    assert "a@example.org" not in json.dumps(event)


def test_health_checks_and_assets_make_no_log_lines(client, log_lines):
    """Load balancers poll these every few seconds: not a line each, of any kind."""
    client.get("/healthz")
    client.get("/readyz")
    client.get("/static/vendor/app.css").close()
    client.get("/privacy")
    assert [line.get("path") for line in log_lines()] == ["/privacy"]


def test_records_outside_a_request_are_json_too(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("mentoring.worker").exception("job failed")
    [line] = log_lines()
    assert line["logger"] == "mentoring.worker" and line["level"] == "ERROR"
    assert "request_id" not in line and "ValueError: boom" in line["exception"]


def test_configuring_twice_replaces_the_handler(log_lines):
    before = len(logging.getLogger().handlers)
    handler = logs.configure("text", "INFO", stream=io.StringIO())
    assert len(logging.getLogger().handlers) == before
    logging.getLogger().removeHandler(handler)


def test_plain_text_logs_name_the_request(client):
    buffer = io.StringIO()
    handler = logs.configure("text", "INFO", stream=buffer)
    try:
        response = client.get("/privacy")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    assert f"INFO mentoring.access [{response.headers['X-Request-ID']}] GET /privacy 200" in (
        buffer.getvalue())


@pytest.mark.parametrize(("environment", "expected"), [
    ("production", "json"), ("development", "text"), ("testing", "text"),
])
def test_log_format_defaults_to_json_in_production(tmp_path, environment, expected):
    settings = load_settings({"SECRET_KEY": STRONG, "MENTORING_ENV": environment},
                             instance_path=tmp_path)
    assert settings.log_format == expected
    assert load_settings({"SECRET_KEY": STRONG, "MENTORING_ENV": environment,
                          "LOG_FORMAT": "TEXT"}, instance_path=tmp_path).log_format == "text"


@pytest.mark.parametrize(("name", "value"), [
    ("LOG_FORMAT", "xml"), ("LOG_LEVEL", "LOUD"), ("TRUSTED_PROXIES", "-1"),
    ("TRUSTED_PROXIES", "one"),
])
def test_nonsense_operations_settings_are_refused(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({"SECRET_KEY": STRONG, name: value}, instance_path=tmp_path)


# --- behind a reverse proxy ----------------------------------------------------------------------


def failed_sign_in_ip(db, client, headers) -> str:
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    # Over HTTPS, Flask-WTF also wants a Referer from the same host (as a browser sends).
    referer = {"Referer": "https://mentoring.example.nhs.uk/sign-in"}
    response = client.post("/sign-in", headers=headers | referer, data={
        "csrf_token": token, "email": "nobody@example.org", "password": "wrong"})
    assert response.status_code == 400 and "not right" in response.get_data(as_text=True)
    db.expire_all()
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "sign_in.failed")
                    .order_by(AuditEvent.id.desc())).first()
    return event.ip


FORWARDED = {"X-Forwarded-For": "198.51.100.23, 203.0.113.9", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "mentoring.example.nhs.uk"}


def test_without_trusted_proxies_forwarded_headers_are_ignored(db, client):
    assert failed_sign_in_ip(db, client, FORWARDED) == "127.0.0.1"
    response = client.get("/privacy", headers=FORWARDED)
    assert "Strict-Transport-Security" not in response.headers  # not fooled into HTTPS


def test_behind_one_trusted_proxy_the_client_address_and_scheme_are_used(
    tmp_path, engine, connection, db
):
    client = app_on(tmp_path, engine, connection, trusted_proxies=1).test_client()
    # One proxy: only the last entry, which our proxy appended, is trusted (the first is
    # whatever the client claimed).
    assert failed_sign_in_ip(db, client, FORWARDED) == "203.0.113.9"
    response = client.get("/privacy", headers=FORWARDED)
    assert "Strict-Transport-Security" in response.headers


def test_behind_two_trusted_proxies_the_address_before_them_is_used(
    tmp_path, engine, connection, db
):
    client = app_on(tmp_path, engine, connection, trusted_proxies=2).test_client()
    assert failed_sign_in_ip(db, client, {"X-Forwarded-For": "192.0.2.1, 198.51.100.23, "
                                                             "203.0.113.9"}) == "198.51.100.23"


def test_trusted_proxies_comes_from_the_environment(tmp_path):
    assert load_settings({"SECRET_KEY": STRONG}, instance_path=tmp_path).trusted_proxies == 0
    assert load_settings({"SECRET_KEY": STRONG, "TRUSTED_PROXIES": "1"},
                         instance_path=tmp_path).trusted_proxies == 1


def test_over_https_every_page_sends_hsts_and_the_other_headers(
    tmp_path, engine, connection, request, admin
):
    """The crawl checks every page over HTTP (no HSTS there); here the same pages, as served
    with an https BASE_URL (the test client then speaks HTTPS), for an anonymous visitor and an
    admin."""
    world = request.getfixturevalue("crawl_world")
    app = app_on(tmp_path, engine, connection, base_url="https://mentoring.example.nhs.uk")
    admin_client = app.test_client()
    token = csrf_token(admin_client.get("/sign-in").get_data(as_text=True))
    signed_in = admin_client.post(
        "/sign-in", headers={"Referer": "https://localhost/sign-in"},
        data={"csrf_token": token, "email": admin.email, "password": TEST_PASSWORD})
    assert signed_in.status_code == 302
    for role, client in {"anonymous": app.test_client(), "admin": admin_client}.items():
        for page in PAGES:
            if page.allows(role):
                response = client.get(page_url(app, page, world))
                response.close()
                assert response.request.scheme == "https"
                assert_security_headers(response, f"{page.endpoint} as {role}", https=True)
