"""What a pair sets out to do (their agreement), how they are getting on (check-ins), and the
concerns leaders raise privately with the coordinators (issue 20)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import enum_check, utcnow


class CheckInPoint(StrEnum):
    MIDPOINT = "midpoint"
    END = "end"


class HaveMet(StrEnum):
    YES = "yes"
    NOT_YET = "not_yet"


class GoingWell(StrEnum):
    WELL = "well"
    PARTLY = "partly"
    NOT_WELL = "not_well"


AGREEMENT_LIMITS = {"mentor_learning": 1000, "mentee_learning": 1000, "shared_work": 1000,
                    "keep_in_touch": 500, "confidential": 1000}


class PairAgreement(SQLModel, table=True):
    """One per match, written by either leader; both confirm it. Coordinators see that it
    exists and whether it is confirmed; its words only when both confirmed sharing them."""

    __tablename__ = "pair_agreement"

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", unique=True, ondelete="CASCADE")
    mentor_learning: str = Field(default="", max_length=1000)  # what the mentor wants to learn
    mentee_learning: str = Field(default="", max_length=1000)
    shared_work: str = Field(default="", max_length=1000)  # a question or piece of work
    keep_in_touch: str = Field(default="", max_length=500)
    confidential: str = Field(default="", max_length=1000)
    share_with_coordinators: bool = False
    # A confirmation is of one version: any change clears the other leader's.
    version: int = 1
    mentor_confirmed_at: datetime | None = None
    mentee_confirmed_at: datetime | None = None
    updated_by_id: int | None = Field(
        default=None, foreign_key="leader_profile.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def confirmed(self) -> bool:
        return self.mentor_confirmed_at is not None and self.mentee_confirmed_at is not None

    @property
    def shared(self) -> bool:
        """The coordinators may read it: both confirmed a version that says 'share'."""
        return self.confirmed and self.share_with_coordinators


class CheckIn(SQLModel, table=True):
    """One leader's answers at one point of the round (mid-point or end)."""

    __tablename__ = "check_in"
    __table_args__ = (
        sa.UniqueConstraint("match_id", "leader_id", "point"),
        enum_check("point", CheckInPoint),
        enum_check("have_met", HaveMet),
        enum_check("going_well", GoingWell),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    round_id: int = Field(foreign_key="programme_round.id", index=True, ondelete="CASCADE")
    # Set to NULL when the leader deletes their account: the answers stay, anonymised.
    leader_id: int | None = Field(
        default=None, foreign_key="leader_profile.id", index=True, ondelete="SET NULL")
    point: str = Field(max_length=20)
    have_met: str = Field(max_length=20)
    going_well: str = Field(max_length=20)
    anything_else: str = Field(default="", max_length=2000)  # for the coordinators
    created_at: datetime = Field(default_factory=utcnow)


class Concern(SQLModel, table=True):
    """Raised privately by one leader about their match: read by the coordinators only."""

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    round_id: int = Field(foreign_key="programme_round.id", index=True, ondelete="CASCADE")
    raised_by_id: int | None = Field(
        default=None, foreign_key="leader_profile.id", index=True, ondelete="SET NULL")
    text: str = Field(max_length=4000, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
