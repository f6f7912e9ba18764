"""Organisations and the leaders who take part."""

# No `from __future__ import annotations` here: SQLModel resolves relationship annotations
# at runtime.

import re
from datetime import datetime
from typing import Annotated, Any, Self

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, field_validator, model_validator
from sqlmodel import Field, Relationship, SQLModel

from mentoring.configuration import vocabularies
from mentoring.models.accounts import User
from mentoring.models.base import enum_check, utcnow
from mentoring.text import OneLine
from mentoring.vocab import (
    HOST_CHECKS,
    MAX_NOTICE_WEEKS,
    OTHER_HOST_CHECK_DEFAULTS,
    AccessRoute,
    CareerStage,
    OrganisationSize,
    ProfessionPreference,
    host_check_defaults,
)

# Keys of the configured vocabularies (`mentoring.configuration.vocabularies`): checked here,
# against the terms offered now, rather than by CHECK constraints, so that an admin can add and
# retire terms without a migration. "place" is what the columns call a borough.
# (Looked up when a value is checked: the vocabularies module imports the models in turn.)
SectorKey = Annotated[str, AfterValidator(lambda value: vocabularies.check("sector", value))]
BoroughKey = Annotated[str, AfterValidator(lambda value: vocabularies.check("place", value))]
ProfessionKey = Annotated[str, AfterValidator(
    lambda value: vocabularies.check("profession", value))]

# A phone number as people write it: digits with spaces, brackets, hyphens, a leading + and an
# optional extension ("020 7946 0000 ext 123"). Only people read it (nothing dials it), so the
# check is for typing slips, not for a real number plan: 10 to 15 digits before any extension.
_PHONE = re.compile(r"\+?[0-9(][0-9 ()-]*(?:\s*(?:ext\.?|extension|x)\s*[0-9]{1,6})?",
                    re.IGNORECASE)
PHONE_EXAMPLE = "like 020 7946 0000 or 07700 900 982"


def _phone_number(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        return ""
    main = re.split(r"(?i)\s*(?:ext|x)", value)[0]
    digits = sum(char.isdigit() for char in main)
    if not _PHONE.fullmatch(value) or not 10 <= digits <= 15:
        raise ValueError(f"Enter a phone number, {PHONE_EXAMPLE}")
    return value


PhoneNumber = Annotated[str, AfterValidator(_phone_number)]


def tel_uri(phone: str) -> str:
    """A `tel:` link for a phone number as written (its extension, if any, left off)."""
    main = re.split(r"(?i)\s*(?:ext|x)", phone or "")[0]
    return "tel:" + "".join(char for char in main if char.isdigit() or char == "+")


class HostChecksBase(SQLModel):
    """What an organisation needs before an outside leader may observe there: its access route,
    the notice it needs (a hard scheduling rule: no exchange at a host sooner than the approval
    date plus this) and which checks apply. Validation lives here, not on the table."""

    access_route: str = Field(default=OTHER_HOST_CHECK_DEFAULTS[0], max_length=20)
    notice_weeks: int = Field(default=OTHER_HOST_CHECK_DEFAULTS[1], ge=0, le=MAX_NOTICE_WEEKS)
    host_checks: list[str] = Field(default_factory=lambda: list(OTHER_HOST_CHECK_DEFAULTS[2]),
                                   sa_type=sa.JSON)

    @field_validator("host_checks")
    @classmethod
    def known_checks(cls, values: list[str]) -> list[str]:
        if any(value not in HOST_CHECKS for value in values):
            raise ValueError("Choose checks from the list")
        return [key for key in HOST_CHECKS if key in values]  # in the list's order, once each


class OrganisationBase(HostChecksBase):
    name: OneLine = Field(min_length=2, max_length=160)
    sector: SectorKey = Field(max_length=40)
    borough: BoroughKey = Field(max_length=40)
    size: str = Field(default=OrganisationSize.SMALL, max_length=10)


class Organisation(OrganisationBase, table=True):
    __table_args__ = (
        sa.UniqueConstraint("name"),
        enum_check("size", OrganisationSize),
        enum_check("access_route", AccessRoute),
        sa.CheckConstraint(f"notice_weeks >= 0 AND notice_weeks <= {MAX_NOTICE_WEEKS}",
                           name="notice_weeks_range"),
    )

    id: int | None = Field(default=None, primary_key=True)

    @property
    def checklist(self) -> list[str]:
        """The items a host at this organisation confirms before each visit."""
        return [self.access_route, *self.host_checks]


class OrganisationCreate(OrganisationBase):
    size: OrganisationSize = OrganisationSize.SMALL
    access_route: AccessRoute = AccessRoute(OTHER_HOST_CHECK_DEFAULTS[0])

    @model_validator(mode="before")
    @classmethod
    def sector_defaults(cls, data: Any) -> Any:
        """A new organisation starts with what its sector usually needs."""
        if isinstance(data, dict) and isinstance(data.get("sector"), str):
            route, weeks, checks = host_check_defaults(data["sector"])
            data = {"access_route": route, "notice_weeks": weeks, "host_checks": list(checks),
                    **data}
        return data


class OrganisationHostChecks(HostChecksBase):
    """The organisation page's form: access route, notice and checks."""

    access_route: AccessRoute


class LeaderProfileBase(SQLModel):
    """Everything a leader says about themself. Validation lives here, not on the table."""

    name: OneLine = Field(min_length=1, max_length=120)
    job_title: OneLine = Field(default="", max_length=160)
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
    # Shared with a partner only once both have accepted their match.
    phone: PhoneNumber = Field(default="", max_length=30)
    # Visit details a host gives once: each exchange they host takes a copy, which the host can
    # change for that exchange (`VisitDetails`, `mentoring.exchanges.visits`).
    visit_site: OneLine = Field(default="", max_length=160)
    visit_address: str = Field(default="", max_length=300)
    visit_directions: str = Field(default="", max_length=1000)
    visit_meeting: str = Field(default="", max_length=500)
    visit_bring: str = Field(default="", max_length=500)
    visit_accessibility: str = Field(default="", max_length=1000)
    visit_phone: PhoneNumber = Field(default="", max_length=30)
    # Whom a round that asks for it emails to release the time for booked exchanges (optional).
    line_manager_name: OneLine = Field(default="", max_length=120)
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
        for value in values:
            vocabularies.check("topic", value)
        return list(dict.fromkeys(values))

    @field_validator("travel_boroughs")
    @classmethod
    def known_boroughs(cls, values: list[str]) -> list[str]:
        for value in values:
            vocabularies.check("place", value)
        return list(dict.fromkeys(values))


class LeaderProfile(LeaderProfileBase, table=True):
    __tablename__ = "leader_profile"
    __table_args__ = (
        enum_check("career_stage", CareerStage),
        enum_check("profession_preference", ProfessionPreference),
        sa.CheckConstraint("mentor_capacity >= 0", name="mentor_capacity_not_negative"),
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
