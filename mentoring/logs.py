"""Logging: one JSON object per line in production, a request id on every record of a request,
and one access-log line per request.

`init_app` only adds the request hooks; it never touches the process's logging setup, so building
an app (in tests, say) has no global side effects. `configure` installs the handler on the root
logger and is called once per process by the entry points (`mentoring.wsgi`, the CLI).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import IO, Any

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it is a plain token (a proxy's UUID, say): anything else could
# smuggle text into log lines, so we make our own.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
ACCESS_LOGGER = "mentoring.access"
# Refused access and forged or expired forms: what a monitoring system alerts on (ASVS 16.3).
SECURITY_LOGGER = "mentoring.security"
# Fields taken from the request (or the access log's `extra`) when a record carries them.
REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id", "event")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Endpoints not worth an access line each: load balancers poll the health checks every few
# seconds, and the assets are fetched with every page.
QUIET_ENDPOINTS = {"static", "main.nhsuk_assets", "main.healthz", "main.readyz"}


def init_app(app: Flask) -> None:
    # Registered first, so every later hook and the view log with the request id.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)
    g.request_started = time.perf_counter()


def _finish_request(response):
    request_id = g.get("request_id")
    if request_id is None:  # a request that failed before our first hook
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    if request.endpoint not in QUIET_ENDPOINTS or response.status_code >= 500:
        duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
        logging.getLogger(ACCESS_LOGGER).info(
            "%s %s %s", request.method, loggable_path(), response.status_code,
            extra={"status": response.status_code, "duration_ms": duration_ms},
        )
    return response


def loggable_path() -> str:
    """The request's path, with secrets left out: for routes that carry a token in the path
    (sign-in links, password resets, invitations, calendar feeds) the route's pattern instead.
    Query strings are never logged (searches hold email addresses)."""
    rule = request.url_rule
    if rule is not None and any("token" in name for name in rule.arguments):
        return rule.rule
    return request.path


def set_user(user_id: int | None) -> None:
    """Called once the signed-in user is known, so log records can carry their id (never their
    email)."""
    g.log_user_id = user_id


def security_event(event: str, message: str) -> None:
    """A warning on the security logger; the request filter adds who, where and which request.
    `message` must not carry what the user typed (it may be a password or a token)."""
    logging.getLogger(SECURITY_LOGGER).warning(message, extra={"event": event})


class RequestContextFilter(logging.Filter):
    """Adds the request's id, method, path and user id to every record made during a request
    (and empty values outside one, so formats can always name them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "")
            record.method = request.method
            record.path = loggable_path()
            record.user_id = g.get("log_user_id")
        else:
            for name in ("request_id", "method", "path"):
                if not hasattr(record, name):
                    setattr(record, name, "")
            if not hasattr(record, "user_id"):
                record.user_id = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the request
    fields that apply."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class MentoringHandler(logging.StreamHandler):
    """The handler `configure` installs (configuring again replaces it rather than adding a
    second). Without a stream it writes to whatever sys.stderr is at the time, so a replaced
    stderr (a test runner's capture, say) is followed rather than written to after it closes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        logging.Handler.__init__(self)
        self._stream = stream

    @property
    def stream(self) -> IO[str]:  # type: ignore[override]
        return self._stream if self._stream is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        self._stream = value


def configure(log_format: str = "json", level: str = "INFO",
              stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger's records to stderr (or `stream`) as JSON lines or plain text."""
    handler = MentoringHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else
                         logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, MentoringHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Our access log replaces the development server's own request lines.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return handler

