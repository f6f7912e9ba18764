"""Controlled vocabularies: the one place that lists boroughs, sectors, professions and topics.

Values are stable keys stored in the database; labels are what people read.
"""

from __future__ import annotations

from enum import StrEnum


def _choices(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return dict(pairs)


BOROUGHS = _choices(
    [
        ("bexley", "Bexley"),
        ("bromley", "Bromley"),
        ("greenwich", "Greenwich"),
        ("lambeth", "Lambeth"),
        ("lewisham", "Lewisham"),
        ("southwark", "Southwark"),
    ]
)

SECTORS = _choices(
    [
        ("primary_care", "Primary care"),
        ("acute", "Acute"),
        ("mental_health", "Mental health"),
        ("community_health", "Community health"),
        ("community_pharmacy", "Community pharmacy"),
        ("social_care", "Social care"),
        ("vcse", "Voluntary, community and social enterprise (VCSE)"),
        ("icb", "Integrated care board (ICB)"),
        ("other", "Other"),
    ]
)

# The professions the two workshops named, plus the everyday ones around them.
PROFESSIONS = _choices(
    [
        ("gp", "GP"),
        ("pcn_clinical_director", "PCN clinical director"),
        ("acute_clinical_director", "Acute-trust clinical director"),
        ("pcn_pharmacy_lead", "PCN pharmacy lead"),
        ("practice_pharmacist", "Practice pharmacist"),
        ("community_pharmacist", "Community pharmacist"),
        ("consultant_pharmacist", "Consultant pharmacist"),
        ("hospital_pharmacist", "Hospital pharmacist"),
        ("nurse", "Nurse"),
        ("mental_health_nurse", "Mental-health nurse"),
        ("social_worker", "Social worker"),
        ("allied_health_professional", "Allied health professional"),
        ("vcse_representative", "VCSE representative"),
        ("patient_representative", "Patient representative"),
        ("manager", "Manager"),
        ("other", "Other"),
    ]
)

# "Under-heard" groups the workshops asked to be matched first: a round's default priority groups.
DEFAULT_PRIORITY_PROFESSIONS = (
    "nurse",
    "mental_health_nurse",
    "social_worker",
    "vcse_representative",
    "patient_representative",
    "community_pharmacist",
    "pcn_pharmacy_lead",
)

# Development topics: what a mentor can offer (strengths) and a mentee wants to grow (goals).
TOPICS = _choices(
    [
        ("system_leadership", "System leadership across organisations"),
        ("population_health", "Population health and inequalities"),
        ("quality_improvement", "Quality improvement"),
        ("medicines_optimisation", "Medicines optimisation"),
        ("integrated_care", "Integrated care and pathways"),
        ("partnership_working", "Partnership working with the VCSE sector"),
        ("patient_voice", "Patient and community voice"),
        ("workforce", "Workforce and team development"),
        ("finance_contracts", "Finance and contracts"),
        ("digital_data", "Digital, data and analytics"),
        ("governance", "Governance and decision making"),
        ("influencing", "Influencing and negotiating"),
        ("change_management", "Leading change"),
        ("coaching", "Coaching and developing others"),
        ("research_evidence", "Research and evidence"),
        ("resilience", "Wellbeing and resilience"),
    ]
)


class Role(StrEnum):
    LEADER = "leader"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class CareerStage(StrEnum):
    EXPERIENCED = "experienced"
    EMERGING = "emerging"


class OrganisationSize(StrEnum):
    """Lets reports check that big trusts do not crowd out small units."""

    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"


class ProfessionPreference(StrEnum):
    ANY = "any"
    SAME = "same"
    DIFFERENT = "different"


class RoundStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    MATCHING = "matching"
    PUBLISHED = "published"
    CLOSED = "closed"
    ARCHIVED = "archived"


class ParticipantStatus(StrEnum):
    INVITED = "invited"
    JOINED = "joined"
    WITHDRAWN = "withdrawn"


class Period(StrEnum):
    """Half-day slots: the default slot pattern of a round."""

    AM = "am"
    PM = "pm"


class RunKind(StrEnum):
    """A whole-round optimisation, or a local one around the leaders affected by a change."""

    FULL = "full"
    LOCAL = "local"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MatchStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


# A mentee may hold at most one match in these states per round (enforced by the database).
LIVE_MATCH_STATUSES = (MatchStatus.APPROVED, MatchStatus.ACCEPTED)


class ExchangeStatus(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


def label(vocabulary: dict[str, str], key: str | None) -> str:
    """The readable label of a key, or the key itself when it is not in the vocabulary."""
    if key is None:
        return ""
    return vocabulary.get(key, key)
