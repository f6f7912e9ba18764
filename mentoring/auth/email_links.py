"""Single-use links sent by email, and limits on the emails anyone can ask for.

A link is a random secret; only its SHA-256 is stored (like the calendar feed's), so the link
carries nothing about the account (no password-hash material, unlike a signed token would),
works once, and can be revoked: signing out everywhere, a password reset, deactivation and
deletion spend every link the account still has.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.models import EmailLink, EmailRequest, User, utcnow

VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"  # noqa: S105 (a purpose, not a password)
LIFETIMES = {VERIFY_EMAIL: timedelta(hours=48), RESET_PASSWORD: timedelta(hours=1)}

# Emails anyone can ask for from a public form, counted whether or not the address has an
# account (so the limit itself reveals nothing): per email address and kind, a few an hour is
# plenty for a person whose email is slow; per network address, enough for a shared NHS proxy
# at a busy hour but not for sending mail at scale.
REQUEST_WINDOW = timedelta(hours=1)
MAX_REQUESTS_PER_EMAIL = 3
MAX_REQUESTS_PER_ADDRESS = 30
EMAIL_LENGTH = EmailRequest.__table__.c.email.type.length  # type: ignore[attr-defined]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, purpose: str, email: str, user: User | None = None) -> str:
    """A new link's secret (to put in the email; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    session.add(EmailLink(purpose=purpose, token_hash=_hash(token), email=email,
                          user_id=user.id if user else None,
                          expires_at=utcnow() + LIFETIMES[purpose]))
    session.flush()
    return token


@dataclass(frozen=True)
class Found:
    """A link looked up: `link` when it still works, else why not ("used", "expired",
    "unknown"), so the page can say which."""

    link: EmailLink | None
    problem: str = ""


def find(session: Session, purpose: str, token: str, now: datetime | None = None) -> Found:
    if not token or len(token) > 200:
        return Found(None, "unknown")
    link = session.exec(select(EmailLink).where(EmailLink.token_hash == _hash(token),
                                                EmailLink.purpose == purpose)).first()
    if link is None:
        return Found(None, "unknown")
    if link.used_at is not None:
        return Found(None, "used")
    if link.expires_at <= (now or utcnow()):
        return Found(None, "expired")
    return Found(link)


def spend(session: Session, link: EmailLink) -> bool:
    """Mark the link used, atomically: of two requests racing with one link, one wins."""
    spent = session.execute(
        sa.update(EmailLink).where(EmailLink.id == link.id, EmailLink.used_at.is_(None))  # type: ignore[union-attr]
        .values(used_at=utcnow())
    ).rowcount
    session.refresh(link)
    return spent == 1


def revoke(session: Session, user: User, *, purposes: tuple[str, ...] = (),
           email: str | None = None) -> int:
    """Spend every link of the account (or to its address) that still works."""
    owner = sa.or_(EmailLink.user_id == user.id, EmailLink.email == (email or user.email))
    query = sa.update(EmailLink).where(owner, EmailLink.used_at.is_(None))  # type: ignore[union-attr]
    if purposes:
        query = query.where(EmailLink.purpose.in_(purposes))  # type: ignore[attr-defined]
    return session.execute(query.values(used_at=utcnow())).rowcount


# --- limits on the emails the public forms send ------------------------------------------------


class TooManyEmails(Exception):
    def __init__(self, minutes: int) -> None:
        super().__init__(f"You have asked for too many emails. Try again in {minutes} minutes.")
        self.minutes = minutes


def count_request(session: Session, kind: str, email: str, ip: str,
                  now: datetime | None = None) -> None:
    """Record a request for an email, or raise TooManyEmails (audited) when this address or
    this network address has asked for too many within the hour."""
    now = now or utcnow()
    since = now - REQUEST_WINDOW
    key = email.strip().lower()[:EMAIL_LENGTH]
    waits = []
    for condition, limit in (
        ((EmailRequest.email == key) & (EmailRequest.kind == kind), MAX_REQUESTS_PER_EMAIL),
        (EmailRequest.ip == ip if ip else None, MAX_REQUESTS_PER_ADDRESS),
    ):
        if condition is None:
            continue
        times = session.exec(select(EmailRequest.at).where(condition, EmailRequest.at >= since)
                             .order_by(EmailRequest.at.desc()).limit(limit)).all()
        if len(times) >= limit:
            unlock = times[limit - 1] + REQUEST_WINDOW
            waits.append(max(1, int((unlock - now).total_seconds() // 60) + 1))
    if waits:
        audit.record(session, "email.throttled", detail={"kind": kind, "email": key}, ip=ip)
        raise TooManyEmails(max(waits))
    session.add(EmailRequest(kind=kind, email=key, ip=ip, at=now))
    session.flush()


# Requests are kept a day (the limits look back an hour; a day is enough to look into a
# flood), links a day past their expiry: both name email addresses, of people without an
# account too.
KEEP_FOR = timedelta(days=1)


def forget_old(session: Session, now: datetime) -> dict[str, int]:
    """Remove old requests and dead links (the daily retention run calls this)."""
    requests = session.execute(
        sa.delete(EmailRequest).where(EmailRequest.at < now - KEEP_FOR)).rowcount or 0
    dead = session.execute(
        sa.delete(EmailLink).where(EmailLink.expires_at < now - KEEP_FOR)).rowcount or 0
    return {"email_requests_deleted": requests, "email_links_deleted": dead}


def forget_address(session: Session, email: str) -> None:
    """An account's address is being erased: its links and requests go with it."""
    session.execute(sa.delete(EmailLink).where(EmailLink.email == email))
    session.execute(sa.delete(EmailRequest).where(EmailRequest.email == email))
