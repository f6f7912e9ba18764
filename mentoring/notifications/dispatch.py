"""Sending the outbox: claim due rows atomically, send them, record what happened.

Every state change is its own short transaction, so a worker that dies leaves at most the rows
it had claimed in 'sending'; they return to 'pending' when their lease expires. Claiming is
atomic on both databases (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: a conditional UPDATE on
status), so two workers never claim one row. A row is marked sent in the transaction right after
the server accepted it; only a crash between those two moments can repeat an email, and then
with the same Message-ID.

Per message the dispatcher writes the MIME bytes directly (`render_message`) and records the
outcome with one prebuilt Core UPDATE, in autocommit mode, on a connection kept for the whole
batch (still one committed transaction per message). That connection does not wait for the
disk at commit (`relaxed_commits`; see `_Ledger._relax` and docs/reminders.md for the
trade-off).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.errors import MessageError

import sqlalchemy as sa
from sqlmodel import Session

from mentoring.models import Exchange, Notification, utcnow
from mentoring.notifications.outbox import programme_mailbox
from mentoring.notifications.plan import TIME_BOUND_KINDS, Kind, is_current
from mentoring.notifications.transport import (
    OutgoingEmail,
    SendError,
    Transport,
    render_message,
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


# The hot path's statement, built once: a claimed row becomes 'sent' (only if still ours).
_MARK_SENT = (
    sa.update(N)
    .where(N.c.id == sa.bindparam("row_id"), N.c.status == SENDING)
    .values(status=SENT, sent_at=sa.bindparam("sent_at"), lease_until=None,
            message_id=sa.bindparam("mid"), last_error="")
)


class _Ledger:
    """Where a batch records each row's outcome, each in its own committed transaction.

    With a session factory bound to an Engine (the worker) it keeps one connection for the
    batch in autocommit mode: every write is a single UPDATE, so each is its own transaction,
    committed when the statement returns (one round trip). Otherwise (a factory bound to a
    connection, as in the tests) it keeps one session and commits it after every write.
    """

    def __init__(self, session_factory: Callable[[], Session], relaxed_commits: bool) -> None:
        session = session_factory()
        bind = session.get_bind()
        self._session: Session | None = None
        self._connection: sa.Connection | None = None
        self._restore: str | None = None
        if isinstance(bind, sa.Engine):
            session.close()
            self._connection = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            if relaxed_commits:
                try:
                    self._relax(self._connection)
                except BaseException:
                    self.close()
                    raise
        else:
            self._session = session

    def _relax(self, connection: sa.Connection) -> None:
        """Commit without waiting for the disk, on this connection only, for this batch.

        SQLite (WAL mode only): `synchronous=NORMAL`. PostgreSQL: `synchronous_commit=off`.
        A commit stays atomic and survives the worker process dying at any moment; only an
        operating-system crash or power loss (SQLite) or a crash of the database server
        (PostgreSQL) can undo the last moments of commits. Those rows are then back in
        'sending', return to 'pending' when their lease expires and are sent again, with the
        same Message-ID: repeated, never lost. docs/reminders.md has the details.
        """
        dialect = connection.dialect.name
        if dialect == "sqlite":
            if connection.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
                return
            previous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
            if previous is not None and int(previous) > 1:  # 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
                self._restore = f"PRAGMA synchronous={int(previous)}"
                connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        elif dialect == "postgresql":
            self._restore = "RESET synchronous_commit"
            connection.exec_driver_sql("SET synchronous_commit TO off")

    def write(self, statement, parameters: dict | None = None) -> int:
        """One statement in its own committed transaction; the number of rows changed."""
        if self._connection is not None:
            return self._connection.execute(statement, parameters).rowcount or 0
        assert self._session is not None
        count = self._session.execute(statement, parameters).rowcount  # type: ignore[attr-defined]
        self._session.commit()
        return count or 0

    def finish(self, row_id: int, values: dict) -> None:
        self.write(sa.update(N).where(N.c.id == row_id, N.c.status == SENDING).values(**values))

    def sent(self, row_id: int, sent_at: datetime, message_id: str) -> None:
        self.write(_MARK_SENT, {"row_id": row_id, "sent_at": sent_at, "mid": message_id})

    def close(self) -> None:
        connection, self._connection = self._connection, None
        session, self._session = self._session, None
        if session is not None:
            session.close()
        if connection is None:
            return
        try:
            if self._restore:
                connection.exec_driver_sql(self._restore)
        except sa.exc.DBAPIError:
            connection.invalidate()  # never hand a relaxed connection back to the pool
        finally:
            connection.close()


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
    if not is_current(row.idempotency_key, exchange, row.ics):
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
    relaxed_commits: bool = True,
) -> DispatchResult:
    """Send one batch of due emails. `now` (and `clock`, for the send times) are injectable.

    `relaxed_commits=False` waits for the disk at every per-row commit (see `_Ledger._relax`).
    """
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
        # The ORGANIZER of invitations and the Reply-To of every email in the batch.
        contact = programme_mailbox(session)
        mailbox = (contact.name, contact.email) if contact else None
        session.rollback()

    ledger = _Ledger(session_factory, relaxed_commits)
    try:
        for index, row in enumerate(rows):
            reason = _stale_reason(row, exchanges.get(row.exchange_id), now)
            if reason:
                ledger.finish(row.id,
                              {"status": WITHDRAWN, "lease_until": None, "last_error": reason})
                result.withdrawn += 1
                continue
            email = OutgoingEmail(
                row.id, row.idempotency_key, row.recipient_email, row.subject, row.body_text,
                row.body_html, row.ics, row.ics_method,
            )
            try:
                message = render_message(email, mail_from, mailbox)
            except (ValueError, MessageError) as exc:
                # This row can never be written (a bad calendar method, an impossible header):
                # fail it for the coordinator to see, and let the rest of the batch go.
                error = f"cannot write this email: {exc}"
                result.errors.append(error)
                _record_failure(ledger, row, error, True, now, max_attempts, rng, result)
                continue
            try:
                transport.send(message)
            except SendError as exc:
                result.errors.append(str(exc))
                _record_failure(ledger, row, str(exc), exc.permanent, now,
                                max_attempts, rng, result)
                if exc.connection:
                    # The server is away: hand the rest back untouched, try again next run.
                    result.released += _release(ledger, [r.id for r in rows[index + 1:]])
                    break
                continue
            # Accepted by the server: recorded and committed before the next message goes.
            ledger.sent(row.id, clock(), message.message_id)
            result.sent += 1
    finally:
        try:
            transport.close()
        finally:
            ledger.close()
    return result


def _record_failure(ledger: _Ledger, row, error: str, permanent: bool, now: datetime,
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
    ledger.finish(row.id, values)


def _release(ledger: _Ledger, ids: list[int]) -> int:
    """Claimed but never tried: back to pending, and the claim does not count as an attempt."""
    if not ids:
        return 0
    return ledger.write(
        sa.update(N).where(N.c.id.in_(ids), N.c.status == SENDING).values(
            status=PENDING, lease_until=None, attempts=N.c.attempts - 1)
    )


def retry_notification(session: Session, notification_id: int, now: datetime) -> bool:
    """A coordinator's retry of a failed email: pending again, due now, attempts reset."""
    result = session.execute(
        sa.update(N).where(N.c.id == notification_id, N.c.status == FAILED).values(
            status=PENDING, due_at=now, attempts=0, lease_until=None)
    )
    return bool(result.rowcount)
