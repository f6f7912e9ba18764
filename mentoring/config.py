"""Typed settings read from the environment (see the README's configuration table)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mentoring.auth.oidc_config import OidcConfigError, OidcProvider, load_providers

ENVIRONMENTS = ("development", "testing", "production")
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# BANK_HOLIDAY_REGION: its name, and the `holidays` package's United Kingdom subdivision.
# Wales shares England's bank holidays, so the package's ENG covers both.
REGIONS: dict[str, tuple[str, str]] = {
    "england-and-wales": ("ENG", "England and Wales"),
    "scotland": ("SCT", "Scotland"),
    "northern-ireland": ("NIR", "Northern Ireland"),
}
DEFAULT_REGION = "england-and-wales"
# Placeholder values people copy from examples; never accepted as a real secret.
KNOWN_DEFAULT_SECRETS = {"", "dev", "changeme", "change-me", "secret", "development", "test"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a safe, working configuration."""


@dataclass(frozen=True)
class Settings:
    environment: str
    secret_key: str
    database_url: str
    smtp_url: str | None
    mail_from: str
    base_url: str
    instance_path: Path
    mail_dir: Path
    # Sessions end after this long without a request, and this long after signing in.
    session_idle_minutes: int = 30
    session_max_hours: int = 8
    # How many reverse proxies in front of the app set X-Forwarded-* (0: trust none).
    trusted_proxies: int = 0
    log_format: str = "json"
    log_level: str = "INFO"
    # Whose bank holidays are closed days: england-and-wales, scotland or northern-ireland.
    bank_holiday_region: str = DEFAULT_REGION
    # How long personal data is kept (mentoring.retention; the privacy notice names them).
    retention_closed_round_months: int = 24
    retention_inactive_account_months: int = 24
    retention_audit_months: int = 72
    retention_sent_email_days: int = 180
    # The programme's monitored mailbox (PROGRAMME_MAILBOX), for invitations' ORGANIZER and
    # emails' Reply-To when the admins' configuration names no programme contact email.
    programme_mailbox: str = ""
    # Identity providers for single sign-on (OIDC_PROVIDERS; docs/single-sign-on.md).
    oidc_providers: tuple[OidcProvider, ...] = ()
    # A TrueType font for PDFs (the reflection log): any script a leader writes in needs one
    # that has its letters. None: no PDF is offered (Word and text still are).
    pdf_font: Path | None = field(default_factory=lambda: installed_pdf_font())
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def _development_secret(instance_path: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts in development."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(
    env: dict[str, str] | None = None, instance_path: Path | None = None
) -> Settings:
    env = dict(os.environ if env is None else env)
    environment = env.get("MENTORING_ENV", "production").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"MENTORING_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
        )
    instance = Path(instance_path or env.get("INSTANCE_PATH") or Path.cwd() / "instance")

    secret = env.get("SECRET_KEY", "")
    if environment == "development" and not secret:
        secret = _development_secret(instance)
    elif secret.strip().lower() in KNOWN_DEFAULT_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            "SECRET_KEY is missing or too weak: set it to a random value of at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'mentoring.db'}"
    base_url = env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    # JSON lines for log collectors in production; readable text while developing.
    log_format = env.get("LOG_FORMAT", "json" if environment == "production" else "text")
    log_format = log_format.strip().lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
    region = env.get("BANK_HOLIDAY_REGION", DEFAULT_REGION).strip().lower() or DEFAULT_REGION
    if region not in REGIONS:
        raise ConfigError(
            f"BANK_HOLIDAY_REGION must be one of {', '.join(REGIONS)}, not {region!r}"
        )
    try:
        oidc_providers = load_providers(env, instance, production=environment == "production")
    except OidcConfigError as exc:
        raise ConfigError(str(exc)) from None
    return Settings(
        environment=environment,
        secret_key=secret,
        database_url=normalise_database_url(database_url),
        smtp_url=env.get("SMTP_URL") or None,
        mail_from=env.get("MAIL_FROM", "Leadership exchange <no-reply@localhost>"),
        base_url=base_url,
        instance_path=instance,
        mail_dir=instance / "mail",
        session_idle_minutes=_whole_number(env, "SESSION_IDLE_MINUTES", 30, minimum=1),
        session_max_hours=_whole_number(env, "SESSION_MAX_HOURS", 8, minimum=1),
        trusted_proxies=_whole_number(env, "TRUSTED_PROXIES", 0, minimum=0),
        log_format=log_format,
        log_level=log_level,
        bank_holiday_region=region,
        retention_closed_round_months=_whole_number(env, "RETENTION_CLOSED_ROUND_MONTHS", 24,
                                                    minimum=1),
        retention_inactive_account_months=_whole_number(
            env, "RETENTION_INACTIVE_ACCOUNT_MONTHS", 24, minimum=1),
        retention_audit_months=_whole_number(env, "RETENTION_AUDIT_MONTHS", 72, minimum=1),
        retention_sent_email_days=_whole_number(env, "RETENTION_SENT_EMAIL_DAYS", 180,
                                                minimum=1),
        oidc_providers=oidc_providers,
        pdf_font=_pdf_font(env),
        programme_mailbox=_mailbox(env, "PROGRAMME_MAILBOX"),
    )


# Where Debian (fonts-dejavu-core, also in the container image), Fedora and Arch put DejaVu Sans.
PDF_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


def _pdf_font(env: dict[str, str]) -> Path | None:
    chosen = env.get("PDF_FONT", "").strip()
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError(f"PDF_FONT must be the path of a TrueType font file, not {chosen!r}")
        return path
    return installed_pdf_font()


def installed_pdf_font() -> Path | None:
    return next((Path(c) for c in PDF_FONT_CANDIDATES if Path(c).is_file()), None)


def _mailbox(env: dict[str, str], name: str) -> str:
    """'Name <address>' or an address; empty when unset."""
    from email.utils import parseaddr

    text = env.get(name, "").strip()
    if text and "@" not in parseaddr(text)[1]:
        raise ConfigError(f"{name} must be an email address, like "
                          f"'Leadership programme <leadership@nhs.net>', not {text!r}")
    return text


def _whole_number(env: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
    return int(text)


def normalise_database_url(url: str) -> str:
    """Accept the postgres:// and postgresql:// forms hosting providers hand out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
