"""Shared model plumbing. Imported before any table class so constraint names are stable."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import SQLModel

# Named constraints make migrations portable (SQLite batch mode needs names to alter them).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Aware UTC: timestamp columns (SQLModel's UTCDateTime) take aware values and return UTC."""
    return datetime.now(UTC)


def in_list(column: str, values: tuple[str, ...] | list[str]) -> sa.TextClause:
    """SQL text `column IN ('a', 'b')` for check constraints and partial indexes (fixed values)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return sa.text(f"{column} IN ({quoted})")


def enum_check(column: str, enum: type, name: str | None = None) -> sa.CheckConstraint:
    values = [member.value for member in enum]
    return sa.CheckConstraint(in_list(column, values), name=name or column)

