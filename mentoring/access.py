"""Role checks for views: every view says who may use it."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode, urlsplit

from flask import abort, redirect, request, session, url_for
from flask_login import current_user, login_required

# How long a sign-in counts as "recent" for approvals, role, email and password changes.
RECENT_SIGN_IN_SECONDS = 15 * 60
SIGNED_IN_AT = "signed_in_at"
# When this session last answered a second factor (or signed in through an identity provider
# that enforced one).
SECOND_FACTOR_AT = "second_factor_at"


def roles_required(*roles: str) -> Callable:
    """Signed in, and holding one of these roles; otherwise 403 (or the sign-in page)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access-matrix test
        return wrapped

    return decorator


def is_safe_redirect(target: str | None) -> bool:
    """Only same-site relative paths: never an open redirect after sign-in."""
    if not target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target


def mark_signed_in() -> None:
    """Called whenever the user proves who they are (sign-in, or confirming their password)."""
    session[SIGNED_IN_AT] = int(time.time())


def mark_second_factor() -> None:
    session[SECOND_FACTOR_AT] = int(time.time())


def needs_second_factor(user) -> bool:
    """Coordinators and admins, and anyone who has set one up, answer a second factor when
    they sign in and before a sensitive action."""
    from mentoring.auth import second_factor
    from mentoring.db import get_session

    return second_factor.is_required(user) or second_factor.has_second_factor(get_session(),
                                                                              user)


def password_confirmed_recently() -> bool:
    """The first factor's part of a recent sign-in (the second factor has its own clock)."""
    return time.time() - session.get(SIGNED_IN_AT, 0) <= RECENT_SIGN_IN_SECONDS


def signed_in_recently() -> bool:
    now = time.time()
    if now - session.get(SIGNED_IN_AT, 0) > RECENT_SIGN_IN_SECONDS:
        return False
    return (now - session.get(SECOND_FACTOR_AT, 0) <= RECENT_SIGN_IN_SECONDS
            or not needs_second_factor(current_user))


def recent_sign_in_required(view: Callable) -> Callable:
    """Sensitive actions need a sign-in within the last 15 minutes, with the second factor for
    those who have one: otherwise the user confirms their password (and code) and comes back.
    A stale POST is not carried out; the user returns to the page the form was on (or the page
    itself, for a GET)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.is_authenticated and not signed_in_recently():
            if request.method == "GET":
                back = request.full_path.rstrip("?")
            else:
                referrer = urlsplit(request.referrer or "")
                same_site = referrer.netloc in ("", request.host)
                back = referrer.path if same_site and is_safe_redirect(referrer.path) else "/"
            return redirect(f"{url_for('auth.confirm_sign_in')}?{urlencode({'next': back})}")
        return view(*args, **kwargs)

    wrapped.recent_sign_in = True  # read by the access-matrix test
    return wrapped
