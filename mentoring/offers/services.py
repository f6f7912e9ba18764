"""The life of a match offer, from approval to booked, declined, lapsed or withdrawn.

Every change writes its emails into the outbox in the same transaction (the caller commits), so
an answer is never recorded without the people it concerns being told, nor the other way round.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.configuration import vocabularies
from mentoring.exchanges.reasons import reasons_for_reader
from mentoring.exchanges.services import (
    LeaderError,
    MatchView,
    cancel_and_release,
    get_match,
)
from mentoring.exchanges.visits import fill_from_host
from mentoring.models import (
    DEFAULT_ANSWER_WITHIN_DAYS,
    Exchange,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    User,
    match_stage,
)
from mentoring.notifications.outbox import absolute, enqueue, fit_key
from mentoring.notifications.plan import long_date, plan_exchange, when
from mentoring.releases.services import request_releases
from mentoring.visits.checks import open_checklist
from mentoring.vocab import (
    DECLINE_REASONS,
    ExchangeStatus,
    MatchStage,
    MatchStatus,
    RematchOutcome,
    Role,
    RoundStatus,
)


class OfferError(ValueError):
    """A coordinator's decision on an offer that cannot be carried out."""


class Kind:
    OFFER = "match-offer"
    PARTNER_ACCEPTED = "offer-partner-accepted"
    REMINDER = "offer-reminder"
    DECLINED_PARTNER = "offer-declined-partner"
    DECLINED_COORDINATOR = "offer-declined-coordinator"
    LAPSED_LEADER = "offer-lapsed"
    LAPSED_COORDINATOR = "offer-lapsed-coordinator"
    EXTENDED = "offer-extended"
    WITHDRAWN = "offer-withdrawn"
    REMATCH_OUTCOME = "rematch-outcome"
    PARTNER_LEFT = "partner-left"
    YOU_LEFT = "you-left"
    LEFT_COORDINATOR = "left-coordinator"
    MOVE_REQUESTED_PARTNER = "move-requested-partner"
    MOVE_REQUESTED_COORDINATOR = "move-requested-coordinator"


# --- what a match is, in the words every page uses ------------------------------------------


def stage_counts(session: Session, round_id: int) -> dict[MatchStage, int]:
    """How many of a round's matches are at each stage, every stage listed (zeros included)."""
    someone_accepted = sa.or_(Match.mentor_accepted_at.is_not(None),  # type: ignore[union-attr]
                              Match.mentee_accepted_at.is_not(None))  # type: ignore[union-attr]
    rows = session.execute(
        sa.select(Match.status, someone_accepted, sa.func.count())
        .where(Match.round_id == round_id)
        .group_by(Match.status, someone_accepted)
    ).all()
    counts: Counter[MatchStage] = Counter()
    for status, accepted, n in rows:
        stage = match_stage(status, bool(accepted))
        if stage is not None:
            counts[stage] += n
    return {stage: counts[stage] for stage in MatchStage}


# --- who is told ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    name: str
    email: str
    user_id: int | None


def _reader(session: Session, leader: LeaderProfile) -> Reader:
    user = session.get(User, leader.user_id)
    return Reader(leader.name, user.email if user else "", user.id if user else None)


def coordinators(session: Session) -> list[Reader]:
    """Everyone who runs rounds: active coordinators (every round is theirs)."""
    users = session.exec(
        select(User).where(User.role == Role.COORDINATOR, User.is_active).order_by(User.id)
    ).all()
    return [Reader(user.email, user.email, user.id) for user in users]


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y%m%dT%H%M") if moment else "-"


def _tell(session: Session, kind: str, match: Match, reader: Reader, subject: str,
          template: str, context: dict, *, key_extra: str = "", due_at: datetime) -> bool:
    if not reader.email:
        return False
    return enqueue(
        session, key=fit_key(f"{kind}:{match.id}:{key_extra}:{reader.email}"), kind=kind,
        recipient_email=reader.email, recipient_user_id=reader.user_id,
        round_id=match.round_id, subject=subject, template=template,
        context={"name": reader.name, **context}, due_at=due_at,
    )


def answer_date(moment: datetime | None) -> str:
    """'Thursday 14 January 2027' in London time, or nothing."""
    return long_date(moment) if moment is not None else ""


def _sides(session: Session, match: Match) -> tuple[LeaderProfile, LeaderProfile]:
    return session.get(LeaderProfile, match.mentor_id), session.get(LeaderProfile, match.mentee_id)


def _exchanges_of(session: Session, match: Match, *statuses: str) -> list[Exchange]:
    query = select(Exchange).where(Exchange.match_id == match.id)
    if statuses:
        query = query.where(Exchange.status.in_(statuses))  # type: ignore[attr-defined]
    return list(session.exec(query.order_by(Exchange.starts_at, Exchange.id)).all())


def _match_url(match: Match) -> str:
    return absolute(f"/matches/{match.id}")


def _round_changes_url(match: Match) -> str:
    return absolute(f"/rounds/{match.round_id}/changes")


# --- approval publishes offers ------------------------------------------------------------------


def make_offer(session: Session, match: Match, programme_round: ProgrammeRound,
               now: datetime) -> None:
    """Turn an approved pair into an offer; its exchanges are created held by the caller and
    `send_offer` writes the introductions once they exist."""
    match.status = MatchStatus.OFFERED
    match.offered_at = now
    days = programme_round.answer_within_days or DEFAULT_ANSWER_WITHIN_DAYS
    match.respond_by = now + timedelta(days=days)
    match.mentor_accepted_at = match.mentee_accepted_at = None
    session.add(match)


def send_offer(session: Session, match: Match, now: datetime) -> int:
    """The introduction each leader reads: who the other is, why they fit, the proposed dates
    and who hosts each, the date to answer by and the link to answer. No calendar invitation."""
    mentor, mentee = _sides(session, match)
    organisations = {org.id: org for org in session.exec(
        select(Organisation).where(Organisation.id.in_(  # type: ignore[union-attr]
            [p.organisation_id for p in (mentor, mentee) if p.organisation_id]))
    ).all()}
    exchanges = _exchanges_of(session, match, ExchangeStatus.HELD, ExchangeStatus.SCHEDULED)
    programme_round = session.get(ProgrammeRound, match.round_id)
    rematched = _rematch_requested_by(session, match)
    words = vocabularies.of(session)
    written = 0
    for me, other in ((mentor, mentee), (mentee, mentor)):
        i_am_mentor = me.id == mentor.id
        other_org = organisations.get(other.organisation_id)
        written += _tell(
            session, Kind.OFFER, match, _reader(session, me),
            f"Your leadership exchange match: {other.name}", "match_offer", {
                "other_name": other.name,
                "other_job_title": other.job_title,
                "other_profession": words.label("profession", other.profession),
                "other_organisation": other_org.name if other_org else "",
                "i_am_mentor": i_am_mentor,
                "reasons": reasons_for_reader(
                    me, other, i_am_mentor=i_am_mentor,
                    my_organisation=organisations.get(me.organisation_id),
                    other_organisation=other_org, vocabularies=words),
                "exchanges": [{"when": when(x.starts_at, x.ends_at),
                               "hosting": x.host_id == me.id,
                               "host_name": mentor.name if x.host_id == mentor.id else mentee.name}
                              for x in exchanges],
                "respond_by": answer_date(match.respond_by),
                "round_name": programme_round.name if programme_round else "",
                "match_url": _match_url(match),
                "asked_for_another": me.id in rematched,
            }, key_extra=_stamp(match.offered_at), due_at=now)
    return written


def _rematch_requested_by(session: Session, match: Match) -> set[int]:
    """Which of the two leaders declined an earlier match of the round and asked for another:
    this offer is the answer to their request."""
    rows = session.exec(
        select(Match).where(
            Match.round_id == match.round_id, Match.id != match.id,
            Match.rematch == RematchOutcome.REQUESTED,
            Match.declined_by_id.in_([match.mentor_id, match.mentee_id]),  # type: ignore[union-attr]
        )
    ).all()
    for row in rows:
        row.rematch = RematchOutcome.OFFERED
        session.add(row)
    return {row.declined_by_id for row in rows}


# --- the leader's answer ------------------------------------------------------------------------


def accept_offer(session: Session, me: LeaderProfile, user: User, match_id: int,
                 now: datetime) -> MatchView:
    """This leader accepts. When both have, the match is booked: its held exchanges are
    scheduled and each gets its confirmation with the calendar invitation and reminders."""
    view = get_match(session, me, match_id)
    match = view.match
    if match.status == MatchStatus.LAPSED:
        raise LeaderError("The date to answer this offer has passed: ask the programme contact "
                          "to give you more time")
    if not view.can_accept:
        raise LeaderError("You cannot accept this match now")
    if view.i_am_mentor:
        match.mentor_accepted_at = now
    else:
        match.mentee_accepted_at = now
    session.add(match)
    audit.record(session, "match.accepted", actor=user, obj=match,
                 detail={"leader_id": me.id, "side": "mentor" if view.i_am_mentor else "mentee"})
    if match.mentor_accepted_at and match.mentee_accepted_at:
        _book(session, match, user, now)
    else:
        _tell(session, Kind.PARTNER_ACCEPTED, match, _reader(session, view.other),
              f"{me.name} has accepted your leadership exchange match",
              "offer_partner_accepted", {
                  "other_name": me.name, "respond_by": answer_date(match.respond_by),
                  "match_url": _match_url(match)}, due_at=now)
    session.flush()
    return get_match(session, me, match_id)


def _book(session: Session, match: Match, user: User, now: datetime) -> None:
    match.status = MatchStatus.ACCEPTED
    match.decided_at, match.decided_by_id = now, user.id
    session.add(match)
    for exchange in _exchanges_of(session, match, ExchangeStatus.HELD):
        exchange.status = ExchangeStatus.SCHEDULED
        exchange.updated_at = now
        # Visit details the host has given since the offer go into the invitation too.
        fill_from_host(exchange, session.get(LeaderProfile, exchange.host_id))
        session.add(exchange)
        plan_exchange(session, exchange, now)
        open_checklist(session, exchange, now)
    audit.record(session, "match.booked", actor=user, obj=match)
    request_releases(session, match, now)  # the line managers, where the round asks


def decline_offer(
    session: Session, me: LeaderProfile, user: User, match_id: int, *, choice: str,
    reason: str, wants_different_match: bool, now: datetime,
) -> MatchView:
    """Decline with a reason (private to the coordinators). Held half-days are released at
    once, booked exchanges to come are cancelled; the partner is told kindly, the coordinators
    are told why, and a wish for another match is a request on the round's changes page."""
    view = get_match(session, me, match_id)
    if not view.can_decide:
        raise LeaderError("This match can no longer be declined")
    errors = {}
    if choice not in DECLINE_REASONS:
        errors["choice"] = "Choose why you are declining this match"
    reason = (reason or "").strip()
    if choice == "other" and not reason:
        errors["reason"] = "Tell us why you are declining this match"
    if len(reason) > 1000:
        errors["reason"] = "Enter no more than 1000 characters"
    if errors:
        raise LeaderError(errors)
    match = view.match
    match.status = MatchStatus.DECLINED
    match.declined_by_id = me.id
    match.decline_choice = choice
    match.decline_reason = reason
    match.wants_different_match = bool(wants_different_match)
    match.rematch = RematchOutcome.REQUESTED if wants_different_match else RematchOutcome.NONE
    match.decided_at, match.decided_by_id = now, user.id
    session.add(match)
    # The partner reads this reason on the exchange: it says no more than the email does.
    released = release_exchanges(session, match, "The match will not go ahead", now,
                                 cause="declined")
    audit.record(session, "match.declined", actor=user, obj=match, detail={
        "leader_id": me.id, "choice": choice, "reason": reason,
        "wants_different_match": match.wants_different_match, "released_exchanges": released,
    })
    partner = view.other
    _tell(session, Kind.DECLINED_PARTNER, match, _reader(session, partner),
          "Your leadership exchange match will not go ahead", "offer_declined_partner",
          {"other_name": me.name, "matches_url": absolute("/matches")}, due_at=now)
    for coordinator in coordinators(session):
        _tell(session, Kind.DECLINED_COORDINATOR, match, coordinator,
              f"Match declined: {me.name} declined {partner.name}",
              "offer_declined_coordinator", {
                  "leader_name": me.name, "partner_name": partner.name,
                  "choice": DECLINE_REASONS[choice], "reason": reason,
                  "wants_different_match": match.wants_different_match,
                  "released": len(released), "changes_url": _round_changes_url(match),
              }, due_at=now)
    session.flush()
    return get_match(session, me, match_id)


def release_exchanges(session: Session, match: Match, reason: str, now: datetime, *,
                      cause: str) -> list[int]:
    """End a match's exchanges to come: held ones are released quietly (no invitation was ever
    sent), booked ones are cancelled with a cancellation for each calendar."""
    released = []
    for exchange in _exchanges_of(session, match, ExchangeStatus.HELD, ExchangeStatus.SCHEDULED):
        if exchange.status == ExchangeStatus.SCHEDULED and exchange.starts_at <= now:
            continue  # it has happened: history, not a plan
        cancel_and_release(session, exchange, reason, now, cause=cause)
        released.append(exchange.id)
    return released


# --- deadlines ----------------------------------------------------------------------------------


def plan_offer_deadlines(session: Session, now: datetime) -> int:
    """The worker's job for unanswered offers: one reminder at half-time to whoever has not
    answered, and at the deadline the offer lapses to the coordinators (its half-days stay held
    until they extend or withdraw it). Safe to run again: each email has one key."""
    written = 0
    offers = session.exec(
        select(Match).where(Match.status == MatchStatus.OFFERED,
                            Match.respond_by.is_not(None),  # type: ignore[union-attr]
                            Match.offered_at.is_not(None))  # type: ignore[union-attr]
    ).all()
    for match in offers:
        halfway = match.offered_at + (match.respond_by - match.offered_at) / 2
        if now >= match.respond_by:
            written += _lapse(session, match, now)
        elif now >= halfway:
            written += _remind(session, match, now)
    return written


def _waiting_on(session: Session, match: Match) -> list[tuple[LeaderProfile, LeaderProfile]]:
    mentor, mentee = _sides(session, match)
    waiting = []
    if match.mentor_accepted_at is None:
        waiting.append((mentor, mentee))
    if match.mentee_accepted_at is None:
        waiting.append((mentee, mentor))
    return waiting


def _remind(session: Session, match: Match, now: datetime) -> int:
    return sum(
        _tell(session, Kind.REMINDER, match, _reader(session, me),
              f"Please answer your leadership exchange match by {answer_date(match.respond_by)}",
              "offer_reminder", {
                  "other_name": other.name, "respond_by": answer_date(match.respond_by),
                  "other_accepted": (match.mentee_accepted_at if me.id == match.mentor_id
                                     else match.mentor_accepted_at) is not None,
                  "match_url": _match_url(match)},
              key_extra=_stamp(match.respond_by), due_at=now)
        for me, other in _waiting_on(session, match)
    )


def _lapse(session: Session, match: Match, now: datetime) -> int:
    waiting = _waiting_on(session, match)
    match.status = MatchStatus.LAPSED
    match.decided_at = now
    session.add(match)
    audit.record(session, "match.lapsed", obj=match,
                 detail={"waiting_on": [me.id for me, _ in waiting]})
    mentor, mentee = _sides(session, match)
    written = sum(
        _tell(session, Kind.LAPSED_LEADER, match, _reader(session, me),
              "Your leadership exchange match offer has passed its answer date",
              "offer_lapsed", {"other_name": other.name, "match_url": _match_url(match),
                               "answered": me not in [w for w, _ in waiting]},
              key_extra=_stamp(match.respond_by), due_at=now)
        for me, other in ((mentor, mentee), (mentee, mentor))
    )
    for coordinator in coordinators(session):
        written += _tell(
            session, Kind.LAPSED_COORDINATOR, match, coordinator,
            f"Offer lapsed: {mentor.name} and {mentee.name}", "offer_lapsed_coordinator", {
                "mentor_name": mentor.name, "mentee_name": mentee.name,
                "waiting_on": [me.name for me, _ in waiting],
                "respond_by": answer_date(match.respond_by),
                "changes_url": _round_changes_url(match)},
            key_extra=_stamp(match.respond_by), due_at=now)
    return written


# --- the coordinator's decisions ----------------------------------------------------------------


def _round_match(session: Session, programme_round: ProgrammeRound, match_id: int) -> Match:
    match = session.get(Match, match_id)
    if match is None or match.round_id != programme_round.id:
        raise LookupError(f"match {match_id}")
    return match


def extend_offer(session: Session, programme_round: ProgrammeRound, match_id: int, user: User,
                 days: int, now: datetime) -> Match:
    """More time to answer an offer (lapsed or not): the hold stays, both leaders are told."""
    match = _round_match(session, programme_round, match_id)
    if match.status not in (MatchStatus.OFFERED, MatchStatus.LAPSED):
        raise OfferError("Only an offer that is waiting for an answer can be extended")
    if not 1 <= days <= 60:
        raise OfferError("Give between 1 and 60 more days")
    match.status = MatchStatus.OFFERED
    match.offered_at = now  # the half-time reminder counts from the extension
    match.respond_by = now + timedelta(days=days)
    session.add(match)
    audit.record(session, "match.offer_extended", actor=user, obj=match,
                 detail={"respond_by": match.respond_by.isoformat()})
    mentor, mentee = _sides(session, match)
    for me, other in ((mentor, mentee), (mentee, mentor)):
        _tell(session, Kind.EXTENDED, match, _reader(session, me),
              f"More time to answer your match: until {answer_date(match.respond_by)}",
              "offer_extended", {"other_name": other.name,
                                 "respond_by": answer_date(match.respond_by),
                                 "match_url": _match_url(match)},
              key_extra=_stamp(match.respond_by), due_at=now)
    session.flush()
    return match


def withdraw_offer(session: Session, programme_round: ProgrammeRound, match_id: int, user: User,
                   note: str, now: datetime) -> Match:
    """Withdraw an unanswered offer: its half-days are released and both leaders are told."""
    match = _round_match(session, programme_round, match_id)
    if match.status not in (MatchStatus.OFFERED, MatchStatus.LAPSED):
        raise OfferError("Only an offer that is waiting for an answer can be withdrawn")
    note = (note or "").strip()[:1000]
    match.status = MatchStatus.CANCELLED
    match.decided_at, match.decided_by_id = now, user.id
    session.add(match)
    released = release_exchanges(session, match, "The coordinator withdrew the offer", now,
                                 cause="withdrawn")
    audit.record(session, "match.offer_withdrawn", actor=user, obj=match,
                 detail={"note": note, "released_exchanges": released})
    mentor, mentee = _sides(session, match)
    for me, other in ((mentor, mentee), (mentee, mentor)):
        _tell(session, Kind.WITHDRAWN, match, _reader(session, me),
              "Your leadership exchange match offer has been withdrawn", "offer_withdrawn",
              {"other_name": other.name, "note": note, "match_url": _match_url(match)},
              due_at=now)
    session.flush()
    return match


def answer_rematch(session: Session, programme_round: ProgrammeRound, match_id: int,
                   user: User, note: str, now: datetime) -> Match:
    """Tell a leader who asked for a different match that none can be offered this round (a
    new offer from a local run answers the request by itself)."""
    match = _round_match(session, programme_round, match_id)
    if match.rematch != RematchOutcome.REQUESTED:
        raise OfferError("This leader has no open request for a different match")
    note = (note or "").strip()
    if not note:
        raise OfferError("Tell the leader why no other match can be offered")
    match.rematch = RematchOutcome.NOT_POSSIBLE
    match.rematch_note = note[:1000]
    session.add(match)
    audit.record(session, "match.rematch_answered", actor=user, obj=match, detail={"note": note})
    leader = session.get(LeaderProfile, match.declined_by_id)
    if leader is not None:
        _tell(session, Kind.REMATCH_OUTCOME, match, _reader(session, leader),
              "Your request for a different match", "rematch_outcome",
              {"note": match.rematch_note, "matches_url": absolute("/matches")}, due_at=now)
    session.flush()
    return match


@dataclass(frozen=True)
class OfferRow:
    match: Match
    mentor_name: str
    mentee_name: str
    declined_by_name: str = ""

    @property
    def stage(self) -> MatchStage | None:
        return self.match.stage

    @property
    def partner_name(self) -> str:
        """The other leader of a declined match (not the one who declined)."""
        if self.declined_by_name == self.mentor_name:
            return self.mentee_name
        return self.mentor_name

    @property
    def decline_choice(self) -> str:
        return DECLINE_REASONS.get(self.match.decline_choice, "")


WAITING_SHOWN = 50  # offers waiting for an answer listed on the changes page, soonest first


def offers_needing_coordinator(session: Session, programme_round: ProgrammeRound) -> dict:
    """What waits for a coordinator: lapsed offers (extend or withdraw), requests for a
    different match, and the offers still waiting for an answer: the WAITING_SHOWN with the
    soonest deadline, and how many there are in all (`waiting_count`). A big round has
    thousands waiting at once after approval; nothing needs doing about them yet."""
    mentor = sa.orm.aliased(LeaderProfile)
    mentee = sa.orm.aliased(LeaderProfile)

    def rows(*where, limit: int | None = None):
        return session.exec(
            select(Match, mentor.name, mentee.name)
            .join(mentor, mentor.id == Match.mentor_id).join(mentee, mentee.id == Match.mentee_id)
            .where(Match.round_id == programme_round.id, *where)
            .order_by(Match.respond_by, Match.id).limit(limit)
        ).all()

    found: dict = {"lapsed": [], "rematch": [], "waiting": []}
    for match, mentor_name, mentee_name in rows(sa.or_(
            Match.status == MatchStatus.LAPSED, Match.rematch == RematchOutcome.REQUESTED)):
        declined_by = {match.mentor_id: mentor_name, match.mentee_id: mentee_name}.get(
            match.declined_by_id, "")
        row = OfferRow(match, mentor_name, mentee_name, declined_by)
        if match.status == MatchStatus.LAPSED:
            found["lapsed"].append(row)
        if match.rematch == RematchOutcome.REQUESTED:
            found["rematch"].append(row)
    found["waiting"] = [OfferRow(match, mentor_name, mentee_name)
                        for match, mentor_name, mentee_name
                        in rows(Match.status == MatchStatus.OFFERED, limit=WAITING_SHOWN)]
    found["waiting_count"] = session.exec(
        select(sa.func.count()).select_from(Match).where(
            Match.round_id == programme_round.id, Match.status == MatchStatus.OFFERED)
    ).one()
    return found


# --- leaving a round ----------------------------------------------------------------------------


def tell_match_ended(session: Session, match: Match, leaver: LeaderProfile,
                     now: datetime) -> None:
    """The partner of a leader who left: the match ends, its history stays readable."""
    partner = session.get(LeaderProfile,
                          match.mentee_id if match.mentor_id == leaver.id else match.mentor_id)
    if partner is None:
        return
    _tell(session, Kind.PARTNER_LEFT, match, _reader(session, partner),
          f"{leaver.name} has left the leadership exchange round", "partner_left",
          {"other_name": leaver.name, "match_url": _match_url(match)},
          key_extra=_stamp(now), due_at=now)


def tell_leaver(session: Session, leaver: LeaderProfile, user: User,
                programme_round: ProgrammeRound, ended_matches: int, now: datetime, *,
                withdrawn_by: User | None = None, reason: str = "") -> bool:
    """The leader who left a round: what happens now, and how to come back (`withdrawn_by`: the
    coordinator who withdrew them, and `reason`, why). The coordinators hear of it too, when
    it ended a match (its partner may need a new one)."""
    if ended_matches:
        for coordinator in coordinators(session):
            enqueue(
                session, key=fit_key(f"{Kind.LEFT_COORDINATOR}:{programme_round.id}:"
                                     f"{leaver.id}:{_stamp(now)}:{coordinator.email}"),
                kind=Kind.LEFT_COORDINATOR, recipient_email=coordinator.email,
                recipient_user_id=coordinator.user_id, round_id=programme_round.id,
                subject=f"{leaver.name} has left {programme_round.name}",
                template="left_coordinator", due_at=now, context={
                    "name": coordinator.name, "leader_name": leaver.name,
                    "ended_matches": ended_matches,
                    "changes_url": absolute(f"/rounds/{programme_round.id}/changes")})
    subject = (f"You have been withdrawn from {programme_round.name}" if withdrawn_by
               else f"You have left {programme_round.name}")
    return enqueue(
        session, key=fit_key(f"{Kind.YOU_LEFT}:{programme_round.id}:{_stamp(now)}:{user.email}"),
        kind=Kind.YOU_LEFT, recipient_email=user.email, recipient_user_id=user.id,
        round_id=programme_round.id, subject=subject,
        template="you_left", due_at=now, context={
            "name": leaver.name, "round_name": programme_round.name,
            "ended_matches": ended_matches,
            "can_rejoin": programme_round.status == RoundStatus.OPEN,
            "availability_url": absolute("/availability"),
            "withdrawn_by_coordinator": withdrawn_by is not None,
            "reason": reason if withdrawn_by is not None else "",
        })


# --- a request to move an exchange ------------------------------------------------------------


def tell_move_requested(session: Session, match: Match, exchange: Exchange,
                        asker: LeaderProfile, partner: LeaderProfile, reason: str,
                        preferred: str, now: datetime) -> None:
    """The partner hears that the exchange may move; the coordinators, who move it, get the
    reason and the times that would suit."""
    moment = when(exchange.starts_at, exchange.ends_at)
    key = f"{exchange.id}-{exchange.sequence}"
    _tell(session, Kind.MOVE_REQUESTED_PARTNER, match, _reader(session, partner),
          f"{asker.name} has asked to move your leadership exchange", "move_requested_partner",
          {"other_name": asker.name, "when": moment,
           "exchange_url": absolute(f"/exchanges/{exchange.id}")}, key_extra=key, due_at=now)
    for coordinator in coordinators(session):
        _tell(session, Kind.MOVE_REQUESTED_COORDINATOR, match, coordinator,
              f"Move requested: {asker.name} and {partner.name}, {moment}",
              "move_requested_coordinator", {
                  "leader_name": asker.name, "partner_name": partner.name, "when": moment,
                  "reason": reason, "preferred": preferred,
                  "move_url": absolute(f"/rounds/{match.round_id}/by-hand/exchanges/"
                                       f"{exchange.id}/move"),
                  "changes_url": _round_changes_url(match)}, key_extra=key, due_at=now)
