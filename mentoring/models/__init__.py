"""The whole domain model. Import from here: `from mentoring.models import Match`."""

from mentoring.models.base import utcnow  # noqa: I001  (sets the naming convention first)
from mentoring.models.accounts import (
    AuditEvent,
    IdentityLink,
    RecoveryCode,
    SecondFactor,
    SignInAttempt,
    User,
    UserCreate,
    UserSession,
)
from mentoring.models.people import (
    LeaderProfile,
    LeaderProfileCreate,
    Organisation,
    OrganisationCreate,
    OrganisationHostChecks,
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
    RoundBlackout,
    RoundParticipant,
)
from mentoring.models.matching import (
    NOTE_MAX_LENGTH,
    Exchange,
    ExchangeBooking,
    Match,
    OptimiserRun,
    ProposalRemoval,
    VisitDetails,
    match_stage,
)
from mentoring.models.notifications import Notification
from mentoring.models.visits import ExchangeCheck
from mentoring.models.feedback import Feedback, FeedbackCreate, Reflection
from mentoring.models.releases import TimeRelease
from mentoring.models.configuration import ProgrammeText, VocabularyTerm
from mentoring.models.notes import CoordinatorNote
from mentoring.models.confidence import Moment, SelfAssessment
from mentoring.models.outcomes import CheckIn, Concern, PairAgreement
from mentoring.models.email_links import EmailLink, EmailRequest
from mentoring.models.jobs import BackgroundJob

__all__ = [
    "DEFAULT_ANSWER_WITHIN_DAYS",
    "DEFAULT_REMINDER_OFFSETS_HOURS",
    "DEFAULT_WEIGHTS",
    "NOTE_MAX_LENGTH",
    "AuditEvent",
    "Availability",
    "BackgroundJob",
    "CheckIn",
    "Concern",
    "CoordinatorNote",
    "EmailLink",
    "EmailRequest",
    "Exchange",
    "ExchangeBooking",
    "ExchangeCheck",
    "Feedback",
    "FeedbackCreate",
    "IdentityLink",
    "Invitation",
    "LeaderProfile",
    "LeaderProfileCreate",
    "Match",
    "Moment",
    "Notification",
    "OptimiserRun",
    "Organisation",
    "OrganisationCreate",
    "OrganisationHostChecks",
    "PairAgreement",
    "ProfileDraft",
    "ProgrammeRound",
    "ProgrammeRoundCreate",
    "ProgrammeText",
    "ProposalRemoval",
    "RecoveryCode",
    "Reflection",
    "RoundBlackout",
    "RoundParticipant",
    "SecondFactor",
    "SelfAssessment",
    "SignInAttempt",
    "TimeRelease",
    "User",
    "UserCreate",
    "UserSession",
    "VisitDetails",
    "VocabularyTerm",
    "match_stage",
    "utcnow",
]
