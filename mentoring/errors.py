"""Error pages in the service's own layout."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from mentoring import logs

ERROR_PAGES = {
    400: "There is a problem with your request",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "That action is not allowed here",
    413: "The file you sent is too large",
    500: "Sorry, there is a problem with the service",
}


def init_app(app: Flask) -> None:
    for code in ERROR_PAGES:
        app.register_error_handler(code, _handler(code))
    app.register_error_handler(CSRFError, _csrf_error)


def _handler(code: int):
    def handle(_error):
        if code == 403:
            logs.security_event("access.refused", "Access refused")
        return render_template("errors/error.html", code=code, title=ERROR_PAGES[code]), code

    return handle


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
