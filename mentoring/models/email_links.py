"""Links sent by email that must work once (confirming an address, resetting a password), and
the emails people ask for from the public forms, counted for limits."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import utcnow


class EmailLink(SQLModel, table=True):
    """A single-use link. Only the SHA-256 of its random secret is kept, so a copy of the
    database opens nothing, and the link carries no account data (no password-hash material).
    A confirmation link may name no account yet: the account comes into being when the link is
    followed (see `mentoring.auth.joining`)."""

    __tablename__ = "email_link"
    __table_args__ = (sa.Index("ix_email_link_email_purpose", "email", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=20)  # "verify-email", "reset-password"
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    email: str = Field(max_length=254)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="CASCADE",
                                index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    # Set when the link is used, and when it is revoked (a password reset, signing out
    # everywhere, a newer account): either way it opens nothing any more.
    used_at: datetime | None = None


class EmailRequest(SQLModel, table=True):
    """One request, from a public form, for an email to an address (registration, password
    reset, sign-in link), whether or not the address has an account: counted per address and
    per network address, so nobody can flood a mailbox or use us to send mail at scale."""

    __tablename__ = "email_request"
    __table_args__ = (
        sa.Index("ix_email_request_email_at", "email", "at"),
        sa.Index("ix_email_request_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    email: str = Field(max_length=254)
    ip: str = Field(default="", max_length=64)
    at: datetime = Field(default_factory=utcnow)
