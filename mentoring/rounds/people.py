"""One participant as a coordinator sees them: their profile, when they are free, their matches
and exchanges in the round, the emails sent to them, what the audit log holds about them, and
coordinators' private notes. No Flask here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.models import (
    AuditEvent,
    Availability,
    CoordinatorNote,
    Exchange,
    LeaderProfile,
    Match,
    Notification,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.models.notes import NOTE_TEXT_LIMIT
from mentoring.mydata import services as leaving

# Enough history to answer "what happened with this person"; the audit log has the rest.
HISTORY_ROWS = 50
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PERIODS = {"am": "mornings", "pm": "afternoons"}


class NoteError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class FreeTime:
    half_days: int
    first: date | None
    last: date | None
    usual: list[str]  # the weekday half-days they are most often free, e.g. "Tuesday mornings"


@dataclass(frozen=True)
class MatchLine:
    match: Match
    role: str  # "mentor" or "mentee": what this participant is in the match
    other: LeaderProfile


@dataclass(frozen=True)
class ExchangeLine:
    exchange: Exchange
    hosting: bool
    other: LeaderProfile


@dataclass(frozen=True)
class PersonPage:
    participant: RoundParticipant
    profile: LeaderProfile
    user: User
    organisation: Organisation | None
    free: FreeTime
    matches: list[MatchLine]
    exchanges: list[ExchangeLine]
    emails: list[Notification]
    events: list[AuditEvent]
    notes: list[CoordinatorNote]


def person_page(session: Session, programme_round: ProgrammeRound,
                leader_id: int) -> PersonPage | None:
    """None when the leader is not a participant of this round (the page is not found)."""
    row = session.exec(
        select(RoundParticipant, LeaderProfile, User)
        .join(LeaderProfile, LeaderProfile.id == RoundParticipant.leader_id)
        .join(User, User.id == LeaderProfile.user_id)
        .where(RoundParticipant.round_id == programme_round.id,
               RoundParticipant.leader_id == leader_id)
    ).first()
    if row is None:
        return None
    participant, profile, user = row
    organisation = (session.get(Organisation, profile.organisation_id)
                    if profile.organisation_id else None)
    return PersonPage(
        participant=participant, profile=profile, user=user, organisation=organisation,
        free=_free_time(session, programme_round.id, profile.id),
        matches=_matches(session, programme_round.id, profile.id),
        exchanges=_exchanges(session, programme_round.id, profile.id),
        emails=list(session.exec(
            select(Notification).where(Notification.recipient_email == user.email)
            .order_by(Notification.due_at.desc(), Notification.id.desc())  # type: ignore[union-attr]
            .limit(HISTORY_ROWS)).all()),
        events=_events(session, user, profile, participant),
        notes=notes_about(session, profile.id),
    )


def _free_time(session: Session, round_id: int, leader_id: int) -> FreeTime:
    rows = session.exec(select(Availability.day, Availability.period).where(
        Availability.round_id == round_id, Availability.leader_id == leader_id)).all()
    if not rows:
        return FreeTime(0, None, None, [])
    usual = Counter((day.weekday(), period) for day, period in rows)
    return FreeTime(
        half_days=len(rows), first=min(day for day, _ in rows), last=max(day for day, _ in rows),
        usual=[f"{WEEKDAYS[weekday]} {PERIODS.get(period, period)}"
               for (weekday, period), _ in usual.most_common(3)],
    )


def _matches(session: Session, round_id: int, leader_id: int) -> list[MatchLine]:
    matches = session.exec(select(Match).where(
        Match.round_id == round_id,
        sa.or_(Match.mentor_id == leader_id, Match.mentee_id == leader_id),
    ).order_by(Match.created_at, Match.id)).all()
    lines = []
    for match in matches:
        mentoring = match.mentor_id == leader_id
        other = session.get(LeaderProfile, match.mentee_id if mentoring else match.mentor_id)
        lines.append(MatchLine(match, "mentor" if mentoring else "mentee", other))
    return lines


def _exchanges(session: Session, round_id: int, leader_id: int) -> list[ExchangeLine]:
    exchanges = session.exec(
        select(Exchange).join(Match, Match.id == Exchange.match_id)
        .where(Match.round_id == round_id,
               sa.or_(Exchange.host_id == leader_id, Exchange.visitor_id == leader_id))
        .order_by(Exchange.starts_at)
    ).all()
    return [ExchangeLine(x, x.host_id == leader_id,
                         session.get(LeaderProfile, x.visitor_id if x.host_id == leader_id
                                     else x.host_id))
            for x in exchanges]


def _events(session: Session, user: User, profile: LeaderProfile,
            participant: RoundParticipant) -> list[AuditEvent]:
    """What they did, and what was done to their account, their profile or their place in this
    round (a coordinator withdrawing them, say)."""
    return list(session.exec(
        select(AuditEvent).where(sa.or_(
            AuditEvent.actor_id == user.id,
            sa.and_(AuditEvent.object_type == "User", AuditEvent.object_id == str(user.id)),
            sa.and_(AuditEvent.object_type == "LeaderProfile",
                    AuditEvent.object_id == str(profile.id)),
            sa.and_(AuditEvent.object_type == "RoundParticipant",
                    AuditEvent.object_id == str(participant.id)),
        )).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[union-attr]
        .limit(HISTORY_ROWS)
    ).all())


# --- coordinators' notes ---------------------------------------------------------------------


def notes_about(session: Session, leader_id: int) -> list[CoordinatorNote]:
    """Newest first. Private to coordinators, but in the leader's own data export."""
    return list(session.exec(
        select(CoordinatorNote).where(CoordinatorNote.leader_id == leader_id)
        .order_by(CoordinatorNote.created_at.desc(), CoordinatorNote.id.desc())  # type: ignore[union-attr]
    ).all())


def add_note(session: Session, programme_round: ProgrammeRound, profile: LeaderProfile,
             author: User, text: str, now: datetime, *, ip: str = "") -> CoordinatorNote:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise NoteError({"text": "Enter your note"})
    if len(text) > NOTE_TEXT_LIMIT:
        raise NoteError({"text": f"Enter no more than {NOTE_TEXT_LIMIT:,} characters"})
    if "\x00" in text:
        raise NoteError({"text": "Remove the NUL character from your note"})
    note = CoordinatorNote(leader_id=profile.id, round_id=programme_round.id,
                           author_id=author.id, author_email=author.email, text=text,
                           created_at=now)
    session.add(note)
    session.flush()
    # The text stays out of the audit log: the log is read more widely than the note.
    audit.record(session, "participant.note_added", actor=author, obj=profile, ip=ip,
                 detail={"round_id": programme_round.id, "note_id": note.id})
    return note


# --- acting on a participant's behalf --------------------------------------------------------


def withdraw_on_behalf(session: Session, programme_round: ProgrammeRound, page: PersonPage,
                       coordinator: User, reason: str, now: datetime, *,
                       ip: str = "") -> RoundParticipant:
    """Withdraw the participant as if they had left themselves (their matches end, exchanges to
    come are cancelled, their partners and they are told), audited as the coordinator's act
    with the reason, which the leader's email gives. Raises `LeaderError` (with `errors`)."""
    return leaving.withdraw(session, page.profile, page.user, programme_round.id, reason, now,
                            by=coordinator, ip=ip)
