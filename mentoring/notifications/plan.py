"""The reminder plan of an exchange: what is sent to whom, and when.

For every scheduled exchange: a confirmation with a calendar invitation, reminders at the round's
offsets before it (in Europe/London wall-clock time, so "1 day before" is the same local time the
day before even across a clock change), a feedback request the day after; an update when it moves
and a cancellation when it is cancelled (pending emails about the old time are withdrawn).

Idempotency keys of exchange emails read `kind:exchange id:sequence:start:recipient`; the
dispatcher parses them (`parse_exchange_key`) to skip an email whose exchange has since changed.
The confirmation ("is booked") is the exception: it is sent once per exchange and recipient,
whatever happens next, so its key is `exchange-confirmed:exchange id:recipient`
(`confirmation_key`) and the dispatcher reads its sequence from its invitation instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.models import (
    DEFAULT_REMINDER_OFFSETS_HOURS,
    Exchange,
    LeaderProfile,
    Match,
    Notification,
    Organisation,
    ProgrammeRound,
    User,
)
from mentoring.models.people import tel_uri
from mentoring.notifications.calendar import LONDON, PUBLISH, exchange_invite, invite_sequence
from mentoring.notifications.outbox import absolute, enqueue, existing_keys, fit_key
from mentoring.vocab import ExchangeStatus, NotificationStatus


class Kind:
    CONFIRMATION = "exchange-confirmed"
    REMINDER = "exchange-reminder"
    UPDATE = "exchange-updated"
    CANCELLATION = "exchange-cancelled"
    FEEDBACK = "feedback-request"


# Emails that are only right while the exchange is as it was when they were planned.
TIME_BOUND_KINDS = (Kind.CONFIRMATION, Kind.REMINDER, Kind.UPDATE, Kind.FEEDBACK)
FEEDBACK_LOCAL_TIME = time(9, 0)


class ExchangeKey(NamedTuple):
    kind: str
    exchange_id: int
    sequence: int
    starts_at: str


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def exchange_key(kind: str, exchange: Exchange, recipient: str) -> str:
    """Unique per exchange, kind (with its offset), recipient, and the exchange's time."""
    return fit_key(
        f"{kind}:{exchange.id}:{exchange.sequence}:{_stamp(exchange.starts_at)}:{recipient}"
    )


def confirmation_key(exchange: Exchange, recipient: str) -> str:
    """Once per exchange and recipient: a move or a change of details sends an update, and the
    planning job that runs after it finds this key and never says "booked" again."""
    return fit_key(f"{Kind.CONFIRMATION}:{exchange.id}:{recipient}")


def parse_exchange_key(key: str) -> ExchangeKey | None:
    parts = key.split(":", 4)
    if len(parts) < 5 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return ExchangeKey(parts[0], int(parts[1]), int(parts[2]), parts[3])


def is_current(key: str, exchange, ics: str | None = None) -> bool:
    """Is an email planned under `key` (with this invitation) still about the exchange as it is
    now? Keys without the exchange's time (the confirmation's) are judged by the invitation's
    SEQUENCE, which every change raises."""
    parsed = parse_exchange_key(key)
    if parsed is None:
        sequence = invite_sequence(ics)
        return sequence is None or sequence == exchange.sequence
    return parsed.sequence == exchange.sequence and parsed.starts_at == _stamp(exchange.starts_at)


def local_offset(start: datetime, hours: int) -> datetime:
    """`hours` before `start`; whole days are counted in London wall-clock time (DST safe)."""
    days, rest = divmod(hours, 24)
    local = start.astimezone(LONDON).replace(tzinfo=None) - timedelta(days=days)
    moment = local.replace(tzinfo=LONDON).astimezone(UTC)
    return moment - timedelta(hours=rest)


def describe_offset(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        if days == 7:
            return "in one week"
        return "tomorrow" if days == 1 else f"in {days} days"
    return f"in {hours} hours"


def long_date(moment: datetime) -> str:
    """'Tuesday 30 March 2027' in London time."""
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y}"


def when(start: datetime, end: datetime) -> str:
    """'Tuesday 30 March 2027, 9:00am to 1:00pm' in London time."""
    start_local, end_local = start.astimezone(LONDON), end.astimezone(LONDON)

    def clock(moment: datetime) -> str:
        return moment.strftime("%I:%M%p").lstrip("0").lower()

    return f"{long_date(start)}, {clock(start_local)} to {clock(end_local)}"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    user_id: int | None
    job_title: str = ""
    organisation: str = ""
    phone: str = ""  # shared with the partner once both have accepted


@dataclass(frozen=True)
class ExchangeFacts:
    exchange: Exchange
    round: ProgrammeRound | None
    host: Person
    visitor: Person

    @property
    def people(self) -> tuple[Person, Person]:
        return self.host, self.visitor

    @property
    def round_id(self) -> int | None:
        return self.round.id if self.round else None

    def other(self, person: Person) -> Person:
        return self.visitor if person == self.host else self.host


def _person(session: Session, leader_id: int) -> Person:
    leader = session.get(LeaderProfile, leader_id)
    if leader is None:
        raise LookupError(f"no leader {leader_id}")
    user = session.get(User, leader.user_id)
    organisation = (session.get(Organisation, leader.organisation_id)
                    if leader.organisation_id else None)
    return Person(leader.name, user.email if user else "", user.id if user else None,
                  leader.job_title, organisation.name if organisation else "", leader.phone)


def _facts(session: Session, exchange: Exchange) -> ExchangeFacts:
    session.flush()
    match = session.get(Match, exchange.match_id)
    programme_round = session.get(ProgrammeRound, match.round_id) if match else None
    return ExchangeFacts(
        exchange, programme_round, _person(session, exchange.host_id),
        _person(session, exchange.visitor_id),
    )


def feedback_opens_at(exchange: Exchange) -> datetime:
    """The feedback form opens, and its request is sent, at 9am London time the day after."""
    end_local = exchange.ends_at.astimezone(LONDON)
    return datetime.combine(
        end_local.date() + timedelta(days=1), FEEDBACK_LOCAL_TIME, tzinfo=LONDON
    ).astimezone(UTC)


def one_line(text: str) -> str:
    """A multi-line address on one line, as a calendar's LOCATION and a table cell show it."""
    parts = [part.strip().rstrip(",") for part in text.replace("\r", "").split("\n")]
    return ", ".join(part for part in parts if part)


def where(exchange: Exchange) -> str:
    """The site's name and address on one line ('' when the host has not said)."""
    parts = [exchange.location.strip(), one_line(exchange.address)]
    return ", ".join(part for part in parts if part)


def _context(facts: ExchangeFacts, person: Person, **extra) -> dict:
    exchange = facts.exchange
    other = facts.other(person)
    return {
        "name": person.name,
        "other_name": other.name,
        "hosting": person == facts.host,
        "host_name": facts.host.name,
        "visitor_name": facts.visitor.name,
        "when": when(exchange.starts_at, exchange.ends_at),
        "location": exchange.location,
        "preparation": exchange.preparation,
        # The host's visit details for this exchange (`mentoring.exchanges.visits`).
        "where": where(exchange),
        "address": exchange.address,
        "directions": exchange.directions,
        "meeting": exchange.meeting,
        "bring": exchange.bring,
        "accessibility": exchange.accessibility,
        "day_phone": exchange.phone,
        "day_phone_tel": tel_uri(exchange.phone),
        "round_name": facts.round.name if facts.round else "",
        # Whom to call: the other leader's details, sent only once both have agreed.
        "other_email": other.email,
        "other_phone": other.phone,
        "other_phone_tel": tel_uri(other.phone),
        "other_job_title": other.job_title,
        "other_organisation": other.organisation,
        "exchange_url": absolute(f"/exchanges/{exchange.id}"),
        **extra,
    }


def exchange_copy(session: Session, exchange: Exchange, organizer: tuple[str, str]) -> str:
    """The exchange as a calendar file to import (METHOD:PUBLISH, no attendees): the leader's
    .ics download and, event by event, the feed. The same UID, SEQUENCE, times and text as the
    emailed invitation."""
    return _invite(_facts(session, exchange), exchange.updated_at, method=PUBLISH,
                   organizer=organizer)


def _invite(facts: ExchangeFacts, now: datetime, *, cancel: bool = False,
            method: str | None = None, organizer: tuple[str, str] | None = None) -> str:
    exchange = facts.exchange
    summary = f"Leadership exchange: {facts.visitor.name} visits {facts.host.name}"
    description = (
        f"{facts.visitor.name} spends time in {facts.host.name}'s setting "
        "('walking in their shoes')."
    )
    for label, text in (
        ("How to get there", exchange.directions),
        ("When you arrive", exchange.meeting),
        ("What to bring or wear", exchange.bring),
        ("Accessibility", exchange.accessibility),
        ("Phone on the day", exchange.phone),
        ("To prepare", exchange.preparation),
    ):
        if text:
            description += f"\n\n{label}: {text}"
    page = absolute(f"/exchanges/{exchange.id}")
    description += f"\n\nThe exchange, with contacts: {page}"
    return exchange_invite(
        uid=exchange.uid,
        sequence=exchange.sequence,
        method=method or ("CANCEL" if cancel else "REQUEST"),
        organizer=organizer,
        url=page,
        starts_at=exchange.starts_at,
        ends_at=exchange.ends_at,
        summary=("Cancelled: " + summary) if cancel else summary,
        description=description,
        location=where(exchange),
        attendees=[(p.name, p.email) for p in facts.people if p.email],
        stamp=now,
        cancelled=cancel,
    )


@dataclass
class _Planned:
    key: str
    kind: str
    person: Person
    subject: str
    template: str
    due_at: datetime
    invite: bool = False
    cancel: bool = False
    extra: dict | None = None


def _write(session: Session, facts: ExchangeFacts, planned: Iterable[_Planned], now) -> int:
    planned = [p for p in planned if p.person.email]
    done = existing_keys(session, [p.key for p in planned])
    if any(item.kind == Kind.CONFIRMATION for item in planned):
        done |= {confirmation_key(facts.exchange, email)
                 for email in _confirmed_recipients(session, facts.exchange.id)}
    invites: dict[bool, str] = {}
    written = 0
    for item in planned:
        if item.key in done:
            continue
        ics = None
        if item.invite:
            if item.cancel not in invites:
                invites[item.cancel] = _invite(facts, now, cancel=item.cancel)
            ics = invites[item.cancel]
        written += enqueue(
            session,
            key=item.key,
            kind=item.kind,
            recipient_email=item.person.email,
            recipient_user_id=item.person.user_id,
            round_id=facts.round_id,
            exchange_id=facts.exchange.id,
            subject=item.subject,
            template=item.template,
            context=_context(facts, item.person, **(item.extra or {})),
            due_at=item.due_at,
            ics=ics,
            ics_method=("CANCEL" if item.cancel else "REQUEST") if ics else None,
        )
    return written


def _confirmed_recipients(session: Session, exchange_id: int) -> set[str]:
    """Who has a confirmation of this exchange in the outbox, whatever its key: confirmations
    written before the key lost the exchange's time (`kind:id:sequence:start:recipient`) count
    too, so the planning job never sends "booked" a second time after an upgrade."""
    table = Notification.__table__
    return set(session.execute(
        sa.select(table.c.recipient_email).where(
            table.c.exchange_id == exchange_id, table.c.kind == Kind.CONFIRMATION)
    ).scalars())


def _reminders(facts: ExchangeFacts, now: datetime) -> list[_Planned]:
    """Reminders and the feedback request for the exchange's current time (future ones only)."""
    exchange = facts.exchange
    offsets = (facts.round.reminder_offsets_hours if facts.round else None) or list(
        DEFAULT_REMINDER_OFFSETS_HOURS
    )
    planned: list[_Planned] = []
    for hours in sorted({int(h) for h in offsets if int(h) > 0}, reverse=True):
        due = local_offset(exchange.starts_at, hours)
        if due <= now:
            continue  # too late for this one: the confirmation or update says it all
        for person in facts.people:
            planned.append(_Planned(
                exchange_key(f"{Kind.REMINDER}-{hours}h", exchange, person.email),
                Kind.REMINDER, person,
                f"Reminder: your leadership exchange {describe_offset(hours)}",
                "exchange_reminder", due, invite=True,
                extra={"offset": describe_offset(hours)},
            ))
    feedback_due = feedback_opens_at(exchange)
    for person in facts.people:
        planned.append(_Planned(
            exchange_key(Kind.FEEDBACK, exchange, person.email), Kind.FEEDBACK, person,
            "How did your leadership exchange go?", "feedback_request",
            max(feedback_due, now),
        ))
    return planned


def plan_exchange(session: Session, exchange: Exchange, now: datetime) -> int:
    """Confirmation (with invitation), reminders and feedback request of a scheduled exchange.

    Safe to call again: rows already written are left alone. Returns how many rows were new.
    """
    if exchange.status != ExchangeStatus.SCHEDULED:
        return 0
    facts = _facts(session, exchange)
    # A pair's exchanges are booked together: the date tells their confirmations apart.
    day = exchange.starts_at.astimezone(LONDON)
    planned = [
        _Planned(
            confirmation_key(exchange, person.email), Kind.CONFIRMATION, person,
            f"Your leadership exchange is booked: {day:%A} {day.day} {day:%B}",
            "exchange_confirmed", now, invite=True,
        )
        for person in facts.people
    ]
    if exchange.starts_at > now:
        planned += _reminders(facts, now)
    else:
        planned += [p for p in _reminders(facts, now) if p.kind == Kind.FEEDBACK]
    return _write(session, facts, planned, now)


def withdraw_pending(session: Session, exchange_id: int, reason: str,
                     kinds: Iterable[str] = TIME_BOUND_KINDS) -> int:
    """Withdraw the exchange's unsent emails of these kinds (pending, or failed and waiting)."""
    table = Notification.__table__
    result = session.execute(
        sa.update(table)
        .where(
            table.c.exchange_id == exchange_id,
            table.c.kind.in_(list(kinds)),
            table.c.status.in_([NotificationStatus.PENDING, NotificationStatus.FAILED]),
        )
        .values(status=NotificationStatus.WITHDRAWN, last_error=reason, lease_until=None)
    )
    return result.rowcount or 0


def reschedule_exchange(
    session: Session, exchange: Exchange, new_start: datetime, new_end: datetime, now: datetime
) -> int:
    """Move an exchange: SEQUENCE goes up, emails about the old time are withdrawn, an update
    (with the changed invitation) goes out now and reminders are planned for the new time."""
    if new_start.tzinfo is None or new_end.tzinfo is None:
        raise ValueError("new_start and new_end must be aware datetimes")
    if new_end <= new_start:
        raise ValueError("an exchange must end after it starts")
    if exchange.status == ExchangeStatus.HELD:
        # Only offered so far: no invitation was sent, the offer's page shows the new time.
        exchange.starts_at, exchange.ends_at = new_start, new_end
        exchange.updated_at = now
        session.add(exchange)
        return 0
    if exchange.status != ExchangeStatus.SCHEDULED:
        raise ValueError("only a scheduled exchange can be moved")
    previous = when(exchange.starts_at, exchange.ends_at)
    exchange.starts_at, exchange.ends_at = new_start, new_end
    return _send_update(session, exchange, now, "Withdrawn: the exchange moved",
                        "Your leadership exchange has moved", "exchange_updated",
                        {"previous_when": previous})


def visit_details_changed(session: Session, exchange: Exchange, now: datetime) -> int:
    """The host changed a booked exchange's visit details (its time is the same): calendars
    take the new LOCATION and DESCRIPTION from an update to both leaders (the host's calendar
    needs it too). A held exchange has nothing to update."""
    if exchange.status != ExchangeStatus.SCHEDULED:
        return 0
    return _send_update(session, exchange, now, "Withdrawn: the visit details changed",
                        "New visit details for your leadership exchange",
                        "exchange_details_changed")


def _send_update(session: Session, exchange: Exchange, now: datetime, withdrawn_because: str,
                 subject: str, template: str, extra: dict | None = None) -> int:
    """A booked exchange changed: SEQUENCE goes up, emails written about it as it was are
    withdrawn, an update with the changed invitation goes to both leaders now, and the
    reminders and feedback request are planned again (only the feedback once it started)."""
    withdraw_pending(session, exchange.id, withdrawn_because)
    exchange.sequence += 1
    exchange.updated_at = now
    session.add(exchange)
    facts = _facts(session, exchange)
    planned = [
        _Planned(exchange_key(Kind.UPDATE, exchange, person.email), Kind.UPDATE, person,
                 subject, template, now, invite=True, extra=extra)
        for person in facts.people
    ]
    planned += [p for p in _reminders(facts, now)
                if exchange.starts_at > now or p.kind == Kind.FEEDBACK]
    return _write(session, facts, planned, now)


# Why an exchange is cancelled, for the cancellation email's wording.
CANCEL_CAUSES = ("declined", "left", "withdrawn", "coordinator", "leader")


def cancel_exchange(session: Session, exchange: Exchange, reason: str, now: datetime, *,
                    cause: str = "", left_name: str = "") -> int:
    """Cancel: pending emails are withdrawn and a cancellation (METHOD:CANCEL) goes out now.
    A held exchange (only offered) is released quietly: no invitation was ever sent."""
    if exchange.status == ExchangeStatus.CANCELLED:
        return 0
    if exchange.status == ExchangeStatus.HELD:
        exchange.status = ExchangeStatus.CANCELLED
        exchange.cancel_reason = reason[:1000]
        exchange.updated_at = now
        session.add(exchange)
        return 0
    withdraw_pending(session, exchange.id, "Withdrawn: the exchange was cancelled")
    exchange.status = ExchangeStatus.CANCELLED
    exchange.cancel_reason = reason[:1000]
    exchange.sequence += 1
    exchange.updated_at = now
    session.add(exchange)
    facts = _facts(session, exchange)
    planned = [
        _Planned(
            fit_key(f"{Kind.CANCELLATION}:{exchange.id}:{exchange.sequence}:-:{person.email}"),
            Kind.CANCELLATION, person, "Cancelled: your leadership exchange",
            "exchange_cancelled", now, invite=True, cancel=True,
            extra={"reason": reason, "cause": cause, "left_name": left_name},
        )
        for person in facts.people
    ]
    return _write(session, facts, planned, now)


def plan_scheduled_exchanges(session: Session, now: datetime) -> int:
    """Safety net run by the worker: plan every future scheduled exchange (idempotent)."""
    exchanges = session.exec(
        select(Exchange).where(
            Exchange.status == ExchangeStatus.SCHEDULED, Exchange.starts_at > now
        )
    ).all()
    return sum(plan_exchange(session, exchange, now) for exchange in exchanges)
