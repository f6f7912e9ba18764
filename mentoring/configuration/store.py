"""Reading the configuration: every vocabulary term and every piece of programme text in one
statement, once per transaction.

Pages need both (the header names the service; the pages label people's borough, sector and
profession), so they come together: one statement per request however many labels a page shows
(the review page of 5,000 leaders reads them once), kept in `session.info` and forgotten when the
transaction ends (another process may have changed them) or when this one changes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from mentoring.configuration.vocabularies import Term, Vocabularies
from mentoring.models.configuration import ProgrammeText, VocabularyTerm

SESSION_KEY = "mentoring.configuration"
TEXT = "text"  # the `source` of a programme-text row in the combined statement


@dataclass(frozen=True)
class Configuration:
    vocabularies: Vocabularies
    texts: dict[str, str]


def _statement() -> sa.CompoundSelect:
    terms = sa.select(
        sa.literal("term").label("source"), VocabularyTerm.kind, VocabularyTerm.key,
        VocabularyTerm.label, VocabularyTerm.phrase, VocabularyTerm.priority,
        VocabularyTerm.retired_at, VocabularyTerm.position, VocabularyTerm.id)
    texts = sa.select(
        sa.literal(TEXT), sa.literal(""), ProgrammeText.key, ProgrammeText.value,
        sa.literal(""), sa.false(), sa.cast(sa.null(), UTCDateTime()), sa.literal(0),
        sa.literal(0))
    return sa.union_all(terms, texts).order_by(
        sa.literal_column("source"), sa.literal_column("kind"), sa.literal_column("position"),
        sa.literal_column("id"))


def load(session: Session) -> Configuration:
    terms: list[Term] = []
    texts: dict[str, str] = {}
    for source, kind, key, label, phrase, priority, retired_at, _pos, _id in session.execute(
            _statement()):
        if source == TEXT:
            texts[key] = label
        else:
            terms.append(Term(kind, key, label, phrase, bool(priority), retired_at))
    return Configuration(Vocabularies(tuple(terms)), texts)


def of(session: Session) -> Configuration:
    cached = session.info.get(SESSION_KEY)
    if cached is None:
        cached = session.info[SESSION_KEY] = load(session)
    return cached


def forget(session: Session) -> None:
    session.info.pop(SESSION_KEY, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(SESSION_KEY, None)


class ProcessCache:
    """The configuration as this process last read it, for showing pages: re-read once it is
    `seconds` old, and at once after this process changes it. So a page costs no statement for
    the service name and labels, and a change made in another process (another web worker, the
    `mentoring config import` command) shows within `seconds`. What validates a write reads the
    transaction's own copy (`of`), which is never stale."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._held: tuple[float, Configuration] | None = None

    def get(self, session: Session) -> Configuration:
        import time

        held, now = self._held, time.monotonic()
        if held is None or now - held[0] >= self.seconds:
            held = self._held = (now, of(session))
        return held[1]

    def last_read(self) -> Configuration | None:
        """What this process last read, however old, without a statement (None if nothing):
        for pages drawn after the database failed."""
        return self._held[1] if self._held is not None else None

    def clear(self) -> None:
        self._held = None
