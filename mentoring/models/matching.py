"""Optimiser runs, the matches they propose, and the exchanges approved matches schedule."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import enum_check, in_list, utcnow
from mentoring.models.people import PhoneNumber
from mentoring.text import OneLine
from mentoring.vocab import (
    LIVE_MATCH_STATUSES,
    ExchangeStatus,
    MatchStage,
    MatchStatus,
    RematchOutcome,
    RunKind,
    RunStatus,
)

ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class OptimiserRun(SQLModel, table=True):
    __tablename__ = "optimiser_run"
    __table_args__ = (
        enum_check("status", RunStatus),
        enum_check("kind", RunKind),
        # Only one queued or running optimisation per round.
        sa.Index(
            "uq_optimiser_run_active_round",
            "round_id",
            unique=True,
            postgresql_where=in_list("status", ACTIVE_RUN_STATUSES),
            sqlite_where=in_list("status", ACTIVE_RUN_STATUSES),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="programme_round.id", index=True, ondelete="CASCADE")
    status: str = Field(default=RunStatus.QUEUED, max_length=20)
    kind: str = Field(default=RunKind.FULL, max_length=10)
    # A local run re-optimises only these leaders (profile ids); everything else stays fixed.
    scope: list[int] | None = Field(default=None, sa_type=sa.JSON)
    note: str = Field(default="", max_length=1000)  # the coordinator's reason for the run
    stage: str = Field(default="", max_length=40)
    progress: float = 0.0
    cancel_requested: bool = False
    requested_by_id: int | None = Field(
        default=None, foreign_key="app_user.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    time_limit_seconds: int = 60
    solver: str = Field(default="highs", max_length=20)
    build_seconds: float | None = None
    solve_seconds: float | None = None
    objective: float | None = None
    bound: float | None = None
    solution_status: str = Field(default="", max_length=20)
    problem: dict | None = Field(default=None, sa_type=sa.JSON)
    solution: dict | None = Field(default=None, sa_type=sa.JSON)
    error: str = Field(default="", sa_type=sa.Text)
    approved_at: datetime | None = None
    approved_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")


class ProposalRemoval(SQLModel, table=True):
    """A pair a coordinator took out of one run's proposal. The run's solution stays as the
    optimiser wrote it: the review shows the pair as removed (and can put it back), approval
    skips it, and the next run does not try to keep it (it may still propose it: forbidding
    the pair stops that)."""

    __tablename__ = "proposal_removal"
    __table_args__ = (sa.UniqueConstraint("run_id", "mentor_id", "mentee_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="optimiser_run.id", index=True, ondelete="CASCADE")
    mentor_id: int = Field(foreign_key="leader_profile.id", ondelete="CASCADE")
    mentee_id: int = Field(foreign_key="leader_profile.id", ondelete="CASCADE")
    removed_by_id: int | None = Field(default=None, foreign_key="app_user.id",
                                      ondelete="SET NULL")
    removed_at: datetime = Field(default_factory=utcnow)


class Match(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("round_id", "mentor_id", "mentee_id"),
        sa.CheckConstraint("mentor_id <> mentee_id", name="not_self"),
        enum_check("status", MatchStatus),
        # A mentee never has two approved (or accepted) mentors in one round.
        sa.Index(
            "uq_match_live_mentee",
            "round_id",
            "mentee_id",
            unique=True,
            postgresql_where=in_list("status", LIVE_MATCH_STATUSES),
            sqlite_where=in_list("status", LIVE_MATCH_STATUSES),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="programme_round.id", index=True, ondelete="CASCADE")
    run_id: int | None = Field(default=None, foreign_key="optimiser_run.id", ondelete="SET NULL")
    mentor_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    mentee_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    status: str = Field(default=MatchStatus.PROPOSED, max_length=20)
    pinned: bool = False
    forbidden: bool = False
    # The offer: sent when a coordinator approves; each leader answers by `respond_by`.
    offered_at: datetime | None = None
    respond_by: datetime | None = None
    mentor_accepted_at: datetime | None = None
    mentee_accepted_at: datetime | None = None
    declined_by_id: int | None = Field(
        default=None, foreign_key="leader_profile.id", ondelete="SET NULL"
    )
    decline_choice: str = Field(default="", max_length=20)  # a key of DECLINE_REASONS
    decline_reason: str = Field(default="", max_length=1000)  # private to the coordinators
    wants_different_match: bool = False
    rematch: str = Field(default=RematchOutcome.NONE, max_length=20)
    rematch_note: str = Field(default="", max_length=1000)  # the coordinator's answer
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")

    @property
    def stage(self) -> MatchStage | None:
        """The stage in the words every page uses (None: still only a proposal)."""
        return match_stage(self.status, self.mentor_accepted_at is not None
                           or self.mentee_accepted_at is not None)


def match_stage(status: str, someone_accepted: bool) -> MatchStage | None:
    if status == MatchStatus.OFFERED:
        return MatchStage.ACCEPTED if someone_accepted else MatchStage.OFFERED
    return {
        MatchStatus.ACCEPTED: MatchStage.BOOKED,
        MatchStatus.DECLINED: MatchStage.DECLINED,
        MatchStatus.LAPSED: MatchStage.LAPSED,
        MatchStatus.CANCELLED: MatchStage.CANCELLED,
    }.get(status)


class Exchange(SQLModel, table=True):
    """A 'walking in their shoes' visit: the visitor spends a half-day in the host's setting."""

    __table_args__ = (
        sa.CheckConstraint("host_id <> visitor_id", name="host_is_not_visitor"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        enum_check("status", ExchangeStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    host_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    visitor_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    # Where to go and what to know on the day: a copy of the host's visit details (their
    # profile) that the host can change for this exchange. `location` is the site's name.
    location: str = Field(default="", max_length=300)
    address: str = Field(default="", max_length=300)
    directions: str = Field(default="", max_length=1000)
    meeting: str = Field(default="", max_length=500)
    bring: str = Field(default="", max_length=500)
    accessibility: str = Field(default="", max_length=1000)
    phone: str = Field(default="", max_length=30)
    preparation: str = Field(default="", max_length=2000)
    # The pair's shared note ("the question we will explore"): either leader edits it.
    note: str = Field(default="", max_length=500)
    note_updated_at: datetime | None = None
    note_updated_by_id: int | None = Field(
        default=None, foreign_key="leader_profile.id", ondelete="SET NULL"
    )
    status: str = Field(default=ExchangeStatus.SCHEDULED, max_length=20)
    # iCalendar identity: UID never changes, SEQUENCE goes up with every change.
    uid: str = Field(max_length=120, unique=True)
    sequence: int = 0
    cancel_reason: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def was_booked(self) -> bool:
        """Has it ever been in the leaders' calendars? A held exchange has not; one released
        from an offer is cancelled without its SEQUENCE going up (no cancellation was sent),
        while cancelling a booked one always raises it."""
        if self.status == ExchangeStatus.CANCELLED:
            return self.sequence > 0
        return self.status != ExchangeStatus.HELD


NOTE_MAX_LENGTH = 500


class VisitDetails(SQLModel):
    """The visit details of one exchange, as its host gives or changes them. The host's profile
    holds the same details under `visit_*` names (`mentoring.exchanges.visits.PROFILE_FIELDS`)."""

    location: OneLine = Field(min_length=1, max_length=160)  # the site's name
    address: str = Field(min_length=1, max_length=300)
    directions: str = Field(default="", max_length=1000)
    meeting: str = Field(default="", max_length=500)
    bring: str = Field(default="", max_length=500)
    accessibility: str = Field(default="", max_length=1000)
    phone: PhoneNumber = Field(default="", max_length=30)


class ExchangeBooking(SQLModel, table=True):
    """One row per leader per live exchange, so the database refuses a double-booked half-day."""

    __tablename__ = "exchange_booking"
    __table_args__ = (sa.UniqueConstraint("leader_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    exchange_id: int = Field(foreign_key="exchange.id", index=True, ondelete="CASCADE")
    leader_id: int = Field(foreign_key="leader_profile.id", ondelete="CASCADE")
    starts_at: datetime
