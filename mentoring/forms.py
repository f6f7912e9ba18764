"""Turning validation errors into messages shown beside each field (NHS.UK error pattern)."""

from __future__ import annotations

from flask import render_template, request
from flask_wtf import FlaskForm
from pydantic import ValidationError
from werkzeug.routing import IntegerConverter

from mentoring.errors import ERROR_PAGES
from mentoring.text import has_control_characters


class CsrfForm(FlaskForm):
    """CSRF protection only; fields are validated by the data models."""


# The largest id an integer primary key holds (PostgreSQL's `integer`). Anything larger names
# no row, and SQLite raises OverflowError past 64 bits rather than finding nothing.
LARGEST_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: a number larger than any row's id does not match the route (a
    404) rather than reaching the database, where SQLite overflows past 64 bits (a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def row_id(value: str | None) -> int | None:
    """A posted row id as a number, or None when it cannot be one. `str.isdigit` is not enough:
    it accepts '²', which int() refuses, and numbers of any length."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(LARGEST_ID)):
        return None
    number = int(value)
    return number if number <= LARGEST_ID else None


def refuse_control_characters():
    """Before every request: a NUL or other control character in a form field, a query
    parameter or a file name is refused with a 400 page that says so. PostgreSQL cannot store
    NUL in text (the insert fails with a server error), nobody types one, and dropping it
    silently would store something other than what was sent. (Uploaded files' contents are
    checked by their own readers.)"""
    sent = [*request.args.items(multi=True), *request.form.items(multi=True),
            *((name, upload.filename or "") for name, upload in request.files.items(multi=True))]
    if any("\x00" in name or "\x00" in value for name, value in sent):
        problem = ("What you sent contains a NUL character (a zero byte), which cannot be "
                   "stored. Remove it, or type the text again rather than pasting it, and try "
                   "again.")
    elif any(has_control_characters(name) or has_control_characters(value)
             for name, value in sent):
        # Tabs and line breaks pass (one-line answers refuse line breaks beside the field);
        # other control characters are never typed and could disguise what an email says.
        problem = ("What you sent contains a control character (an invisible character such "
                   "as an escape), which we do not store. Type the text again rather than "
                   "pasting it, and try again.")
    else:
        return None
    return render_template("errors/error.html", code=400, title=ERROR_PAGES[400],
                           problems=[{"text": problem}]), 400


def field_errors(error: ValidationError) -> dict[str, str]:
    """The first message for each field; model-level errors go under the empty key."""
    messages: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        message = item["msg"].removeprefix("Value error, ")
        messages.setdefault(field, _plain(message, item))
    return messages


def _plain(message: str, item: dict) -> str:
    kind = item.get("type", "")
    ctx = item.get("ctx") or {}
    if kind == "missing":
        return "Enter a value"
    if kind == "string_too_short":
        return "Enter a value" if ctx.get("min_length") == 1 else (
            f"Enter at least {ctx.get('min_length')} characters"
        )
    if kind == "string_too_long":
        return f"Enter no more than {ctx.get('max_length')} characters"
    if kind in {"int_parsing", "float_parsing"}:
        return "Enter a number"
    if kind == "greater_than_equal":
        return f"Enter a number of at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"Enter a number no more than {ctx.get('le')}"
    if kind == "value_error" and "email" in message.lower():
        return "Enter an email address in the correct format, like name@nhs.net"
    return message
