"""Template filters: vocabulary labels and dates in London time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup

from mentoring import vocab
from mentoring.configuration.vocabularies import current as vocabularies
from mentoring.models.people import tel_uri

LONDON = ZoneInfo("Europe/London")


def to_london(value: datetime) -> datetime:
    """Stored timestamps are UTC; people read London time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LONDON)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_london(value)
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = to_london(value)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def day_and_time(value: datetime) -> str:
    """'9am on Wednesday 6 March 2030' in London time."""
    local = to_london(value)
    clock = f"{local:%I:%M%p}".lstrip("0").lower().replace(":00", "")
    return f"{clock} on {local:%A} {local.day} {local:%B %Y}"


def describe_slot(slot_id: str) -> str:
    """'2027-01-05-am' → 'Tuesday 5 January morning' (the optimiser's slot ids); '' for text
    that is no slot id (a forged form's choice, which a page shows no label for)."""
    from mentoring.matching.problem import parse_slot
    from mentoring.slots import describe

    try:
        return describe(*parse_slot(slot_id))
    except ValueError:
        return ""


def stage_tag(stage: str | None) -> Markup:
    """A match's stage as an NHS.UK tag, named and coloured the same on every page."""
    if not stage:
        return Markup("")
    return Markup('<strong class="nhsuk-tag nhsuk-tag--{}">{}</strong>').format(
        vocab.MATCH_STAGE_COLOURS[stage], vocab.MATCH_STAGE_LABELS[stage])


def lines(text: str | None) -> Markup:
    """Text someone typed on several lines (an address), escaped, its line breaks kept."""
    parts = [part.strip() for part in (text or "").replace("\r", "").split("\n")]
    return Markup("<br>").join(part for part in parts if part)


def programme_contact(round_id: int | None = None):
    """Whom a leader writes to about a round (or, with no round, the newest round's contact;
    with no round naming one, the programme's contact)."""
    from mentoring.db import get_session
    from mentoring.layout import programme_text
    from mentoring.notifications.outbox import Contact, round_contact

    contact = round_contact(get_session(), round_id)
    if contact is None:
        texts = programme_text()
        if texts.get("contact_email") or texts.get("contact_name"):
            contact = Contact(texts.get("contact_name", ""), texts.get("contact_email", ""))
    return contact


def _labeller(kind: str):
    """A template filter from a key to its label, in the vocabularies of this request."""
    def label(key: str | None) -> str:
        return vocabularies().label(kind, key)
    return label


def init_app(app: Flask) -> None:
    # Figures print alike on every page that shows them (mentoring.insights.figures).
    from mentoring.insights.charts import number, percent

    app.add_template_filter(number, "figure")
    app.add_template_filter(percent, "percent")
    app.add_template_global(programme_contact, "programme_contact")
    app.add_template_filter(stage_tag, "stage_tag")
    app.add_template_global(vocab.MATCH_STAGE_LABELS, "MATCH_STAGE_LABELS")
    app.add_template_global(vocab.EXCHANGE_STATUS_LABELS, "EXCHANGE_STATUS_LABELS")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(lines, "lines")
    app.add_template_filter(day_and_time, "day_and_time")
    app.add_template_filter(tel_uri, "tel")
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(describe_slot, "slot")
    app.add_template_filter(_labeller("place"), "borough")
    app.add_template_filter(_labeller("sector"), "sector")
    app.add_template_filter(_labeller("profession"), "profession")
    app.add_template_filter(_labeller("topic"), "topic")
