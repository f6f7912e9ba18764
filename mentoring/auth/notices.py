"""Telling people about changes to how they sign in, so someone else's change is noticed.

`notify_security_change` is the one entry point: password changes and resets call it here, and
so does anything that changes an account's email address or second factor (an authenticator
app, a passkey, recovery codes, an admin's reset). No Flask: views, CLI and services call it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session

from mentoring.models import User, utcnow
from mentoring.notifications.outbox import enqueue

LONDON = ZoneInfo("Europe/London")

# What changed: the email's subject, and the sentence that says what happened.
CHANGES = {
    "password": ("Your password was changed", "The password of your account was changed."),
    "email": ("The email address of your account was changed",
              "The email address of your account was changed."),
    "second_factor": ("Your second sign-in step was changed",
                      "The second step you use to sign in (an authenticator app, a passkey or "
                      "your recovery codes) was changed."),
}


def notify_security_change(session: Session, user: User, what: str, *, detail: str = "",
                           to_email: str | None = None) -> None:
    """Email the account's owner that `what` ("password", "email" or "second_factor") changed,
    with `detail` (one plain sentence, e.g. "A passkey was added.") if given. For an email
    change, call it with `to_email` set to the old address too: the owner may no longer read
    the new one. Goes into the outbox in the caller's transaction; the caller commits."""
    subject, sentence = CHANGES[what]
    now = utcnow()
    recipient = to_email or user.email
    enqueue(
        session, key=f"security-change:{what}:{user.id}:{recipient}:{now.isoformat()}",
        kind="security_change", recipient_email=recipient, recipient_user_id=user.id,
        subject=subject, template="security_change",
        context={"email": user.email, "sentence": sentence, "detail": detail,
                 "changed_at": _london_time(now), "reset_path": "/reset-password",
                 "account_path": "/account"},
    )


def _london_time(moment) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M} (UK time)"
