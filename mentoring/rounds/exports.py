"""CSV exports of a round for coordinators: participants, matches and exchanges. No Flask here.

Every file opens cleanly in Excel: UTF-8 with a byte order mark, CRLF line endings, a fixed
column order (documented in README.md, "CSV exports"), vocabulary labels rather than keys, and
times in London local time as `YYYY-MM-DD HH:MM`. Cells that a spreadsheet would run as a
formula are neutralised with a leading apostrophe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from mentoring import audit
from mentoring.configuration import vocabularies
from mentoring.configuration.vocabularies import Vocabularies
from mentoring.models import (
    Exchange,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    User,
)
from mentoring.rounds.participants import participant_rows
from mentoring.slots import LONDON
from mentoring.spreadsheet import csv_text, safe_cell

PARTICIPANT_COLUMNS = (
    "leader_id", "name", "email", "job_title", "profession", "sector", "borough",
    "organisation", "organisation_size", "career_stage", "mentor_capacity", "wants_mentor",
    "can_host", "priority_group", "protected_hours_per_month", "status", "email_confirmed",
    "profile_complete", "free_half_days", "joined_at", "withdrawn_at", "withdrawal_reason",
)
_SIDE = ("id", "name", "email", "profession", "sector", "borough", "organisation")
MATCH_COLUMNS = (
    "match_id", "status", "pinned", "forbidden",
    *(f"mentor_{name}" for name in _SIDE),
    *(f"mentee_{name}" for name in _SIDE),
    "mentee_priority_group", "score", "reasons", "run_id", "created_at", "decided_at",
    "decline_reason", "wants_different_match",
)
EXCHANGE_COLUMNS = (
    "exchange_id", "match_id", "match_status", "status", "starts_at", "ends_at",
    "host_id", "host_name", "host_email", "host_organisation",
    "visitor_id", "visitor_name", "visitor_email", "visitor_organisation",
    "location", "cancel_reason", "updated_at",
)


@dataclass(frozen=True)
class CsvFile:
    filename: str
    text: str
    rows: int


def neutralise(value: Any) -> str:
    """A cell as text, with a leading apostrophe when a spreadsheet would run it as a formula."""
    return safe_cell(_text(value))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def local_time(value: datetime) -> str:
    return value.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> tuple[str, int]:
    rows = list(rows)
    return csv_text(columns, rows, _text), len(rows)


def csv_filename(programme_round: ProgrammeRound, what: str) -> str:
    return f"round-{programme_round.id}-{what}.csv"


def record_export(session: Session, what: str, programme_round: ProgrammeRound, actor: User,
            rows: int, ip: str) -> None:
    audit.record(session, f"export.{what}", actor=actor, obj=programme_round,
                 detail={"rows": rows}, ip=ip)


def participants_csv(session: Session, programme_round: ProgrammeRound, actor: User, *,
                     ip: str = "") -> CsvFile:
    rows = participant_rows(session, programme_round, by_id=True)
    priority = set(programme_round.priority_professions)
    words = vocabularies.of(session)
    text, count = to_csv(PARTICIPANT_COLUMNS, (
        (
            row.profile.id, row.profile.name, row.user.email, row.profile.job_title,
            words.label("profession", row.profile.profession),
            words.label("sector", row.profile.sector), words.label("place", row.profile.borough),
            row.organisation.name if row.organisation else "",
            row.organisation.size if row.organisation else "", row.profile.career_stage,
            row.profile.mentor_capacity, row.profile.wants_mentor, row.profile.can_host,
            row.profile.profession in priority, row.profile.protected_hours_per_month,
            row.participant.status, row.verified, row.profile.consent_at is not None,
            row.free_half_days, row.participant.joined_at, row.participant.withdrawn_at,
            row.participant.withdrawal_reason,
        )
        for row in rows
    ))
    record_export(session, "participants", programme_round, actor, count, ip)
    return CsvFile(csv_filename(programme_round, "participants"), text, count)


def _side(alias_profile, alias_user, alias_organisation):
    return (alias_profile.id, alias_profile.name, alias_user.email, alias_profile.profession,
            alias_profile.sector, alias_profile.borough, alias_organisation.name)


def _people():
    profile, user, organisation = (aliased(LeaderProfile), aliased(User),
                                   aliased(Organisation))
    return profile, user, organisation


def _join_side(statement, profile, user, organisation, leader_column):
    return (
        statement.join(profile, profile.id == leader_column)
        .join(user, user.id == profile.user_id)
        .outerjoin(organisation, organisation.id == profile.organisation_id)
    )


def _labelled_side(words: Vocabularies, values: Sequence[Any]) -> list[Any]:
    leader_id, name, email, profession, sector, borough, organisation = values
    return [leader_id, name, email, words.label("profession", profession),
            words.label("sector", sector), words.label("place", borough), organisation or ""]


def matches_csv(session: Session, programme_round: ProgrammeRound, actor: User, *,
                ip: str = "") -> CsvFile:
    """Every match of the round, proposed ones too; pins and forbids are their own columns."""
    mentor = _people()
    mentee = _people()
    statement = sa.select(Match, *_side(*mentor), *_side(*mentee))
    statement = _join_side(statement, *mentor, Match.mentor_id)
    statement = _join_side(statement, *mentee, Match.mentee_id)
    rows = session.execute(
        statement.where(Match.round_id == programme_round.id).order_by(Match.id)
    ).all()
    priority = set(programme_round.priority_professions)
    width = len(_SIDE)
    words = vocabularies.of(session)

    def line(row) -> list[Any]:
        match, values = row[0], row[1:]
        mentor_values, mentee_values = values[:width], values[width:]
        return [
            match.id, match.status, match.pinned, match.forbidden,
            *_labelled_side(words, mentor_values), *_labelled_side(words, mentee_values),
            mentee_values[3] in priority, match.score, "; ".join(match.reasons or []),
            match.run_id, match.created_at, match.decided_at, match.decline_reason,
            match.wants_different_match,
        ]

    text, count = to_csv(MATCH_COLUMNS, (line(row) for row in rows))
    record_export(session, "matches", programme_round, actor, count, ip)
    return CsvFile(csv_filename(programme_round, "matches"), text, count)


def exchanges_csv(session: Session, programme_round: ProgrammeRound, actor: User, *,
                  ip: str = "") -> CsvFile:
    """Every exchange of every match of the round, in time order."""
    host = _people()
    visitor = _people()
    statement = sa.select(
        Exchange, Match.status,
        host[0].id, host[0].name, host[1].email, host[2].name,
        visitor[0].id, visitor[0].name, visitor[1].email, visitor[2].name,
    ).join(Match, Match.id == Exchange.match_id)
    statement = _join_side(statement, *host, Exchange.host_id)
    statement = _join_side(statement, *visitor, Exchange.visitor_id)
    rows = session.execute(
        statement.where(Match.round_id == programme_round.id)
        .order_by(Exchange.starts_at, Exchange.id)
    ).all()

    def line(row) -> list[Any]:
        exchange, match_status, *people = row
        return [
            exchange.id, exchange.match_id, match_status, exchange.status, exchange.starts_at,
            exchange.ends_at, *people[:3], people[3] or "", *people[4:7], people[7] or "",
            exchange.location, exchange.cancel_reason, exchange.updated_at,
        ]

    text, count = to_csv(EXCHANGE_COLUMNS, (line(row) for row in rows))
    record_export(session, "exchanges", programme_round, actor, count, ip)
    return CsvFile(csv_filename(programme_round, "exchanges"), text, count)
