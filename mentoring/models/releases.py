"""A line manager's release of a leader's protected time for the exchanges of a booked match."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import enum_check, utcnow
from mentoring.vocab import ReleaseStatus


class TimeRelease(SQLModel, table=True):
    """One per leader per match: asked when both leaders accept, in a round that asks for it.

    The manager answers through a signed link and has no account. The link carries this row's
    id and `nonce`: asking again (a corrected email address) draws a new nonce, so the old link
    stops working; once answered, the link only shows the answer. `exchanges` keeps the
    (exchange id, sequence) pairs the manager was asked about: moving an exchange raises its
    sequence, so a decline about the old date no longer counts as an open change.
    """

    __tablename__ = "time_release"
    __table_args__ = (
        sa.UniqueConstraint("match_id", "leader_id"),
        enum_check("status", ReleaseStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    leader_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    manager_name: str = Field(default="", max_length=120)
    manager_email: str = Field(max_length=254)
    status: str = Field(default=ReleaseStatus.REQUESTED, max_length=20)
    nonce: str = Field(max_length=64)
    exchanges: list[list[int]] = Field(default_factory=list, sa_type=sa.JSON)
    requested_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    decided_at: datetime | None = None
    reason: str = Field(default="", max_length=1000)  # why the time cannot be released
