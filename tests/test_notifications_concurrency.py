"""Several workers at once against a committed database: each message is sent exactly once.

The `db` fixture is one rolled-back transaction, which other workers cannot see, so these tests
commit real rows through the `engine` fixture (a scratch database per backend) and delete them
afterwards. Each worker is a thread with its own engine, connections and SMTP connection.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from smtp_server import SmtpServer
from sqlmodel import Session

from mentoring.db import make_engine
from mentoring.models import Notification
from mentoring.notifications import SmtpTransport, dispatch_due, enqueue

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
PREFIX = "concurrency-test:"
N = Notification.__table__


@pytest.fixture
def committed_rows(engine):
    def cleanup():
        with engine.begin() as connection:
            connection.execute(sa.delete(N).where(N.c.idempotency_key.like(PREFIX + "%")))

    cleanup()
    with Session(engine) as session:
        for n in range(300):
            enqueue(session, key=f"{PREFIX}{n}", kind="test",
                    recipient_email=f"person{n}@example.org", subject=f"Message {n}",
                    template="acceptance_nudge", due_at=NOW,
                    context={"name": f"P{n}", "other_name": "X", "round_name": "", "days": 5})
        session.commit()
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
