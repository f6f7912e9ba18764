"""Wiring of the web layer: templates, sign-in, sessions, CSRF, security headers, logging,
blueprints."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from mentoring.config import Settings
from mentoring.resources import project_folder

TEMPLATES_DIR = project_folder("templates")
NHSUK_ASSETS_DIR = Path(__file__).resolve().parent / "static" / "vendor" / "nhsuk"

csrf = CSRFProtect()
login_manager = LoginManager()


def flask_config(settings: Settings) -> dict[str, Any]:
    secure = settings.secure_cookies
    return {
        "SECRET_KEY": settings.secret_key,
        "SERVER_NAME": None,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        # The __Host- prefix pins the cookie to this host and path, but needs HTTPS.
        "SESSION_COOKIE_NAME": "__Host-session" if secure else "session",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Sessions end on the server after SESSION_IDLE_MINUTES idle or SESSION_MAX_HOURS in
        # all (mentoring.auth.sessions); the cookie itself lasts until the browser closes.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.session_max_hours),
        # Remember-me is off: nothing calls login_user(remember=True), so no remember cookie is
        # ever set (tests/test_sessions.py). These settings only harden it should that change.
        "REMEMBER_COOKIE_DURATION": timedelta(hours=settings.session_max_hours),
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": settings.session_max_hours * 3600,
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
        "TESTING": settings.environment == "testing",
    }


def init_app(app: Flask) -> None:
    from mentoring import layout, logs
    from mentoring.auth.sessions import (
        ServerSessionInterface,
        enforce_timeouts,
        raise_session_failure,
    )

    settings: Settings = app.extensions["mentoring.settings"]
    if settings.trusted_proxies:
        # Behind N proxies, the Nth-from-last X-Forwarded-For entry is the client (the audit
        # log's address); without proxies, those headers are anyone's to forge and are ignored.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    logs.init_app(app)
    # Autoescape every template, not only *.html: the NHS.UK macros are *.jinja files, and
    # without this the text and values passed to them (names, emails, errors) are not escaped.
    app.jinja_options = {**app.jinja_options, "undefined": ChainableUndefined,
                         "autoescape": True}
    app.jinja_loader = ChoiceLoader(
        [FileSystemLoader(str(TEMPLATES_DIR)), PackageLoader("nhsuk_frontend_jinja")]
    )
    # First of all: every page, even CSRF's "form expired" page, needs its CSP nonce.
    app.before_request(_make_csp_nonce)
    # Sessions live on the server; the cookie carries a random id (mentoring.auth.sessions).
    app.session_interface = ServerSessionInterface()
    app.before_request(raise_session_failure)  # before CSRF's check, which reads the session
    csrf.init_app(app)
    _init_login(app)

    from mentoring import filters
    from mentoring.admin.views import bp as admin_bp
    from mentoring.auth.oidc_views import init_app as init_oidc
    from mentoring.auth.second_factor_views import bp as second_factor_bp
    from mentoring.auth.views import bp as auth_bp
    from mentoring.availability.views import bp as availability_bp
    from mentoring.confidence.views import bp as confidence_bp
    from mentoring.configuration import views as configuration_views
    from mentoring.errors import init_app as init_errors
    from mentoring.exchanges.views import bp as exchanges_bp
    from mentoring.forms import RowIdConverter, refuse_control_characters
    from mentoring.insights.views import bp as insights_bp
    from mentoring.main.views import bp as main_bp
    from mentoring.matching.by_hand_views import bp as by_hand_bp
    from mentoring.matching.views import bp as matching_bp
    from mentoring.mydata.views import bp as mydata_bp
    from mentoring.notifications.views import bp as outbox_bp
    from mentoring.outcomes.views import bp as outcomes_bp
    from mentoring.profile.views import bp as profile_bp
    from mentoring.releases.views import bp as release_bp
    from mentoring.rounds.views import bp as rounds_bp
    from mentoring.visits.views import bp as visits_bp

    filters.init_app(app)
    app.url_map.converters["int"] = RowIdConverter  # before any route uses it
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(second_factor_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(profile_bp)
    app.register_blueprint(availability_bp)
    app.register_blueprint(exchanges_bp)
    app.register_blueprint(mydata_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(by_hand_bp)
    app.register_blueprint(insights_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(visits_bp)
    app.register_blueprint(release_bp)
    app.register_blueprint(confidence_bp)
    app.register_blueprint(outcomes_bp)
    configuration_views.init_app(app)
    init_oidc(app)  # single sign-on: its blueprint and one client per identity provider
    init_errors(app)

    app.before_request(refuse_control_characters)  # after the nonce: it may render a page
    app.before_request(enforce_timeouts)
    app.after_request(_security_headers)
    layout.init_app(app)


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from mentoring.auth.sessions import load_user

    login_manager.user_loader(load_user)


def _make_csp_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def _form_targets(settings) -> str:
    """'self', and each identity provider's origin: "Sign in with NHSmail" is a form whose answer
    redirects there, and browsers hold redirects after a form to form-action too."""
    origins = dict.fromkeys("{0.scheme}://{0.netloc}".format(urlsplit(provider.discovery_url))
                            for provider in settings.oidc_providers)
    return " ".join(["'self'", *origins])


def _security_headers(response):
    nonce = g.get("csp_nonce", "")
    form_targets = _form_targets(current_app.extensions["mentoring.settings"])
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self'; form-action {form_targets}; base-uri 'self'; "
        "frame-ancestors 'none'; object-src 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure or current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    if current_user and current_user.is_authenticated:
        response.headers.setdefault("Cache-Control", "no-store")
    if carries_a_secret_in_its_url():
        # Neither a browser's cache nor a shared proxy keeps the page (its URL is the key), and
        # the URL goes to no other site as a referrer.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


# Endpoints whose query string carries a secret (an identity provider's code and state).
SECRET_QUERY_ENDPOINTS = {"oidc.callback"}


def carries_a_secret_in_its_url() -> bool:
    """Pages reached by a link with a token in it: email links (confirmation, reset, sign-in,
    invitation, line-manager release), the calendar feed and single sign-on's callback."""
    rule = request.url_rule
    if rule is not None and any("token" in name for name in rule.arguments):
        return True
    return request.endpoint in SECRET_QUERY_ENDPOINTS
