"""Accounts and sign-in. No Flask here: views, CLI and tests all call these."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth import email_links, session_store, throttle
from mentoring.auth.notices import notify_security_change
from mentoring.models import LeaderProfile, User, UserCreate, utcnow
from mentoring.passwords import hash_password, needs_rehash, verify_password


class AccountError(ValueError):
    """A request about an account that cannot be carried out, with a message for the user."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def create_user(
    session: Session, email: str, password: str, role: str = "leader", *, verified: bool = False
) -> User:
    """Create a user, or raise AccountError / ValidationError (weak password, bad email)."""
    data = UserCreate.model_validate({"email": email, "password": password, "role": role})
    if find_user(session, data.email):
        raise AccountError(f"An account for {data.email} already exists")
    user = User(
        email=data.email,
        role=data.role,
        password_hash=hash_password(data.password),
        verified_at=utcnow() if verified else None,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    UserCreate.model_validate({"email": user.email, "password": password, "role": user.role})
    user.password_hash = hash_password(password)
    end_all_sessions(user)
    email_links.revoke(session, user)  # a reset link asked for before opens nothing now
    session.add(user)


def end_access_without_sign_in(session: Session, user: User) -> None:
    """What works without a session ends too when an account's sessions all end (signing out
    everywhere, deactivation): the links it was emailed and its calendar feed's address."""
    email_links.revoke(session, user)
    profile = session.exec(select(LeaderProfile).where(LeaderProfile.user_id == user.id)).first()
    if profile is not None and profile.calendar_token_hash is not None:
        profile.calendar_token_hash = None
        session.add(profile)
        audit.record(session, "calendar.feed_revoked", actor=user, obj=profile,
                     detail={"by": "sessions_ended"})


def end_all_sessions(user: User) -> None:
    """Sign the user out everywhere: their session rows go (a cookie replayed later names
    nothing), and the session version moves on (what a session holds names the version, so
    one that was being read at this moment ends too)."""
    user.session_version += 1
    db = object_session(user)
    if db is not None and user.id is not None:
        session_store.delete_for_user(db, user.id)


def sign_out_everywhere(session: Session, user: User, *, ip: str = "") -> None:
    """The user ends all their own sessions (a lost phone, a shared computer)."""
    end_all_sessions(user)
    end_access_without_sign_in(session, user)
    session.add(user)
    audit.record(session, "user.sessions_ended", actor=user, obj=user, detail={"by": "self"},
                 ip=ip)


def change_password(
    session: Session, user: User, current: str, new: str, *, ip: str = ""
) -> None:
    """A signed-in user changes their password: the current one first (throttled like a sign-in,
    so a session left open cannot be used to guess it), then the new one is validated. Every
    session ends, including this one (the view signs this one in again)."""
    if not current:
        raise AccountError("Enter your current password")
    if not confirm_password(session, user, current, ip=ip):
        raise AccountError("Your current password is not right")
    set_password(session, user, new)  # raises ValidationError for a weak password
    audit.record(session, "password.changed", actor=user, obj=user, ip=ip)
    notify_security_change(session, user, "password")


def authenticate(session: Session, email: str, password: str, *, ip: str = "") -> User | None:
    """The user, or None for a wrong email or password. Raises Throttled after repeated failures
    for the account or the address (checked before the password, so guessing stops)."""
    minutes = throttle.throttle_wait(session, email, ip)
    if minutes:
        audit.record(session, "sign_in.throttled", detail={"email": normalise_email(email)}, ip=ip)
        raise throttle.Throttled(minutes)
    user = find_user(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    throttle.record_attempt(session, email, ip, succeeded=ok and user is not None)
    # An address nobody has proved signs in with no password: it may be an impostor's
    # (joining.mark_verified ends that password when the owner proves the address).
    if not ok or user is None or not user.is_active or not user.is_verified:
        audit.record(
            session, "sign_in.failed", actor=user, detail={"email": normalise_email(email)}, ip=ip
        )
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = utcnow()
    session.add(user)
    audit.record(session, "sign_in.succeeded", actor=user, obj=user, ip=ip)
    return user


def confirm_password(session: Session, user: User, password: str, *, ip: str = "") -> bool:
    """A signed-in user re-enters their password before a sensitive action. Throttled and
    audited like a sign-in, so a left-open session cannot be used to guess the password."""
    minutes = throttle.throttle_wait(session, user.email, ip)
    if minutes:
        audit.record(session, "sign_in.throttled", actor=user, detail={"email": user.email}, ip=ip)
        raise throttle.Throttled(minutes)
    ok = verify_password(user.password_hash, password)
    throttle.record_attempt(session, user.email, ip, succeeded=ok)
    audit.record(session, "sign_in.confirmed" if ok else "sign_in.confirm_failed", actor=user,
                 obj=user, ip=ip)
    return ok


__all__ = [
    "AccountError",
    "ValidationError",
    "authenticate",
    "change_password",
    "create_user",
    "end_all_sessions",
    "find_user",
    "set_password",
    "sign_out_everywhere",
]
