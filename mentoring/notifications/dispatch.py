"""Sending the outbox: claim due rows atomically, send them, record what happened.

Every state change is its own short transaction, so a worker that dies leaves at most the rows
it had claimed in 'sending'; they return to 'pending' when their lease expires. Claiming is
atomic on both databases (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: a conditional UPDATE on
status), so two workers never claim one row. A row is marked sent in the transaction right after
the server accepted it; only a crash between those two moments can repeat an email, and then
with the same Message-ID.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from mentoring.models import Exchange, Notification, utcnow
from mentoring.notifications.plan import TIME_BOUND_KINDS, Kind, is_current
from mentoring.notifications.transport import (
    OutgoingEmail,
    SendError,
    Transport,
    build_message,
)
from mentoring.vocab import ExchangeStatus, NotificationStatus

log = logging.getLogger(__name__)

N = Notification.__table__
PENDING, SENDING, SENT, FAILED, WITHDRAWN = (
    NotificationStatus.PENDING,
    NotificationStatus.SENDING,
    NotificationStatus.SENT,
    NotificationStatus.FAILED,
    NotificationStatus.WITHDRAWN,
)
DEFAULT_LEASE = timedelta(minutes=10)
DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
ERROR_LIMIT = 2000


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    withdrawn: int = 0
    released: int = 0
    recovered: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential (1, 2, 4 … minutes, at most 6 hours) with 'equal jitter' (half random)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    return ceiling / 2 + ceiling / 2 * (rng or random).random()


def recover_expired(session: Session, now: datetime, max_attempts: int) -> int:
    """Rows left in 'sending' by a worker that died go back to 'pending' (or 'failed')."""
    expired = sa.and_(N.c.status == SENDING, N.c.lease_until < now)
    failed = session.execute(
        sa.update(N).where(expired, N.c.attempts >= max_attempts).values(
            status=FAILED, lease_until=None,
            last_error="The worker stopped while sending, and no attempts are left",
        )
    ).rowcount or 0
    back = session.execute(
        sa.update(N).where(expired).values(status=PENDING, lease_until=None, due_at=now)
    ).rowcount or 0
    return failed + back


def claim(session: Session, now: datetime, batch_size: int, lease: timedelta) -> list[int]:
    """Atomically take up to `batch_size` due rows: 'pending' → 'sending' with a lease."""
    due = (
        sa.select(N.c.id)
        .where(N.c.status == PENDING, N.c.due_at <= now)
        .order_by(N.c.due_at, N.c.id)
        .limit(batch_size)
    )
    values = {"status": SENDING, "lease_until": now + lease, "attempts": N.c.attempts + 1}
    if session.get_bind().dialect.name == "postgresql":
        statement = (
            sa.update(N)
            .where(N.c.id.in_(due.with_for_update(skip_locked=True).scalar_subquery()))
            .values(**values)
            .returning(N.c.id)
        )
        return sorted(session.execute(statement).scalars())
    # SQLite has no SKIP LOCKED (SQLAlchemy drops it silently) but serialises writers: the
    # status condition makes the UPDATE claim only rows nobody else claimed first.
    candidates = list(session.execute(due).scalars())
    if not candidates:
        return []
    statement = (
        sa.update(N)
        .where(N.c.id.in_(candidates), N.c.status == PENDING)
        .values(**values)
        .returning(N.c.id)
    )
    return sorted(session.execute(statement).scalars())


def _finish(session_factory, row_id: int, values: dict) -> None:
    with session_factory() as session:
        session.execute(
            sa.update(N).where(N.c.id == row_id, N.c.status == SENDING).values(**values)
        )
        session.commit()


def _stale_reason(row, exchange, now: datetime) -> str | None:
    """Why an email about an exchange should no longer go out (None: send it)."""
    if row.exchange_id is None or exchange is None:
        return None
    if row.kind == Kind.CANCELLATION:
        return None if exchange.status == ExchangeStatus.CANCELLED else "Exchange not cancelled"
    if row.kind not in TIME_BOUND_KINDS:
        return None
    if exchange.status == ExchangeStatus.CANCELLED:
        return "Withdrawn: the exchange was cancelled"
    if not is_current(row.idempotency_key, exchange):
        return "Withdrawn: the exchange changed after this email was planned"
    if row.kind == Kind.REMINDER and exchange.starts_at <= now:
        return "Withdrawn: the exchange had started before the reminder could be sent"
    return None


def dispatch_due(
    session_factory: Callable[[], Session],
    transport: Transport,
    now: datetime | None = None,
    batch_size: int = 200,
    *,
    mail_from: str = "Leadership exchange <no-reply@localhost>",
    lease: timedelta = DEFAULT_LEASE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    rng: random.Random | None = None,
    clock: Callable[[], datetime] | None = None,
) -> DispatchResult:
    """Send one batch of due emails. `now` (and `clock`, for the send times) are injectable."""
    now = now or utcnow()
    clock = clock or (lambda: now)
    result = DispatchResult()
    with session_factory() as session:
        result.recovered = recover_expired(session, now, max_attempts)
        claimed = claim(session, now, batch_size, lease)
        session.commit()
    result.claimed = len(claimed)
    if not claimed:
        return result

    with session_factory() as session:
        rows = session.execute(sa.select(N).where(N.c.id.in_(claimed)).order_by(
            N.c.due_at, N.c.id)).all()
        exchange_ids = {row.exchange_id for row in rows if row.exchange_id is not None}
        x = Exchange.__table__
        exchanges = {
            exchange.id: exchange
            for exchange in session.execute(
                sa.select(x.c.id, x.c.status, x.c.sequence, x.c.starts_at).where(
                    x.c.id.in_(exchange_ids)
                )
            )
        } if exchange_ids else {}
        session.rollback()

    try:
        for index, row in enumerate(rows):
            reason = _stale_reason(row, exchanges.get(row.exchange_id), now)
            if reason:
                _finish(session_factory, row.id,
                        {"status": WITHDRAWN, "lease_until": None, "last_error": reason})
                result.withdrawn += 1
                continue
            email = OutgoingEmail(
                row.id, row.idempotency_key, row.recipient_email, row.subject, row.body_text,
                row.body_html, row.ics, row.ics_method,
            )
            message = build_message(email, mail_from)
            try:
                transport.send(message)
            except SendError as exc:
                result.errors.append(str(exc))
                _record_failure(session_factory, row, str(exc), exc.permanent, now,
                                max_attempts, rng, result)
                if exc.connection:
                    # The server is away: hand the rest back untouched, try again next run.
                    result.released += _release(session_factory, [r.id for r in rows[index + 1:]])
                    break
                continue
            _finish(session_factory, row.id, {
                "status": SENT, "sent_at": clock(), "lease_until": None,
                "message_id": message["Message-ID"], "last_error": "",
            })
            result.sent += 1
    finally:
        transport.close()
    return result


def _record_failure(session_factory, row, error: str, permanent: bool, now: datetime,
                    max_attempts: int, rng, result: DispatchResult) -> None:
    attempts = row.attempts  # already counted when claimed
    if permanent or attempts >= max_attempts:
        values = {"status": FAILED, "lease_until": None, "last_error": error[:ERROR_LIMIT]}
        result.failed += 1
        log.warning("outbox: notification %s failed for good: %s", row.id, error)
    else:
        values = {"status": PENDING, "lease_until": None, "last_error": error[:ERROR_LIMIT],
                  "due_at": now + backoff(attempts, rng)}
        result.retrying += 1
        log.info("outbox: notification %s will be retried: %s", row.id, error)
    _finish(session_factory, row.id, values)


def _release(session_factory, ids: list[int]) -> int:
    """Claimed but never tried: back to pending, and the claim does not count as an attempt."""
    if not ids:
        return 0
    with session_factory() as session:
        count = session.execute(
            sa.update(N).where(N.c.id.in_(ids), N.c.status == SENDING).values(
                status=PENDING, lease_until=None, attempts=N.c.attempts - 1)
        ).rowcount or 0
        session.commit()
    return count


def retry_notification(session: Session, notification_id: int, now: datetime) -> bool:
    """A coordinator's retry of a failed email: pending again, due now, attempts reset."""
    result = session.execute(
        sa.update(N).where(N.c.id == notification_id, N.c.status == FAILED).values(
            status=PENDING, due_at=now, attempts=0, lease_until=None)
    )
    return bool(result.rowcount)
