"""The outbox and the reminder plan: idempotent rows, DST-safe times, reschedules, cancels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import Session, select

from mentoring.configuration import programme
from mentoring.models import Match, Notification, ProgrammeRound
from mentoring.notifications import (
    Kind,
    cancel_exchange,
    dispatch_due,
    enqueue,
    plan_exchange,
    reschedule_exchange,
    retry_notification,
)
from mentoring.notifications.dispatch import backoff
from mentoring.notifications.jobs import plan_notifications
from mentoring.notifications.outbox import absolute, set_programme_mailbox
from mentoring.notifications.plan import (
    local_offset,
    parse_exchange_key,
    plan_scheduled_exchanges,
    visit_details_changed,
    when,
)
from mentoring.notifications.transport import SendError, build_message, parse_smtp_url
from mentoring.worker_context import WorkerContext

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
# Tuesday 30 March 2027, 9am London (BST, UTC+1): British Summer Time began on Sunday 28 March.
AFTER_CLOCKS_CHANGE = datetime(2027, 3, 30, 8, 0, tzinfo=UTC)


def session_factory_on(db: Session):
    connection = db.connection()
    return lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


class FakeTransport:
    """Records messages; fails on demand (a fake, not a mock)."""

    def __init__(self, fail_with: list[SendError] | None = None) -> None:
        self.sent = []
        self.fail_with = list(fail_with or [])
        self.closed = 0

    def send(self, message) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(message)

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def exchange(factory):
    programme_round = factory.programme_round(name="Spring 2027")
    host = factory.mentor(email="host@example.org", name="Hana Host")
    visitor = factory.leader(email="visitor@example.org", name="Vic Visitor")
    match = factory.match(programme_round, host, visitor, status="accepted")
    return factory.exchange(match, AFTER_CLOCKS_CHANGE, location="Lewisham Hospital, ward 3")


def rows(db, **where) -> list[Notification]:
    statement = select(Notification).order_by(Notification.due_at, Notification.id)
    for name, value in where.items():
        statement = statement.where(getattr(Notification, name) == value)
    db.expire_all()
    return list(db.exec(statement).all())


def calendar_of(text: str):
    return Calendar.from_ical(text).walk("VEVENT")[0]


# --- enqueue ---------------------------------------------------------------------------------


def test_enqueue_renders_both_bodies_and_is_idempotent(db):
    arguments = {
        "key": "test:1", "kind": Kind.REMINDER, "recipient_email": "a@example.org",
        "subject": "Hello", "template": "offer_extended",
        "context": {"name": "Ada <b>", "other_name": "Ben", "respond_by": "1 March 2027",
                    "match_url": "http://127.0.0.1:5000/matches/1"},
        "due_at": NOW,
    }
    assert enqueue(db, **arguments) is True
    assert enqueue(db, **(arguments | {"subject": "Changed"})) is False
    [row] = rows(db)
    assert row.subject == "Hello" and row.status == "pending" and row.due_at == NOW
    assert "Dear Ada <b>," in row.body_text
    assert "Ada &lt;b&gt;" in row.body_html  # HTML bodies are escaped, text bodies are not


def test_enqueue_refuses_naive_times(db):
    with pytest.raises(ValueError, match="aware"):
        enqueue(db, key="k", kind="x", recipient_email="a@example.org", subject="s",
                template="offer_extended", context={}, due_at=datetime(2027, 1, 1))


def test_enqueue_with_a_missing_context_value_fails_loudly(db):
    with pytest.raises(Exception, match="undefined"):
        enqueue(db, key="k", kind="x", recipient_email="a@example.org", subject="s",
                template="offer_extended", context={}, due_at=NOW)


# --- the plan --------------------------------------------------------------------------------


def test_plan_exchange_writes_confirmations_reminders_and_feedback_requests(db, exchange):
    assert plan_exchange(db, exchange, NOW) == 8
    assert plan_exchange(db, exchange, NOW) == 0  # a second call changes nothing
    kinds = [(row.kind, row.recipient_email) for row in rows(db)]
    assert kinds.count((Kind.CONFIRMATION, "host@example.org")) == 1
    assert kinds.count((Kind.REMINDER, "visitor@example.org")) == 2
    assert kinds.count((Kind.FEEDBACK, "host@example.org")) == 1
    confirmation = rows(db, kind=Kind.CONFIRMATION)[0]
    assert confirmation.due_at == NOW and confirmation.ics_method == "REQUEST"
    assert "Tuesday 30 March 2027, 9:00am to 1:00pm" in confirmation.body_text
    event = calendar_of(confirmation.ics)
    assert str(event["UID"]) == exchange.uid and event["SEQUENCE"] == 0
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert "BEGIN:VTIMEZONE" in confirmation.ics and "TZID:Europe/London" in confirmation.ics


def test_reminders_keep_the_local_wall_clock_time_across_the_clock_change(db, exchange):
    plan_exchange(db, exchange, NOW)
    due = sorted({row.due_at for row in rows(db, kind=Kind.REMINDER)})
    # 7 days before 9am BST on 30 March is 9am GMT on 23 March (09:00 UTC), not 08:00 UTC.
    assert due == [datetime(2027, 3, 23, 9, 0, tzinfo=UTC), datetime(2027, 3, 29, 8, 0, tzinfo=UTC)]
    feedback = rows(db, kind=Kind.FEEDBACK)[0]
    assert feedback.due_at == datetime(2027, 3, 31, 8, 0, tzinfo=UTC)  # 9am BST the day after


def test_local_offset_handles_autumn_and_odd_hours():
    start = datetime(2027, 11, 1, 9, 0, tzinfo=UTC)  # 9am GMT, clocks went back on 31 October
    assert local_offset(start, 7 * 24) == datetime(2027, 10, 25, 8, 0, tzinfo=UTC)  # 9am BST
    assert local_offset(start, 26) == datetime(2027, 10, 31, 7, 0, tzinfo=UTC)  # 9am GMT - 2h
    assert local_offset(start, 3) == datetime(2027, 11, 1, 6, 0, tzinfo=UTC)


def test_reminders_follow_the_rounds_offsets_and_skip_the_past(db, exchange):
    match = db.get(Match, exchange.match_id)
    programme_round = db.get(ProgrammeRound, match.round_id)
    programme_round.reminder_offsets_hours = [14 * 24, 48, 2]
    db.add(programme_round)
    now = AFTER_CLOCKS_CHANGE - timedelta(days=10)
    plan_exchange(db, exchange, now)
    due = sorted({row.due_at for row in rows(db, kind=Kind.REMINDER)})
    assert due == [datetime(2027, 3, 28, 8, 0, tzinfo=UTC), datetime(2027, 3, 30, 6, 0, tzinfo=UTC)]


def test_reschedule_withdraws_old_reminders_and_sends_an_update_with_a_higher_sequence(
    db, exchange
):
    plan_exchange(db, exchange, NOW)
    new_start = datetime(2027, 4, 13, 13, 0, tzinfo=UTC)  # 2pm BST
    reschedule_exchange(db, exchange, new_start, new_start + timedelta(hours=4), NOW)
    assert exchange.sequence == 1
    withdrawn = rows(db, status="withdrawn")
    assert {row.kind for row in withdrawn} == {Kind.CONFIRMATION, Kind.REMINDER, Kind.FEEDBACK}
    assert len(withdrawn) == 8
    pending = rows(db, status="pending")
    updates = [row for row in pending if row.kind == Kind.UPDATE]
    assert len(updates) == 2
    event = calendar_of(updates[0].ics)
    assert event["SEQUENCE"] == 1 and str(event["UID"]) == exchange.uid
    assert "It was: Tuesday 30 March 2027, 9:00am to 1:00pm" in updates[0].body_text
    reminders = sorted({row.due_at for row in pending if row.kind == Kind.REMINDER})
    assert reminders == [datetime(2027, 4, 6, 13, 0, tzinfo=UTC),
                         datetime(2027, 4, 12, 13, 0, tzinfo=UTC)]


def test_moving_back_to_the_original_time_plans_reminders_again(db, exchange):
    original = (exchange.starts_at, exchange.ends_at)
    plan_exchange(db, exchange, NOW)
    later = datetime(2027, 4, 13, 8, 0, tzinfo=UTC)
    reschedule_exchange(db, exchange, later, later + timedelta(hours=4), NOW)
    reschedule_exchange(db, exchange, *original, NOW)
    pending = rows(db, status="pending")
    assert len([row for row in pending if row.kind == Kind.REMINDER]) == 4
    assert {parse_exchange_key(row.idempotency_key).sequence for row in pending} == {2}


def test_cancel_withdraws_everything_pending_and_sends_a_cancellation(db, exchange):
    plan_exchange(db, exchange, NOW)
    cancel_exchange(db, exchange, "The host is unwell", NOW)
    assert exchange.status == "cancelled" and exchange.sequence == 1
    pending = rows(db, status="pending")
    assert [row.kind for row in pending] == [Kind.CANCELLATION] * 2
    event = calendar_of(pending[0].ics)
    assert pending[0].ics_method == "CANCEL" and "METHOD:CANCEL" in pending[0].ics
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
    assert "The host is unwell" in pending[0].body_text
    assert cancel_exchange(db, exchange, "again", NOW) == 0


# --- one "booked" email per exchange and leader, whatever happens next ------------------------


def booked_and_moved(transport) -> list[tuple[str, str]]:
    return sorted((message["To"], "booked" if "is booked" in message["Subject"] else "moved")
                  for message in transport.sent
                  if "is booked" in message["Subject"] or "has moved" in message["Subject"])


def test_after_a_move_the_planning_job_sends_no_second_booking_email(db, exchange):
    """Issue 16: the 15-minute planning job once planned a second "is booked" after a move (its
    key held the new sequence and start). Book, send, move, run the job, send again."""
    factory = session_factory_on(db)
    transport = FakeTransport()
    plan_exchange(db, exchange, NOW)
    dispatch_due(factory, transport, now=NOW)
    new_start = exchange.starts_at + timedelta(days=7)
    reschedule_exchange(db, exchange, new_start, new_start + timedelta(hours=4),
                        NOW + timedelta(hours=1))
    dispatch_due(factory, transport, now=NOW + timedelta(hours=1))
    visit_details_changed(db, exchange, NOW + timedelta(hours=2))  # the host edits the details
    for minutes in (15, 30):  # the planning job, twice
        plan_notifications(WorkerContext(factory, None))
        plan_scheduled_exchanges(db, NOW + timedelta(hours=2, minutes=minutes))
        dispatch_due(factory, transport, now=NOW + timedelta(hours=2, minutes=minutes))
    assert booked_and_moved(transport) == [
        ("host@example.org", "booked"), ("host@example.org", "moved"),
        ("visitor@example.org", "booked"), ("visitor@example.org", "moved")]
    assert len(rows(db, kind=Kind.CONFIRMATION)) == 2
    assert {row.idempotency_key for row in rows(db, kind=Kind.CONFIRMATION)} == {
        f"exchange-confirmed:{exchange.id}:host@example.org",
        f"exchange-confirmed:{exchange.id}:visitor@example.org"}


def test_a_confirmation_under_the_old_key_is_not_sent_again_after_an_upgrade(db, exchange):
    """Rows written before the key lost the exchange's time still count as the confirmation."""
    plan_exchange(db, exchange, NOW)
    for row in rows(db, kind=Kind.CONFIRMATION):
        row.idempotency_key = (f"exchange-confirmed:{exchange.id}:0:20270330T080000Z:"
                               f"{row.recipient_email}")
        db.add(row)
    db.flush()
    assert plan_exchange(db, exchange, NOW) == 0
    assert len(rows(db, kind=Kind.CONFIRMATION)) == 2


def test_a_confirmation_planned_before_a_change_it_missed_is_withdrawn_not_sent(db, exchange):
    """A confirmation committed by a planner that raced a move (so the move could not withdraw
    it) carries the old SEQUENCE in its invitation: the dispatcher withdraws it."""
    plan_exchange(db, exchange, NOW)
    exchange.sequence += 1  # changed without withdrawing (the race)
    db.add(exchange)
    db.flush()
    transport = FakeTransport()
    dispatch_due(session_factory_on(db), transport, now=NOW)
    assert not [m for m in transport.sent if "is booked" in m["Subject"]]
    assert all(row.status == "withdrawn" for row in rows(db, kind=Kind.CONFIRMATION))


# --- dispatch with a fake transport ----------------------------------------------------------


def test_dispatch_sends_due_rows_once_and_leaves_future_ones(db, exchange):
    plan_exchange(db, exchange, NOW)
    transport = FakeTransport()
    result = dispatch_due(session_factory_on(db), transport, now=NOW)
    assert result.sent == 2 and transport.closed == 1
    assert {m["To"] for m in transport.sent} == {"host@example.org", "visitor@example.org"}
    again = dispatch_due(session_factory_on(db), transport, now=NOW + timedelta(minutes=1))
    assert again.sent == 0
    sent = rows(db, status="sent")
    assert len(sent) == 2 and all(row.message_id.startswith("<notification-") for row in sent)
    # Catching up after downtime: everything due by then goes out in one run.
    late = dispatch_due(session_factory_on(db), transport,
                        now=datetime(2027, 3, 29, 9, 0, tzinfo=UTC))
    assert late.sent == 4 and len(transport.sent) == 6


def test_a_claimed_row_for_a_moved_exchange_is_withdrawn_not_sent(db, exchange):
    plan_exchange(db, exchange, NOW)
    # A worker retries a confirmation that a reschedule already superseded: the re-check stops it.
    exchange.sequence += 1
    db.add(exchange)
    db.flush()
    result = dispatch_due(session_factory_on(db), FakeTransport(), now=NOW)
    assert result.sent == 0 and result.withdrawn == 2


def test_reminders_due_after_the_exchange_started_are_withdrawn(db, exchange):
    plan_exchange(db, exchange, NOW)
    transport = FakeTransport()
    result = dispatch_due(session_factory_on(db), transport,
                          now=AFTER_CLOCKS_CHANGE + timedelta(hours=1))
    assert result.withdrawn == 4 and result.sent == 2  # reminders out of date, confirmations go


def test_failures_back_off_then_fail_and_a_coordinator_can_retry(db, exchange):
    plan_exchange(db, exchange, NOW)
    failures = [SendError("450 mailbox busy") for _ in range(10)]
    transport = FakeTransport(failures)
    now = NOW
    for _attempt in range(3):
        result = dispatch_due(session_factory_on(db), transport, now=now, max_attempts=3)
        now += timedelta(days=1)
    assert result.failed == 2
    failed = rows(db, status="failed")
    assert len(failed) == 2 and failed[0].attempts == 3 and "450" in failed[0].last_error
    assert retry_notification(db, failed[0].id, now) is True
    assert retry_notification(db, failed[0].id, now) is False  # only failed rows
    transport.fail_with.clear()
    result = dispatch_due(session_factory_on(db), transport, now=now)
    assert result.sent == 1


def test_a_permanent_refusal_fails_at_once(db, exchange):
    plan_exchange(db, exchange, NOW)
    transport = FakeTransport([SendError("550 no such user", permanent=True)])
    result = dispatch_due(session_factory_on(db), transport, now=NOW)
    assert result.failed == 1 and result.sent == 1


def test_a_row_that_cannot_be_written_fails_alone_and_the_batch_goes_on(db, exchange):
    plan_exchange(db, exchange, NOW)
    broken = rows(db, kind=Kind.CONFIRMATION)[0]
    broken.ics_method = 'REQ"UEST'
    db.add(broken)
    db.flush()
    transport = FakeTransport()
    result = dispatch_due(session_factory_on(db), transport, now=NOW)
    assert (result.sent, result.failed) == (1, 1) and len(transport.sent) == 1
    [failed] = rows(db, status="failed")
    assert failed.id == broken.id and "iTIP method" in failed.last_error


def test_a_lost_connection_stops_the_batch_and_hands_the_rest_back(db, exchange):
    plan_exchange(db, exchange, NOW)
    transport = FakeTransport([SendError("connection refused", connection=True)])
    result = dispatch_due(session_factory_on(db), transport, now=NOW)
    assert (result.sent, result.retrying, result.released) == (0, 1, 1)
    released = [row for row in rows(db, kind=Kind.CONFIRMATION) if row.last_error == ""]
    assert released[0].attempts == 0 and released[0].status == "pending"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    import random

    rng = random.Random(1)
    delays = [backoff(n, rng) for n in range(1, 12)]
    assert timedelta(seconds=30) <= delays[0] <= timedelta(minutes=1)
    assert timedelta(minutes=4) <= delays[3] <= timedelta(minutes=8)
    assert all(delay <= timedelta(hours=6) for delay in delays)


def test_a_row_left_sending_by_a_dead_worker_is_recovered_after_its_lease(db, exchange):
    plan_exchange(db, exchange, NOW)
    factory = session_factory_on(db)
    from mentoring.notifications.dispatch import claim

    with factory() as session:  # a worker claims the rows … and dies
        claimed = claim(session, NOW, 10, timedelta(minutes=10))
        session.commit()
    assert len(claimed) == 2
    transport = FakeTransport()
    assert dispatch_due(factory, transport, now=NOW + timedelta(minutes=5)).sent == 0
    result = dispatch_due(factory, transport, now=NOW + timedelta(minutes=11))
    assert result.recovered == 2 and result.sent == 2 and len(transport.sent) == 2


# --- messages --------------------------------------------------------------------------------


def test_message_is_mixed_with_alternatives_an_invite_attachment_and_the_programme_mailbox(
        db, exchange):
    """Mail clients that process invitations read the text/calendar alternative; the others
    show `invite.ics` attached (as Google Calendar sends it). ORGANIZER and Reply-To are the
    programme's monitored mailbox (the programme contact in the configuration), not MAIL_FROM."""
    programme.save(db, {**programme.of(db), "contact_name": 'Programme "team"',
                        "contact_email": "programme@nhs.example"})
    plan_exchange(db, exchange, NOW)
    transport = FakeTransport()
    dispatch_due(session_factory_on(db), transport, now=NOW,
                 mail_from="Leadership exchange <no-reply@nhs.example>")
    message = transport.sent[0]
    assert message["Message-ID"].endswith("@nhs.example>") and message["Date"]
    assert message["Reply-To"] == '"Programme \\"team\\"" <programme@nhs.example>'
    assert message["Reply-To"].addresses[0].addr_spec == "programme@nhs.example"
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    types = [part.get_content_type() for part in alternative.iter_parts()]
    assert types == ["text/plain", "text/html", "text/calendar"]
    calendar_part = list(alternative.iter_parts())[2]
    assert calendar_part.get_param("method") == "REQUEST"
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics" and attachment.is_attachment()
    assert attachment.get_content().decode() == calendar_part.get_content()
    event = calendar_of(calendar_part.get_content())
    assert str(event["ORGANIZER"]) == "mailto:programme@nhs.example"
    assert event["ORGANIZER"].params["CN"] == "Programme 'team'"
    assert str(event["URL"]) == absolute(f"/exchanges/{exchange.id}")


def test_without_a_programme_contact_the_setting_then_mail_from_is_the_organiser(db, exchange):
    programme.save(db, {**programme.of(db), "contact_email": ""})
    plan_exchange(db, exchange, NOW)
    set_programme_mailbox("Leadership programme <leadership@nhs.example>")
    try:
        transport = FakeTransport()
        dispatch_due(session_factory_on(db), transport, now=NOW, batch_size=1,
                     mail_from="Leadership exchange <no-reply@nhs.example>")
    finally:
        set_programme_mailbox("")
    first = transport.sent[0]
    assert first["Reply-To"] == "Leadership programme <leadership@nhs.example>"
    event = calendar_of(first.get_body(("calendar",)).get_content())
    assert str(event["ORGANIZER"]) == "mailto:leadership@nhs.example"
    transport = FakeTransport()
    dispatch_due(session_factory_on(db), transport, now=NOW, batch_size=1,
                 mail_from="Leadership exchange <no-reply@nhs.example>")
    second = transport.sent[0]
    assert second["Reply-To"] is None
    event = calendar_of(second.get_body(("calendar",)).get_content())
    assert str(event["ORGANIZER"]) == "mailto:no-reply@nhs.example"


def test_smtp_urls():
    assert parse_smtp_url("smtp+starttls://u%40x:p%2Fw@relay.nhs.net").port == 587
    config = parse_smtp_url("smtp+starttls://u%40x:p%2Fw@relay.nhs.net")
    assert (config.mode, config.username, config.password) == ("starttls", "u@x", "p/w")
    assert parse_smtp_url("smtps://mail.example:2465").port == 2465
    assert parse_smtp_url("smtp://localhost").port == 25
    with pytest.raises(ValueError, match="SMTP_URL"):
        parse_smtp_url("http://example.org")


def test_when_reads_naturally():
    start = datetime(2027, 1, 5, 13, 30, tzinfo=UTC)
    assert when(start, start + timedelta(hours=4)) == "Tuesday 5 January 2027, 1:30pm to 5:30pm"


def test_build_message_without_html_or_invite():
    from mentoring.notifications.transport import OutgoingEmail

    message = build_message(
        OutgoingEmail(1, "k", "a@example.org", "Hi", "Body\n", "", None, None), "x@y.org"
    )
    assert message.get_content_type() == "text/plain"
