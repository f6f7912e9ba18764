"""Throttling of failed sign-ins, per account and per address, stored in the database so that
it holds across processes and workers."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.models import SignInAttempt, utcnow

FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
EMAIL_LENGTH = SignInAttempt.__table__.c.email.type.length  # type: ignore[attr-defined]


class Throttled(Exception):
    def __init__(self, minutes: int) -> None:
        super().__init__(f"Too many failed attempts. Try again in {minutes} minutes.")
        self.minutes = minutes


def throttle_wait(session: Session, email: str, ip: str, now: datetime | None = None) -> int:
    """Minutes to wait before another attempt for this account or address (0: go ahead)."""
    now = now or utcnow()
    since = now - FAILURE_WINDOW
    waits = []
    for column, value, limit in (
        (SignInAttempt.email, _account_key(email), MAX_FAILURES_PER_ACCOUNT),
        (SignInAttempt.ip, ip, MAX_FAILURES_PER_ADDRESS),
    ):
        if not value:
            continue
        failures = session.exec(
            select(SignInAttempt.at).where(
                column == value, SignInAttempt.at >= since, sa.not_(SignInAttempt.succeeded)
            ).order_by(SignInAttempt.at.desc())
        ).all()
        if len(failures) >= limit:
            # Locked until the oldest counted failure leaves the window.
            unlock = failures[limit - 1] + FAILURE_WINDOW
            waits.append(max(1, int((unlock - now).total_seconds() // 60) + 1))
    return max(waits, default=0)


def _account_key(email: str) -> str:
    # Cut to the column's length (no account's address is longer): what anyone types into the
    # sign-in form is counted against the account and the address, never a database error.
    return email.strip().lower()[:EMAIL_LENGTH]


def record_attempt(session: Session, email: str, ip: str, succeeded: bool) -> None:
    session.add(SignInAttempt(email=_account_key(email), ip=ip, succeeded=succeeded))
