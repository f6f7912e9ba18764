"""Retention that happens: personal data past its retention period is removed by the worker,
once a day, and the audit log says what was removed (counts only).

Four periods, each a setting (`RETENTION_*`, docs/operations.md; the privacy notice names them):

- **Closed rounds** (24 months after the round's last day): what only the running of the round
  needed goes — availability, invitations (their addresses and pre-filled answers), line
  managers' names and addresses (their answers stay), visit details and notes on exchanges,
  coordinators' notes about declines, the optimiser's inputs and outputs, emails about the
  round, pairs' agreements and the concerns leaders raised (check-ins keep their answers, not
  who gave them or what they wrote). Matches, exchanges' dates
  and feedback ratings stay, without names where they were named, so every figure on the
  dashboard and in the report stays true.
- **Unused accounts** (24 months without signing in, and in no round still running): the owner is
  warned by email; 30 days later, if they have still not signed in, the account is anonymised
  rather than deleted — their matches and exchanges still count in old rounds' figures, shown as
  "Former participant". Admins are never anonymised: the service must keep one.
- **Sent emails** (180 days after sending): the outbox's copies go.
- **The audit log** (72 months): older events go.

No Flask here: the worker (`retention_job`) and tests call `apply_retention`.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth import email_links
from mentoring.models import (
    AuditEvent,
    Availability,
    CheckIn,
    Concern,
    Exchange,
    Feedback,
    IdentityLink,
    Invitation,
    LeaderProfile,
    Match,
    Notification,
    OptimiserRun,
    PairAgreement,
    ProfileDraft,
    ProgrammeRound,
    ProposalRemoval,
    Reflection,
    RoundParticipant,
    TimeRelease,
    User,
    UserSession,
)
from mentoring.vocab import (
    LIVE_MATCH_STATUSES,
    NotificationStatus,
    ParticipantStatus,
    Role,
    RoundStatus,
)

# Between the warning and the anonymisation: time to read the email and sign in.
WARNING_DAYS = 30
FINISHED_ROUNDS = (RoundStatus.CLOSED, RoundStatus.ARCHIVED)
FORMER_PARTICIPANT = "Former participant"
# Emails that have left the outbox one way or another; pending and sending ones are never touched.
FINISHED_EMAILS = (NotificationStatus.SENT, NotificationStatus.FAILED,
                   NotificationStatus.WITHDRAWN)
# What an exchange held about the visit (the host's details, the pair's note, why it was off).
EXCHANGE_VISIT_TEXT = ("location", "address", "directions", "meeting", "bring", "accessibility",
                       "phone", "preparation", "note", "cancel_reason")
# What a profile says that identifies its leader. Sector, profession, place and career stage
# stay: they are the dimensions of the programme's figures.
PROFILE_IDENTIFYING_TEXT = ("job_title", "phone", "strengths_other", "goals_other", "visit_site",
                            "visit_address", "visit_directions", "visit_meeting", "visit_bring",
                            "visit_accessibility", "visit_phone", "line_manager_name",
                            "line_manager_email")


@dataclass(frozen=True)
class RetentionPeriods:
    closed_round_months: int = 24
    inactive_account_months: int = 24
    audit_months: int = 72
    sent_email_days: int = 180

    @classmethod
    def from_settings(cls, settings: Any) -> RetentionPeriods:
        return cls(
            closed_round_months=settings.retention_closed_round_months,
            inactive_account_months=settings.retention_inactive_account_months,
            audit_months=settings.retention_audit_months,
            sent_email_days=settings.retention_sent_email_days,
        )


def _months(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{months} month{'s' if months != 1 else ''}"


def in_words(periods: RetentionPeriods) -> list[tuple[str, str]]:
    """The periods as the privacy notice states them: (what is kept, for how long)."""
    days = periods.sent_email_days
    return [
        ("What a round needed to run (availability, invitations, line managers' details, visit "
         "details, notes)", f"{_months(periods.closed_round_months)} after the round ends"),
        ("Your account and profile, if you stop using the service",
         f"{_months(periods.inactive_account_months)} after you last sign in, then we warn you "
         f"and remove it {WARNING_DAYS} days later unless you sign in"),
        ("Copies of the emails we send you", f"{days} day{'s' if days != 1 else ''}"),
        ("The audit log of who did what", _months(periods.audit_months)),
        ("Anonymous figures and feedback without names", "as long as the programme runs"),
    ]


def months_before(moment: datetime, months: int) -> datetime:
    """The same day of the month, `months` calendar months earlier (the 31st becomes the last
    day of a shorter month)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def apply_retention(session: Session, periods: RetentionPeriods, now: datetime) -> dict[str, int]:
    """Remove what is past its period; one audit event with the counts when anything went.
    The caller commits."""
    done: dict[str, int] = {}
    done |= remove_closed_rounds_personal_data(
        session, months_before(now, periods.closed_round_months).date(), now)
    done |= warn_unused_accounts(session, months_before(now, periods.inactive_account_months), now)
    done |= anonymise_unused_accounts(
        session, months_before(now, periods.inactive_account_months), now)
    done["sent_emails_deleted"] = delete_sent_emails(
        session, now - timedelta(days=periods.sent_email_days))
    done["audit_events_deleted"] = delete_old_audit_events(
        session, months_before(now, periods.audit_months))
    done |= email_links.forget_old(session, now)
    if any(done.values()):
        audit.record(session, "retention.applied", detail={**done, "periods": asdict(periods)})
    return done


# --- closed rounds ---------------------------------------------------------------------------


def remove_closed_rounds_personal_data(session: Session, ended_before: date,
                                       now: datetime) -> dict[str, int]:
    rounds = session.exec(select(ProgrammeRound).where(
        ProgrammeRound.status.in_(FINISHED_ROUNDS),  # type: ignore[attr-defined]
        ProgrammeRound.ends_on < ended_before,
        ProgrammeRound.personal_data_removed_at.is_(None),  # type: ignore[union-attr]
    )).all()
    for programme_round in rounds:
        remove_round_personal_data(session, programme_round, now)
    return {"rounds_tidied": len(rounds)}


def _forget_invitations(session: Session, round_id: int) -> None:
    """Invitations taken up go (the participant is counted as such); those never taken up keep
    a row without the address or what it prefilled, so "invited, not yet joined" stays true."""
    taken_up = (sa.select(User.email)
                .join(LeaderProfile, LeaderProfile.user_id == User.id)
                .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
                .where(RoundParticipant.round_id == round_id))
    session.execute(sa.delete(Invitation).where(Invitation.round_id == round_id,
                                                Invitation.email.in_(taken_up)))
    session.execute(sa.update(Invitation).where(Invitation.round_id == round_id).values(
        email=sa.literal("removed-") + sa.cast(Invitation.id, sa.String) + "@invalid",
        prefill={}))


def remove_round_personal_data(session: Session, programme_round: ProgrammeRound,
                               now: datetime) -> None:
    round_id = programme_round.id
    match_ids = sa.select(Match.id).where(Match.round_id == round_id).scalar_subquery()
    session.execute(sa.delete(Availability).where(Availability.round_id == round_id))
    _forget_invitations(session, round_id)
    _forget_line_managers(session, TimeRelease.match_id.in_(match_ids))
    session.execute(sa.update(Exchange).where(Exchange.match_id.in_(match_ids))
                    .values({name: "" for name in EXCHANGE_VISIT_TEXT}))
    session.execute(sa.update(Match).where(Match.round_id == round_id)
                    .values(decline_reason="", rematch_note=""))
    session.execute(sa.update(OptimiserRun).where(OptimiserRun.round_id == round_id)
                    .values(problem=None, solution=None, note="", error=""))
    # What was taken out of those proposals goes with them.
    session.execute(sa.delete(ProposalRemoval).where(ProposalRemoval.run_id.in_(
        sa.select(OptimiserRun.id).where(OptimiserRun.round_id == round_id))))
    # Ratings and what people learned stay (the round's evidence), no longer tied to a leader.
    session.execute(sa.update(Feedback).where(Feedback.round_id == round_id)
                    .values(leader_id=None, agree_to_be_named=False))
    session.execute(sa.delete(Notification).where(
        Notification.round_id == round_id,
        Notification.status.in_(FINISHED_EMAILS),  # type: ignore[attr-defined]
    ))
    # Outcomes (issue 20): the pair's agreements and the concerns go; check-ins keep their
    # answers (the round's evidence) without who gave them or what they wrote.
    session.execute(sa.delete(PairAgreement).where(PairAgreement.match_id.in_(match_ids)))
    session.execute(sa.delete(Concern).where(Concern.round_id == round_id))
    session.execute(sa.update(CheckIn).where(CheckIn.round_id == round_id)
                    .values(leader_id=None, anything_else=""))
    programme_round.personal_data_removed_at = now
    session.add(programme_round)


def _forget_line_managers(session: Session, where) -> None:
    """The answers stay (the dashboard counts them); who gave them goes, and with the nonce
    any link still in a mailbox."""
    session.execute(sa.update(TimeRelease).where(where)
                    .values(manager_name="", manager_email="", nonce=""))


# --- unused accounts -------------------------------------------------------------------------


def _last_active():
    return sa.func.coalesce(User.last_sign_in_at, User.verified_at, User.created_at)


def _still_taking_part():
    """Accounts with a place in a round still running, or a live match in one (a match stays
    "accepted" after its round closes: that does not count)."""
    in_running_round = (
        sa.select(LeaderProfile.user_id)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .join(ProgrammeRound, ProgrammeRound.id == RoundParticipant.round_id)
        .where(RoundParticipant.status != ParticipantStatus.WITHDRAWN,
               ProgrammeRound.status.not_in(FINISHED_ROUNDS))  # type: ignore[attr-defined]
    )
    in_live_match = (
        sa.select(LeaderProfile.user_id)
        .join(Match, sa.or_(Match.mentor_id == LeaderProfile.id,
                            Match.mentee_id == LeaderProfile.id))
        .join(ProgrammeRound, ProgrammeRound.id == Match.round_id)
        .where(Match.status.in_(LIVE_MATCH_STATUSES),  # type: ignore[attr-defined]
               ProgrammeRound.status.not_in(FINISHED_ROUNDS))  # type: ignore[attr-defined]
    )
    return sa.union(in_running_round, in_live_match)


def _unused_accounts(inactive_since: datetime):
    return select(User).where(
        User.anonymised_at.is_(None),  # type: ignore[union-attr]
        User.role != Role.ADMIN,
        _last_active() < inactive_since,
        User.id.not_in(_still_taking_part()),  # type: ignore[union-attr]
    )


def warn_unused_accounts(session: Session, inactive_since: datetime,
                         now: datetime) -> dict[str, int]:
    """One warning per spell of inactivity: signing in starts a new spell."""
    # The outbox renders with templates (import on use: the worker's other jobs load it anyway).
    from mentoring.notifications.outbox import enqueue
    from mentoring.notifications.plan import long_date

    users = session.exec(_unused_accounts(inactive_since).where(sa.or_(
        User.inactivity_warned_at.is_(None),  # type: ignore[union-attr]
        User.inactivity_warned_at < _last_active(),
    ))).all()
    removal_day = long_date(now + timedelta(days=WARNING_DAYS))
    for user in users:
        last_active = user.last_sign_in_at or user.verified_at or user.created_at
        enqueue(
            session, key=f"retention-warning:{user.id}:{now:%Y-%m-%d}",
            kind="retention_warning", recipient_email=user.email, recipient_user_id=user.id,
            subject="We will remove your leadership exchange account unless you sign in",
            template="retention_warning",
            context={"email": user.email, "last_active": long_date(last_active),
                     "removal_day": removal_day, "sign_in_path": "/sign-in"},
        )
        user.inactivity_warned_at = now
        session.add(user)
    return {"accounts_warned": len(users)}


def anonymise_unused_accounts(session: Session, inactive_since: datetime,
                              now: datetime) -> dict[str, int]:
    users = session.exec(_unused_accounts(inactive_since).where(
        User.inactivity_warned_at >= _last_active(),
        User.inactivity_warned_at <= now - timedelta(days=WARNING_DAYS),
    )).all()
    for user in users:
        anonymise_account(session, user, now)
    return {"accounts_anonymised": len(users)}


def anonymise_account(session: Session, user: User, now: datetime) -> None:
    """Keep the account's place in the figures, lose who it was: no email address, no way to
    sign in, no name, contact details, free text, reflections, drafts or emails."""
    from mentoring.mydata.services import (
        forget_in_audit_trail,  # mydata builds on retention's peers
    )

    profile = session.exec(select(LeaderProfile).where(LeaderProfile.user_id == user.id)).first()
    forget_in_audit_trail(session, user, profile)
    session.execute(sa.delete(Notification).where(sa.or_(
        Notification.recipient_user_id == user.id, Notification.recipient_email == user.email)))
    session.execute(sa.delete(Invitation).where(Invitation.email == user.email))
    email_links.forget_address(session, user.email)
    session.execute(sa.delete(ProfileDraft).where(ProfileDraft.user_id == user.id))
    # Links to an identity provider name the person (their email and subject there).
    session.execute(sa.delete(IdentityLink).where(IdentityLink.user_id == user.id))
    # Sessions name the person's browser and address, and must not outlive the account.
    session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    if profile is not None:
        session.execute(sa.delete(Reflection).where(Reflection.leader_id == profile.id))
        _forget_line_managers(session, TimeRelease.leader_id == profile.id)
        session.execute(sa.update(Feedback).where(Feedback.leader_id == profile.id)
                        .values(leader_id=None, agree_to_be_named=False))
        session.execute(sa.update(CheckIn).where(CheckIn.leader_id == profile.id)
                        .values(leader_id=None, anything_else=""))
        session.execute(sa.update(Concern).where(Concern.raised_by_id == profile.id)
                        .values(raised_by_id=None))
        profile.name = FORMER_PARTICIPANT
        for name in PROFILE_IDENTIFYING_TEXT:
            setattr(profile, name, "")
        profile.calendar_token_hash = None
        session.add(profile)
    user.email = f"former-{user.id}@anonymised.invalid"
    user.password_hash = None
    user.is_active = False
    user.session_version += 1  # belt and braces: no session names the old version
    user.anonymised_at = now
    session.add(user)


# --- emails and the audit log ----------------------------------------------------------------


def delete_sent_emails(session: Session, sent_before: datetime) -> int:
    result = session.execute(sa.delete(Notification).where(
        Notification.status.in_(FINISHED_EMAILS),  # type: ignore[attr-defined]
        sa.func.coalesce(Notification.sent_at, Notification.created_at) < sent_before,
    ))
    return result.rowcount or 0


def delete_old_audit_events(session: Session, before: datetime) -> int:
    return session.execute(sa.delete(AuditEvent).where(AuditEvent.at < before)).rowcount or 0
