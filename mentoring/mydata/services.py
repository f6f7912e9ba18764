"""A leader's rights over their own data (UK GDPR): access, withdrawal, erasure. No Flask here."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth.services import confirm_password
from mentoring.auth.throttle import Throttled
from mentoring.exchanges.services import LeaderError, NotFound, cancel_and_release, profile_of
from mentoring.models import (
    AuditEvent,
    Availability,
    CheckIn,
    Concern,
    CoordinatorNote,
    Exchange,
    Feedback,
    LeaderProfile,
    Match,
    Notification,
    Organisation,
    PairAgreement,
    ProfileDraft,
    ProgrammeRound,
    Reflection,
    RoundParticipant,
    SelfAssessment,
    SignInAttempt,
    User,
)
from mentoring.profile.services import ANSWERED
from mentoring.spreadsheet import csv_text
from mentoring.vocab import (
    ACTIVE_EXCHANGE_STATUSES,
    ExchangeStatus,
    MatchStatus,
    ParticipantStatus,
)

EXPORT_FORMAT = "leadership-exchange-my-data/1"
LIVE_MATCHES = (MatchStatus.PROPOSED, MatchStatus.OFFERED, MatchStatus.ACCEPTED,
                MatchStatus.LAPSED)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _row(obj: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {key: _plain(value) for key, value in obj.model_dump().items() if key not in exclude}


def _about_me(session: Session, user: User, profile: LeaderProfile | None) -> list[AuditEvent]:
    about = [AuditEvent.actor_id == user.id,
             sa.and_(AuditEvent.object_type == "User", AuditEvent.object_id == str(user.id))]
    if profile is not None:
        about.append(sa.and_(AuditEvent.object_type == "LeaderProfile",
                             AuditEvent.object_id == str(profile.id)))
    return list(session.exec(
        select(AuditEvent).where(sa.or_(*about)).order_by(AuditEvent.at, AuditEvent.id)
    ).all())


def forget_in_audit_trail(session: Session, user: User, profile: LeaderProfile | None) -> None:
    """The audit trail keeps what happened, not who: the person's email address goes from it
    (as actor and in details), and so do their sign-in attempts. Used when an account is
    deleted and when retention anonymises an unused one."""
    for event in _about_me(session, user, profile):
        if event.actor_id == user.id:
            event.actor_id, event.actor_email = None, ""
        if user.email in (event.detail or {}).values():
            event.detail = {k: v for k, v in event.detail.items() if v != user.email}
        session.add(event)
    session.execute(sa.delete(SignInAttempt).where(SignInAttempt.email == user.email))


def export_data(session: Session, user: User, now: datetime) -> dict[str, Any]:
    """Everything the service holds about this person, as plain JSON-ready data."""
    profile = profile_of(session, user)
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "account": _row(user, exclude=("password_hash", "session_version")),
        "profile": None,
        "profile_draft": None,
        "rounds": [],
        "availability": [],
        "matches": [],
        "exchanges": [],
        "feedback": [],
        "reflections": [],
        "coordinator_notes": [],
        "self_assessments": [],
        "agreements": [],
        "check_ins": [],
        "concerns": [],
        "emails": [],
        "audit_events": [],
    }
    data["emails"] = [
        {"subject": n.subject, "kind": n.kind, "status": n.status,
         "due_at": _plain(n.due_at), "sent_at": _plain(n.sent_at)}
        for n in session.exec(
            select(Notification).where(Notification.recipient_user_id == user.id)
            .order_by(Notification.due_at, Notification.id)
        ).all()
    ]
    data["audit_events"] = [
        _row(event, exclude=("actor_id",)) for event in _about_me(session, user, profile)
    ]
    data["profile_draft"] = _draft(session, user)
    if profile is None:
        return data
    data["profile"] = _row(profile, exclude=("calendar_token_hash",))
    data["profile"]["has_calendar_link"] = profile.calendar_token_hash is not None
    organisation = session.get(Organisation, profile.organisation_id) if profile.organisation_id \
        else None
    data["profile"]["organisation"] = organisation.name if organisation else None
    rounds = {r.id: r.name for r in session.exec(select(ProgrammeRound)).all()}
    data["rounds"] = [
        _row(p, exclude=("leader_id",)) | {"round": rounds.get(p.round_id)}
        for p in session.exec(
            select(RoundParticipant).where(RoundParticipant.leader_id == profile.id)
        ).all()
    ]
    data["availability"] = [
        {"round": rounds.get(a.round_id), "day": a.day.isoformat(), "period": a.period}
        for a in session.exec(
            select(Availability).where(Availability.leader_id == profile.id)
            .order_by(Availability.day, Availability.period)
        ).all()
    ]
    names = {}

    def name(leader_id: int) -> str:
        if leader_id not in names:
            leader = session.get(LeaderProfile, leader_id)
            names[leader_id] = leader.name if leader else ""
        return names[leader_id]

    for match in session.exec(
        select(Match).where(sa.or_(Match.mentor_id == profile.id, Match.mentee_id == profile.id))
        .order_by(Match.created_at, Match.id)
    ).all():
        data["matches"].append({
            "id": match.id,
            "round": rounds.get(match.round_id),
            "your_role": "mentor" if match.mentor_id == profile.id else "mentee",
            "mentor": name(match.mentor_id),
            "mentee": name(match.mentee_id),
            "status": match.status,
            "score": match.score,
            "reasons": list(match.reasons or []),
            "decline_reason": match.decline_reason,
            "wants_different_match": match.wants_different_match,
            "created_at": _plain(match.created_at),
            "decided_at": _plain(match.decided_at),
        })
    for exchange in session.exec(
        select(Exchange).where(
            sa.or_(Exchange.host_id == profile.id, Exchange.visitor_id == profile.id)
        ).order_by(Exchange.starts_at, Exchange.id)
    ).all():
        data["exchanges"].append({
            "id": exchange.id,
            "match_id": exchange.match_id,
            "host": name(exchange.host_id),
            "visitor": name(exchange.visitor_id),
            "starts_at": _plain(exchange.starts_at),
            "ends_at": _plain(exchange.ends_at),
            "location": exchange.location,
            "address": exchange.address,
            "directions": exchange.directions,
            "meeting": exchange.meeting,
            "bring": exchange.bring,
            "accessibility": exchange.accessibility,
            "phone_on_the_day": exchange.phone,
            "preparation": exchange.preparation,
            "shared_note": exchange.note,
            "status": exchange.status,
            "cancel_reason": exchange.cancel_reason,
        })
    data["feedback"] = [
        _row(f, exclude=("leader_id",))
        for f in session.exec(
            select(Feedback).where(Feedback.leader_id == profile.id).order_by(Feedback.id)
        ).all()
    ]
    data["reflections"] = [
        _row(r, exclude=("leader_id",))
        for r in session.exec(
            select(Reflection).where(Reflection.leader_id == profile.id).order_by(Reflection.id)
        ).all()
    ]
    # Coordinators' notes about them: private on the coordinators' pages, but theirs to see
    # (UK GDPR Article 15). Who wrote each is the coordinator's work address.
    data["coordinator_notes"] = [
        {"written_at": _plain(note.created_at), "by": note.author_email, "text": note.text}
        for note in session.exec(
            select(CoordinatorNote).where(CoordinatorNote.leader_id == profile.id)
            .order_by(CoordinatorNote.id)
        ).all()
    ]
    # Their own answers to the self-assessment (issue 20): on joining a round and at its end.
    data["self_assessments"] = [
        _row(answers, exclude=("leader_id",))
        for answers in session.exec(
            select(SelfAssessment).where(SelfAssessment.leader_id == profile.id)
            .order_by(SelfAssessment.id)
        ).all()
    ]
    data |= _outcomes(session, profile, [m["id"] for m in data["matches"]])
    return data


def _outcomes(session: Session, profile: LeaderProfile, match_ids: list[int]) -> dict[str, Any]:
    """The pair agreements of this leader's matches (written by both, so both get them), and
    the check-ins and concerns this leader gave (never the other leader's)."""
    agreements = session.exec(
        select(PairAgreement).where(PairAgreement.match_id.in_(match_ids))  # type: ignore[attr-defined]
        .order_by(PairAgreement.id)).all() if match_ids else []
    return {
        "agreements": [_row(a, exclude=("updated_by_id",)) for a in agreements],
        "check_ins": [_row(c, exclude=("leader_id",)) for c in session.exec(
            select(CheckIn).where(CheckIn.leader_id == profile.id).order_by(CheckIn.id)).all()],
        "concerns": [_row(c, exclude=("raised_by_id",)) for c in session.exec(
            select(Concern).where(Concern.raised_by_id == profile.id).order_by(Concern.id)
        ).all()],
    }


def _draft(session: Session, user: User) -> dict[str, Any] | None:
    """Profile answers given but not saved yet (the question pages keep them until 'Save')."""
    draft = session.exec(select(ProfileDraft).where(ProfileDraft.user_id == user.id)).first()
    if draft is None:
        return None
    answers = {key: _plain(value) for key, value in draft.answers.items() if key != ANSWERED}
    return {"updated_at": _plain(draft.updated_at), **answers,
            "pages_answered": list(draft.answers.get(ANSWERED, []))}


def export_csv(data: dict[str, Any]) -> str:
    """The same data as one CSV in long form: section, item, field, value (opens in Excel)."""
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    def rows():
        for section, content in data.items():
            if isinstance(content, list):
                for number, item in enumerate(content, start=1):
                    for key, value in item.items():
                        yield section, number, key, value
            elif isinstance(content, dict):
                for key, value in content.items():
                    yield section, 1, key, value
            else:
                yield section, "", "", content

    return csv_text(["section", "item", "field", "value"], rows(), cell)


# --- withdrawing from a round --------------------------------------------------------------


def my_rounds(session: Session, profile: LeaderProfile) -> list[tuple[RoundParticipant, Any]]:
    return list(session.exec(
        select(RoundParticipant, ProgrammeRound)
        .join(ProgrammeRound, ProgrammeRound.id == RoundParticipant.round_id)
        .where(RoundParticipant.leader_id == profile.id)
        .order_by(ProgrammeRound.starts_on)
    ).all())


def get_participation(
    session: Session, profile: LeaderProfile, round_id: int
) -> tuple[RoundParticipant, ProgrammeRound]:
    row = session.exec(
        select(RoundParticipant, ProgrammeRound)
        .join(ProgrammeRound, ProgrammeRound.id == RoundParticipant.round_id)
        .where(RoundParticipant.leader_id == profile.id, RoundParticipant.round_id == round_id)
    ).first()
    if row is None:
        raise NotFound(f"round {round_id}")
    return row[0], row[1]


def withdraw(
    session: Session, profile: LeaderProfile, user: User, round_id: int, reason: str,
    now: datetime, *, by: User | None = None, ip: str = "",
) -> RoundParticipant:
    """Leave a round: live matches in it end (cancelled) and future exchanges are cancelled;
    the leader is told what happens now (and that they can rejoin while the round is open).

    `by`: a coordinator withdrawing the leader on their behalf. Everything happens as when the
    leader leaves themself, the leader's email says who did it and why (a reason is then
    required), and the audit log records the coordinator as the actor."""
    from mentoring.offers.services import tell_leaver  # offers build on this module

    participant, programme_round = get_participation(session, profile, round_id)
    if participant.status == ParticipantStatus.WITHDRAWN:
        raise LeaderError("You have already left this round" if by is None
                          else f"{profile.name} has already left this round")
    reason = (reason or "").strip()
    if by is not None and not reason:
        raise LeaderError({"reason": f"Enter why you are withdrawing {profile.name}: we "
                                     "tell them"})
    if len(reason) > 500:
        raise LeaderError({"reason": "Enter no more than 500 characters"})
    participant.status = ParticipantStatus.WITHDRAWN
    participant.withdrawn_at = now
    participant.withdrawal_reason = reason
    session.add(participant)
    ended = _end_matches(
        session, profile,
        sa.and_(Match.round_id == round_id),
        f"{profile.name} has left the programme round", now,
    )
    tell_leaver(session, profile, user, programme_round, len(ended["cancelled_matches"]), now,
                withdrawn_by=by, reason=reason)
    on_behalf = {"on_behalf_of_user_id": user.id} if by is not None else {}
    audit.record(
        session, "round.withdrawn", actor=by or user, obj=participant, ip=ip,
        detail={"round_id": round_id, "leader_id": profile.id, "reason": reason, **on_behalf,
                **ended},
    )
    session.flush()
    return participant


def _end_matches(session: Session, profile: LeaderProfile, where, reason: str, now) -> dict:
    """Cancel the leader's live matches (matching `where`) and their exchanges to come (held
    ones released, booked ones cancelled in both calendars). The partner keeps the match and
    its cancelled exchanges to read, and both are told what happens now."""
    from mentoring.offers.services import tell_match_ended  # offers build on this module

    matches = session.exec(
        select(Match).where(
            sa.or_(Match.mentor_id == profile.id, Match.mentee_id == profile.id),
            Match.status.in_(LIVE_MATCHES),  # type: ignore[attr-defined]
            where,
        )
    ).all()
    cancelled_exchanges, affected = [], []
    for match in matches:
        was_shown = match.status != MatchStatus.PROPOSED
        match.status = MatchStatus.CANCELLED
        match.decided_at = now
        session.add(match)
        affected.append(match.mentee_id if match.mentor_id == profile.id else match.mentor_id)
        for exchange in session.exec(
            select(Exchange).where(
                Exchange.match_id == match.id,
                Exchange.status.in_(ACTIVE_EXCHANGE_STATUSES),  # type: ignore[attr-defined]
                Exchange.starts_at > now,
            )
        ).all():
            cancel_and_release(session, exchange, reason, now, cause="left",
                               left_name=profile.name)
            cancelled_exchanges.append(exchange.id)
        if was_shown:
            tell_match_ended(session, match, profile, now)
    return {
        "cancelled_matches": [m.id for m in matches],
        "cancelled_exchanges": cancelled_exchanges,
        "affected_leader_ids": affected,
    }


# --- deleting the account ------------------------------------------------------------------


class PasswordThrottled(LeaderError):
    """Too many wrong passwords for this account or address: nothing is checked now."""


def delete_account(session: Session, user: User, password: str, now: datetime, *,
                   ip: str = "") -> dict:
    """Erase the account after the password is confirmed.

    Feedback stays, anonymised (no leader; profession, sector, round and rating kept), so the
    coordinators' feedback figures stay true. Live matches are cancelled first, so the other
    leader is told and their reminders stop; then the profile, its availability, reflections,
    matches and exchanges go with it (database cascades). One audit event, with counts only,
    keeps the programme's totals explainable.
    """
    if not password:
        raise LeaderError({"password": "Enter your password"})
    # Throttled, counted and audited like a sign-in (and refused while sign-in is locked), so a
    # session left open cannot be used to guess the password. The caller commits the record
    # of a wrong guess even though nothing is deleted.
    try:
        confirmed = confirm_password(session, user, password, ip=ip)
    except Throttled as exc:
        raise PasswordThrottled({"password": str(exc)}) from exc
    if not confirmed:
        raise LeaderError({"password": "Your password is not right"})
    profile = profile_of(session, user)
    summary: dict[str, Any] = {"had_profile": profile is not None}
    if profile is not None:
        summary |= _end_matches(
            session, profile, sa.true(), f"{profile.name} has left the programme", now
        )
        summary["profession"] = profile.profession
        summary["sector"] = profile.sector
        summary["matches_by_status"] = dict(session.exec(
            sa.select(Match.status, sa.func.count())
            .where(sa.or_(Match.mentor_id == profile.id, Match.mentee_id == profile.id))
            .group_by(Match.status)
        ).all())
        summary["exchanges_taken_place"] = session.exec(
            sa.select(sa.func.count()).select_from(Exchange).where(
                sa.or_(Exchange.host_id == profile.id, Exchange.visitor_id == profile.id),
                Exchange.status != ExchangeStatus.CANCELLED,
                Exchange.starts_at <= now,
            )
        ).one()[0]
        summary["feedback_anonymised"] = session.execute(
            sa.update(Feedback).where(Feedback.leader_id == profile.id).values(leader_id=None)
        ).rowcount
        session.flush()
    # Emails to them are no longer needed (the cancellations above go to the other leaders).
    session.execute(
        sa.delete(Notification).where(
            sa.or_(Notification.recipient_user_id == user.id,
                   Notification.recipient_email == user.email)
        )
    )
    forget_in_audit_trail(session, user, profile)
    audit.record(
        session, "account.deleted", obj=None,
        detail={"role": user.role, **_plain(summary)},
    )
    if profile is not None:
        session.delete(profile)
        session.flush()
    session.delete(user)
    session.flush()
    return summary
