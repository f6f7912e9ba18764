"""iCalendar objects for exchanges (RFC 5545): invitations by email (iTIP, RFC 5546) and files
to import or subscribe to.

- An emailed invitation is `METHOD:REQUEST` (new or changed) or `METHOD:CANCEL`, with ORGANIZER
  (the programme's monitored mailbox) and both leaders as ATTENDEEs. One UID per exchange for
  ever; SEQUENCE rises with every change, so calendars update the event in place.
- A download or the personal feed is `METHOD:PUBLISH`: a copy to import or subscribe to, never
  an invitation nor a cancellation, so it carries no ATTENDEE (RFC 5546 section 3.2.1).

Times are written in Europe/London with a VTIMEZONE of yearly rules (`london_timezone`), so
every client shows the wall-clock time people agreed, on either side of a clock change.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vText,
)

LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")
# The product that wrote the calendar (RFC 5545 3.7.3): this software, whichever integrated
# care system runs it (the organiser and the texts name the system)
PRODID = "-//nhs-leadership-matcher//Leadership exchange//EN"
# The organiser of an emailed invitation is the programme's mailbox, which the dispatcher knows
# when it sends (it may change after the email was planned): planners write this placeholder
# line and the message writer swaps it (see `with_organizer`).
ORGANIZER_PLACEHOLDER = "ORGANIZER:mailto:organizer@invalid"
INVITATION_METHODS = ("REQUEST", "CANCEL")
PUBLISH = "PUBLISH"
_SEQUENCE = re.compile(r"^SEQUENCE:(\d+)\r?$", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def london_timezone() -> Timezone:
    """Europe/London as two yearly rules, the shape Outlook, Apple and tzurl.org write.

    icalendar's `Timezone.from_tzid` writes a list of change dates (RDATE) whose DAYLIGHT start
    is an hour late (02:00 local with TZOFFSETFROM +0000), which Outlook desktop is reported to
    read as summer-time events an hour out. The UK rule since 1996: summer time from 01:00 UTC
    on the last Sunday of March (01:00 local, from +0000) to 01:00 UTC on the last Sunday of
    October (02:00 local, from +0100). DTSTART is each rule's first occurrence in 1970, as
    tzurl.org writes it; only future events use the zone.
    """
    zone = Timezone()
    zone.add("tzid", "Europe/London")
    zone.add("x-lic-location", "Europe/London")
    daylight = TimezoneDaylight()
    daylight.add("tzname", "BST")
    daylight.add("tzoffsetfrom", timedelta(0))
    daylight.add("tzoffsetto", timedelta(hours=1))
    daylight.add("dtstart", datetime(1970, 3, 29, 1, 0))
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1SU"})
    standard = TimezoneStandard()
    standard.add("tzname", "GMT")
    standard.add("tzoffsetfrom", timedelta(hours=1))
    standard.add("tzoffsetto", timedelta(0))
    standard.add("dtstart", datetime(1970, 10, 25, 2, 0))
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1SU"})
    zone.add_component(daylight)
    zone.add_component(standard)
    return zone


def new_calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def safe_name(name: str) -> str:
    """A person's name as a CN parameter every client reads back as written: a parameter value
    cannot hold a double quote (RFC 5545), and the RFC 6868 escape icalendar writes for one
    (^') is shown literally by Outlook, so quotes become apostrophes; line breaks become spaces."""
    return " ".join(_CONTROL.sub(" ", name.replace('"', "'")).split())


def exchange_event(
    *,
    uid: str,
    sequence: int,
    method: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str,
    location: str,
    url: str,
    attendees: list[tuple[str, str]],
    stamp: datetime,
    cancelled: bool = False,
    organizer: tuple[str, str] | None = None,
) -> Event:
    """One exchange as a VEVENT. ATTENDEEs only in an invitation (REQUEST/CANCEL); ORGANIZER
    as given (None: the caller adds it, see `ORGANIZER_PLACEHOLDER`)."""
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(LONDON))
    event.add("dtend", ends_at.astimezone(LONDON))
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
    event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if organizer is not None:
        event.add("organizer", _address(*organizer), encode=0)
    if method in INVITATION_METHODS:
        for name, email in attendees:
            attendee = _address(name, email)
            attendee.params["role"] = vText("REQ-PARTICIPANT")
            attendee.params["partstat"] = vText("ACCEPTED")
            attendee.params["rsvp"] = vText("FALSE")
            event.add("attendee", attendee, encode=0)
    return event


def _address(name: str, email: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["cn"] = vText(safe_name(name) or email)
    return address


def exchange_invite(*, method: str, organizer: tuple[str, str] | None = None,
                    **event_fields) -> str:
    """One VEVENT in a VCALENDAR with its VTIMEZONE: an invitation (REQUEST), a cancellation
    (CANCEL) or a copy to import (PUBLISH). Without `organizer`, the ORGANIZER line is the
    placeholder that the message writer replaces with the programme's mailbox."""
    calendar = new_calendar(method)
    calendar.add_component(london_timezone())
    calendar.add_component(exchange_event(method=method, organizer=organizer, **event_fields))
    text = calendar.to_ical().decode()
    if organizer is not None:
        return text
    # The placeholder goes just before END:VEVENT, on a line of its own.
    return text.replace("END:VEVENT\r\n", ORGANIZER_PLACEHOLDER + "\r\nEND:VEVENT\r\n", 1)


def invite_sequence(ics: str | None) -> int | None:
    """The SEQUENCE of the (single) event in a stored invitation, None when it has none."""
    found = _SEQUENCE.search(ics or "")
    return int(found.group(1)) if found else None


def organizer_line(name: str, email: str) -> str:
    """The ORGANIZER content line that replaces the placeholder (folded)."""
    return fold(f'ORGANIZER;CN="{safe_name(name) or email}":mailto:{email}')


def with_organizer(ics: str, name: str, email: str) -> str:
    """Put the real organiser (the programme's mailbox) into a stored invitation."""
    return ics.replace(ORGANIZER_PLACEHOLDER, organizer_line(name, email), 1)


def fold(line: str, limit: int = 75) -> str:
    """RFC 5545 line folding: at most 75 octets a line, never splitting a UTF-8 character."""
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)
