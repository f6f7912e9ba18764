"""Coordinators' notes about a participant: private to coordinators (and admins), and part of
the leader's own data export, as UK GDPR's right of access requires."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import utcnow

NOTE_TEXT_LIMIT = 4000


class CoordinatorNote(SQLModel, table=True):
    __tablename__ = "coordinator_note"

    id: int | None = Field(default=None, primary_key=True)
    leader_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    round_id: int | None = Field(default=None, foreign_key="programme_round.id",
                                 ondelete="SET NULL")
    author_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    author_email: str = Field(default="", max_length=254)  # kept when the author is deleted
    text: str = Field(max_length=NOTE_TEXT_LIMIT, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
