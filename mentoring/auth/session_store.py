"""Sessions held on the server: the `user_session` table behind the session cookie.

The cookie carries a random id (256 bits) and nothing else; the table keeps the id's SHA-256,
so a copy of the table (a backup, a leaked dump) opens no session, and looking a session up
needs no constant-time comparison (an attacker cannot steer a hash prefix). Ending a session is
deleting its row: a cookie replayed afterwards names nothing.

No Flask here: the session interface (mentoring.auth.sessions), the views, the admin services
and retention all call these.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.models import User, UserSession

# Idle time is recorded at most once a minute: a write on every request would cost a
# transaction per page for a clock that is read in whole minutes (an idle limit can be
# overrun by less than a minute).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
ID_BYTES = 32
MAX_COOKIE_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything longer is not ours

IDLE = "idle"
TOO_LONG = "too-long"


@dataclass(frozen=True)
class Limits:
    """A signed-in session ends after `idle` without a request or `absolute` after signing in.
    A visitor's session (not signed in: a CSRF token, a message) ends after `absolute`."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, idle_minutes: int, max_hours: int) -> Limits:
        return cls(timedelta(minutes=idle_minutes), timedelta(hours=max_hours))


def hash_id(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode()).hexdigest()


def find(db: Session, raw_id: str) -> tuple[UserSession, User | None] | None:
    """The session a cookie names and its user, in one query (the user would otherwise be a
    second look-up on every page), or None."""
    if not raw_id or len(raw_id) > MAX_COOKIE_LENGTH:
        return None
    found = db.exec(
        select(UserSession, User)
        .outerjoin(User, User.id == UserSession.user_id)  # type: ignore[arg-type]
        .where(UserSession.id_hash == hash_id(raw_id))
    ).first()
    return (found[0], found[1]) if found else None


def ended_reason(row: UserSession, now: datetime, limits: Limits) -> str | None:
    """IDLE or TOO_LONG when the session must end now, or None while it is good."""
    if now - row.created_at > limits.absolute:
        return TOO_LONG
    if row.user_id is not None and now - row.last_seen_at > limits.idle:
        return IDLE
    return None


def create(db: Session, *, user_id: int | None, data: str, now: datetime, user_agent: str = "",
           ip: str = "") -> str:
    """A new session; returns the random id for the cookie (only its hash is stored)."""
    raw_id = secrets.token_urlsafe(ID_BYTES)
    db.add(UserSession(id_hash=hash_id(raw_id), user_id=user_id, data=data, created_at=now,
                       last_seen_at=now, user_agent=user_agent[:255], ip=ip[:64]))
    db.flush()
    return raw_id


def touch_due(row: UserSession, now: datetime, ip: str) -> bool:
    """Whether the idle clock (or the address last seen) is to move: a minute has passed, or
    the address changed."""
    return now - row.last_seen_at >= LAST_SEEN_RESOLUTION or row.ip != ip[:64]


def touch(db: Session, row: UserSession, now: datetime, ip: str) -> None:
    """Move the idle clock and the address last seen. An UPDATE by id, not through the ORM: the
    row may be gone already (signed out in another tab), and then nothing is brought back."""
    db.execute(sa.update(UserSession).where(UserSession.id == row.id)  # type: ignore[arg-type]
               .values(last_seen_at=now, ip=ip[:64]))


def save_data(db: Session, session_id: int, data: str) -> None:
    # An UPDATE that finds no row (the session ended meanwhile) writes nothing: never revive it.
    db.execute(sa.update(UserSession).where(UserSession.id == session_id)  # type: ignore[arg-type]
               .values(data=data))


def delete(db: Session, session_id: int) -> None:
    db.execute(sa.delete(UserSession).where(UserSession.id == session_id))  # type: ignore[arg-type]


def delete_for_user(db: Session, user_id: int) -> int:
    """End every session of one user (sign out everywhere, deactivation, password change)."""
    result = db.execute(sa.delete(UserSession).where(
        UserSession.user_id == user_id))  # type: ignore[arg-type]
    return result.rowcount or 0


def sessions_of(db: Session, user_id: int, now: datetime, limits: Limits) -> list[UserSession]:
    """The user's sessions that are still good, most recently used first."""
    rows = db.exec(select(UserSession).where(UserSession.user_id == user_id)
                   .order_by(UserSession.last_seen_at.desc())).all()  # type: ignore[attr-defined]
    return [row for row in rows if ended_reason(row, now, limits) is None]


def end_one(db: Session, user_id: int, session_id: int) -> bool:
    """End one of the user's own sessions; False if it is not theirs or has ended already."""
    result = db.execute(sa.delete(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == user_id))  # type: ignore[arg-type]
    return bool(result.rowcount)


def prune(db: Session, now: datetime, limits: Limits) -> int:
    """Delete sessions past their limits (the worker, hourly): a session nobody comes back to
    would otherwise stay in the table for ever."""
    result = db.execute(sa.delete(UserSession).where(sa.or_(
        UserSession.created_at < now - limits.absolute,
        sa.and_(UserSession.user_id.is_not(None),  # type: ignore[union-attr]
                UserSession.last_seen_at < now - limits.idle),
    )))
    return result.rowcount or 0


def describe_device(user_agent: str) -> str:
    """Say "Chrome 120 on Windows", for the "Your sessions" page (ua-parser's rules)."""
    import ua_parser

    result = ua_parser.parse(user_agent) if user_agent else None
    browser = result.user_agent if result else None
    system = result.os if result else None
    if browser is None or browser.family == "Other":
        return "An unknown browser"
    name = f"{browser.family} {browser.major}" if browser.major else browser.family
    if system is not None and system.family != "Other":
        return f"{name} on {system.family}"
    return name
