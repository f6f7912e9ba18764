"""Who takes part in a round: participants, invitations, adding people, readiness and reminders.

No Flask here. Adding a person (one from a form, or many from a CSV) never creates duplicates:
a leader who already has a profile joins the round at once (and is told by email); anyone else
gets an invitation, and inviting the same email again only updates what the invitation
pre-fills (`joining.invite` is idempotent per round and email).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth import joining
from mentoring.auth.tokens import make_token
from mentoring.insights.figures import invited_counts
from mentoring.models import (
    Availability,
    Invitation,
    LeaderProfile,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.notifications.outbox import enqueue
from mentoring.rounds.imports import Person, check_person
from mentoring.vocab import ParticipantStatus, Role, RoundStatus

# People can be added until the round closes (late joiners are matched by a local re-run).
TAKES_PARTICIPANTS = (
    RoundStatus.DRAFT, RoundStatus.OPEN, RoundStatus.MATCHING, RoundStatus.PUBLISHED
)
_CHUNK = 500  # rows per IN (...) query: well inside every database's parameter limit


class ParticipantError(ValueError):
    """A request about participants that cannot be carried out; `errors` maps fields to
    messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else errors
        super().__init__("; ".join(self.errors.values()))


# --- who is in the round -------------------------------------------------------------------


@dataclass
class ParticipantRow:
    participant: RoundParticipant
    profile: LeaderProfile
    user: User
    organisation: Organisation | None
    free_half_days: int

    @property
    def joined(self) -> bool:
        return self.participant.status == ParticipantStatus.JOINED

    @property
    def verified(self) -> bool:
        return self.user.verified_at is not None

    @property
    def profile_complete(self) -> bool:
        # A profile is saved only when every question is answered; consent is the last one.
        return self.profile.consent_at is not None

    @property
    def ready(self) -> bool:
        """What the optimiser needs: joined, a confirmed email, a complete profile and at least
        one free half-day in this round."""
        return self.joined and self.verified and self.profile_complete and self.free_half_days > 0


def participant_rows(session: Session, programme_round: ProgrammeRound, *,
                     by_id: bool = False) -> list[ParticipantRow]:
    """Every participant with their profile, account, organisation and free half-days in the
    round; by name (pages) or by profile id (exports, a stable order)."""
    free = (
        sa.select(Availability.leader_id, sa.func.count().label("n"))
        .where(Availability.round_id == programme_round.id)
        .group_by(Availability.leader_id)
        .subquery()
    )
    rows = session.exec(
        sa.select(RoundParticipant, LeaderProfile, User, Organisation,
                  sa.func.coalesce(free.c.n, 0))
        .join(LeaderProfile, LeaderProfile.id == RoundParticipant.leader_id)
        .join(User, User.id == LeaderProfile.user_id)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .outerjoin(free, free.c.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == programme_round.id)
        .order_by(*((LeaderProfile.id,) if by_id
                    else (sa.func.lower(LeaderProfile.name), LeaderProfile.id)))
    ).all()
    return [ParticipantRow(*row) for row in rows]


@dataclass(frozen=True)
class ParticipantSearch:
    """The participant list's search box and filters, from the page's query string."""

    text: str = ""
    status: str = ""  # a ParticipantStatus, or "" for everyone
    readiness: str = ""  # "ready", "not-ready" or ""

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> ParticipantSearch:
        status = args.get("status", "")
        readiness = args.get("readiness", "")
        return cls(
            text=" ".join((args.get("q") or "").split())[:200],
            status=status if status in set(ParticipantStatus) else "",
            readiness=readiness if readiness in ("ready", "not-ready") else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.text or self.status or self.readiness)

    def apply(self, rows: list[ParticipantRow]) -> list[ParticipantRow]:
        words = self.text.casefold().split()

        def matches(row: ParticipantRow) -> bool:
            haystack = " ".join([row.profile.name, row.user.email,
                                 row.organisation.name if row.organisation else ""]).casefold()
            return (all(word in haystack for word in words)
                    and (not self.status or row.participant.status == self.status)
                    and (not self.readiness or row.ready == (self.readiness == "ready")))

        return [row for row in rows if matches(row)] if self.active else rows


@dataclass
class PendingInvitation:
    """An invitation whose person is not (yet) a participant."""

    invitation: Invitation
    user: User | None  # an account with this email exists (invitation accepted, or registered)

    @property
    def name(self) -> str:
        return (self.invitation.prefill or {}).get("name", "")

    @property
    def email(self) -> str:
        return self.invitation.email

    @property
    def has_account(self) -> bool:
        return self.user is not None


def pending_invitations(
    session: Session, programme_round: ProgrammeRound
) -> list[PendingInvitation]:
    participant_emails = (
        sa.select(User.email)
        .join(LeaderProfile, LeaderProfile.user_id == User.id)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == programme_round.id)
    )
    rows = session.exec(
        sa.select(Invitation, User)
        .outerjoin(User, User.email == Invitation.email)
        .where(Invitation.round_id == programme_round.id,
               Invitation.email.not_in(participant_emails))  # type: ignore[attr-defined]
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()
    return [PendingInvitation(invitation, user) for invitation, user in rows]


def invited_count(session: Session, round_id: int) -> int:
    """Invited and not joined, as every page shows it (defined in `mentoring.insights.figures`)."""
    return invited_counts(session, [round_id]).get(round_id, 0)


# --- adding people -------------------------------------------------------------------------


@dataclass
class AddOutcome:
    """What adding a list of people did, person by person (emails)."""

    invited: list[str] = field(default_factory=list)  # new invitations sent
    updated: list[str] = field(default_factory=list)  # invited before: details updated
    added: list[str] = field(default_factory=list)  # had a profile: joined the round now
    already: list[tuple[str, str]] = field(default_factory=list)  # (email, participant status)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (email, reason)

    def counts(self) -> dict[str, int]:
        return {"invited": len(self.invited), "updated": len(self.updated),
                "added": len(self.added), "already": len(self.already),
                "refused": len(self.refused)}


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _users_by_email(session: Session, emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk in _chunks(emails):
        for user in session.exec(select(User).where(User.email.in_(chunk))).all():  # type: ignore[attr-defined]
            found[user.email] = user
    return found


def _profiles_by_user(session: Session, users: Iterable[User]) -> dict[int, LeaderProfile]:
    ids = [user.id for user in users]
    found: dict[int, LeaderProfile] = {}
    for chunk in _chunks(ids):
        for profile in session.exec(
            select(LeaderProfile).where(LeaderProfile.user_id.in_(chunk))  # type: ignore[attr-defined]
        ).all():
            found[profile.user_id] = profile
    return found


def _participants_by_leader(
    session: Session, round_id: int, leader_ids: list[int]
) -> dict[int, RoundParticipant]:
    found: dict[int, RoundParticipant] = {}
    for chunk in _chunks(leader_ids):
        for participant in session.exec(
            select(RoundParticipant).where(
                RoundParticipant.round_id == round_id,
                RoundParticipant.leader_id.in_(chunk),  # type: ignore[attr-defined]
            )
        ).all():
            found[participant.leader_id] = participant
    return found


def _invited_emails(session: Session, round_id: int, emails: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(emails):
        found.update(session.exec(
            select(Invitation.email).where(
                Invitation.round_id == round_id,
                Invitation.email.in_(chunk),  # type: ignore[attr-defined]
            )
        ).all())
    return found


# A CSV's "mentoring" column as the profile's answers; a mentor starts at one mentee, which the
# leader can raise on their mentoring question.
MENTORING_PREFILL: dict[str, dict[str, Any]] = {
    "mentor": {"mentor_capacity": "1", "wants_mentor": False},
    "mentee": {"mentor_capacity": "0", "wants_mentor": True},
    "both": {"mentor_capacity": "1", "wants_mentor": True},
}


def _prefill(person: Person, organisations: Mapping[str, Organisation]) -> dict[str, Any]:
    """What the invitation pre-fills in the profile questions (the profile draft's keys)."""
    prefill: dict[str, Any] = {}
    if person.name:
        prefill["name"] = person.name
    if person.profession:
        prefill["profession"] = person.profession
    if person.borough:
        prefill["borough"] = person.borough
    if person.career_stage:
        prefill["career_stage"] = person.career_stage
    prefill.update(MENTORING_PREFILL.get(person.mentoring, {}))
    if person.organisation:
        known = organisations.get(person.organisation.casefold())
        if known is not None:
            prefill["organisation_id"] = str(known.id)
            prefill["sector"] = known.sector
        else:
            prefill["new_organisation"] = person.organisation
    return prefill


def add_people(
    session: Session,
    links: joining.Links,
    programme_round: ProgrammeRound,
    people: list[Person],
    actor: User,
    *,
    ip: str = "",
) -> AddOutcome:
    """Invite people, or add those who already have a profile. Never duplicates anyone."""
    if programme_round.status not in TAKES_PARTICIPANTS:
        raise ParticipantError(f"People cannot be added to a {programme_round.status} round")
    emails = list(dict.fromkeys(person.email for person in people))
    users = _users_by_email(session, emails)
    profiles = _profiles_by_user(session, users.values())
    participants = _participants_by_leader(
        session, programme_round.id, [profile.id for profile in profiles.values()]
    )
    invited_before = _invited_emails(session, programme_round.id, emails)
    organisations = {
        organisation.name.casefold(): organisation
        for organisation in session.exec(select(Organisation)).all()
    }
    outcome = AddOutcome()
    seen: set[str] = set()
    for person in people:
        if person.email in seen:
            continue
        seen.add(person.email)
        user = users.get(person.email)
        if user is not None and user.role != Role.LEADER:
            outcome.refused.append(
                (person.email, "This email belongs to a coordinator or administrator account")
            )
            continue
        # Only a proved address joins straight away; an account nobody proved gets the
        # invitation instead, whose link proves it (and replaces that account's password).
        profile = profiles.get(user.id) if user is not None and user.is_verified else None
        if profile is not None:
            participant = participants.get(profile.id)
            if participant is not None:
                outcome.already.append((person.email, participant.status))
            else:
                _add_participant(session, links, programme_round, profile, user, actor, ip)
                outcome.added.append(person.email)
            continue
        joining.invite(session, links, person.email, invited_by=actor,
                       programme_round=programme_round,
                       prefill=_prefill(person, organisations), ip=ip)
        (outcome.updated if person.email in invited_before else outcome.invited).append(
            person.email
        )
    return outcome


def _add_participant(
    session: Session, links: joining.Links, programme_round: ProgrammeRound,
    profile: LeaderProfile, user: User, actor: User, ip: str,
) -> RoundParticipant:
    participant = RoundParticipant(round_id=programme_round.id, leader_id=profile.id,
                                   status=ParticipantStatus.JOINED)
    session.add(participant)
    session.flush()
    enqueue(
        session, key=f"round-added:{programme_round.id}:{profile.id}", kind="round_added",
        recipient_email=user.email, recipient_user_id=user.id, round_id=programme_round.id,
        subject=f"You have been added to {programme_round.name}"[:255], template="round_added",
        context={
            "name": profile.name,
            "round_name": programme_round.name,
            "starts_on": _long_date(programme_round.starts_on),
            "ends_on": _long_date(programme_round.ends_on),
            "availability_url": links.url(f"/rounds/{programme_round.id}/availability"),
        },
    )
    audit.record(session, "round.participant_added", actor=actor, obj=programme_round,
                 detail={"leader_id": profile.id, "email": user.email}, ip=ip)
    return participant


def _long_date(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def add_one(
    session: Session,
    links: joining.Links,
    programme_round: ProgrammeRound,
    values: Mapping[str, str],
    actor: User,
    *,
    ip: str = "",
) -> tuple[str, str]:
    """Invite (or add) one person from the form. Returns (what happened, their email), where
    what happened is "invited", "updated", "added" or "already:<status>"."""
    person, errors = check_person(0, values)
    if person is None:
        raise ParticipantError(errors)
    outcome = add_people(session, links, programme_round, [person], actor, ip=ip)
    if outcome.refused:
        raise ParticipantError({"email": outcome.refused[0][1]})
    for kind in ("invited", "updated", "added"):
        if getattr(outcome, kind):
            return kind, person.email
    return f"already:{outcome.already[0][1]}", person.email


def import_people(
    session: Session,
    links: joining.Links,
    programme_round: ProgrammeRound,
    people: list[Person],
    actor: User,
    *,
    skipped: int = 0,
    ip: str = "",
) -> AddOutcome:
    """The good lines of a CSV: add them all, with one audit event for the import."""
    outcome = add_people(session, links, programme_round, people, actor, ip=ip)
    audit.record(session, "round.participants_imported", actor=actor, obj=programme_round,
                 detail=outcome.counts() | {"skipped": skipped}, ip=ip)
    return outcome


# --- readiness -----------------------------------------------------------------------------


@dataclass
class Readiness:
    """Who is not ready for matching yet, and why."""

    participants: list[ParticipantRow]
    invitations: list[PendingInvitation]

    @property
    def joined(self) -> list[ParticipantRow]:
        return [row for row in self.participants if row.joined]

    @property
    def withdrawn(self) -> list[ParticipantRow]:
        return [row for row in self.participants
                if row.participant.status == ParticipantStatus.WITHDRAWN]

    @property
    def ready(self) -> list[ParticipantRow]:
        return [row for row in self.joined if row.ready]

    @property
    def not_accepted(self) -> list[PendingInvitation]:
        """Invitations nobody has acted on: no account with that email yet."""
        return [pending for pending in self.invitations if not pending.has_account]

    @property
    def unverified(self) -> list[ParticipantRow]:
        return [row for row in self.joined if not row.verified]

    @property
    def profile_unfinished(self) -> list[PendingInvitation | ParticipantRow]:
        """Invited people with an account but no profile, and participants without consent."""
        return [*[pending for pending in self.invitations if pending.has_account],
                *[row for row in self.joined if not row.profile_complete]]

    @property
    def no_availability(self) -> list[ParticipantRow]:
        return [row for row in self.joined if row.free_half_days == 0]

    @property
    def to_remind(self) -> int:
        """Everyone on any of the lists, once each (one email each lists all that is missing)."""
        return len(self.invitations) + len([row for row in self.joined if not row.ready])


def readiness(session: Session, programme_round: ProgrammeRound) -> Readiness:
    return Readiness(participant_rows(session, programme_round),
                     pending_invitations(session, programme_round))


def send_reminders(
    session: Session,
    links: joining.Links,
    programme_round: ProgrammeRound,
    actor: User,
    today: date,
    *,
    ip: str = "",
) -> tuple[int, int]:
    """One reminder email per person who is not ready, saying what is missing.

    The idempotency key holds the day, so pressing the button twice (or two coordinators
    pressing it) sends one email per person per day. Returns (queued now, already sent today).
    """
    state = readiness(session, programme_round)
    queued = already = 0
    common = {
        "round_name": programme_round.name,
        "sign_in_url": links.url("/sign-in"),
        "profile_url": links.url("/profile/"),
        "availability_url": links.url(f"/rounds/{programme_round.id}/availability"),
    }
    reminders: list[tuple[str, int | None, dict]] = []
    for pending in state.invitations:
        token = make_token(links.secret, "invitation",
                           {"i": pending.invitation.id, "e": pending.email})
        reminders.append((pending.email, pending.user.id if pending.user else None, {
            "name": pending.name,
            "join_url": "" if pending.has_account else links.url(f"/join/{token}"),
            "verify_url": "",
            "needs_profile": pending.has_account,
            "needs_availability": False,
        }))
    for row in state.joined:
        if row.ready:
            continue
        verify_url = ""
        if not row.verified:
            # A single-use link that replaces the account's unproved password (joining).
            verify_url = joining.verification_url(session, links, row.user.email, row.user)
        reminders.append((row.user.email, row.user.id, {
            "name": row.profile.name,
            "join_url": "",
            "verify_url": verify_url,
            "needs_profile": not row.profile_complete,
            "needs_availability": row.free_half_days == 0,
        }))
    for email, user_id, context in reminders:
        new = enqueue(
            session, key=f"round-reminder:{programme_round.id}:{email}:{today.isoformat()}",
            kind="round_reminder", recipient_email=email, recipient_user_id=user_id,
            round_id=programme_round.id,
            subject=f"Getting ready for {programme_round.name}"[:255],
            template="round_reminder", context=common | context,
        )
        if new:
            queued += 1
        else:
            already += 1
    audit.record(session, "round.reminders_sent", actor=actor, obj=programme_round,
                 detail={"queued": queued, "already_today": already}, ip=ip)
    return queued, already


# --- counts for the overview ---------------------------------------------------------------


def counts(session: Session, programme_round: ProgrammeRound) -> dict[str, int]:
    state = readiness(session, programme_round)
    return {
        "invited": invited_count(session, programme_round.id),
        "joined": len(state.joined),
        "withdrawn": len(state.withdrawn),
        "ready": len(state.ready),
    }
