"""Several workers at once against a committed database: each message is sent exactly once.

The `db` fixture is one rolled-back transaction, which other workers cannot see, so these tests
commit real rows through the `engine` fixture (a scratch database per backend) and delete them
afterwards. Each worker is a thread with its own engine, connections and SMTP connection.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from smtp_server import KilledAfter, SmtpServer
from sqlmodel import Session

from mentoring.db import make_engine
from mentoring.models import Notification
from mentoring.notifications import SmtpTransport, dispatch_due, enqueue

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
PREFIX = "concurrency-test:"
N = Notification.__table__


def committed_outbox(engine, prefix: str, count: int):
    """`count` due notifications committed for real (concurrency needs separate connections),
    removed again afterwards."""

    def cleanup():
        with engine.begin() as connection:
            connection.execute(sa.delete(N).where(N.c.idempotency_key.like(prefix + "%")))

    cleanup()
    with Session(engine) as session:
        for n in range(count):
            enqueue(session, key=f"{prefix}{n}", kind="test",
                    recipient_email=f"{prefix.rstrip(':')}{n}@example.org",
                    subject=f"Message {n}", template="offer_extended", due_at=NOW,
                    context={"name": f"P{n}", "other_name": "X", "respond_by": "1 March 2027",
                         "match_url": "http://127.0.0.1:5000/matches/1"})
        session.commit()
    return cleanup


@pytest.fixture
def committed_rows(engine):
    cleanup = committed_outbox(engine, PREFIX, 300)
    yield 300
    cleanup()


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_started_at_once_send_each_message_exactly_once(engine, committed_rows, workers):
    url = engine.url.render_as_string(hide_password=False)
    start = threading.Barrier(workers)
    errors: list[BaseException] = []
    totals: list[int] = []

    def worker(server_url: str) -> None:
        own_engine = make_engine(url)
        try:
            start.wait()
            sent = 0
            while True:
                result = dispatch_due(
                    lambda: Session(own_engine, expire_on_commit=False),
                    SmtpTransport(server_url), now=NOW, batch_size=7,
                )
                sent += result.sent
                if result.claimed == 0:
                    break
            totals.append(sent)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            own_engine.dispose()

    with SmtpServer() as server:
        threads = [threading.Thread(target=worker, args=(server.url,)) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        received = list(server.received)

    assert not errors, errors
    assert sum(totals) == committed_rows
    assert len([t for t in totals if t > 0]) >= 1
    recipients = Counter(r for message in received for r in message.rcpt_tos)
    assert len(received) == committed_rows
    assert len(recipients) == committed_rows and set(recipients.values()) == {1}
    with engine.connect() as connection:
        counts = dict(connection.execute(
            sa.select(N.c.status, sa.func.count()).where(
                N.c.idempotency_key.like(PREFIX + "%")).group_by(N.c.status)
        ).all())
    assert counts == {"sent": committed_rows}


# --- one worker, committed database: what is on disk after each message ------------------------

DURABLE = "durability-test:"


@pytest.fixture
def ten_committed(engine):
    cleanup = committed_outbox(engine, DURABLE, 10)
    yield
    cleanup()


def committed_statuses(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(
            sa.select(N.c.status, sa.func.count()).where(
                N.c.idempotency_key.like(DURABLE + "%")).group_by(N.c.status)
        ).all())


def test_each_accepted_message_is_committed_as_sent_before_the_next_goes(engine, ten_committed):
    own_engine = make_engine(engine.url.render_as_string(hide_password=False))
    factory = lambda: Session(own_engine, expire_on_commit=False)  # noqa: E731
    try:
        with SmtpServer() as server:
            with pytest.raises(SystemExit):
                dispatch_due(factory, KilledAfter(SmtpTransport(server.url), 3), now=NOW)
            # Seen from another connection: the three accepted messages are committed as sent,
            # with the Message-ID the server received; the rest wait for their lease.
            assert committed_statuses(engine) == {"sent": 3, "sending": 7}
            with engine.connect() as connection:
                stored = set(connection.execute(sa.select(N.c.message_id).where(
                    N.c.idempotency_key.like(DURABLE + "%"), N.c.status == "sent")).scalars())
            assert stored == {m.message["Message-ID"] for m in server.received}
            later = dispatch_due(factory, SmtpTransport(server.url),
                                 now=NOW + timedelta(minutes=11))
            received = list(server.received)
    finally:
        own_engine.dispose()
    assert (later.recovered, later.sent) == (7, 7)
    assert committed_statuses(engine) == {"sent": 10}
    recipients = Counter(r for message in received for r in message.rcpt_tos)
    assert len(recipients) == 10 and set(recipients.values()) == {1}


@pytest.mark.parametrize("relaxed", [True, False])
def test_relaxed_commits_apply_to_the_batchs_connection_only(engine, ten_committed, relaxed):
    # One pooled connection: the next checkout after the batch gets the very same one back.
    own_engine = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1,
                             max_overflow=0)
    statements: list[str] = []
    sa.event.listen(own_engine, "before_cursor_execute",
                    lambda _c, _cur, statement, *_: statements.append(statement))
    durability = ("PRAGMA synchronous" if own_engine.dialect.name == "sqlite"
                  else "SHOW synchronous_commit")
    try:
        with own_engine.connect() as connection:
            before = connection.exec_driver_sql(durability).scalar()
        with SmtpServer() as server:
            result = dispatch_due(lambda: Session(own_engine, expire_on_commit=False),
                                  SmtpTransport(server.url), now=NOW, relaxed_commits=relaxed)
        with own_engine.connect() as connection:
            after = connection.exec_driver_sql(durability).scalar()
    finally:
        own_engine.dispose()
    assert result.sent == 10 and committed_statuses(engine) == {"sent": 10}
    assert after == before  # the pooled connection went back as it came
    relax = [n for n, s in enumerate(statements)
             if s in ("PRAGMA synchronous=NORMAL", "SET synchronous_commit TO off")]
    marks = [n for n, s in enumerate(statements) if s.lstrip().upper().startswith("UPDATE")]
    restore = [n for n, s in enumerate(statements)
               if (s.startswith("PRAGMA synchronous=") and s != "PRAGMA synchronous=NORMAL")
               or s == "RESET synchronous_commit"]
    if relaxed:
        assert len(relax) == 1 and len(restore) == 1
        assert relax[0] < marks[-10] and marks[-1] < restore[0]  # the ten 'sent' marks between
    else:
        assert relax == [] and restore == []
