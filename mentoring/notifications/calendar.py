"""iCalendar invitations (RFC 5545 / iTIP) for exchanges: stable UID, rising SEQUENCE.

Times are written in Europe/London with its VTIMEZONE, so Outlook and Google Calendar show the
wall-clock time people agreed, on either side of a clock change.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

LONDON = ZoneInfo("Europe/London")
PRODID = "-//NHS South East London//Leadership exchange//EN"
# The organiser is the service's sender, known only to the transport (MAIL_FROM): planners write
# this placeholder line and the message builder swaps it (see `with_organizer`).
ORGANIZER_PLACEHOLDER = "ORGANIZER:mailto:organizer@invalid"


def exchange_invite(
    *,
    uid: str,
    sequence: int,
    method: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str,
    location: str,
    attendees: list[tuple[str, str]],
    stamp: datetime,
    cancelled: bool = False,
) -> str:
    """One VEVENT in a VCALENDAR with METHOD REQUEST (new or changed) or CANCEL."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    start = starts_at.astimezone(LONDON)
    end = ends_at.astimezone(LONDON)
    calendar.add_component(
        Timezone.from_tzid(
            "Europe/London",
            first_date=date(start.year - 1, 1, 1),
            last_date=date(end.year + 1, 12, 31),
        )
    )
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(ZoneInfo("UTC")))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    for name, email in attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    text = calendar.to_ical().decode()
    # The placeholder goes just before END:VEVENT, on a line of its own.
    return text.replace("END:VEVENT\r\n", ORGANIZER_PLACEHOLDER + "\r\nEND:VEVENT\r\n", 1)


def with_organizer(ics: str, name: str, email: str) -> str:
    """Put the real organiser (the service's sender address) into a stored invitation."""
    safe_name = name.replace('"', "'")
    line = fold(f'ORGANIZER;CN="{safe_name}":mailto:{email}')
    return ics.replace(ORGANIZER_PLACEHOLDER, line, 1)


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
