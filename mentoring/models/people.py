"""Organisations and the leaders who take part."""

# No `from __future__ import annotations` here: SQLModel resolves relationship annotations
# at runtime.

from datetime import datetime
from typing import Annotated, Self

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, field_validator, model_validator
from sqlmodel import Field, Relationship, SQLModel

from mentoring.models.accounts import User
from mentoring.models.base import enum_check, in_list, utcnow
from mentoring.vocab import (
    BOROUGHS,
    PROFESSIONS,
    SECTORS,
    TOPICS,
    CareerStage,
    OrganisationSize,
    ProfessionPreference,
)


def _one_of(vocabulary: dict[str, str], what: str, value: str) -> str:
    if value not in vocabulary:
        raise ValueError(f"Choose a {what} from the list")
    return value


SectorKey = Annotated[str, AfterValidator(lambda value: _one_of(SECTORS, "sector", value))]
BoroughKey = Annotated[str, AfterValidator(lambda value: _one_of(BOROUGHS, "borough", value))]
ProfessionKey = Annotated[
    str, AfterValidator(lambda value: _one_of(PROFESSIONS, "profession", value))
]


class OrganisationBase(SQLModel):
    name: str = Field(min_length=2, max_length=160)
    sector: SectorKey = Field(max_length=40)
    borough: BoroughKey = Field(max_length=40)
    size: str = Field(default=OrganisationSize.SMALL, max_length=10)


class Organisation(OrganisationBase, table=True):
    __table_args__ = (
        sa.UniqueConstraint("name"),
        enum_check("size", OrganisationSize),
        sa.CheckConstraint(in_list("sector", list(SECTORS)), name="sector"),
        sa.CheckConstraint(in_list("borough", list(BOROUGHS)), name="borough"),
    )

    id: int | None = Field(default=None, primary_key=True)


class OrganisationCreate(OrganisationBase):
    size: OrganisationSize = OrganisationSize.SMALL


class LeaderProfileBase(SQLModel):
    """Everything a leader says about themself. Validation lives here, not on the table."""

    name: str = Field(min_length=1, max_length=120)
    job_title: str = Field(default="", max_length=160)
    profession: ProfessionKey = Field(max_length=40)
    sector: SectorKey = Field(max_length=40)
    borough: BoroughKey = Field(max_length=40)
    career_stage: str = Field(default=CareerStage.EMERGING, max_length=20)
    mentor_capacity: int = Field(default=0, ge=0, le=5)
    wants_mentor: bool = False
    can_host: bool = False
    max_hosted_per_week: int | None = Field(default=None, ge=0, le=10)
    strengths: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    goals: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    strengths_other: str = Field(default="", max_length=500)
    goals_other: str = Field(default="", max_length=500)
    protected_hours_per_month: float | None = Field(default=None, ge=0, le=160)
    profession_preference: str = Field(default=ProfessionPreference.ANY, max_length=10)
    travel_boroughs: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Whom a round that asks for it emails to release the time for booked exchanges (optional).
    line_manager_name: str = Field(default="", max_length=120)
    line_manager_email: str = Field(default="", max_length=254)

    @field_validator("line_manager_email")
    @classmethod
    def manager_email_shape(cls, value: str) -> str:
        value = (value or "").strip()
        if not value:
            return ""
        try:  # the shape only: a manager's address is not looked up in the DNS
            checked = validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            raise ValueError("Enter an email address in the correct format, like name@nhs.net"
                             ) from None
        return checked.normalized.lower()

    @field_validator("strengths", "goals")
    @classmethod
    def known_topics(cls, values: list[str]) -> list[str]:
        unknown = [value for value in values if value not in TOPICS]
        if unknown:
            raise ValueError(f"Unknown topic: {', '.join(unknown)}")
        return list(dict.fromkeys(values))

    @field_validator("travel_boroughs")
    @classmethod
    def known_boroughs(cls, values: list[str]) -> list[str]:
        for value in values:
            _one_of(BOROUGHS, "borough", value)
        return list(dict.fromkeys(values))


class LeaderProfile(LeaderProfileBase, table=True):
    __tablename__ = "leader_profile"
    __table_args__ = (
        enum_check("career_stage", CareerStage),
        enum_check("profession_preference", ProfessionPreference),
        sa.CheckConstraint("mentor_capacity >= 0", name="mentor_capacity_not_negative"),
        sa.CheckConstraint(in_list("profession", list(PROFESSIONS)), name="profession"),
        sa.CheckConstraint(in_list("sector", list(SECTORS)), name="sector"),
        sa.CheckConstraint(in_list("borough", list(BOROUGHS)), name="borough"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True, ondelete="CASCADE")
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="SET NULL"
    )
    priority_group: bool = False
    consent_at: datetime | None = None
    # Hash of the secret in the personal calendar feed URL; None when the feed is off.
    calendar_token_hash: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    user: User = Relationship()
    organisation: Organisation | None = Relationship()

    @property
    def is_mentor(self) -> bool:
        return self.mentor_capacity > 0


class LeaderProfileCreate(LeaderProfileBase):
    career_stage: CareerStage = CareerStage.EMERGING
    profession_preference: ProfessionPreference = ProfessionPreference.ANY
    organisation_id: int | None = None

    @model_validator(mode="after")
    def takes_part_somehow(self) -> Self:
        if self.mentor_capacity == 0 and not self.wants_mentor:
            raise ValueError("Choose to mentor someone, to have a mentor, or both")
        if self.can_host and self.max_hosted_per_week == 0:
            raise ValueError("If you can host visits, host at least one a week")
        return self


class ProfileDraft(SQLModel, table=True):
    """Answers to the profile's question pages that are not saved to the profile yet.

    Kept here, not in the session cookie: long answers in a non-Latin script overflow the 4 KB a
    browser keeps, and a draft should outlive signing out, the idle timeout and a change of
    device. One per account; saving the profile deletes it.
    """

    __tablename__ = "profile_draft"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True, ondelete="CASCADE")
    answers: dict = Field(default_factory=dict, sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow)
