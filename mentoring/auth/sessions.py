"""Idle and absolute session timeouts, checked before every request.

The session is a signed cookie, so the times live in it: `signed_in_at` (set whenever the user
proves who they are: signing in, or confirming their password) and `last_seen_at` (every
request). A cookie cannot be edited without the secret key, and the session version on the user
row (see `services.end_all_sessions`) ends sessions from the server's side.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from mentoring import logs
from mentoring.access import SIGNED_IN_AT

LAST_SEEN_AT = "last_seen_at"
# The idle clock moves at most once a minute: moving it rewrites (and re-signs) the session
# cookie, which every request would otherwise do. Idle limits are whole minutes, so a session
# can outlive its limit by less than a minute.
LAST_SEEN_RESOLUTION_SECONDS = 60
# Requests that never need the signed-in user: no database look-up, no cookie rewritten.
UNCHECKED_ENDPOINTS = {"static", "main.nhsuk_assets", "main.healthz", "main.readyz"}


def mark_active() -> None:
    """Called on sign-in and on every request of a signed-in user: the idle clock restarts."""
    session[LAST_SEEN_AT] = int(time.time())


def idle_message(minutes: int) -> str:
    return f"You were signed out after {minutes} minutes without activity. Sign in again."


def expired_message(hours: int) -> str:
    return (f"You were signed out because you signed in more than {hours} hours ago. "
            "Sign in again.")


def session_ended_reason(now: float, signed_in_at: float, last_seen_at: float,
                         idle_minutes: int, max_hours: int) -> str | None:
    """Why a session must end now (a message for the user), or None while it is still good."""
    if now - signed_in_at > max_hours * 3600:
        return expired_message(max_hours)
    if now - last_seen_at > idle_minutes * 60:
        return idle_message(idle_minutes)
    return None


def enforce_timeouts():
    """A `before_request` hook: sign out a session that has been idle or open too long."""
    if request.endpoint in UNCHECKED_ENDPOINTS or not current_user.is_authenticated:
        logs.set_user(None)
        return None
    settings = current_app.extensions["mentoring.settings"]
    now = time.time()
    # A session from before these timestamps existed counts as expired: sign in again.
    signed_in_at = session.get(SIGNED_IN_AT, 0)
    last_seen_at = session.get(LAST_SEEN_AT, signed_in_at)
    reason = session_ended_reason(now, signed_in_at, last_seen_at,
                                  settings.session_idle_minutes, settings.session_max_hours)
    if reason is None:
        if now - last_seen_at >= LAST_SEEN_RESOLUTION_SECONDS:
            mark_active()
        logs.set_user(current_user.id)
        return None
    logout_user()
    session.clear()
    flash(reason, "info")
    logs.set_user(None)
    target = url_for("auth.sign_in")
    if request.method == "GET":
        target += "?" + urlencode({"next": request.full_path.rstrip("?")})
    return redirect(target)
