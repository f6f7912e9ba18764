"""Fixed vocabularies (statuses, roles, checks), and south east London's places, sectors,
professions and topics as the default configuration.

The places, sectors, professions, topics and priority groups below are only the defaults: the
migration seeds them into `vocabulary_term`, admins change them in the app, and the code reads
them through `mentoring.configuration.vocabularies` (never these constants directly, except to
seed, and to fall back on where no database is at hand). Keys are stored in the database; labels
are what people read.
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

# Sector labels that do not read well after "works in" (a match's reasons); a sector without a
# phrase reads as its label.
SECTOR_PHRASES = {
    "acute": "acute care",
    "vcse": "the voluntary, community and social enterprise (VCSE) sector",
    "icb": "an integrated care board (ICB)",
}

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


class Reciprocity(StrEnum):
    """Does each leader of a pair host at least one of its exchanges? The optimiser's
    `rules.reciprocal`: always, only when both can host (a pair in which one cannot host has
    every exchange at the other's workplace), or never."""

    REQUIRED = "required"
    WHERE_POSSIBLE = "where_possible"
    OFF = "off"


class ParticipantStatus(StrEnum):
    INVITED = "invited"
    JOINED = "joined"
    WITHDRAWN = "withdrawn"


class Period(StrEnum):
    """Half-day slots: the default slot pattern of a round."""

    AM = "am"
    PM = "pm"


class JobKind(StrEnum):
    """Coordinators' actions on a big round that the worker carries out (mentoring.jobs)."""

    IMPORT = "import"  # a CSV of people to invite
    APPROVAL = "approval"  # a run's proposal to approve


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
    """The match lifecycle: proposed in a run; offered to both leaders when a coordinator
    approves; accepted once both agree (its exchanges are then booked); or declined by either,
    or lapsed when nobody answered by the deadline (the coordinator extends or withdraws it)."""

    PROPOSED = "proposed"
    OFFERED = "offered"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


# A mentee may hold at most one match in these states per round (enforced by the database), and
# their exchanges hold half-days, protected hours and hosting. A lapsed offer keeps its hold
# until the coordinator extends or withdraws it.
LIVE_MATCH_STATUSES = (MatchStatus.OFFERED, MatchStatus.ACCEPTED, MatchStatus.LAPSED)


class MatchStage(StrEnum):
    """What a match is, in the words every page uses: an offer nobody has answered, an offer one
    leader has accepted, booked (both accepted), declined, lapsed or cancelled."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    BOOKED = "booked"
    DECLINED = "declined"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


MATCH_STAGE_LABELS = {
    MatchStage.OFFERED: "Offered",
    MatchStage.ACCEPTED: "Accepted",
    MatchStage.BOOKED: "Booked",
    MatchStage.DECLINED: "Declined",
    MatchStage.LAPSED: "Lapsed",
    MatchStage.CANCELLED: "Cancelled",
}
# NHS.UK tag colours for each stage.
MATCH_STAGE_COLOURS = {
    MatchStage.OFFERED: "blue",
    MatchStage.ACCEPTED: "aqua-green",
    MatchStage.BOOKED: "green",
    MatchStage.DECLINED: "red",
    MatchStage.LAPSED: "orange",
    MatchStage.CANCELLED: "grey",
}


class ExchangeStatus(StrEnum):
    """`held` while its match is an offer (the half-day is reserved, no invitation is sent);
    `scheduled` once both leaders accepted (booked: invitations and reminders go out)."""

    HELD = "held"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


EXCHANGE_STATUS_LABELS = {
    ExchangeStatus.HELD: "Held for the offer",
    ExchangeStatus.SCHEDULED: "Booked",
    ExchangeStatus.COMPLETED: "Completed",
    ExchangeStatus.CANCELLED: "Cancelled",
}
# Exchanges that still take a half-day: reserved by an offer or booked.
ACTIVE_EXCHANGE_STATUSES = (ExchangeStatus.HELD, ExchangeStatus.SCHEDULED)

# Why a leader declines an offer: the choices on the decline form (the free text adds detail).
DECLINE_REASONS = _choices(
    [
        ("know_already", "We already know each other or work together"),
        ("dates", "The proposed dates do not work for me"),
        ("travel", "The workplace is too far for me to travel"),
        ("fit", "The match does not fit what I want to develop"),
        ("capacity", "I do not have the time at the moment"),
        ("other", "Another reason"),
    ]
)


# --- the host's checks (issue 14) ---------------------------------------------------------------

class AccessRoute(StrEnum):
    """How an organisation lets an outside leader observe: escorted throughout, with a letter of
    access (for people employed elsewhere in the NHS), or on an honorary contract."""

    ESCORTED_VISITOR = "escorted_visitor"
    LETTER_OF_ACCESS = "letter_of_access"
    HONORARY_CONTRACT = "honorary_contract"


ACCESS_ROUTES = _choices(
    [
        (AccessRoute.ESCORTED_VISITOR, "Escorted visitor"),
        (AccessRoute.LETTER_OF_ACCESS, "Letter of access"),
        (AccessRoute.HONORARY_CONTRACT, "Honorary contract"),
    ]
)
# "... lets leaders from outside observe <phrase>"
ACCESS_ROUTE_PHRASES = {
    AccessRoute.ESCORTED_VISITOR: "as escorted visitors",
    AccessRoute.LETTER_OF_ACCESS: "with a letter of access",
    AccessRoute.HONORARY_CONTRACT: "on an honorary contract",
}
ACCESS_ROUTE_HINTS = {
    AccessRoute.ESCORTED_VISITOR: "Someone from the setting meets the visitor and stays with "
                                  "them throughout.",
    AccessRoute.LETTER_OF_ACCESS: "For visitors employed elsewhere in the NHS: the "
                                  "organisation's research or HR team issues a letter for the day.",
    AccessRoute.HONORARY_CONTRACT: "The visitor holds an honorary contract with the "
                                   "organisation for the day.",
}

# The checks an organisation may need before an outsider observes (besides its access route).
HOST_CHECKS = _choices(
    [
        ("confidentiality", "Confidentiality agreement"),
        ("photo_id", "Photo ID"),
        ("infection_control", "Infection-control induction"),
        ("patients_told", "Patients told and free to refuse"),
        ("dbs", "DBS check"),
    ]
)

# Each item of an exchange's checklist, as the host confirms it: the access route (one of
# ACCESS_ROUTES) and then the organisation's checks. Only "confirmed on this date, by this
# person" is kept: never a certificate, a DBS number or a copy of an ID.
CHECKLIST_ITEMS = _choices(
    [
        (AccessRoute.ESCORTED_VISITOR, "Escort arranged"),
        (AccessRoute.LETTER_OF_ACCESS, "Letter of access issued"),
        (AccessRoute.HONORARY_CONTRACT, "Honorary contract in place"),
        ("confidentiality", "Confidentiality agreement signed"),
        ("photo_id", "Photo ID arranged"),
        ("infection_control", "Infection-control induction done"),
        ("patients_told", "Patients told and free to refuse"),
        ("dbs", "DBS check confirmed"),
    ]
)
CHECKLIST_HINTS = {
    AccessRoute.ESCORTED_VISITOR: "Someone will meet the visitor on arrival and stay with them.",
    AccessRoute.LETTER_OF_ACCESS: "The host's organisation has issued the visitor a letter of "
                                  "access for the day.",
    AccessRoute.HONORARY_CONTRACT: "The visitor holds an honorary contract with the host's "
                                   "organisation for the day.",
    "confidentiality": "The visitor has signed the host organisation's confidentiality "
                       "agreement.",
    "photo_id": "The visitor knows to bring photo ID, and who checks it on arrival.",
    "infection_control": "The visitor has done the infection-control induction the setting "
                         "asks for, or it is booked for their arrival.",
    "patients_told": "Patients and service users will be told an observer is there, and can "
                     "say no.",
    "dbs": "The host has seen confirmation of the visitor's DBS check at the level the setting "
           "needs. Never send or upload the certificate: only confirm it here.",
}

# What an organisation of each sector usually needs, until an admin or coordinator says
# otherwise: (access route, notice in weeks, checks). Hospital and mental-health trusts need
# the most; a GP practice or community pharmacy escorts a visitor with a couple of weeks'
# notice; councils, charities and the ICB need little beyond confidentiality and ID (and a DBS
# check where the setting is social care).
ALL_HOST_CHECKS = tuple(HOST_CHECKS)
HOST_CHECK_DEFAULTS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "acute": (AccessRoute.LETTER_OF_ACCESS, 4, ALL_HOST_CHECKS),
    "mental_health": (AccessRoute.LETTER_OF_ACCESS, 4, ALL_HOST_CHECKS),
    "community_health": (AccessRoute.LETTER_OF_ACCESS, 3,
                         ("confidentiality", "photo_id", "infection_control", "patients_told")),
    "primary_care": (AccessRoute.ESCORTED_VISITOR, 2,
                     ("confidentiality", "photo_id", "patients_told")),
    "community_pharmacy": (AccessRoute.ESCORTED_VISITOR, 2,
                           ("confidentiality", "photo_id", "patients_told")),
    "social_care": (AccessRoute.ESCORTED_VISITOR, 1, ("confidentiality", "photo_id", "dbs")),
    "vcse": (AccessRoute.ESCORTED_VISITOR, 1, ("confidentiality", "photo_id")),
    "icb": (AccessRoute.ESCORTED_VISITOR, 1, ("confidentiality", "photo_id")),
}
OTHER_HOST_CHECK_DEFAULTS = (AccessRoute.ESCORTED_VISITOR, 2, ("confidentiality", "photo_id"))
DEFAULT_NOTICE_WEEKS = OTHER_HOST_CHECK_DEFAULTS[1]
MAX_NOTICE_WEEKS = 26


def host_check_defaults(sector: str) -> tuple[str, int, tuple[str, ...]]:
    """(access route, notice in weeks, checks) an organisation of this sector starts with."""
    return HOST_CHECK_DEFAULTS.get(sector, OTHER_HOST_CHECK_DEFAULTS)


class RematchOutcome(StrEnum):
    """A leader who declined and asked for a different match: what the coordinator did."""

    NONE = ""
    REQUESTED = "requested"
    OFFERED = "offered"
    NOT_POSSIBLE = "not_possible"


class ReleaseStatus(StrEnum):
    """A line manager's answer to a request to release a leader's time for their exchanges."""

    REQUESTED = "requested"  # emailed, waiting for an answer
    RELEASED = "released"
    DECLINED = "declined"


RELEASE_STATUS_LABELS = {
    ReleaseStatus.REQUESTED: "Waiting for an answer",
    ReleaseStatus.RELEASED: "Time released",
    ReleaseStatus.DECLINED: "Time not released",
}


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
