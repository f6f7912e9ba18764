"""The host's checks: each booked exchange's checklist, who confirms it, the reminders that chase
open items, and the exchanges at risk. No Flask here.

A checklist is the host organisation's access route (escorted visitor, letter of access or
honorary contract) and its checks (confidentiality agreement, photo ID, ...), made when the
exchange is booked (`open_checklist`, called where exchanges become `scheduled`). The host, or a
coordinator, confirms each item; only "confirmed on this date, by this person" is kept. The
visitor sees what is still open. Emails chase the host at `REMINDER_DAYS` before the visit, once
each; an exchange with open items `AT_RISK_WORKING_DAYS` working days before it is at risk, on the
coordinator's dashboard and changes list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.calendar_days import bank_holidays
from mentoring.db import session_scope
from mentoring.exchanges.services import get_exchange
from mentoring.models import (
    Exchange,
    ExchangeCheck,
    LeaderProfile,
    Match,
    Organisation,
    User,
    utcnow,
)
from mentoring.notifications.outbox import absolute, enqueue, fit_key
from mentoring.notifications.plan import local_offset, when
from mentoring.slots import LONDON
from mentoring.vocab import (
    ACCESS_ROUTE_PHRASES,
    ACCESS_ROUTES,
    CHECKLIST_HINTS,
    CHECKLIST_ITEMS,
    ExchangeStatus,
    host_check_defaults,
)

# Reminders to the host, this many days before the visit, while items are open (once each).
REMINDER_DAYS = (14, 5)
# An exchange with open items this many working days before it is at risk.
AT_RISK_WORKING_DAYS = 3
# How far ahead to look for exchanges that may be at risk: three working days, a weekend and a
# Christmas fit well within it.
AT_RISK_HORIZON = timedelta(days=14)
REMINDER_KIND = "host-checks-reminder"
CHECKS_UPDATED = "exchange.checks_updated"


class ChecklistError(ValueError):
    """A change to a checklist that cannot be made; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else errors
        super().__init__("; ".join(self.errors.values()))


class NotAllowed(PermissionError):
    """The leader may see this checklist but not change it (they are the visitor)."""


# --- working days -------------------------------------------------------------------------------


def is_bank_holiday(day: date) -> bool:
    """In the deployment's region (`BANK_HOLIDAY_REGION`): "three working days" before a visit
    skips Christmas and Easter as well as weekends."""
    return day in bank_holidays(day, day)


def working_days_before(day: date, count: int,
                        is_holiday: Callable[[date], bool] = is_bank_holiday) -> date:
    """The date `count` working days (Monday to Friday, not a holiday) before `day`."""
    found = 0
    while found < count:
        day -= timedelta(days=1)
        if day.weekday() < 5 and not is_holiday(day):
            found += 1
    return day


def at_risk_from(starts_at: datetime) -> date:
    """From this (London) date on, an exchange starting at `starts_at` with open items is at
    risk."""
    return working_days_before(starts_at.astimezone(LONDON).date(), AT_RISK_WORKING_DAYS)


# --- what a host confirms -------------------------------------------------------------------------


@dataclass(frozen=True)
class HostSettings:
    """What the host's organisation needs (or, with no organisation, what their sector usually
    does)."""

    organisation: Organisation | None
    access_route: str
    notice_weeks: int
    items: tuple[str, ...]

    @property
    def organisation_name(self) -> str:
        return self.organisation.name if self.organisation else ""

    @property
    def route_label(self) -> str:
        return ACCESS_ROUTES.get(self.access_route, self.access_route)

    @property
    def route_phrase(self) -> str:
        return ACCESS_ROUTE_PHRASES.get(self.access_route, self.route_label.lower())


def settings_for(host: LeaderProfile, organisation: Organisation | None) -> HostSettings:
    if organisation is not None:
        return HostSettings(organisation, organisation.access_route, organisation.notice_weeks,
                            tuple(organisation.checklist))
    route, weeks, checks = host_check_defaults(host.sector)
    return HostSettings(None, route, weeks, (route, *checks))


def host_settings(session: Session, host: LeaderProfile) -> HostSettings:
    organisation = (session.get(Organisation, host.organisation_id)
                    if host.organisation_id else None)
    return settings_for(host, organisation)


def _rows(session: Session, exchange_ids: Iterable[int]) -> dict[int, list[ExchangeCheck]]:
    ids = list(set(exchange_ids))
    found: dict[int, list[ExchangeCheck]] = defaultdict(list)
    if ids:
        for row in session.exec(
            select(ExchangeCheck).where(ExchangeCheck.exchange_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(ExchangeCheck.id)
        ).all():
            found[row.exchange_id].append(row)
    return found


def open_checklist(session: Session, exchange: Exchange, now: datetime) -> int:
    """Give a booked exchange its checklist, from the host's organisation as it is now. Safe to
    call again (items it has are kept); nothing for an exchange that is not booked. Returns how
    many items were added."""
    if exchange.status != ExchangeStatus.SCHEDULED:
        return 0
    session.flush()
    host = session.get(LeaderProfile, exchange.host_id)
    if host is None:
        return 0
    have = {row.item for row in _rows(session, [exchange.id])[exchange.id]}
    new = [item for item in host_settings(session, host).items if item not in have]
    session.add_all(ExchangeCheck(exchange_id=exchange.id, item=item, created_at=now)
                    for item in new)
    return len(new)


def sync_organisation_checklists(session: Session, organisation: Organisation,
                                 now: datetime) -> int:
    """After an organisation's settings change: the checklists of the visits still to come at
    its leaders gain the items it now needs and lose the open ones it no longer needs (items
    already confirmed stay, as a record). Returns how many exchanges changed."""
    exchanges = session.exec(
        select(Exchange).join(LeaderProfile, LeaderProfile.id == Exchange.host_id)
        .where(LeaderProfile.organisation_id == organisation.id,
               Exchange.status == ExchangeStatus.SCHEDULED, Exchange.starts_at > now)
    ).all()
    rows = _rows(session, [exchange.id for exchange in exchanges])
    wanted = set(organisation.checklist)
    changed = 0
    for exchange in exchanges:
        have = {row.item: row for row in rows[exchange.id]}
        stale = [row for item, row in have.items() if item not in wanted and not row.confirmed]
        for row in stale:
            session.delete(row)
        added = [item for item in organisation.checklist if item not in have]
        session.add_all(ExchangeCheck(exchange_id=exchange.id, item=item, created_at=now)
                        for item in added)
        changed += bool(stale or added)
    return changed


# --- reading a checklist --------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    key: str
    confirmed_at: datetime | None = None
    confirmed_by: str = ""  # a name or an email address; "" when open or the account is gone

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def label(self) -> str:
        return CHECKLIST_ITEMS.get(self.key, self.key)

    @property
    def hint(self) -> str:
        return CHECKLIST_HINTS.get(self.key, "")


@dataclass(frozen=True)
class Checklist:
    exchange: Exchange
    host_name: str
    visitor_name: str
    settings: HostSettings
    items: tuple[Item, ...]
    today: date

    @property
    def outstanding(self) -> list[Item]:
        return [item for item in self.items if not item.confirmed]

    @property
    def complete(self) -> bool:
        return not self.outstanding

    @property
    def is_open(self) -> bool:
        """Items can be confirmed while the exchange is booked."""
        return self.exchange.status == ExchangeStatus.SCHEDULED

    @property
    def at_risk_from(self) -> date:
        return at_risk_from(self.exchange.starts_at)

    @property
    def at_risk(self) -> bool:
        return (self.is_open and bool(self.outstanding) and self.today >= self.at_risk_from
                and self.exchange.starts_at.astimezone(LONDON).date() >= self.today)


def _confirmers(session: Session, user_ids: set[int]) -> dict[int, str]:
    """The leader's name, or the email address of a coordinator, of each user."""
    if not user_ids:
        return {}
    names = dict(session.exec(
        select(User.id, User.email).where(User.id.in_(user_ids))  # type: ignore[union-attr]
    ).all())
    names |= dict(session.exec(
        select(LeaderProfile.user_id, LeaderProfile.name)
        .where(LeaderProfile.user_id.in_(user_ids))  # type: ignore[attr-defined]
    ).all())
    return names


def checklist(session: Session, exchange: Exchange, now: datetime) -> Checklist | None:
    """The exchange's checklist (for an exchange held for an offer, what it will be once booked;
    None for a cancelled one). A booked exchange whose checklist was not made yet (booked before
    checklists existed) shows its items open."""
    if exchange.status == ExchangeStatus.CANCELLED:
        return None
    host = session.get(LeaderProfile, exchange.host_id)
    visitor = session.get(LeaderProfile, exchange.visitor_id)
    if host is None or visitor is None:
        return None
    settings = host_settings(session, host)
    rows = _rows(session, [exchange.id])[exchange.id]
    if rows:
        by = _confirmers(session, {row.confirmed_by_id for row in rows if row.confirmed_by_id})
        items = tuple(Item(row.item, row.confirmed_at,
                           by.get(row.confirmed_by_id, "") if row.confirmed_by_id else "")
                      for row in sorted(rows, key=lambda row: _order(row.item)))
    else:
        items = tuple(Item(key) for key in settings.items)
    return Checklist(exchange, host.name, visitor.name, settings, items,
                     now.astimezone(LONDON).date())


def _order(item: str) -> int:
    return list(CHECKLIST_ITEMS).index(item) if item in CHECKLIST_ITEMS else len(CHECKLIST_ITEMS)


# --- confirming -----------------------------------------------------------------------------------


def confirm(session: Session, exchange: Exchange, user: User, confirmed: Iterable[str],
            now: datetime, *, ip: str = "") -> tuple[list[str], list[str]]:
    """Make the checklist say exactly that the items in `confirmed` are confirmed: newly ticked
    items are confirmed now by `user`, unticked ones are open again (a mistake undone); items
    confirmed before keep their date and confirmer. Audited. Returns (confirmed, reopened)."""
    if exchange.status != ExchangeStatus.SCHEDULED:
        raise ChecklistError("The checklist can be changed only while the exchange is booked")
    wanted = set(confirmed)
    current = checklist(session, exchange, now)
    keys = {item.key for item in current.items} if current else set()
    if wanted - keys:
        raise ChecklistError({"confirmed": "Choose items from the checklist"})
    open_checklist(session, exchange, now)
    session.flush()
    done, reopened = [], []
    for row in _rows(session, [exchange.id])[exchange.id]:
        if row.item in wanted and not row.confirmed:
            row.confirmed_at, row.confirmed_by_id = now, user.id
            done.append(row.item)
        elif row.item not in wanted and row.confirmed:
            row.confirmed_at, row.confirmed_by_id = None, None
            reopened.append(row.item)
        else:
            continue
        session.add(row)
    if done or reopened:
        audit.record(session, CHECKS_UPDATED, actor=user, obj=exchange, ip=ip,
                     detail={"confirmed": done, "reopened": reopened})
    session.flush()
    return done, reopened


def leader_checklist(session: Session, me: LeaderProfile, exchange_id: int,
                     now: datetime) -> Checklist | None:
    """The checklist of one of this leader's exchanges (NotFound for anyone else's)."""
    return checklist(session, get_exchange(session, me, exchange_id).exchange, now)


def host_confirms(session: Session, me: LeaderProfile, user: User, exchange_id: int,
                  confirmed: Iterable[str], now: datetime, *, ip: str = ""):
    """The host ticks their checklist. The visitor may read it but not change it
    (`NotAllowed`); any other leader gets `NotFound`."""
    view = get_exchange(session, me, exchange_id)
    if not view.i_am_host:
        raise NotAllowed(f"exchange {exchange_id}")
    return confirm(session, view.exchange, user, confirmed, now, ip=ip)


def round_exchange(session: Session, round_id: int, exchange_id: int) -> Exchange:
    """An exchange of this round, for a coordinator (LookupError otherwise)."""
    exchange = session.get(Exchange, exchange_id)
    match = session.get(Match, exchange.match_id) if exchange else None
    if exchange is None or match is None or match.round_id != round_id:
        raise LookupError(f"exchange {exchange_id} in round {round_id}")
    return exchange


# --- exchanges at risk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AtRisk:
    exchange_id: int
    round_id: int
    starts_at: datetime
    ends_at: datetime
    host_name: str
    visitor_name: str
    open_items: tuple[str, ...]  # labels

    @property
    def when(self) -> str:
        return when(self.starts_at, self.ends_at)


def _soon(session: Session, now: datetime, until: datetime,
          round_id: int | None = None) -> list[tuple[Exchange, int]]:
    """Booked exchanges starting after `now` and by `until`, with their round."""
    query = (
        select(Exchange, Match.round_id).join(Match, Match.id == Exchange.match_id)
        .where(Exchange.status == ExchangeStatus.SCHEDULED, Exchange.starts_at > now,
               Exchange.starts_at <= until)
        .order_by(Exchange.starts_at, Exchange.id)
    )
    if round_id is not None:
        query = query.where(Match.round_id == round_id)
    return list(session.exec(query).all())


def _open_items(session: Session, exchanges: list[Exchange]) -> dict[int, list[str]]:
    """The keys of each exchange's open items, in a fixed number of queries. An exchange whose
    checklist was not made yet has every item its host needs open."""
    rows = _rows(session, [exchange.id for exchange in exchanges])
    missing = [exchange for exchange in exchanges if not rows[exchange.id]]
    settings: dict[int, HostSettings] = {}
    if missing:
        for host, organisation in session.exec(
            select(LeaderProfile, Organisation)
            .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
            .where(LeaderProfile.id.in_({x.host_id for x in missing}))  # type: ignore[union-attr]
        ).all():
            settings[host.id] = settings_for(host, organisation)
    found = {}
    for exchange in exchanges:
        if rows[exchange.id]:
            found[exchange.id] = sorted((row.item for row in rows[exchange.id]
                                         if not row.confirmed), key=_order)
        elif exchange.host_id in settings:
            found[exchange.id] = list(settings[exchange.host_id].items)
        else:
            found[exchange.id] = []
    return found


def at_risk(session: Session, now: datetime, round_id: int | None = None) -> list[AtRisk]:
    """Booked exchanges still to come with open items, from three working days before them."""
    today = now.astimezone(LONDON).date()
    soon = [(exchange, rid) for exchange, rid in _soon(session, now, now + AT_RISK_HORIZON,
                                                       round_id)
            if today >= at_risk_from(exchange.starts_at)]
    if not soon:
        return []
    open_items = _open_items(session, [exchange for exchange, _ in soon])
    names = dict(session.exec(
        select(LeaderProfile.id, LeaderProfile.name).where(LeaderProfile.id.in_(  # type: ignore[union-attr]
            {leader for exchange, _ in soon for leader in (exchange.host_id,
                                                             exchange.visitor_id)}))
    ).all())
    return [
        AtRisk(exchange.id, rid, exchange.starts_at, exchange.ends_at,
               names.get(exchange.host_id, "?"), names.get(exchange.visitor_id, "?"),
               tuple(CHECKLIST_ITEMS.get(key, key) for key in open_items[exchange.id]))
        for exchange, rid in soon if open_items[exchange.id]
    ]


# --- reminders ------------------------------------------------------------------------------------


def open_missing_checklists(session: Session, now: datetime) -> int:
    """Safety net: every booked exchange still to come has its checklist (those booked before
    checklists existed, or by a path that did not open one)."""
    has_rows = sa.exists().where(ExchangeCheck.exchange_id == Exchange.id)
    exchanges = session.exec(
        select(Exchange).where(Exchange.status == ExchangeStatus.SCHEDULED,
                               Exchange.starts_at > now, ~has_rows)
    ).all()
    return sum(bool(open_checklist(session, exchange, now)) for exchange in exchanges)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y%m%dT%H%M")


def _in_days(starts_at: datetime, now: datetime) -> str:
    days = (starts_at.astimezone(LONDON).date() - now.astimezone(LONDON).date()).days
    return "tomorrow" if days == 1 else f"in {days} days"


def remind_hosts(session: Session, now: datetime) -> int:
    """Email each host whose checklist has open items, at each of `REMINDER_DAYS` before the
    visit: once each (the outbox's idempotency key), and only the latest offset that has come
    (a visit booked five days ahead gets the five-day reminder, not the fourteen-day one too)."""
    soon = [exchange for exchange, _ in _soon(session, now,
                                               now + timedelta(days=max(REMINDER_DAYS) + 1))]
    open_items = _open_items(session, soon)
    written = 0
    for exchange in soon:
        if not open_items[exchange.id]:
            continue
        come = [days for days in REMINDER_DAYS if local_offset(exchange.starts_at, days * 24)
                <= now]
        if not come:
            continue
        written += _remind(session, exchange, min(come), open_items[exchange.id], now)
    return written


def _remind(session: Session, exchange: Exchange, days: int, items: list[str],
            now: datetime) -> int:
    host = session.get(LeaderProfile, exchange.host_id)
    visitor = session.get(LeaderProfile, exchange.visitor_id)
    user = session.get(User, host.user_id) if host else None
    if host is None or visitor is None or user is None or not user.email:
        return 0
    match = session.get(Match, exchange.match_id)
    return int(enqueue(
        session, key=fit_key(f"{REMINDER_KIND}-{days}d:{exchange.id}:{_stamp(exchange.starts_at)}"
                             f":{user.email}"),
        kind=REMINDER_KIND, recipient_email=user.email, recipient_user_id=user.id,
        round_id=match.round_id if match else None, exchange_id=exchange.id,
        subject=f"Before {visitor.name}'s visit {_in_days(exchange.starts_at, now)}: "
                f"{len(items)} {'check' if len(items) == 1 else 'checks'} to confirm",
        template="host_checks_reminder", due_at=now, context={
            "name": host.name, "visitor_name": visitor.name,
            "when": when(exchange.starts_at, exchange.ends_at),
            "in_days": _in_days(exchange.starts_at, now),
            "items": [CHECKLIST_ITEMS.get(key, key) for key in items],
            "exchange_url": absolute(f"/exchanges/{exchange.id}"),
        }))


def chase_host_checks(context) -> int:
    """The worker's job: make missing checklists, then remind hosts of open items."""
    now = utcnow()
    with session_scope(context.session_factory) as session:
        opened = open_missing_checklists(session, now)
        session.flush()
        return opened + remind_hosts(session, now)
