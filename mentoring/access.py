"""Role checks for views: every view says who may use it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user, login_required


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
