"""A coordinator's action on a big round that the worker carries out: an import of thousands
of people, an approval of thousands of pairs (`mentoring.jobs`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import enum_check, in_list, utcnow
from mentoring.vocab import JobKind, RunStatus

ACTIVE_JOB_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class BackgroundJob(SQLModel, table=True):
    __tablename__ = "background_job"
    __table_args__ = (
        enum_check("status", RunStatus),
        enum_check("kind", JobKind),
        # One import and one approval at a time per round: a second click finds the first.
        sa.Index(
            "uq_background_job_active_round_kind", "round_id", "kind", unique=True,
            postgresql_where=in_list("status", ACTIVE_JOB_STATUSES),
            sqlite_where=in_list("status", ACTIVE_JOB_STATUSES),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    round_id: int = Field(foreign_key="programme_round.id", index=True, ondelete="CASCADE")
    status: str = Field(default=RunStatus.QUEUED, max_length=20, index=True)
    requested_by_id: int | None = Field(default=None, foreign_key="app_user.id",
                                        ondelete="SET NULL")
    # What to do (the people to import, the run to approve), and what it did.
    payload: dict = Field(default_factory=dict, sa_type=sa.JSON)
    result: dict | None = Field(default=None, sa_type=sa.JSON)
    stage: str = Field(default="", max_length=80)
    done: int = 0  # items carried out so far, of `total`
    total: int = 0
    attempts: int = 0  # claims by a worker: a job resumed after a worker stopped has more
    error: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None  # a running job's worker was alive then
    finished_at: datetime | None = None

    @property
    def progress(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0
