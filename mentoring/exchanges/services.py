"""The leader's matches, exchanges, calendar, feedback and reflections. No Flask here.

Every lookup goes through the leader's own profile: an object that is not theirs is `NotFound`,
exactly as if it did not exist (the views turn it into a 404).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from icalendar import Calendar
from pydantic import ValidationError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from mentoring import audit
from mentoring.exchanges.reasons import reasons_for_reader
from mentoring.models import (
    AuditEvent,
    Exchange,
    ExchangeBooking,
    Feedback,
    FeedbackCreate,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    User,
)
from mentoring.notifications import cancel_exchange
from mentoring.notifications.calendar import PUBLISH, london_timezone, new_calendar
from mentoring.notifications.outbox import programme_mailbox
from mentoring.notifications.plan import exchange_copy, feedback_opens_at, where
from mentoring.vocab import ExchangeStatus, MatchStatus

# What a leader sees of their matches: the coordinator's proposals stay private until offered;
# a match that ended (declined, lapsed, cancelled) stays readable to both, with its exchanges.
VISIBLE_MATCH_STATUSES = (MatchStatus.OFFERED, MatchStatus.ACCEPTED, MatchStatus.DECLINED,
                          MatchStatus.LAPSED, MatchStatus.CANCELLED)
ENDED_MATCH_STATUSES = (MatchStatus.DECLINED, MatchStatus.CANCELLED)
RESCHEDULE_REQUESTED = "exchange.reschedule_requested"
MATCH_ACCEPTED = "match.accepted"


class NotFound(LookupError):
    """No such object for this leader (it does not exist, or it is someone else's)."""


class LeaderError(ValueError):
    """A request that cannot be carried out; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else errors
        super().__init__("; ".join(self.errors.values()))


def profile_of(session: Session, user: User) -> LeaderProfile | None:
    return session.exec(select(LeaderProfile).where(LeaderProfile.user_id == user.id)).first()


def required_text(value: str, field_name: str, message: str, limit: int) -> str:
    """The trimmed text of a field a leader must fill in, at most `limit` characters; raises
    LeaderError naming the field otherwise."""
    text = (value or "").strip()
    if not text:
        raise LeaderError({field_name: message})
    if len(text) > limit:
        raise LeaderError({field_name: f"Enter no more than {limit} characters"})
    return text


# --- matches -------------------------------------------------------------------------------


class _PartnerContact:
    """The other leader's contact details, shared once both have accepted the match (booked),
    never before: on the match page and on each exchange's page alike."""

    match: Match
    other: LeaderProfile

    @property
    def is_booked(self) -> bool:
        return self.match.status == MatchStatus.ACCEPTED

    @property
    def other_email(self) -> str:
        return self.other.user.email if self.is_booked and self.other.user else ""

    @property
    def other_phone(self) -> str:
        return self.other.phone if self.is_booked else ""


@dataclass
class MatchView(_PartnerContact):
    match: Match
    me: LeaderProfile
    other: LeaderProfile
    other_organisation: Organisation | None
    programme_round: ProgrammeRound | None
    i_am_mentor: bool
    exchanges: list[Exchange] = field(default_factory=list)

    def _accepted(self, mentor_side: bool) -> bool:
        match = self.match
        at = match.mentor_accepted_at if mentor_side else match.mentee_accepted_at
        return at is not None or match.status == MatchStatus.ACCEPTED

    @property
    def i_accepted(self) -> bool:
        return self._accepted(self.i_am_mentor)

    @property
    def other_accepted(self) -> bool:
        return self._accepted(not self.i_am_mentor)

    @property
    def can_decide(self) -> bool:
        return self.match.status in (MatchStatus.OFFERED, MatchStatus.ACCEPTED)

    @property
    def can_accept(self) -> bool:
        return self.match.status == MatchStatus.OFFERED and not self.i_accepted

    @property
    def declined_by_me(self) -> bool:
        return self.match.declined_by_id == self.me.id

    @property
    def reasons(self) -> list[str]:
        """Why we matched them, written to this leader (coordinators see the optimiser's)."""
        return reasons_for_reader(self.me, self.other, i_am_mentor=self.i_am_mentor,
                                  my_organisation=self.me.organisation,
                                  other_organisation=self.other_organisation)


def _events_about(
    session: Session, wanted: dict[str, tuple[str, list[int]]]
) -> dict[str, list[tuple[int, dict | None]]]:
    """For each action, the (object id, detail) of its audit events about these objects
    (`wanted` maps an action to an object type and ids): one query for them all."""
    found: dict[str, list[tuple[int, dict | None]]] = {action: [] for action in wanted}
    about = [
        sa.and_(AuditEvent.action == action, AuditEvent.object_type == object_type,
                AuditEvent.object_id.in_([str(i) for i in ids]))  # type: ignore[attr-defined]
        for action, (object_type, ids) in wanted.items() if ids
    ]
    if about:
        for action, object_id, detail in session.exec(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.detail)
            .where(sa.or_(*about))
        ).all():
            found[action].append((int(object_id), detail))
    return found


def _by_id(session: Session, model, ids) -> dict:
    """Rows of `model` with these ids, in one query (a page must not query once per row); rows
    the session already holds are not read again."""
    wanted = {row_id for row_id in ids if row_id is not None}
    found = {}
    for row_id in wanted:
        row = session.identity_map.get(identity_key(model, row_id))
        if row is not None:
            found[row_id] = row
    missing = wanted - set(found)
    if missing:
        found |= {row.id: row for row in
                  session.exec(select(model).where(model.id.in_(missing))).all()}
    return found


def _match_views(
    session: Session,
    me: LeaderProfile,
    matches: list[Match],
    *,
    exchanges_of: dict[int, list[Exchange]] | None = None,
) -> list[MatchView]:
    """The views of several matches with a fixed number of queries, however many matches; none
    for the exchanges when the caller has read them already."""
    match_ids = [match.id for match in matches]
    others = _by_id(session, LeaderProfile, (
        match.mentee_id if match.mentor_id == me.id else match.mentor_id for match in matches))
    organisations = _by_id(session, Organisation,
                           (other.organisation_id for other in others.values()))
    rounds = _by_id(session, ProgrammeRound, (match.round_id for match in matches))
    if exchanges_of is None:
        exchanges_of = {match_id: [] for match_id in match_ids}
        if match_ids:
            for exchange in session.exec(
                select(Exchange).where(Exchange.match_id.in_(match_ids))  # type: ignore[attr-defined]
                .order_by(Exchange.starts_at, Exchange.id)
            ).all():
                exchanges_of[exchange.match_id].append(exchange)
    views = []
    for match in matches:
        i_am_mentor = match.mentor_id == me.id
        other = others[match.mentee_id if i_am_mentor else match.mentor_id]
        views.append(MatchView(
            match=match,
            me=me,
            other=other,
            other_organisation=organisations.get(other.organisation_id),
            programme_round=rounds.get(match.round_id),
            i_am_mentor=i_am_mentor,
            exchanges=exchanges_of[match.id],
        ))
    return views


def _match_view(session: Session, me: LeaderProfile, match: Match) -> MatchView:
    return _match_views(session, me, [match])[0]


def _visible_matches_of(me: LeaderProfile) -> sa.ColumnElement[bool]:
    """The matches this leader is in that leaders may see."""
    return sa.and_(sa.or_(Match.mentor_id == me.id, Match.mentee_id == me.id),
                   Match.status.in_(VISIBLE_MATCH_STATUSES))  # type: ignore[attr-defined]


NEWEST_MATCH_FIRST = (Match.created_at.desc(), Match.id.desc())  # type: ignore[union-attr]


def _declined_last(matches: list[Match]) -> list[Match]:
    live = [m for m in matches if m.status not in ENDED_MATCH_STATUSES]  # ended ones last
    return live + [m for m in matches if m not in live]


def my_matches(session: Session, me: LeaderProfile) -> list[MatchView]:
    matches = session.exec(
        select(Match).where(_visible_matches_of(me)).order_by(*NEWEST_MATCH_FIRST)
    ).all()
    return _match_views(session, me, _declined_last(list(matches)))


def get_match(session: Session, me: LeaderProfile, match_id: int) -> MatchView:
    match = session.get(Match, match_id)
    if (
        match is None
        or me.id not in (match.mentor_id, match.mentee_id)
        or match.status not in VISIBLE_MATCH_STATUSES
    ):
        raise NotFound(f"match {match_id}")
    return _match_view(session, me, match)


# --- exchanges -----------------------------------------------------------------------------


@dataclass
class ExchangeView(_PartnerContact):
    exchange: Exchange
    me: LeaderProfile
    host: LeaderProfile
    visitor: LeaderProfile
    match: Match
    programme_round: ProgrammeRound | None
    reschedule_requested: bool
    my_feedback: Feedback | None

    @property
    def i_am_host(self) -> bool:
        return self.host.id == self.me.id

    @property
    def other(self) -> LeaderProfile:
        return self.visitor if self.i_am_host else self.host

    def is_upcoming(self, now: datetime) -> bool:
        return self.exchange.status == ExchangeStatus.SCHEDULED and self.exchange.starts_at > now

    @property
    def where(self) -> str:
        return where(self.exchange)

    @property
    def feedback_opens_at(self) -> datetime:
        """9am London time the morning after, when the feedback request is emailed."""
        return feedback_opens_at(self.exchange)

    def feedback_open(self, now: datetime) -> bool:
        return (self.exchange.status != ExchangeStatus.CANCELLED
                and now >= self.feedback_opens_at)


def _reschedule_requests(events: list[tuple[int, dict | None]]) -> set[tuple[int, int]]:
    """(exchange id, sequence) of every request to move these exchanges, from their
    `exchange.reschedule_requested` events: a request counts for the exchange as it is now (a
    move by the coordinator answers it)."""
    return {(exchange_id, (detail or {}).get("sequence")) for exchange_id, detail in events}


def _exchange_views(
    session: Session,
    me: LeaderProfile,
    exchanges: list[Exchange],
    *,
    reschedule_events: list[tuple[int, dict | None]] | None = None,
    my_feedback: dict[int, Feedback] | None = None,
) -> list[ExchangeView]:
    """The views of several exchanges with a fixed number of queries, however many; none for
    the reschedule requests or this leader's feedback when the caller has read them already."""
    exchange_ids = [exchange.id for exchange in exchanges]
    matches = _by_id(session, Match, (exchange.match_id for exchange in exchanges))
    people = _by_id(session, LeaderProfile, (
        leader_id for exchange in exchanges for leader_id in (exchange.host_id,
                                                             exchange.visitor_id)))
    rounds = _by_id(session, ProgrammeRound, (match.round_id for match in matches.values()))
    if reschedule_events is None:
        reschedule_events = _events_about(
            session, {RESCHEDULE_REQUESTED: ("Exchange", exchange_ids)})[RESCHEDULE_REQUESTED]
    requested = _reschedule_requests(reschedule_events)
    if my_feedback is None:
        my_feedback = {
            row.exchange_id: row for row in session.exec(
                select(Feedback).where(Feedback.exchange_id.in_(exchange_ids),  # type: ignore[union-attr]
                                       Feedback.leader_id == me.id)
            ).all()
        } if exchange_ids else {}
    return [
        ExchangeView(
            exchange=exchange,
            me=me,
            host=people[exchange.host_id],
            visitor=people[exchange.visitor_id],
            match=matches[exchange.match_id],
            programme_round=rounds.get(matches[exchange.match_id].round_id),
            reschedule_requested=(exchange.id, exchange.sequence) in requested,
            my_feedback=my_feedback.get(exchange.id),
        )
        for exchange in exchanges
    ]


def _exchange_view(session: Session, me: LeaderProfile, exchange: Exchange) -> ExchangeView:
    return _exchange_views(session, me, [exchange])[0]


def _my_exchange_rows(
    session: Session, me: LeaderProfile, statuses=VISIBLE_MATCH_STATUSES
) -> list[Exchange]:
    return list(
        session.exec(
            select(Exchange)
            .join(Match, Match.id == Exchange.match_id)
            .where(
                sa.or_(Exchange.host_id == me.id, Exchange.visitor_id == me.id),
                Match.status.in_(statuses),  # type: ignore[attr-defined]
            )
            .order_by(Exchange.starts_at, Exchange.id)
        ).all()
    )


def my_exchanges(session: Session, me: LeaderProfile) -> list[ExchangeView]:
    return _exchange_views(session, me, _my_exchange_rows(session, me))


def my_matches_and_exchanges(
    session: Session, me: LeaderProfile
) -> tuple[list[MatchView], list[ExchangeView]]:
    """`my_matches` and `my_exchanges` together, as the matches page shows them, in three
    queries however many rows: the matches joined to the other leader, their organisation and
    the round; the exchanges of those matches or with this leader, with this leader's feedback;
    and the audit events that both need."""
    other_id = sa.case((Match.mentor_id == me.id, Match.mentee_id), else_=Match.mentor_id)
    match_rows = session.exec(
        select(Match, LeaderProfile, Organisation, ProgrammeRound)
        .join(LeaderProfile, LeaderProfile.id == other_id)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .outerjoin(ProgrammeRound, ProgrammeRound.id == Match.round_id)
        .where(_visible_matches_of(me))
        .order_by(*NEWEST_MATCH_FIRST)
    ).all()
    matches = _declined_last([match for match, *_ in match_rows])
    match_ids = [match.id for match in matches]
    exchange_rows = session.exec(
        select(Exchange, Feedback)
        .join(Match, Match.id == Exchange.match_id)
        .outerjoin(Feedback, sa.and_(Feedback.exchange_id == Exchange.id,
                                     Feedback.leader_id == me.id))
        .where(
            Match.status.in_(VISIBLE_MATCH_STATUSES),  # type: ignore[attr-defined]
            sa.or_(Exchange.host_id == me.id, Exchange.visitor_id == me.id,
                   Exchange.match_id.in_(match_ids)),  # type: ignore[attr-defined]
        )
        .order_by(Exchange.starts_at, Exchange.id)
    ).all()
    # What my_exchanges shows: those this leader hosts or visits (in practice every exchange
    # of their matches, but each list keeps its own definition).
    mine = [exchange for exchange, _ in exchange_rows
            if me.id in (exchange.host_id, exchange.visitor_id)]
    exchanges_of: dict[int, list[Exchange]] = {match_id: [] for match_id in match_ids}
    for exchange, _ in exchange_rows:
        if exchange.match_id in exchanges_of:
            exchanges_of[exchange.match_id].append(exchange)
    events = _events_about(session, {
        RESCHEDULE_REQUESTED: ("Exchange", [exchange.id for exchange in mine]),
    })
    # The leaders, organisations, rounds and matches read above are in the session's identity
    # map (held there by match_rows), so building the views reads none of them again.
    match_views = _match_views(session, me, matches, exchanges_of=exchanges_of)
    exchange_views = _exchange_views(
        session, me, mine, reschedule_events=events[RESCHEDULE_REQUESTED],
        my_feedback={exchange.id: feedback for exchange, feedback in exchange_rows
                     if feedback is not None})
    return match_views, exchange_views


def get_exchange(session: Session, me: LeaderProfile, exchange_id: int) -> ExchangeView:
    exchange = session.get(Exchange, exchange_id)
    if exchange is None or me.id not in (exchange.host_id, exchange.visitor_id):
        raise NotFound(f"exchange {exchange_id}")
    match = session.get(Match, exchange.match_id)
    if match is None or match.status not in VISIBLE_MATCH_STATUSES:
        raise NotFound(f"exchange {exchange_id}")
    return _exchange_view(session, me, exchange)


def cancel_and_release(session: Session, exchange: Exchange, reason: str, now: datetime, *,
                       cause: str = "", left_name: str = "") -> None:
    """Cancel through the notifications plan (status, reason, SEQUENCE, emails written for the
    `cause`); free the half-days."""
    cancel_exchange(session, exchange, reason, now, cause=cause, left_name=left_name)
    session.execute(sa.delete(ExchangeBooking).where(ExchangeBooking.exchange_id == exchange.id))


def cancel_my_exchange(
    session: Session, me: LeaderProfile, user: User, exchange_id: int, reason: str, now: datetime
) -> ExchangeView:
    view = get_exchange(session, me, exchange_id)
    if not view.is_upcoming(now):
        raise LeaderError("Only an exchange that has not happened yet can be cancelled")
    reason = required_text(reason, "reason", "Enter why you are cancelling this exchange", 1000)
    cancel_and_release(session, view.exchange, reason, now, cause="leader")
    audit.record(
        session, "exchange.cancelled", actor=user, obj=view.exchange,
        detail={"leader_id": me.id, "reason": reason},
    )
    session.flush()
    return _exchange_view(session, me, view.exchange)


def request_reschedule(
    session: Session,
    me: LeaderProfile,
    user: User,
    exchange_id: int,
    reason: str,
    preferred: str,
    now: datetime,
) -> ExchangeView:
    """Ask the coordinator to move an exchange: recorded for them, nothing moves yet."""
    view = get_exchange(session, me, exchange_id)
    if not view.is_upcoming(now):
        raise LeaderError("Only an exchange that has not happened yet can be moved")
    reason = required_text(reason, "reason", "Enter why the exchange needs to move", 1000)
    preferred = (preferred or "").strip()
    if len(preferred) > 1000:
        raise LeaderError({"preferred": "Enter no more than 1000 characters"})
    audit.record(
        session, RESCHEDULE_REQUESTED, actor=user, obj=view.exchange,
        detail={
            "leader_id": me.id,
            "reason": reason,
            "preferred": preferred,
            "sequence": view.exchange.sequence,
            "starts_at": view.exchange.starts_at.isoformat(),
        },
    )
    from mentoring.offers.services import tell_move_requested  # offers build on this module

    tell_move_requested(session, view.match, view.exchange, me, view.other, reason, preferred,
                        now)
    session.flush()
    return _exchange_view(session, me, view.exchange)


# --- calendar ------------------------------------------------------------------------------


def _organizer(session: Session, mail_from: str) -> tuple[str, str]:
    """The programme's mailbox (as in emailed invitations), else the service's sender."""
    contact = programme_mailbox(session)
    if contact is not None:
        return contact.name or "Leadership exchange", contact.email
    name, email = parseaddr(mail_from)
    return name or "Leadership exchange", email or "no-reply@localhost"


def exchange_ics(
    session: Session, me: LeaderProfile, exchange_id: int, mail_from: str
) -> tuple[str, str]:
    """One booked exchange as a file to import (METHOD:PUBLISH, no attendees) and a file name.

    Never an invitation nor a cancellation: those come by email. A cancelled exchange has no
    file (a calendar cannot be told to remove an event by a file it imports)."""
    view = get_exchange(session, me, exchange_id)
    if not view.exchange.was_booked or view.exchange.status == ExchangeStatus.CANCELLED:
        # Nothing before both leaders agree, nothing once cancelled.
        raise NotFound(f"exchange {exchange_id} is not booked")
    ics = exchange_copy(session, view.exchange, _organizer(session, mail_from))
    return ics, f"exchange-{view.exchange.id}.ics"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_calendar_token(session: Session, me: LeaderProfile, user: User) -> str:
    """A new secret feed address; any older one stops working. Only the hash is stored."""
    token = secrets.token_urlsafe(32)
    replaced = me.calendar_token_hash is not None
    me.calendar_token_hash = _token_hash(token)
    session.add(me)
    audit.record(session, "calendar.feed_created", actor=user, obj=me,
                 detail={"replaced_previous": replaced})
    session.flush()
    return token


def revoke_calendar_token(session: Session, me: LeaderProfile, user: User) -> None:
    if me.calendar_token_hash is None:
        return
    me.calendar_token_hash = None
    session.add(me)
    audit.record(session, "calendar.feed_revoked", actor=user, obj=me)
    session.flush()


def leader_for_token(session: Session, token: str) -> LeaderProfile | None:
    if not token or len(token) > 200:
        return None
    return session.exec(
        select(LeaderProfile).where(LeaderProfile.calendar_token_hash == _token_hash(token))
    ).first()


def calendar_feed(session: Session, me: LeaderProfile, mail_from: str) -> str:
    """The leader's booked exchanges in one subscribable calendar (METHOD:PUBLISH).

    Cancelled exchanges are left out: a subscribed calendar mirrors the feed, so the next
    refresh removes them. Held exchanges are not in it either: nothing reaches a calendar
    before both leaders agree. No ATTENDEE (RFC 5546: a published event has none)."""
    exchanges = [exchange for exchange in _my_exchange_rows(session, me)
                 if exchange.was_booked and exchange.status != ExchangeStatus.CANCELLED]
    calendar = new_calendar(PUBLISH)
    calendar.add("x-wr-calname", "Leadership exchanges")
    calendar.add("x-wr-timezone", "Europe/London")
    calendar.add("refresh-interval", timedelta(hours=4), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT4H")
    calendar.add_component(london_timezone())
    organizer = _organizer(session, mail_from)
    for exchange in exchanges:
        copy = Calendar.from_ical(exchange_copy(session, exchange, organizer))
        for event in copy.walk("VEVENT"):
            calendar.add_component(event)
    return calendar.to_ical().decode()


# --- feedback and reflections --------------------------------------------------------------


def give_feedback(
    session: Session, me: LeaderProfile, user: User, exchange_id: int, data: dict, now: datetime
) -> Feedback:
    """One feedback per leader per exchange, once the exchange has started."""
    view = get_exchange(session, me, exchange_id)
    if not view.feedback_open(now):
        raise LeaderError("You can give feedback once the exchange has taken place")
    if view.my_feedback is not None:
        raise LeaderError("You have already given feedback on this exchange")
    try:
        values = FeedbackCreate.model_validate(data)
    except ValidationError as error:
        raise LeaderError(_feedback_errors(error)) from error
    feedback = Feedback(
        **values.model_dump(),
        exchange_id=view.exchange.id,
        round_id=view.match.round_id,
        leader_id=me.id,
        author_profession=me.profession,
        author_sector=me.sector,
        created_at=now,
    )
    session.add(feedback)
    session.flush()  # given twice at once: the unique constraint raises IntegrityError
    audit.record(session, "feedback.given", actor=user, obj=feedback,
                 detail={"exchange_id": view.exchange.id})
    session.flush()
    return feedback


def _feedback_errors(error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        if name == "rating":
            message = "Choose a rating from 1 to 5"
        elif item.get("type") == "string_too_long":
            message = f"Enter no more than {(item.get('ctx') or {}).get('max_length')} characters"
        else:
            message = item["msg"]
        errors.setdefault(name, message)
    return errors
