"""Who can sign in, and the records that keep sign-in safe."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from pydantic import EmailStr, ValidationInfo, field_validator
from sqlmodel import Field, SQLModel
from zxcvbn import zxcvbn

from mentoring.models.base import enum_check, in_list, utcnow
from mentoring.vocab import Role


class UserBase(SQLModel):
    email: str = Field(max_length=254, sa_column_kwargs={"unique": True})
    role: str = Field(default=Role.LEADER, max_length=20)
    is_active: bool = True


class User(UserBase, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (enum_check("role", Role),)

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str | None = Field(default=None, max_length=255)
    verified_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_sign_in_at: datetime | None = None
    # Bumped by sign-out-everywhere, password change or deactivation: every older session ends.
    session_version: int = 1
    # Retention (mentoring.retention): when we last warned that an unused account will be
    # anonymised, and when it was.
    inactivity_warned_at: datetime | None = None
    anonymised_at: datetime | None = None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    # Flask-Login protocol, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


# zxcvbn's scores run 0-4; 3 means about 10^8 guesses or more ("safely unguessable" against
# an online attacker and costly against a stolen Argon2 hash). Below it we say why, in zxcvbn's
# words, beside the field.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its matching is quadratic); what follows the first 72 characters
# only makes a password stronger.
ZXCVBN_MAX_LENGTH = 72
# Words a guesser tries first against this service.
SERVICE_WORDS = ["nhs", "mentoring", "mentor", "leadership", "leader", "exchange", "london"]


class UserCreate(SQLModel):
    email: EmailStr
    password: str = Field(min_length=12, max_length=128)
    role: Role = Role.LEADER

    @field_validator("email")
    @classmethod
    def lower_email(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("password")
    @classmethod
    def hard_to_guess(cls, value: str, info: ValidationInfo) -> str:
        """Common, breached-list and guessable passwords (a name, the email address, keyboard
        patterns, dates) are refused with zxcvbn's reason."""
        email = str(info.data.get("email") or "")
        own_words = [email, *re.split(r"[@._+-]+", email)] if email else []
        result = zxcvbn(value[:ZXCVBN_MAX_LENGTH], user_inputs=own_words + SERVICE_WORDS)
        if result["score"] >= MIN_PASSWORD_SCORE:
            return value
        feedback = result.get("feedback") or {}
        why = " ".join(part for part in [feedback.get("warning") or "",
                                         *(feedback.get("suggestions") or [])] if part)
        raise ValueError("Choose a password that is harder to guess." + (f" {why}" if why
                                                                          else ""))


class UserSession(SQLModel, table=True):
    """A browser's session, held on the server (mentoring.auth.sessions). The cookie carries only
    a random id; the table keeps its SHA-256, so a copy of the table opens no session. Rows
    without a user are visitors who have not signed in (a CSRF token, a message to show)."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    id_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="CASCADE",
                                index=True)
    # Flask's session contents (its tagged JSON): sign-in method, CSRF token, messages.
    data: str = Field(default="{}", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)  # signed in at
    last_seen_at: datetime = Field(default_factory=utcnow, index=True)
    user_agent: str = Field(default="", max_length=255)
    ip: str = Field(default="", max_length=64)


class SignInAttempt(SQLModel, table=True):
    """Failed and successful sign-ins, for throttling that works across processes."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        sa.Index("ix_sign_in_attempt_email_at", "email", "at"),
        sa.Index("ix_sign_in_attempt_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    ip: str = Field(default="", max_length=64)
    at: datetime = Field(default_factory=utcnow)
    succeeded: bool = False


class AuditEvent(SQLModel, table=True):
    """Who did what, when, to which object, from where. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    actor_email: str = Field(default="", max_length=254)  # kept when the actor is deleted
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(default="", max_length=40)
    object_id: str = Field(default="", max_length=64)
    detail: dict = Field(default_factory=dict, sa_type=sa.JSON)
    ip: str = Field(default="", max_length=64)


class IdentityLink(SQLModel, table=True):
    """An account's identity at a single sign-on provider. Once linked, that provider's sign-ins
    find the account by issuer and subject (which never change), never by email (which can)."""

    __tablename__ = "identity_link"
    __table_args__ = (sa.UniqueConstraint("provider", "issuer", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    provider: str = Field(max_length=40)  # the configured provider's name, e.g. "nhsmail"
    # A subject is unique only within its issuer (one per Entra tenant), so both are the key.
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    email: str = Field(default="", max_length=254)  # the address it was linked by, for people
    created_at: datetime = Field(default_factory=utcnow)
    last_sign_in_at: datetime | None = None


class SecondFactor(SQLModel, table=True):
    """A second factor of an account (mentoring.auth.second_factor): an authenticator app
    (TOTP, RFC 6238) or a passkey (WebAuthn)."""

    __tablename__ = "second_factor"
    __table_args__ = (sa.CheckConstraint(in_list("kind", ("totp", "passkey")), name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    kind: str = Field(default="totp", max_length=10)
    # The shared secret (base32): the server must read it to check a code, so it cannot be
    # hashed; it never leaves the server after the setup page.
    secret: str = Field(default="", max_length=64)
    # The time step of the last code accepted: a code works once (RFC 6238 §5.2).
    last_used_step: int = 0
    # A passkey: its credential id and public key (base64url), and the authenticator's
    # signature counter (one that goes backwards is a cloned key).
    credential_id: str = Field(default="", max_length=255)
    public_key: str = Field(default="", sa_type=sa.Text)
    sign_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None


class RecoveryCode(SQLModel, table=True):
    """One of an account's ten recovery codes: each works once, in place of the second factor.
    Only its SHA-256 is kept (a code is 80 random bits, so a fast hash is enough)."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None
