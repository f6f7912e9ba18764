"""The transactional outbox: every email is a row written with the change that causes it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import enum_check, utcnow
from mentoring.vocab import NotificationStatus


class Notification(SQLModel, table=True):
    __table_args__ = (
        enum_check("status", NotificationStatus),
        sa.Index("ix_notification_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Writing the same notification twice is harmless: the key is unique.
    idempotency_key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=40)
    recipient_email: str = Field(max_length=254)
    recipient_user_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="SET NULL"
    )
    round_id: int | None = Field(
        default=None, foreign_key="programme_round.id", index=True, ondelete="SET NULL"
    )
    exchange_id: int | None = Field(
        default=None, foreign_key="exchange.id", index=True, ondelete="SET NULL"
    )
    subject: str = Field(max_length=255)
    body_text: str = Field(sa_type=sa.Text)
    body_html: str = Field(default="", sa_type=sa.Text)
    ics: str | None = Field(default=None, sa_type=sa.Text)
    ics_method: str | None = Field(default=None, max_length=10)
    due_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default=NotificationStatus.PENDING, max_length=20)
    attempts: int = 0
    last_error: str = Field(default="", sa_type=sa.Text)
    lease_until: datetime | None = None
    message_id: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
