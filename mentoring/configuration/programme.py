"""The programme's own words: its service name, the organisation its footer names, its contact,
and its privacy notice, section by section (UK GDPR Articles 13 and 14 say what a notice must
tell people). Kept in `programme_text`, one row per field, loaded once per unit of work like the
vocabularies. In production a required field left empty makes `/readyz` say "not ready".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from mentoring.models.configuration import ProgrammeText


@dataclass(frozen=True)
class TextField:
    key: str
    label: str  # the admin form's label and, for the privacy notice, the page's heading
    hint: str = ""
    required: bool = True
    multiline: bool = True
    max_length: int = 5000


FIELDS: tuple[TextField, ...] = (
    TextField("service_name", "Service name", "Shown in the header and every page's title.",
              multiline=False, max_length=80),
    TextField("footer_organisation", "Organisation named in the footer",
              "Who runs the service, as the footer of every page names it.", multiline=False,
              max_length=160),
    TextField("area", "The area the system covers",
              "As pages say it after \"anywhere in\" or \"across\", like south east London.",
              multiline=False, max_length=80),
    TextField("contact_name", "Programme contact name",
              "Whom leaders write to when a round names no contact of its own.",
              multiline=False, max_length=120),
    TextField("contact_email", "Programme contact email address", multiline=False,
              max_length=254),
    TextField("controller", "Who we are (the data controller)",
              "The organisation that decides how the data is used, and its address."),
    TextField("purposes", "Why we use your information"),
    TextField("lawful_basis", "Our lawful basis",
              "Usually UK GDPR Article 6(1)(e): a task in the public interest."),
    TextField("special_category", "Special category data",
              "Say that none is collected, or name the Article 9 condition and the Data "
              "Protection Act 2018 Schedule 1 condition relied on."),
    TextField("collected", "What we collect and where it comes from"),
    TextField("recipients", "Who we share it with",
              "Other leaders, coordinators, and processors such as the email relay."),
    TextField("retention", "How long we keep it"),
    TextField("rights", "Your rights"),
    TextField("dpo_contact", "Our Data Protection Officer",
              "How to contact the Data Protection Officer."),
    TextField("complaints", "Complaints",
              "The right to complain to the Information Commissioner's Office (ICO)."),
)
FIELD_BY_KEY = {field.key: field for field in FIELDS}
PROGRAMME_KEYS = ("service_name", "footer_organisation", "area", "contact_name",
                  "contact_email")
PRIVACY_SECTIONS = tuple(field for field in FIELDS if field.key not in PROGRAMME_KEYS)
# What the pages say until the database has its programme text (no migration run yet).
FALLBACK_SERVICE_NAME = "Leadership exchange"


def load(session: Session) -> dict[str, str]:
    rows = session.execute(sa.select(ProgrammeText.key, ProgrammeText.value)).all()
    return {key: value for key, value in rows}


def of(session: Session) -> dict[str, str]:
    """The programme text, read once per transaction (with the vocabularies)."""
    from mentoring.configuration import store

    return store.of(session).texts


def forget(session: Session) -> None:
    from mentoring.configuration import store

    store.forget(session)


def missing(texts: Mapping[str, str], retention_from_settings: bool = False) -> list[str]:
    """The labels of required fields that are empty (what /readyz names)."""
    return [field.label for field in FIELDS
            if field.required and not (texts.get(field.key) or "").strip()
            and not (field.key == "retention" and retention_from_settings)]


def validate(values: Mapping[str, str]) -> dict[str, str]:
    """Errors per field (field key -> message) for the admin form or an imported file."""
    from email_validator import EmailNotValidError, validate_email

    errors: dict[str, str] = {}
    for field in FIELDS:
        value = values.get(field.key, "")
        if not isinstance(value, str):
            errors[field.key] = f"{field.label} must be text"
            continue
        if field.required and not value.strip():
            errors[field.key] = f"Enter the {field.label[:1].lower()}{field.label[1:]}"
        elif len(value) > field.max_length:
            errors[field.key] = (f"{field.label} must be {field.max_length} characters "
                                 "or fewer")
        elif not field.multiline and ("\n" in value or "\r" in value):
            errors[field.key] = f"{field.label} must be on one line"
    email = (values.get("contact_email") or "").strip()
    if "contact_email" not in errors and email:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            errors["contact_email"] = ("Enter an email address in the correct format, like "
                                       "name@nhs.net")
    return errors


def clean(values: Mapping[str, str]) -> dict[str, str]:
    """Each field's value as stored: surrounding space trimmed, CRLF as LF."""
    return {field.key: (values.get(field.key) or "").replace("\r\n", "\n").strip()
            for field in FIELDS}


def save(session: Session, values: Mapping[str, str]) -> list[str]:
    """Store every field; returns the keys that changed. The caller audits and commits."""
    from mentoring.models import utcnow

    stored = {row.key: row for row in session.execute(sa.select(ProgrammeText)).scalars()}
    changed: list[str] = []
    for key, value in clean(values).items():
        row = stored.get(key)
        if row is None:
            session.add(ProgrammeText(key=key, value=value))
            changed.append(key)
        elif row.value != value:
            row.value, row.updated_at = value, utcnow()
            session.add(row)
            changed.append(key)
    session.flush()
    forget(session)
    return changed
