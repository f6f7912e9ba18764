"""Where a visit takes place and what to know on the day; the pair's shared note. No Flask here.

A host gives their visit details once, on their profile (`LeaderProfile.visit_*`). Each exchange
they host takes a copy when it is made and fills any gaps when it is booked, so a booked
exchange says exactly what its visitor was told (in the confirmation email and the calendar
invitation) even if the host's profile changes later; the host changes one exchange's details
from its page, and a booked exchange's calendar invitation is then updated (SEQUENCE + 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import ValidationError
from sqlmodel import Session

from mentoring import audit
from mentoring.exchanges.services import (
    ExchangeView,
    LeaderError,
    NotFound,
    get_exchange,
)
from mentoring.forms import field_errors
from mentoring.models import (
    NOTE_MAX_LENGTH,
    Exchange,
    LeaderProfile,
    User,
    VisitDetails,
)
from mentoring.notifications.plan import visit_details_changed
from mentoring.vocab import ExchangeStatus

# An exchange's visit details and where the host's profile keeps them.
PROFILE_FIELDS: dict[str, str] = {
    "location": "visit_site",
    "address": "visit_address",
    "directions": "visit_directions",
    "meeting": "visit_meeting",
    "bring": "visit_bring",
    "accessibility": "visit_accessibility",
    "phone": "visit_phone",
}
DETAIL_FIELDS = tuple(PROFILE_FIELDS)
REQUIRED = {
    "location": "Enter the name of the site your visitor comes to",
    "address": "Enter the address of the site",
}
# Exchanges whose details the host may still change, and whose shared note the pair may edit.
CHANGEABLE = (ExchangeStatus.HELD, ExchangeStatus.SCHEDULED)
NOTE_STATUSES = (ExchangeStatus.SCHEDULED, ExchangeStatus.COMPLETED)


def host_details(host: LeaderProfile) -> dict[str, str]:
    return {field: getattr(host, profile_field) or "" for field, profile_field
            in PROFILE_FIELDS.items()}


def details_of(exchange: Exchange) -> dict[str, str]:
    return {field: getattr(exchange, field) or "" for field in DETAIL_FIELDS}


def copy_from_host(exchange: Exchange, host: LeaderProfile) -> None:
    """A new exchange takes the host's visit details (those they have given so far)."""
    for field, value in host_details(host).items():
        setattr(exchange, field, value)


def fill_from_host(exchange: Exchange, host: LeaderProfile) -> None:
    """When an exchange is booked: details it lacks come from the host's profile (given since
    the offer), and what the host set for this exchange stays. The site's name and address go
    together: an exchange with no address takes both (an exchange made before visit details
    existed reads "<host>'s workplace")."""
    given = host_details(host)
    if not exchange.address and given["address"]:
        exchange.location, exchange.address = given["location"], given["address"]
    for field in DETAIL_FIELDS:
        if not getattr(exchange, field) and given[field]:
            setattr(exchange, field, given[field])


# --- the host changes one exchange's details ---------------------------------------------


def parse_details(form: Mapping[str, str]) -> dict[str, str]:
    # Text areas send CRLF line ends: kept as LF, as the profile keeps them.
    return {field: (form.get(field) or "").replace("\r\n", "\n").strip()
            for field in DETAIL_FIELDS}


def validate_details(values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(clean values, errors by field), with the same rules as the profile's visit details."""
    errors = {field: message for field, message in REQUIRED.items() if not values.get(field)}
    try:
        clean = VisitDetails.model_validate(dict(values)).model_dump()
    except ValidationError as exc:
        for field, message in field_errors(exc).items():
            errors.setdefault(field, message)
        return dict(values), errors
    return clean, errors


def can_change_details(view: ExchangeView, now: datetime) -> bool:
    return (view.i_am_host and view.exchange.status in CHANGEABLE
            and view.exchange.starts_at > now)


def hosted_exchange(session: Session, me: LeaderProfile, exchange_id: int) -> ExchangeView:
    """An exchange this leader hosts; `NotFound` for anyone else's (its visitor included: the
    details are the host's to give)."""
    view = get_exchange(session, me, exchange_id)
    if not view.i_am_host:
        raise NotFound(f"exchange {exchange_id} is not hosted by leader {me.id}")
    return view


def change_details(session: Session, me: LeaderProfile, user: User, exchange_id: int,
                   values: Mapping[str, str], now: datetime) -> list[str]:
    """Change one exchange's visit details. Returns the names of the fields that changed (none:
    nothing is written). A booked exchange's calendar invitation is updated and both leaders
    are emailed the new details; a held one (an offer) just shows them."""
    view = hosted_exchange(session, me, exchange_id)
    if not can_change_details(view, now):
        raise LeaderError("Only the details of an exchange still to come can be changed")
    clean, errors = validate_details(values)
    if errors:
        raise LeaderError(errors)
    exchange = view.exchange
    changed = [field for field in DETAIL_FIELDS if getattr(exchange, field) != clean[field]]
    if not changed:
        return []
    for field in changed:
        setattr(exchange, field, clean[field])
    exchange.updated_at = now
    session.add(exchange)
    emails = visit_details_changed(session, exchange, now)
    # Which fields, not their text: the details are the pair's, the log is the coordinators'.
    audit.record(session, "exchange.visit_details_changed", actor=user, obj=exchange,
                 detail={"leader_id": me.id, "fields": changed, "emails": emails})
    session.flush()
    return changed


# --- the pair's shared note ----------------------------------------------------------------


def note_version(exchange: Exchange) -> str:
    """What the note form carries back, so a save over the partner's newer text is noticed."""
    return exchange.note_updated_at.isoformat() if exchange.note_updated_at else ""


def can_edit_note(view: ExchangeView) -> bool:
    """Both leaders of the pair, once the exchange is booked (before that, nothing they write
    to each other goes through the service: their contact details are not shared yet)."""
    return view.exchange.status in NOTE_STATUSES


def save_note(session: Session, me: LeaderProfile, user: User, exchange_id: int, text: str,
              seen_version: str, now: datetime) -> bool:
    """Save the shared note. Returns False when it is unchanged. Refuses (keeping the text for
    the form) to overwrite a version the leader has not seen."""
    view = get_exchange(session, me, exchange_id)
    if not can_edit_note(view):
        raise LeaderError("You can write a shared note once the exchange is booked")
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise LeaderError({"note": f"Enter no more than {NOTE_MAX_LENGTH} characters"})
    exchange = view.exchange
    if text == exchange.note:
        return False
    if (seen_version or "") != note_version(exchange):
        raise LeaderError({"note": f"{view.other.name} changed the note while you were writing. "
                                   "Their version is above: add what you wrote and save again"})
    exchange.note = text
    exchange.note_updated_at = now
    exchange.note_updated_by_id = me.id
    session.add(exchange)
    # Who changed it and when, not the text: the note is the pair's own.
    audit.record(session, "exchange.note_changed", actor=user, obj=exchange,
                 detail={"leader_id": me.id, "length": len(text)})
    session.flush()
    return True
