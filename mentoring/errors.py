"""Error pages in the service's own layout."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError

from mentoring import layout, logs
from mentoring.db import database_busy, forget_session

ERROR_PAGES = {
    400: "There is a problem with your request",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "That action is not allowed here",
    413: "The file you sent is too large",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is busy",
}
# Seconds a client may wait before trying again after a 503 (another writer held the lock).
RETRY_AFTER_SECONDS = 5


def init_app(app: Flask) -> None:
    for code in ERROR_PAGES:
        app.register_error_handler(code, _handler(code))
    app.register_error_handler(CSRFError, _csrf_error)


def _handler(code: int):
    def handle(error):
        if code >= 500:
            return _server_error(code, error)
        if code == 403:
            logs.security_event("access.refused", "Access refused")
        return render_template("errors/error.html", code=code, title=ERROR_PAGES[code]), code

    return handle


def _server_error(code: int, error):
    """The 500 and 503 pages. They must never fail themselves: the error may have left the
    request's database session rolled back mid-flush (its objects, the signed-in user among
    them, expired, so reading one queries again and fails again) or waiting on a lock, so the
    page is drawn without the database at all."""
    forget_session()
    # Who is signed in came from the database: for the rest of this request (the page, the
    # after-request hooks) nobody is. Their session is untouched: they stay signed in.
    current_app.login_manager._update_request_context_with_user()  # type: ignore[attr-defined]
    layout.without_the_database()
    if code == 500 and database_busy(getattr(error, "original_exception", None)):
        code = 503  # another writer held the lock longer than we wait: busy, not broken
    headers = {"Cache-Control": "no-store"}
    if code == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    page = render_template("errors/error.html", code=code, title=ERROR_PAGES[code])
    return page, code, headers


def _csrf_error(error):
    logs.security_event("csrf.refused", f"Form refused: {error.description}")
    return (
        render_template(
            "errors/error.html",
            code=400,
            title="Your form expired",
            detail="For your security, forms expire. Go back, refresh the page and try again.",
        ),
        400,
    )
