"""What an integrated care system configures for itself: its vocabularies (places, sectors,
professions, topics) and its programme text (service name, contact, privacy notice).

One `vocabulary_term` table serves every kind rather than a table per kind: the kinds have the
same shape (a stable key people's records store, a label people read, an order, a retirement
date), the admin pages, the export and the validation treat them alike, and one query loads them
all for a request. Two columns serve one kind each and are blank elsewhere: `phrase` (a sector's
words in a match's reasons, "someone in a community pharmacy") and `priority` (a profession that
is one of a new round's default priority groups).
"""

# No `from __future__ import annotations`: SQLModel reads the annotations at runtime.

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import in_list, utcnow

VOCABULARY_KINDS = ("place", "sector", "profession", "topic")


class VocabularyTerm(SQLModel, table=True):
    __tablename__ = "vocabulary_term"
    __table_args__ = (
        sa.UniqueConstraint("kind", "key"),
        sa.CheckConstraint(in_list("kind", VOCABULARY_KINDS), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    # Stored in people's records; never changes once made, and never deleted (only retired).
    key: str = Field(max_length=40)
    label: str = Field(max_length=160)
    phrase: str = Field(default="", max_length=160)
    position: int = 0
    priority: bool = False
    # Retired terms stay readable in old records but are no longer offered.
    retired_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class ProgrammeText(SQLModel, table=True):
    """One piece of programme text (`mentoring.configuration.programme.FIELDS` lists them)."""

    __tablename__ = "programme_text"

    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(default="", max_length=5000)
    updated_at: datetime = Field(default_factory=utcnow)
