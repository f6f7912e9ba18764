"""Programme rounds, who takes part in them, invitations and availability."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from mentoring.models.base import enum_check, utcnow
from mentoring.text import OneLine
from mentoring.vocab import (
    DEFAULT_PRIORITY_PROFESSIONS,
    ParticipantStatus,
    Period,
    Reciprocity,
    RoundStatus,
)
from optimiser import ScoreWeights

# The optimiser's own score weights, so a round's weights and the optimiser never disagree.
DEFAULT_WEIGHTS = asdict(ScoreWeights())
DEFAULT_REMINDER_OFFSETS_HOURS = [7 * 24, 24]
DEFAULT_ANSWER_WITHIN_DAYS = 7


class ProgrammeRoundBase(SQLModel):
    name: OneLine = Field(min_length=3, max_length=120)
    description: str = Field(default="", max_length=2000)
    starts_on: date
    ends_on: date
    slot_pattern: str = Field(default="half-days", max_length=20)
    exchanges_per_pair: int = Field(default=2, ge=0, le=6)
    min_days_between_exchanges: int = Field(default=14, ge=0, le=60)
    # Each leader of a pair hosts at least once: required, where possible (both can host) or
    # off. New rounds: where possible, so that leaders who cannot host are not left out.
    reciprocal: str = Field(default=Reciprocity.WHERE_POSSIBLE, max_length=20)
    allow_same_organisation: bool = False
    # Mentees in the priority groups are matched at a rate at least everyone's, whenever that
    # is feasible (the optimiser's `rules.priority_floor`). Off unless the coordinator asks.
    priority_floor: bool = False
    weights: dict = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS), sa_type=sa.JSON)
    priority_professions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PRIORITY_PROFESSIONS), sa_type=sa.JSON
    )
    reminder_offsets_hours: list[int] = Field(
        default_factory=lambda: list(DEFAULT_REMINDER_OFFSETS_HOURS), sa_type=sa.JSON
    )
    # Leaders answer a match offer within this many days; half-way they get a reminder.
    answer_within_days: int = Field(default=DEFAULT_ANSWER_WITHIN_DAYS, ge=1, le=60)
    # The programme's contact, named in every email and wherever leaders are told to ask.
    contact_name: OneLine = Field(default="", max_length=120)
    contact_email: str = Field(default="", max_length=254)
    # Once both leaders accept, ask each one's line manager to release the time (a signed link).
    ask_line_manager_release: bool = False
    # The round's timeline, shown to leaders (the exchanges run from starts_on to ends_on).
    joining_closes_on: date | None = None
    matching_on: date | None = None
    offers_on: date | None = None

    @model_validator(mode="after")
    def window_in_order(self) -> ProgrammeRoundBase:
        if self.ends_on < self.starts_on:
            raise ValueError("The window must end on or after the day it starts")
        return self


class ProgrammeRound(ProgrammeRoundBase, table=True):
    __tablename__ = "programme_round"
    __table_args__ = (
        enum_check("status", RoundStatus),
        enum_check("reciprocal", Reciprocity),
        sa.CheckConstraint("ends_on >= starts_on", name="window_in_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=RoundStatus.DRAFT, max_length=20, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    # "You said, we did": the coordinator's answer to the round's feedback, shown to
    # participants once published.
    you_said_we_did: str = Field(default="", sa_type=sa.Text)
    you_said_we_did_published_at: datetime | None = None
    # When retention removed the personal data a closed round no longer needs.
    personal_data_removed_at: datetime | None = None


class ProgrammeRoundCreate(ProgrammeRoundBase):
    pass


class RoundParticipant(SQLModel, table=True):
    __tablename__ = "round_participant"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "leader_id"),
        enum_check("status", ParticipantStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="programme_round.id", ondelete="CASCADE")
    leader_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    status: str = Field(default=ParticipantStatus.JOINED, max_length=20)
    joined_at: datetime = Field(default_factory=utcnow)
    withdrawn_at: datetime | None = None
    withdrawal_reason: str = Field(default="", max_length=500)


class Invitation(SQLModel, table=True):
    """A coordinator's invitation: a signed link that pre-fills what the coordinator knows."""

    __table_args__ = (sa.UniqueConstraint("round_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int | None = Field(
        default=None, foreign_key="programme_round.id", ondelete="CASCADE"
    )
    email: str = Field(max_length=254, index=True)
    prefill: dict = Field(default_factory=dict, sa_type=sa.JSON)
    invited_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    accepted_at: datetime | None = None


class Availability(SQLModel, table=True):
    """One free half-day of one leader in one round (a row exists only when they are free)."""

    __table_args__ = (
        sa.UniqueConstraint("round_id", "leader_id", "day", "period"),
        enum_check("period", Period),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="programme_round.id", ondelete="CASCADE")
    leader_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    day: date
    period: str = Field(max_length=2)


class RoundBlackout(SQLModel, table=True):
    """Days of a round's window when no exchange can take place (Christmas week, winter
    pressures): like bank holidays, never offered, and exchanges on them are flagged."""

    __tablename__ = "round_blackout"
    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="in_order"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="programme_round.id", index=True, ondelete="CASCADE")
    starts_on: date
    ends_on: date
    reason: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
