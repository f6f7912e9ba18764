"""The dispatcher's message writer (`render_message`): what it writes parses back, with the
standard library, into the same message `build_message` makes, and is valid on the wire."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from smtp_server import SmtpServer
from sqlmodel import select

from mentoring.models import Notification
from mentoring.notifications import Kind, SmtpTransport, cancel_exchange, plan_exchange
from mentoring.notifications.transport import (
    OutboundMessage,
    OutgoingEmail,
    build_message,
    message_id_for,
    render_message,
)

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2027, 3, 30, 8, 0, tzinfo=UTC)
MAIL_FROM = "Leadership exchange <exchange@nhs.example>"
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x-1@test\r\n"
    "SUMMARY:Exchange\r\nORGANIZER:mailto:organizer@invalid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def outgoing(**fields) -> OutgoingEmail:
    values = {
        "id": 42, "idempotency_key": "reminder-24h:7:0:2027-03-30T08:00:00:a@example.org",
        "recipient_email": "a@example.org", "subject": "Reminder: your leadership exchange",
        "body_text": "Dear Ada,\n\nSee you tomorrow.\n", "body_html": "<p>Dear Ada,</p>\n",
        "ics": ICS, "ics_method": "REQUEST",
    } | fields
    return OutgoingEmail(**values)


def text(content: str) -> str:
    """What a body is expected to read as after the round trip (line endings normalised)."""
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    return content if content.endswith("\n") else content + "\n"


def assert_wire_format(data: bytes) -> None:
    """CRLF line endings only, 7-bit, no line longer than 78 characters (RFC 5322's SHOULD)."""
    assert all(byte < 128 for byte in data), "not 7-bit clean"
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"\r\n")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


@pytest.fixture
def exchange(factory):
    programme_round = factory.programme_round(name="Spring 2027")
    host = factory.mentor(email="host@example.org", name="Hana Host")
    visitor = factory.leader(email="visitor@example.org", name="Vic Visitor")
    match = factory.match(programme_round, host, visitor, status="accepted")
    return factory.exchange(match, START, location="Lewisham Hospital")


def as_outgoing(row: Notification) -> OutgoingEmail:
    return OutgoingEmail(row.id, row.idempotency_key, row.recipient_email, row.subject,
                         row.body_text, row.body_html, row.ics, row.ics_method)


def test_a_planned_reminder_parses_back_with_headers_parts_and_invitation(db, exchange):
    plan_exchange(db, exchange, NOW)
    row = db.exec(select(Notification).where(Notification.kind == Kind.REMINDER)).first()
    email_ = as_outgoing(row)
    before = datetime.now(UTC).replace(microsecond=0)
    message = render_message(email_, MAIL_FROM)
    assert isinstance(message, OutboundMessage) and not message.smtputf8
    assert_wire_format(message.data)
    parsed = parse(message.data)
    assert parsed["From"] == MAIL_FROM
    assert parsed["To"] == row.recipient_email == message.recipient
    assert message.envelope_from == "exchange@nhs.example"
    assert parsed["Subject"] == row.subject
    assert parsed["Message-ID"] == message.message_id == message_id_for(email_, MAIL_FROM)
    assert message.message_id.endswith("@nhs.example>")
    assert before <= parsedate_to_datetime(parsed["Date"]) <= datetime.now(UTC)
    assert parsed["Auto-Submitted"] == "auto-generated" and parsed["MIME-Version"] == "1.0"
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, attachment = parsed.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html, invite = alternative.iter_parts()
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics"
    assert attachment["Content-Transfer-Encoding"] == "base64"
    assert attachment.get_content().decode() == invite.get_content()
    assert [p.get_content_type() for p in (plain, html, invite)] == [
        "text/plain", "text/html", "text/calendar"]
    assert all(p.get_content_charset() == "utf-8" for p in (plain, html, invite))
    assert plain.get_content().replace("\r\n", "\n") == text(row.body_text)
    assert html.get_content().replace("\r\n", "\n") == text(row.body_html)
    assert invite.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(invite.get_content())
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == exchange.uid and event["DTSTART"].dt == START
    assert str(event["ORGANIZER"]) == "mailto:exchange@nhs.example"
    assert event["ORGANIZER"].params["CN"] == "Leadership exchange"
    assert parsed["Reply-To"] is None  # no programme mailbox given: replies go to From
    assert not parsed.defects and not any(p.defects for p in parsed.walk())


def test_it_is_the_same_message_as_the_standard_librarys(db, exchange):
    plan_exchange(db, exchange, NOW)
    for row in db.exec(select(Notification)).all():
        fast = parse(render_message(as_outgoing(row), MAIL_FROM).data)
        reference = build_message(as_outgoing(row), MAIL_FROM)
        for header in ("From", "To", "Subject", "Message-ID", "Auto-Submitted"):
            assert fast[header] == reference[header], header
        fast_parts, reference_parts = list(fast.walk()), list(reference.walk())
        assert [p.get_content_type() for p in fast_parts] == [
            p.get_content_type() for p in reference_parts]
        for ours, theirs in zip(fast_parts, reference_parts, strict=True):
            if ours.is_multipart():
                continue  # only the boundary differs
            assert ours.get_params() == theirs.get_params()
            assert ours.get("Content-Disposition") == theirs.get("Content-Disposition")
            if ours.get_content_maintype() == "application":
                assert ours.get_content() == theirs.get_content()
                continue
            assert ours.get_content().replace("\r\n", "\n") == theirs.get_content().replace(
                "\r\n", "\n")


def test_a_cancellation_carries_method_cancel_in_the_part_and_the_calendar(db, exchange):
    plan_exchange(db, exchange, NOW)
    cancel_exchange(db, exchange, "Ward closed", NOW)
    row = db.exec(select(Notification).where(Notification.kind == Kind.CANCELLATION)).first()
    parsed = parse(render_message(as_outgoing(row), MAIL_FROM).data)
    invite = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert invite.get_param("method") == "CANCEL"
    assert Calendar.from_ical(invite.get_content())["METHOD"] == "CANCEL"
    assert "Ward closed" in parsed.get_body(("plain",)).get_content()


def test_non_ascii_names_and_subjects_are_encoded_words_that_decode_back():
    sender = '"Équipe NHS, Leadership" <exchange@nhs.example>'
    subject = ("Réunion avec Zoë Ødegård: \u2018walking in their shoes\u2019 — 9:00am, Ward 3 — "
               "Ünïcödé ✓")
    body = "Chère Zoë,\n\nÀ demain — ça va être très bien.\n"
    ics = ICS.replace("SUMMARY:Exchange", "SUMMARY:Échange avec Zoë")
    message = render_message(outgoing(subject=subject, body_text=body, body_html=f"<p>{body}</p>",
                                      ics=ics), sender)
    assert_wire_format(message.data)
    assert re.search(rb"^Subject: =\?utf-8\?", message.data, re.MULTILINE)
    parsed = parse(message.data)
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == "Équipe NHS, Leadership"
    assert parsed["From"].addresses[0].addr_spec == "exchange@nhs.example"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == body
    assert parsed.get_body(("plain",))["Content-Transfer-Encoding"] == "quoted-printable"
    invite = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(invite.get_content())
    event = calendar.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Échange avec Zoë"
    assert event["ORGANIZER"].params["CN"] == "Équipe NHS, Leadership"


def test_long_lines_are_quoted_printable_and_come_back_whole():
    long_word = "x" * 5000
    long_sentence = " ".join(["a fairly ordinary sentence that goes on"] * 60)
    long_unicode = "é" * 400 + "=" * 10 + "  "
    body = f"{long_word}\n{long_sentence}\n{long_unicode}\nend"
    subject = "A subject " + "that keeps going " * 20
    message = render_message(outgoing(body_text=body, body_html=long_sentence,
                                      subject=subject.strip()), MAIL_FROM)
    assert_wire_format(message.data)
    parsed = parse(message.data)
    assert parsed["Subject"] == subject.strip()
    plain = parsed.get_body(("plain",))
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content().replace("\r\n", "\n") == body + "\n"
    assert parsed.get_body(("html",)).get_content().rstrip("\r\n") == long_sentence


def test_short_ascii_parts_stay_readable_7bit():
    message = render_message(outgoing(), MAIL_FROM)
    parsed = parse(message.data)
    alternative, _attachment = parsed.iter_parts()
    for part in alternative.iter_parts():
        assert part["Content-Transfer-Encoding"] == "7bit"
    assert b"BEGIN:VCALENDAR\r\n" in message.data and b"Dear Ada,\r\n" in message.data


def test_awkward_bodies_survive_the_round_trip():
    boundary_like = "--=_alt_notification-42.0000\n--boundary--\n"
    body = (".\n..leading dots\nFrom the start\ntrailing space \ntab\t\n=3D not an escape\n"
            "windows\r\nold mac\rmixed\r\n" + boundary_like + "no newline at the end")
    message = render_message(outgoing(body_text=body, body_html=boundary_like, ics=None), MAIL_FROM)
    assert_wire_format(message.data)
    parsed = parse(message.data)
    types = [p.get_content_type() for p in parsed.walk()]
    assert types == ["multipart/alternative", "text/plain", "text/html"]
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == text(body)
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == boundary_like


def test_a_7bit_body_holding_the_boundary_gets_another_one():
    email_ = outgoing(ics=None)
    usual = "=_alt_" + message_id_for(email_, MAIL_FROM)[1:].partition("@")[0]
    trap = f"--{usual}\nContent-Type: text/plain\n\nnot a part\n--{usual}--\n"
    for ics in (None, ICS):
        message = render_message(outgoing(ics=ics, body_text=trap, body_html=trap), MAIL_FROM)
        assert usual.encode() not in message.data.split(b"\r\n\r\n", 1)[0]
        parsed = parse(message.data)
        types = [p.get_content_type() for p in parsed.walk()]
        assert types == (["multipart/alternative", "text/plain", "text/html"] if ics is None else [
            "multipart/mixed", "multipart/alternative", "text/plain", "text/html",
            "text/calendar", "application/ics"])
        assert parsed.get_body(("plain",))["Content-Transfer-Encoding"] == "7bit"
        assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == trap


def test_text_only_is_a_single_text_plain_part():
    message = render_message(outgoing(body_html="", ics=None), MAIL_FROM)
    parsed = parse(message.data)
    assert parsed.get_content_type() == "text/plain" and not parsed.is_multipart()
    assert parsed.get_content().replace("\r\n", "\n") == "Dear Ada,\n\nSee you tomorrow.\n"
    # The message also reads like an EmailMessage (what tests and the file transport use).
    assert message["Subject"] == "Reminder: your leadership exchange"
    assert message.get_content_type() == "text/plain" and bytes(message) == message.data


def test_a_calendar_without_html_is_still_an_alternative():
    parsed = parse(render_message(outgoing(body_html=""), MAIL_FROM).data)
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/calendar",
        "application/ics"]


def test_line_breaks_in_a_subject_never_inject_headers():
    message = render_message(outgoing(subject="Hello\r\nBcc: victim@example.org\nX: y"),
                             MAIL_FROM)
    parsed = parse(message.data)
    assert parsed["Bcc"] is None and parsed["X"] is None
    assert parsed["Subject"] == "Hello Bcc: victim@example.org X: y"


def test_an_odd_calendar_method_is_refused():
    with pytest.raises(ValueError, match="iTIP"):
        render_message(outgoing(ics_method='REQUEST"; evil="1'), MAIL_FROM)
    parsed = parse(render_message(outgoing(ics_method="cancel"), MAIL_FROM).data)
    invite = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert invite.get_param("method") == "CANCEL"


def test_an_internationalised_address_goes_the_standard_librarys_smtputf8_way():
    message = render_message(outgoing(recipient_email="zoë@exämple.org"), MAIL_FROM)
    assert message.smtputf8 and message.recipient == "zoë@exämple.org"
    parsed = parse(message.data)
    assert parsed["To"] == "zoë@exämple.org"
    assert [p.get_content_type() for p in parsed.walk()][1:] == [
        "multipart/alternative", "text/plain", "text/html", "text/calendar", "application/ics"]


def test_the_smtp_transport_sends_both_kinds_of_message():
    with SmtpServer() as server:
        transport = SmtpTransport(server.url)
        transport.send(render_message(outgoing(id=1), MAIL_FROM))
        transport.send(build_message(outgoing(id=2, recipient_email="b@example.org"), MAIL_FROM))
        transport.close()
    assert [r.rcpt_tos for r in server.received] == [["a@example.org"], ["b@example.org"]]
    assert all(r.mail_from == "exchange@nhs.example" for r in server.received)
    first = server.received[0].message
    assert [p.get_content_type() for p in first.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar",
        "application/ics"]


# Anything a template or a person's name can put into a body or a subject.
bodies = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
subjects = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=200)


@settings(max_examples=150, deadline=None)
@given(body=bodies, html=bodies, subject=subjects, name=subjects)
def test_any_body_and_subject_round_trip(body, html, subject, name):
    sender = f'"{name.replace(chr(92), "").replace(chr(34), "")}" <exchange@nhs.example>'
    message = render_message(outgoing(body_text=body, body_html=html, subject=subject), sender)
    assert all(byte < 128 for byte in message.data)
    assert b"\n" not in message.data.replace(b"\r\n", b"")
    assert max(len(line) for line in message.data.split(b"\r\n")) <= 998
    parsed = parse(message.data)
    assert " ".join(str(parsed["Subject"]).split()) == " ".join(subject.split())
    assert parsed["Message-ID"] == message.message_id
    assert parsed["From"].addresses[0].addr_spec == "exchange@nhs.example"
    expected = ["multipart/mixed", "multipart/alternative", "text/plain"] + (
        ["text/html"] if html else [])
    assert [p.get_content_type() for p in parsed.walk()] == [
        *expected, "text/calendar", "application/ics"]
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == text(body)
    if html:
        assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == text(html)


def test_the_programme_mailbox_is_the_reply_to_and_organiser_in_both_writers():
    mailbox = ('Équipe "programme", SEL', "programme@nhs.example")
    for message in (render_message(outgoing(), MAIL_FROM, mailbox),
                    build_message(outgoing(), MAIL_FROM, mailbox)):
        parsed = parse(bytes(message) if isinstance(message, OutboundMessage)
                       else message.as_bytes())
        reply_to = parsed["Reply-To"].addresses[0]
        assert (reply_to.display_name, reply_to.addr_spec) == mailbox
        assert parsed["From"].addresses[0].addr_spec == "exchange@nhs.example"
        invite = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
        event = Calendar.from_ical(invite.get_content()).walk("VEVENT")[0]
        assert str(event["ORGANIZER"]) == "mailto:programme@nhs.example"
        assert event["ORGANIZER"].params["CN"] == "Équipe 'programme', SEL"
