"""The outbox against a real SMTP server on loopback: exactly once, whatever the server does."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from smtp_server import KilledAfter, SmtpServer
from sqlmodel import Session, select

from mentoring.configuration import programme
from mentoring.models import Notification
from mentoring.notifications import (
    Kind,
    SmtpTransport,
    cancel_exchange,
    dispatch_due,
    enqueue,
    plan_exchange,
    reschedule_exchange,
)
from mentoring.notifications.transport import FileTransport

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2027, 3, 30, 8, 0, tzinfo=UTC)
MAIL_FROM = "Leadership exchange <exchange@nhs.example>"


def factory_on(db: Session):
    connection = db.connection()
    return lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def exchange(factory):
    programme_round = factory.programme_round(name="Spring 2027")
    host = factory.mentor(email="host@example.org", name="Hana Host")
    visitor = factory.leader(email="visitor@example.org", name="Vic Visitor")
    match = factory.match(programme_round, host, visitor, status="accepted")
    return factory.exchange(match, START, location="Lewisham Hospital")


def enqueue_many(db, count: int, prefix: str = "bulk") -> None:
    for n in range(count):
        enqueue(db, key=f"{prefix}:{n}", kind="test", recipient_email=f"person{n}@example.org",
                subject=f"Message {n}", template="offer_extended", due_at=NOW,
                context={"name": f"Person {n}", "other_name": "X", "respond_by": "1 March 2027",
                         "match_url": "http://127.0.0.1:5000/matches/1"})


def send(db, server, now=NOW, **kwargs):
    return dispatch_due(factory_on(db), SmtpTransport(server.url), now=now, mail_from=MAIL_FROM,
                        **kwargs)


def statuses(db) -> Counter:
    db.expire_all()
    return Counter(row.status for row in db.exec(select(Notification)).all())


def assert_each_once(server, count: int) -> None:
    recipients = Counter(r for message in server.received for r in message.rcpt_tos)
    assert len(recipients) == count and set(recipients.values()) == {1}, recipients
    ids = Counter(message.message["Message-ID"] for message in server.received)
    assert set(ids.values()) == {1}


def event_of(received):
    calendar_part = next(
        part for part in received.message.walk() if part.get_content_type() == "text/calendar"
    )
    calendar = Calendar.from_ical(calendar_part.get_content())
    return calendar_part, calendar, calendar.walk("VEVENT")[0]


def test_confirmations_arrive_once_with_recipients_parts_and_invitation(db, exchange, smtp):
    plan_exchange(db, exchange, NOW)
    result = send(db, smtp)
    assert result.sent == 2
    assert sorted(r for m in smtp.received for r in m.rcpt_tos) == [
        "host@example.org", "visitor@example.org"]
    received = smtp.received[0]
    message = received.message
    assert received.mail_from == "exchange@nhs.example"
    assert message["Subject"] == "Your leadership exchange is booked: Tuesday 30 March"
    assert message["Message-ID"] and message["Date"]
    types = [part.get_content_type() for part in message.walk()]
    assert types == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                     "text/calendar", "application/ics"]
    part, calendar, event = event_of(received)
    assert part.get_param("method") == "REQUEST"
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == exchange.uid and event["SEQUENCE"] == 0
    assert event["DTSTART"].dt == START and event["DTSTART"].params["TZID"] == "Europe/London"
    # The organiser is the programme's monitored mailbox, also the Reply-To.
    assert str(event["ORGANIZER"]) == f"mailto:{programme.of(db)['contact_email']}"
    assert message["Reply-To"].addresses[0].addr_spec == programme.of(db)["contact_email"]
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"
    assert send(db, smtp, now=NOW + timedelta(minutes=1)).sent == 0
    assert_each_once(smtp, 2)


def test_authenticated_smtp(db):
    enqueue_many(db, 3)
    with SmtpServer(auth=("relay-user", "s3cret/pass")) as server:
        assert server.url.startswith("smtp://relay-user:")
        result = send(db, server)
    assert result.sent == 3
    assert_each_once(server, 3)


def test_wrong_password_loses_nothing(db):
    enqueue_many(db, 3)
    with SmtpServer(auth=("relay-user", "right")) as server:
        bad = SmtpTransport(server.url.replace(":right@", ":wrong@"))
        result = dispatch_due(factory_on(db), bad, now=NOW, mail_from=MAIL_FROM)
        assert result.sent == 0 and result.released == 2 and "authentication" in result.errors[0]
        assert send(db, server, now=NOW + timedelta(hours=1)).sent == 3
    assert_each_once(server, 3)


def test_a_reschedule_sends_an_update_with_a_higher_sequence_and_no_stale_reminders(
    db, exchange, smtp
):
    plan_exchange(db, exchange, NOW)
    send(db, smtp)
    new_start = datetime(2027, 4, 20, 12, 0, tzinfo=UTC)
    reschedule_exchange(db, exchange, new_start, new_start + timedelta(hours=4), NOW)
    send(db, smtp, now=NOW + timedelta(minutes=1))
    updates = [m for m in smtp.received if m.message["Subject"].endswith("has moved")]
    assert len(updates) == 2
    _, _, event = event_of(updates[0])
    assert event["SEQUENCE"] == 1 and str(event["UID"]) == exchange.uid
    assert event["DTSTART"].dt == new_start
    # On the old reminder dates nothing goes out; the new ones are sent once each.
    assert send(db, smtp, now=datetime(2027, 3, 29, 12, 0, tzinfo=UTC)).sent == 0
    send(db, smtp, now=datetime(2027, 4, 19, 12, 0, tzinfo=UTC))
    reminders = [m for m in smtp.received if m.message["Subject"].startswith("Reminder")]
    assert len(reminders) == 4
    assert all(event_of(m)[2]["DTSTART"].dt == new_start for m in reminders)


def test_a_cancellation_carries_method_cancel(db, exchange, smtp):
    plan_exchange(db, exchange, NOW)
    cancel_exchange(db, exchange, "Ward closed", NOW)
    send(db, smtp)
    assert len(smtp.received) == 2  # the confirmations were withdrawn before they went
    part, calendar, event = event_of(smtp.received[0])
    assert part.get_param("method") == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1


def test_refusals_mid_batch_are_retried_and_nothing_is_duplicated(db, smtp):
    enqueue_many(db, 10)
    smtp.handler.script = ["ok", "ok", "ok", "refuse", "ok", "refuse"]
    first = send(db, smtp)
    assert (first.sent, first.retrying) == (8, 2)
    assert send(db, smtp, now=NOW + timedelta(hours=1)).sent == 2
    assert statuses(db) == {"sent": 10}
    assert_each_once(smtp, 10)


def test_a_dropped_connection_mid_batch_loses_and_duplicates_nothing(db, smtp):
    enqueue_many(db, 10)
    smtp.handler.script = ["ok", "ok", "ok", "ok", "drop"]
    first = send(db, smtp)
    assert (first.sent, first.retrying, first.released) == (4, 1, 5)
    second = send(db, smtp, now=NOW + timedelta(seconds=20))
    assert second.sent == 5  # the failed one waits for its back-off
    assert send(db, smtp, now=NOW + timedelta(hours=1)).sent == 1
    assert statuses(db) == {"sent": 10}
    assert_each_once(smtp, 10)


def test_a_server_that_is_down_loses_nothing(db):
    enqueue_many(db, 5)
    server = SmtpServer()  # not started: connections are refused
    result = dispatch_due(factory_on(db), SmtpTransport(server.url), now=NOW, mail_from=MAIL_FROM)
    assert result.sent == 0 and result.released == 4
    with server:
        assert send(db, server, now=NOW + timedelta(hours=1)).sent == 5
    assert_each_once(server, 5)


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(db, smtp):
    enqueue_many(db, 10)
    with pytest.raises(SystemExit):
        dispatch_due(factory_on(db), KilledAfter(SmtpTransport(smtp.url), 3), now=NOW,
                     mail_from=MAIL_FROM, lease=timedelta(minutes=10))
    assert statuses(db) == {"sent": 3, "sending": 7}
    assert send(db, smtp, now=NOW + timedelta(minutes=5)).sent == 0  # lease still held
    later = send(db, smtp, now=NOW + timedelta(minutes=11))
    assert (later.recovered, later.sent) == (7, 7)
    assert statuses(db) == {"sent": 10}
    assert_each_once(smtp, 10)


def test_without_smtp_messages_are_written_as_eml_files(db, exchange, tmp_path):
    plan_exchange(db, exchange, NOW)
    result = dispatch_due(factory_on(db), FileTransport(tmp_path / "mail"), now=NOW,
                          mail_from=MAIL_FROM)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert result.sent == 2 and len(files) == 2
    assert b"BEGIN:VCALENDAR" in files[0].read_bytes()
    assert Kind.CONFIRMATION
