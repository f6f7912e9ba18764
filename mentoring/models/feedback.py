"""What people said after an exchange, and their private reflections."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import utcnow


class FeedbackBase(SQLModel):
    rating: int = Field(ge=1, le=5)
    learned: str = Field(default="", max_length=4000)
    will_do_differently: str = Field(default="", max_length=4000)
    for_coordinators: str = Field(default="", max_length=4000)
    agree_to_be_named: bool = False


class Feedback(FeedbackBase, table=True):
    __table_args__ = (
        sa.UniqueConstraint("exchange_id", "leader_id"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    exchange_id: int | None = Field(
        default=None, foreign_key="exchange.id", index=True, ondelete="SET NULL"
    )
    round_id: int | None = Field(
        default=None, foreign_key="programme_round.id", index=True, ondelete="SET NULL"
    )
    # Set to NULL when the leader deletes their account: the feedback stays, anonymised.
    leader_id: int | None = Field(
        default=None, foreign_key="leader_profile.id", index=True, ondelete="SET NULL"
    )
    author_profession: str = Field(default="", max_length=40)  # kept for aggregate figures
    author_sector: str = Field(default="", max_length=40)
    created_at: datetime = Field(default_factory=utcnow)


class FeedbackCreate(FeedbackBase):
    pass


class Reflection(SQLModel, table=True):
    """A leader's private reflection log entry: never shown to coordinators."""

    id: int | None = Field(default=None, primary_key=True)
    leader_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    exchange_id: int | None = Field(default=None, foreign_key="exchange.id", ondelete="SET NULL")
    text: str = Field(max_length=10000, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
