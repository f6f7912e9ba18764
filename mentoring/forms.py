"""Turning validation errors into messages shown beside each field (NHS.UK error pattern)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from pydantic import ValidationError


class CsrfForm(FlaskForm):
    """CSRF protection only; fields are validated by the data models."""


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
