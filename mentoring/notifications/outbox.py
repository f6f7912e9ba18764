"""The outbox: every email is a row, written in the transaction of the change that causes it.

`enqueue` renders the bodies from `templates/email/<template>.txt` (and `.html` when present)
with a plain Jinja environment (services never import Flask) and inserts the row with
ON CONFLICT DO NOTHING on its idempotency key, so writing the same email twice is harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from functools import cache
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mentoring.models import Notification, ProgrammeRound, utcnow
from mentoring.resources import project_folder
from mentoring.vocab import NotificationStatus

EMAIL_TEMPLATES_DIR = project_folder("templates") / "email"
KEY_MAX_LENGTH = 255
NOTIFICATION = Notification.__table__
DEFAULT_BASE_URL = "http://127.0.0.1:5000"


@dataclass
class _Links:
    """Where emails point: the public address (`BASE_URL`), set once by `create_app` for the
    web app, the worker and the CLI alike, so services need no request to write a link."""

    base_url: str = DEFAULT_BASE_URL
    # PROGRAMME_MAILBOX: the programme's monitored mailbox when its configuration names none.
    programme_mailbox: str = ""


_links = _Links()


def set_base_url(base_url: str) -> None:
    _links.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")


def set_programme_mailbox(mailbox: str) -> None:
    _links.programme_mailbox = (mailbox or "").strip()


def absolute(path: str) -> str:
    """An absolute link to a page of the app, for an email."""
    return f"{_links.base_url}/{path.lstrip('/')}"


@dataclass(frozen=True)
class Contact:
    """Whom a reader writes to: the round's programme contact."""

    name: str
    email: str

    def __str__(self) -> str:
        if self.name and self.email:
            return f"{self.name} ({self.email})"
        return self.name or self.email


def programme_mailbox(session: Session) -> Contact | None:
    """The programme's monitored mailbox: the ORGANIZER of every emailed invitation (so replies
    and "decline" answers reach people who read them, not no-reply) and the Reply-To of every
    email. The programme contact from the admins' configuration when set, else the
    PROGRAMME_MAILBOX setting ('Name <address>' or an address), else None (MAIL_FROM is used)."""
    from mentoring.configuration import programme  # read once per transaction, with the terms

    texts = programme.of(session)
    email = (texts.get("contact_email") or "").strip()
    if email:
        name = (texts.get("contact_name") or texts.get("service_name") or "").strip()
        return Contact(name, email)
    if _links.programme_mailbox:
        name, email = parseaddr(_links.programme_mailbox)
        if email:
            return Contact(name, email)
    return None


def _area(session: Session) -> str:
    from mentoring.configuration import programme

    return (programme.of(session).get("area") or "").strip() or "the area"


def round_contact(session: Session, round_id: int | None) -> Contact | None:
    """The round's contact; for an email about no round, the newest round's that names one.
    Remembered for the transaction (an approval writes thousands of emails of one round)."""
    cache = session.info.setdefault("mentoring.round_contacts", {})
    if round_id not in cache:
        cache[round_id] = _round_contact(session, round_id)
    return cache[round_id]


def _round_contact(session: Session, round_id: int | None) -> Contact | None:
    rounds = sa.select(ProgrammeRound.contact_name, ProgrammeRound.contact_email).where(
        ProgrammeRound.contact_email != "")
    if round_id is not None:
        row = session.execute(rounds.where(ProgrammeRound.id == round_id)).first()
        if row is not None:
            return Contact(*row)
    row = session.execute(rounds.order_by(ProgrammeRound.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    return Contact(*row) if row is not None else None


@cache
def _environments() -> tuple[Environment, Environment]:
    """(text, html): the text one does not escape, the HTML one does."""
    loader = FileSystemLoader(str(EMAIL_TEMPLATES_DIR))
    options = {"loader": loader, "undefined": StrictUndefined, "keep_trailing_newline": True,
               "trim_blocks": True, "lstrip_blocks": True}
    return Environment(autoescape=False, **options), Environment(autoescape=True, **options)  # noqa: S701


def render(template: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The text body and the HTML body ("" when the template has no .html) of an email."""
    text_env, html_env = _environments()
    context = {"replies_read": False, **context}  # the footer's: see `enqueue`
    text = text_env.get_template(f"{template}.txt").render(context)
    try:
        html = html_env.get_template(f"{template}.html").render(context)
    except TemplateNotFound:
        html = ""
    return text, html


def fit_key(key: str) -> str:
    """Idempotency keys fit the column: an over-long tail is replaced by its hash."""
    if len(key) <= KEY_MAX_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key[: KEY_MAX_LENGTH - len(digest) - 1] + "#" + digest


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(NOTIFICATION)
    if dialect == "sqlite":
        return sqlite.insert(NOTIFICATION)
    raise NotImplementedError(f"the outbox does not support {dialect}")


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    recipient_email: str,
    subject: str,
    template: str,
    context: Mapping[str, Any],
    due_at: datetime | None = None,
    recipient_user_id: int | None = None,
    round_id: int | None = None,
    exchange_id: int | None = None,
    ics: str | None = None,
    ics_method: str | None = None,
) -> bool:
    """Add one email to the outbox unless a row with this key exists. True when it was new.

    Call it inside the transaction that makes the change; the caller commits.
    """
    if due_at is not None and due_at.tzinfo is None:
        raise ValueError("due_at must be an aware datetime")
    context = {"base_url": _links.base_url, "link": absolute,
               "contact": round_contact(session, round_id),
               # Replies go to the programme's mailbox (Reply-To) when there is one.
               "replies_read": programme_mailbox(session) is not None,
               # The system the programme serves, as the admins' configuration names it.
               "area": _area(session), **context}
    body_text, body_html = render(template, context)
    now = utcnow()
    session.flush()  # rows the notification points at must exist first
    statement = (
        _insert(session)
        .values(
            idempotency_key=fit_key(key),
            kind=kind,
            recipient_email=recipient_email,
            recipient_user_id=recipient_user_id,
            round_id=round_id,
            exchange_id=exchange_id,
            subject=subject[:255],
            body_text=body_text,
            body_html=body_html,
            ics=ics,
            ics_method=ics_method,
            due_at=due_at or now,
            status=NotificationStatus.PENDING,
            attempts=0,
            last_error="",
            lease_until=None,
            message_id="",
            created_at=now,
            sent_at=None,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(NOTIFICATION.c.id)
    )
    return session.execute(statement).first() is not None


def existing_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of these idempotency keys are already in the outbox (to skip rendering them)."""
    fitted = [fit_key(key) for key in keys]
    if not fitted:
        return set()
    rows = session.execute(
        sa.select(NOTIFICATION.c.idempotency_key).where(
            NOTIFICATION.c.idempotency_key.in_(fitted)
        )
    )
    return {row[0] for row in rows}
