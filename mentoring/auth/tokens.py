"""Signed, expiring tokens for links sent by email. Each purpose has its own salt."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

MAX_AGE_SECONDS = {
    "verify-email": 48 * 3600,
    "reset-password": 3600,
    "sign-in-link": 15 * 60,
    "invitation": 30 * 24 * 3600,
    # A line manager's link to release a leader's time (mentoring.releases): it also ends with
    # the last exchange it is about, and once answered it only shows the answer.
    "time-release": 30 * 24 * 3600,
}


def make_token(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    return URLSafeTimedSerializer(secret, salt=purpose).dumps(payload)


def read_token(secret: str, purpose: str, token: str) -> dict[str, Any] | None:
    """The payload, or None when the token is forged, for another purpose, or expired."""
    try:
        payload = URLSafeTimedSerializer(secret, salt=purpose).loads(
            token, max_age=MAX_AGE_SECONDS[purpose]
        )
    except (BadSignature, SignatureExpired):
        return None
    return payload if isinstance(payload, dict) else None
