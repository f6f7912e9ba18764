"""A leader's self-assessment of system-leadership confidence (issue 20, "did it work")."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import enum_check, utcnow


class Moment(StrEnum):
    """When a leader answers: on joining a round (the baseline) and once its window ends."""

    JOINING = "joining"
    END = "end"


class SelfAssessment(SQLModel, table=True):
    """One leader's answers at one moment of one round: a statement key to 1..5 (strongly
    disagree .. strongly agree), every statement answered. Only the leader who gave them reads
    them as answers; coordinators see averages of groups of five or more, and the evaluator's
    export carries no name, email, organisation or database id. Deleting the account deletes
    them."""

    __tablename__ = "self_assessment"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "leader_id", "moment"),
        enum_check("moment", Moment),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="programme_round.id", index=True, ondelete="CASCADE")
    leader_id: int = Field(foreign_key="leader_profile.id", index=True, ondelete="CASCADE")
    moment: str = Field(max_length=10)
    answers: dict = Field(default_factory=dict, sa_type=sa.JSON)
    answered_at: datetime = Field(default_factory=utcnow)
