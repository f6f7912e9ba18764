"""Every calendar object the service emits, read by other people's parsers (issue 16).

- Mozilla's ical.js (Thunderbird's parser; npm, run through `node tests/ical/parse.mjs`) and
  vobject read the invitation, the update, the cancellation (each as the email's calendar part
  and its `invite.ics` attachment), the download and the feed.
- The Europe/London VTIMEZONE, as ical.js reads it from our text (no zone data of its own),
  converts instants around every clock change from 2026 to 2030 as zoneinfo does.
- A real CalDAV server (Radicale, started here on loopback) stores what a calendar client
  would store from those emails, through the `caldav` client library: once per UID, updated in
  place as SEQUENCE rises, cancelled, never duplicated.
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar, Timezone
from sqlmodel import select

from mentoring.configuration import programme
from mentoring.exchanges import services
from mentoring.models import Notification
from mentoring.notifications import Kind, cancel_exchange, plan_exchange, reschedule_exchange
from mentoring.notifications.calendar import london_timezone
from mentoring.notifications.outbox import absolute, programme_mailbox
from mentoring.notifications.transport import OutgoingEmail, render_message

SCRIPT = Path(__file__).resolve().parent / "ical" / "parse.mjs"
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
# Tuesday 30 March 2027, 9am London: summer time (BST) began on Sunday 28 March.
START = datetime(2027, 3, 30, 8, 0, tzinfo=UTC)
MOVED = datetime(2027, 11, 2, 14, 0, tzinfo=UTC)  # 2pm GMT, after the clocks went back
MAIL_FROM = "Leadership exchange <no-reply@nhs.example>"
HOST = 'Hana "Ward 3" O\'Host'
VISITOR = "Vic Visitor; Ph.D., \\ MBE"

def ical_js(objects: dict[str, str], instants=(), wall_times=()) -> dict[str, dict]:
    """What ical.js makes of each calendar object (see tests/ical/parse.mjs)."""
    node = shutil.which("node")
    if node is None:  # `make setup` needs Node.js too (npm ci installs ical.js)
        raise RuntimeError("Node.js is needed to run ical.js over the calendar objects")
    request = {"objects": objects, "instants": list(instants), "wall_times": list(wall_times)}
    done = subprocess.run([node, str(SCRIPT)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=60, check=False, cwd=SCRIPT.parent.parent.parent)
    assert done.returncode == 0, done.stderr
    parsed = json.loads(done.stdout)["objects"]
    for name, result in parsed.items():
        assert "error" not in result, f"ical.js could not read {name}: {result['error']}"
    return parsed


# --- the time zone ---------------------------------------------------------------------------


def clock_changes(first_year: int, last_year: int) -> list[datetime]:
    """Every UTC instant at which Europe/London's offset changes, from zoneinfo."""
    changes = []
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    while moment < end:
        following = moment + timedelta(hours=1)
        if moment.astimezone(LONDON).utcoffset() != following.astimezone(LONDON).utcoffset():
            changes.append(following)
        moment = following
    return changes


def instants_around(changes: list[datetime]) -> list[int]:
    offsets = (-7200, -3601, -3600, -1, 0, 1, 1800, 3599, 3600, 7200, 86400 * 30)
    return [int(change.timestamp()) + offset for change in changes for offset in offsets]


def wall_times_around(changes: list[datetime]) -> list[str]:
    """Wall-clock times on each change day that exist once (not in the spring gap, nor in the
    autumn hour that happens twice)."""
    times = []
    for change in changes:
        day = change.astimezone(LONDON).date()
        for hour, minute in ((0, 0), (0, 59), (2, 0), (2, 30), (3, 0), (9, 0), (23, 59)):
            times.append(f"{day.isoformat()}T{hour:02d}:{minute:02d}:00")
    return times


def test_the_london_zone_converts_like_zoneinfo_around_every_change_2026_to_2030():
    changes = clock_changes(2026, 2030)
    assert len(changes) == 10
    instants, walls = instants_around(changes), wall_times_around(changes)
    ours = Calendar.new()
    ours.add_component(london_timezone())
    zone = ical_js({"ours": ours.to_ical().decode()}, instants, walls)["ours"]["timezones"][0]
    assert zone["tzid"] == "Europe/London"
    assert [(r["kind"], r["dtstart"], r["from"], r["to"], r["rdate"]) for r in zone["rules"]] == [
        ("daylight", "1970-03-29T01:00:00", "+00:00", "+01:00", 0),
        ("standard", "1970-10-25T02:00:00", "+01:00", "+00:00", 0)]
    assert all(r["rrule"] for r in zone["rules"])
    for seconds, got in zip(instants, zone["local"], strict=True):
        expected = datetime.fromtimestamp(seconds, UTC).astimezone(LONDON)
        assert got["local"] == expected.strftime("%Y-%m-%dT%H:%M:%S"), expected
        # The offset the conversion applied (ical.js's own `utcOffset` of a local time is
        # ambiguous in the autumn hour that happens twice, so it is not asked).
        utc_wall = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        assert datetime.fromisoformat(got["local"]) - utc_wall == expected.utcoffset(), expected
    for wall, got in zip(walls, zone["utc"], strict=True):
        expected = datetime.fromisoformat(wall).replace(tzinfo=LONDON)
        assert got == expected.timestamp(), wall


def test_the_rdate_zone_icalendar_writes_by_itself_is_an_hour_late_in_spring():
    """Why the service writes its own rules: the shape `Timezone.from_tzid` writes moves the
    clocks forward at 02:00 UTC, an hour late (what issue 16 found)."""
    changes = clock_changes(2027, 2027)
    theirs = Calendar.new()
    theirs.add_component(Timezone.from_tzid("Europe/London", first_date=datetime(2026, 1, 1).date(),
                                            last_date=datetime(2028, 12, 31).date()))
    spring = int(changes[0].timestamp()) + 1800  # 01:30 UTC: 02:30 BST
    zone = ical_js({"theirs": theirs.to_ical().decode()}, [spring])["theirs"]["timezones"][0]
    assert zone["local"][0]["local"] != "2027-03-28T02:30:00"


def test_a_summer_time_exchange_converts_in_ical_js_and_vobject(db, world):
    invitation = world["invitation"]
    event = ical_js({"invitation": invitation})["invitation"]["events"][0]
    assert event["start"] == {"local": "2027-03-30T09:00:00", "tzid": "Europe/London",
                              "unix": START.timestamp()}
    assert vobject.readOne(invitation).vevent.dtstart.value == START


# --- everything the service emits ------------------------------------------------------------


def calendar_parts(row: Notification, mailbox) -> tuple[str, str]:
    """(the text/calendar alternative, the invite.ics attachment) of the email as sent."""
    sent = render_message(OutgoingEmail(row.id, row.idempotency_key, row.recipient_email,
                                        row.subject, row.body_text, row.body_html, row.ics,
                                        row.ics_method), MAIL_FROM, mailbox)
    parsed = email.message_from_bytes(sent.data, policy=email.policy.default)
    alternative = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    attachment = next(p for p in parsed.walk() if p.get_filename() == "invite.ics")
    return alternative.get_content(), attachment.get_content().decode()


@pytest.fixture
def world(db, factory):
    """A booked exchange's whole life: invitation, update (moved), cancellation; then the
    download and feed of a second exchange that stays booked."""
    programme_round = factory.programme_round(name="Spring 2027")
    host = factory.mentor(email="host@example.org", name=HOST)
    visitor = factory.leader(email="visitor@example.org", name=VISITOR)
    match = factory.match(programme_round, host, visitor, status="accepted")
    exchange = factory.exchange(match, START, location='Lewisham "Hospital", Ward 3; Floor 2')
    kept = factory.exchange(match, datetime(2027, 7, 6, 8, 0, tzinfo=UTC), location="Guy's")
    contact = programme_mailbox(db)
    mailbox = (contact.name, contact.email)
    plan_exchange(db, exchange, NOW)
    plan_exchange(db, kept, NOW)

    def latest(kind: str, exchange_id: int) -> Notification:
        return db.exec(select(Notification).where(
            Notification.kind == kind, Notification.exchange_id == exchange_id,
            Notification.recipient_email == "visitor@example.org",
        ).order_by(Notification.id.desc())).first()

    objects = {}
    objects["invitation"], objects["invitation.ics"] = calendar_parts(
        latest(Kind.CONFIRMATION, exchange.id), mailbox)
    objects["reminder"], _ = calendar_parts(latest(Kind.REMINDER, exchange.id), mailbox)
    reschedule_exchange(db, exchange, MOVED, MOVED + timedelta(hours=4), NOW)
    objects["update"], objects["update.ics"] = calendar_parts(
        latest(Kind.UPDATE, exchange.id), mailbox)
    cancel_exchange(db, exchange, "Ward closed", NOW)
    objects["cancellation"], objects["cancellation.ics"] = calendar_parts(
        latest(Kind.CANCELLATION, exchange.id), mailbox)
    objects["download"] = services.exchange_ics(db, visitor, kept.id, MAIL_FROM)[0]
    objects["feed"] = services.calendar_feed(db, visitor, MAIL_FROM)
    return {"objects": objects, "exchange": exchange, "kept": kept, "mailbox": mailbox,
            "visitor": visitor,
            "invitation": objects["invitation"]}


def test_every_object_is_clean_icalendar_text(world):
    for name, text in world["objects"].items():
        lines = text.split("\r\n")
        assert lines[-1] == "" and "\n" not in text.replace("\r\n", ""), name
        assert max(len(line.encode()) for line in lines) <= 75, name
        assert text.count("BEGIN:VTIMEZONE") == 1 and "RDATE" not in text, name


def test_ical_js_reads_every_object_as_its_client_should(world):
    objects, exchange, kept = world["objects"], world["exchange"], world["kept"]
    read = ical_js(objects)
    organizer = {"value": f"mailto:{world['mailbox'][1]}", "cn": world["mailbox"][0]}
    names = {"mailto:host@example.org": "Hana 'Ward 3' O'Host",
             "mailto:visitor@example.org": VISITOR}
    expected = {  # name: (METHOD, SEQUENCE, STATUS, start, attendees?)
        "invitation": ("REQUEST", 0, "CONFIRMED", START, True),
        "reminder": ("REQUEST", 0, "CONFIRMED", START, True),
        "update": ("REQUEST", 1, "CONFIRMED", MOVED, True),
        "cancellation": ("CANCEL", 2, "CANCELLED", MOVED, True),
        "download": ("PUBLISH", 0, "CONFIRMED", kept.starts_at, False),
    }
    for name in ("invitation", "update", "cancellation"):  # the attachment is the same data
        assert read[f"{name}.ics"] == read[name]
    for name, (method, sequence, status, start, invited) in expected.items():
        result = read[name]
        assert result["method"] == method and result["version"] == "2.0", name
        [event] = result["events"]
        assert event["uid"] == (kept.uid if name == "download" else exchange.uid), name
        assert (event["sequence"], event["status"]) == (sequence, status), name
        assert event["start"]["tzid"] == "Europe/London", name
        assert event["start"]["unix"] == start.timestamp(), name
        assert event["end"]["unix"] == (start + timedelta(hours=4)).timestamp(), name
        assert event["organizer"] == organizer, name
        attendees = {a["value"]: a["cn"] for a in event["attendees"]}
        assert attendees == (names if invited else {}), name
    assert read["invitation"]["events"][0]["location"] == 'Lewisham "Hospital", Ward 3; Floor 2'
    assert read["invitation"]["events"][0]["url"] == absolute(f"/exchanges/{exchange.id}")
    assert read["download"]["events"][0]["url"] == absolute(f"/exchanges/{kept.id}")
    feed = read["feed"]
    assert feed["method"] == "PUBLISH"
    assert [e["uid"] for e in feed["events"]] == [kept.uid]  # the cancelled one is left out
    assert all(not e["attendees"] and e["status"] == "CONFIRMED" for e in feed["events"])


def test_vobject_reads_every_object_as_its_client_should(world):
    objects, exchange = world["objects"], world["exchange"]
    for name, text in objects.items():
        calendar = vobject.readOne(text)
        assert calendar.version.value == "2.0", name
        events = list(calendar.vevent_list)
        for event in events:
            assert event.dtstart.value.tzinfo is not None, name
            assert event.url.value.startswith(absolute("/exchanges/")), name
            assert event.organizer.value == f"mailto:{world['mailbox'][1]}", name
            if calendar.method.value == "PUBLISH":
                assert not hasattr(event, "attendee"), name
            else:
                cns = sorted(a.params["CN"][0] for a in event.attendee_list)
                assert cns == sorted(["Hana 'Ward 3' O'Host", VISITOR]), name
    assert vobject.readOne(objects["update"]).vevent.dtstart.value == MOVED
    assert vobject.readOne(objects["update"]).vevent.sequence.value == "1"
    cancellation = vobject.readOne(objects["cancellation"])
    assert cancellation.method.value == "CANCEL"
    assert cancellation.vevent.status.value == "CANCELLED"
    assert cancellation.vevent.uid.value == exchange.uid
    assert [e.uid.value for e in vobject.readOne(objects["feed"]).vevent_list] == [
        world["kept"].uid]


# --- a real CalDAV server --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def radicale(tmp_path):
    """Radicale on a free loopback port, storing in a temporary folder, no authentication."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "",
         "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "none",
         "--storage-filesystem-folder", str(tmp_path / "collections"),
         "--logging-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Radicale did not start: "
                                       + process.stderr.read().decode(errors="replace")) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


def stored_form(text: str) -> str:
    """What a calendar client stores from an iTIP message: the object without METHOD (RFC 4791
    forbids METHOD in a stored calendar object resource)."""
    calendar = Calendar.from_ical(text)
    calendar.pop("METHOD")
    return calendar.to_ical().decode()


def test_a_caldav_server_stores_each_exchange_once_updated_in_place_then_cancelled(
        world, radicale):
    import caldav

    objects, exchange = world["objects"], world["exchange"]
    with caldav.DAVClient(url=radicale, username="leader", password="any") as client:
        calendar = client.get_principal().make_calendar(name="Exchanges")

        def put(text: str):
            calendar.add_event(ical=stored_form(text), increase_seqno=False)

        def stored():
            return [Calendar.from_ical(event.data).walk("VEVENT")[0]
                    for event in calendar.get_events()]

        put(objects["invitation"])
        put(objects["reminder"])  # the same invitation again: no second event
        [event] = stored()
        assert (str(event["UID"]), event["SEQUENCE"]) == (exchange.uid, 0)
        assert event["DTSTART"].dt == START
        assert len(event["ATTENDEE"]) == 2

        put(objects["update"])
        [event] = stored()
        assert (str(event["UID"]), event["SEQUENCE"]) == (exchange.uid, 1)
        assert event["DTSTART"].dt == MOVED

        put(objects["cancellation"])
        [event] = stored()
        assert (event["SEQUENCE"], str(event["STATUS"])) == (2, "CANCELLED")

        put(objects["download"])  # the other exchange, imported from its download
        put(objects["download"])
        by_uid = {str(event["UID"]): event for event in stored()}
        assert set(by_uid) == {exchange.uid, world["kept"].uid}
        assert "ATTENDEE" not in by_uid[world["kept"].uid]

        calendar.get_event_by_uid(exchange.uid).delete()  # the client removes the cancelled one
        assert [str(event["UID"]) for event in stored()] == [world["kept"].uid]


def test_a_caldav_server_accepts_the_feed_event_by_event_without_duplicates(world, radicale):
    import caldav

    feed = Calendar.from_ical(world["objects"]["feed"])
    with caldav.DAVClient(url=radicale, username="leader", password="any") as client:
        calendar = client.get_principal().make_calendar(name="Feed")
        for _refresh in range(2):  # a subscription refreshing twice
            for event in feed.walk("VEVENT"):
                single = Calendar()
                single.add("prodid", str(feed["PRODID"]))
                single.add("version", "2.0")
                for zone in feed.walk("VTIMEZONE"):
                    single.add_component(zone)
                single.add_component(event)
                calendar.add_event(ical=single.to_ical().decode(), increase_seqno=False)
        uids = sorted(str(Calendar.from_ical(e.data).walk("VEVENT")[0]["UID"])
                      for e in calendar.get_events())
    assert uids == [world["kept"].uid]


def test_without_a_programme_contact_mail_from_organises(db, world):
    programme.save(db, {**programme.of(db), "contact_email": ""})
    download = services.exchange_ics(db, world["visitor"], world["kept"].id, MAIL_FROM)[0]
    event = ical_js({"download": download})["download"]["events"][0]
    assert event["organizer"]["value"] == "mailto:no-reply@nhs.example"
