"""How an outbox row leaves the building: SMTP (per SMTP_URL) or .eml files in development.

A transport is used for one batch: `send` many messages over one connection, then `close`.
It raises `SendError`; `connection=True` means the server went away (stop the batch, retry
later), `permanent=True` means the server refused this message for good (a 5xx reply).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from mentoring.notifications.calendar import with_organizer

log = logging.getLogger(__name__)


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, connection: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.connection = connection


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class OutgoingEmail:
    """What the dispatcher hands to `build_message`: one outbox row's content."""

    id: int
    idempotency_key: str
    recipient_email: str
    subject: str
    body_text: str
    body_html: str
    ics: str | None
    ics_method: str | None


def message_id_for(email: OutgoingEmail, mail_from: str) -> str:
    """Stable per row: a resend after a crash carries the same Message-ID (clients dedupe)."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(email.idempotency_key.encode()).hexdigest()[:24]
    return f"<notification-{email.id}.{digest}@{domain}>"


def build_message(email: OutgoingEmail, mail_from: str) -> EmailMessage:
    """text/plain and text/html alternatives, plus the invitation as text/calendar; method=…"""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = email.recipient_email
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id_for(email, mail_from)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    if email.ics:
        name, address = parseaddr(mail_from)
        ics = with_organizer(email.ics, name or "Leadership exchange", address or mail_from)
        method = (email.ics_method or "REQUEST").upper()
        message.add_alternative(ics, subtype="calendar", params={"method": method})
    return message


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    mode: str  # "plain", "starttls" or "ssl"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


def parse_smtp_url(url: str) -> SmtpConfig:
    """smtp://[user:pass@]host[:25], smtp+starttls://…[:587], smtps://…[:465]."""
    parts = urlsplit(url)
    modes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}
    if parts.scheme not in modes or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://host:25, smtp+starttls://user:pass@host:587"
                         " or smtps://user:pass@host:465")
    mode, default_port = modes[parts.scheme]
    return SmtpConfig(
        host=parts.hostname,
        port=parts.port or default_port,
        mode=mode,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _is_connection_failure(code: int) -> bool:
    """421: the server is closing the connection (shutting down, overloaded)."""
    return code == 421


class SmtpTransport:
    """One SMTP connection per batch, opened on the first message and reused."""

    def __init__(self, config: SmtpConfig | str, ssl_context: ssl.SSLContext | None = None):
        self.config = parse_smtp_url(config) if isinstance(config, str) else config
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        smtp: smtplib.SMTP
        if config.mode == "ssl":
            smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                    context=self.ssl_context)
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            smtp.ehlo()
            if config.mode == "starttls":
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if config.username:
                smtp.login(config.username, config.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            self._reset()
            raise SendError(f"recipient refused: {exc.recipients}",
                            permanent=all(code >= 500 for code in codes)) from exc
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise SendError(f"SMTP authentication failed: {exc.smtp_code} {exc.smtp_error!r}",
                            connection=True) from exc
        except smtplib.SMTPResponseException as exc:
            if _is_connection_failure(exc.smtp_code):
                self.close()
                raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                                connection=True) from exc
            self._reset()
            raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                            permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(f"{type(exc).__name__}: {exc}", connection=True) from exc
        if refused:
            raise SendError(f"recipient refused: {refused}", permanent=True)

    def _reset(self) -> None:
        """After a refused message the connection stays usable: RSET and carry on."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


class FileTransport:
    """Development: each message becomes an .eml file under `mail_dir`, and a log line."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = Path(mail_dir)

    def send(self, message: EmailMessage) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("/", "_").replace("@", "_at_")
        path = self.mail_dir / f"{name}.eml"
        try:
            path.write_bytes(bytes(message))
        except OSError as exc:
            raise SendError(f"cannot write {path}: {exc}", connection=True) from exc
        log.info("mail: %s to %s written to %s", message["Subject"], message["To"], path)

    def close(self) -> None:
        pass


def transport_for(smtp_url: str | None, mail_dir: Path) -> Transport:
    return SmtpTransport(smtp_url) if smtp_url else FileTransport(mail_dir)
