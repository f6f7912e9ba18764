"""The whole domain model. Import from here: `from mentoring.models import Match`."""

from mentoring.models.base import utcnow  # noqa: I001  (sets the naming convention first)
from mentoring.models.accounts import AuditEvent, SignInAttempt, User, UserCreate
from mentoring.models.people import (
    LeaderProfile,
    LeaderProfileCreate,
    Organisation,
    OrganisationCreate,
    ProfileDraft,
)
from mentoring.models.rounds import (
    DEFAULT_ANSWER_WITHIN_DAYS,
    DEFAULT_REMINDER_OFFSETS_HOURS,
    DEFAULT_WEIGHTS,
    Availability,
    Invitation,
    ProgrammeRound,
    ProgrammeRoundCreate,
    RoundParticipant,
)
from mentoring.models.matching import Exchange, ExchangeBooking, Match, OptimiserRun, match_stage
from mentoring.models.notifications import Notification
from mentoring.models.feedback import Feedback, FeedbackCreate, Reflection
from mentoring.models.releases import TimeRelease

__all__ = [
    "DEFAULT_ANSWER_WITHIN_DAYS",
    "DEFAULT_REMINDER_OFFSETS_HOURS",
    "DEFAULT_WEIGHTS",
    "AuditEvent",
    "Availability",
    "Exchange",
    "ExchangeBooking",
    "Feedback",
    "FeedbackCreate",
    "Invitation",
    "LeaderProfile",
    "LeaderProfileCreate",
    "Match",
    "Notification",
    "OptimiserRun",
    "Organisation",
    "OrganisationCreate",
    "ProfileDraft",
    "ProgrammeRound",
    "ProgrammeRoundCreate",
    "Reflection",
    "RoundParticipant",
    "SignInAttempt",
    "TimeRelease",
    "User",
    "UserCreate",
    "match_stage",
    "utcnow",
]
