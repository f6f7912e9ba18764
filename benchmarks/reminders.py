"""Reminder throughput: 10,000 due reminders sent by the outbox dispatcher to a local aiosmtpd,
against the practical ceiling (a bare smtplib loop sending the same messages on one connection).

    .venv/bin/python benchmarks/reminders.py [--count 10000] [--database-url URL] [--batch 500]

Without --database-url the outbox is a migrated SQLite file in a temporary folder. With a
PostgreSQL URL the benchmark creates a scratch database on that server and drops it afterwards
(the database named in the URL is only used to run CREATE/DROP DATABASE).

The ceiling is deliberately strict: every message is built beforehand, outside the timed loop,
with the standard library (`EmailMessage`, flattened to bytes), so the loop measures only SMTP
and the server; the dispatcher, in its timed run, also claims, builds and records every message.
Both send with `sendmail` over one connection to the same in-process aiosmtpd, one recipient a
message, and the average size of what the server received is printed for both.

Prints the figures and exits non-zero if a message is lost or duplicated, a received message
lacks its three alternatives, or the dispatcher is below half of the ceiling.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import re
import smtplib
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _scratch import scratch_database

from mentoring.db import make_engine
from mentoring.migrate import upgrade
from mentoring.models import (
    Exchange,
    LeaderProfile,
    Match,
    Notification,
    Organisation,
    ProgrammeRound,
    User,
)
from mentoring.notifications.jobs import drain
from mentoring.notifications.outbox import enqueue
from mentoring.notifications.plan import Kind, _facts, _invite, exchange_key, when
from mentoring.notifications.transport import (
    OutgoingEmail,
    SmtpTransport,
    build_message,
)

MAIL_FROM = "Leadership exchange <exchange@nhs.example>"
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)
START = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)


class CountingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: list[bytes] = []
        self.size = 0
        self.first: bytes = b""

    async def handle_DATA(self, server, session, envelope):
        found = MESSAGE_ID.search(envelope.content)
        with self.lock:
            self.message_ids.append(found.group(1) if found else b"")
            self.size += len(envelope.content)
            self.first = self.first or envelope.content
        return "250 OK"

    def reset(self) -> None:
        with self.lock:
            self.message_ids.clear()
            self.size, self.first = 0, b""


def well_formed(data: bytes) -> bool:
    """A received reminder: multipart/alternative with text, HTML and a REQUEST invitation."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    types = [part.get_content_type() for part in message.walk()]
    calendar = next((p for p in message.walk() if p.get_content_type() == "text/calendar"), None)
    return (
        types == ["multipart/alternative", "text/plain", "text/html", "text/calendar"]
        and calendar is not None and calendar.get_param("method") == "REQUEST"
        and "METHOD:REQUEST" in calendar.get_content()
        and bool(message["Message-ID"]) and bool(message["Date"])
    )


@contextmanager
def database(url: str | None, folder: str):
    """A migrated, empty outbox: a SQLite file, or a scratch database on a PostgreSQL server."""
    if url is None or not url.startswith("postgresql"):
        engine = make_engine(url or f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with scratch_database(url, "reminders_bench") as (engine, _url):
        yield engine


def setup(engine: sa.Engine, count: int) -> None:
    """`count` due reminders (two per exchange and offset: host and visitor)."""
    with Session(engine, expire_on_commit=False) as session:
        organisation = Organisation(name="Bench trust", sector="acute", borough="lambeth")
        session.add(organisation)
        session.flush()
        leaders = []
        for name in ("Hana Host", "Vic Visitor"):
            user = User(email=f"{name.split()[0].lower()}@bench.example")
            session.add(user)
            session.flush()
            leader = LeaderProfile(user_id=user.id, name=name, profession="gp",
                                   sector="acute", borough="lambeth",
                                   organisation_id=organisation.id)
            session.add(leader)
            leaders.append(leader)
        programme_round = ProgrammeRound(name="Bench round", starts_on=date(2027, 1, 4),
                                         ends_on=date(2027, 12, 31))
        session.add(programme_round)
        session.flush()
        match = Match(round_id=programme_round.id, mentor_id=leaders[0].id,
                      mentee_id=leaders[1].id, status="accepted")
        session.add(match)
        session.flush()
        exchanges = count // 4
        for n in range(exchanges):
            start = START + timedelta(minutes=n % 600)
            exchange = Exchange(match_id=match.id, host_id=leaders[0].id,
                                visitor_id=leaders[1].id, starts_at=start,
                                ends_at=start + timedelta(hours=4), uid=f"bench-{n}@bench",
                                location="Ward 3")
            session.add(exchange)
            session.flush()
            facts = _facts(session, exchange)
            ics = _invite(facts, START - timedelta(days=30))
            for hours in (168, 24):
                for person in facts.people:
                    enqueue(
                        session, key=exchange_key(f"{Kind.REMINDER}-{hours}h", exchange,
                                                  person.email),
                        kind=Kind.REMINDER, recipient_email=person.email,
                        recipient_user_id=person.user_id, round_id=programme_round.id,
                        exchange_id=exchange.id, subject="Reminder: your leadership exchange",
                        template="exchange_reminder", due_at=START - timedelta(days=8),
                        ics=ics, ics_method="REQUEST",
                        context={"name": person.name, "other_name": "X", "hosting": False,
                                 "host_name": facts.host.name,
                                 "visitor_name": facts.visitor.name,
                                 "when": when(exchange.starts_at, exchange.ends_at),
                                 "location": exchange.location, "preparation": "",
                                 "round_name": "", "offset": "tomorrow"},
                    )
        session.commit()


def ceiling(engine: sa.Engine, port: int) -> tuple[float, int]:
    """The same messages, pre-built with the standard library (untimed), then sent by a bare
    smtplib loop on one connection (timed)."""
    table = Notification.__table__
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.id)).all()
    messages = [
        build_message(OutgoingEmail(r.id, r.idempotency_key, r.recipient_email, r.subject,
                                    r.body_text, r.body_html, r.ics, r.ics_method), MAIL_FROM)
        for r in rows
    ]
    payloads = [(m["To"], m.as_bytes(policy=m.policy.clone(linesep="\r\n"))) for m in messages]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for to, payload in payloads:
            smtp.sendmail("exchange@nhs.example", [to], payload)
    return time.perf_counter() - started, len(payloads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder, database(args.database_url, folder) as engine:
        t0 = time.perf_counter()
        setup(engine, args.count)
        print(f"setup: {args.count} reminders enqueued in {time.perf_counter() - t0:.1f} s "
              f"({engine.dialect.name})")

        handler = CountingHandler()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            seconds_ceiling, sent_ceiling = ceiling(engine, port)
            ceiling_ids = len(handler.message_ids)
            ceiling_size = handler.size / max(ceiling_ids, 1)
            handler.reset()

            factory = lambda: Session(engine, expire_on_commit=False)  # noqa: E731
            started = time.perf_counter()
            result = drain(factory, lambda: SmtpTransport(f"smtp://127.0.0.1:{port}"),
                           mail_from=MAIL_FROM, batch_size=args.batch, time_budget=3600,
                           clock=lambda: START - timedelta(days=1))
            seconds = time.perf_counter() - started
        finally:
            controller.stop()
        received = len(handler.message_ids)
        unique = len(set(handler.message_ids))
        size = handler.size / max(received, 1)
        parsed_ok = well_formed(handler.first)
        with engine.connect() as connection:
            table = Notification.__table__
            still = connection.execute(
                sa.select(sa.func.count()).where(table.c.status != "sent")).scalar_one()

    rate, rate_ceiling = result.sent / seconds, sent_ceiling / seconds_ceiling
    print(f"ceiling (bare smtplib, one connection, messages pre-built): {sent_ceiling} in "
          f"{seconds_ceiling:.2f} s = {rate_ceiling:.0f} msg/s (server received {ceiling_ids}, "
          f"{ceiling_size:.0f} bytes each on average)")
    print(f"outbox dispatcher (batch {args.batch}): {result.sent} in {seconds:.2f} s "
          f"= {rate:.0f} msg/s = {rate / rate_ceiling:.0%} of the ceiling")
    print(f"server received {received} messages ({size:.0f} bytes each on average), {unique} "
          f"distinct Message-IDs; rows not sent: {still}; first message well formed: "
          f"{parsed_ok}")
    ok = (received == unique == args.count and still == 0 and parsed_ok
          and rate >= rate_ceiling / 2)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
