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
from sqlmodel import Session, select

from mentoring import audit
from mentoring.configuration import vocabularies
from mentoring.configuration.vocabularies import Vocabularies
from mentoring.matching.problem import readable_reason
from mentoring.models import (
    Exchange,
    LeaderProfile,
    Match,
    OptimiserRun,
    Organisation,
    ProgrammeRound,
    User,
)
from mentoring.rounds.participants import participant_rows
from mentoring.slots import LONDON
from mentoring.spreadsheet import csv_text, safe_cell
from mentoring.vocab import MatchStatus, RunStatus

PARTICIPANT_COLUMNS = (
    "leader_id", "name", "email", "job_title", "profession", "sector", "borough",
    "organisation", "organisation_size", "career_stage", "mentor_capacity", "wants_mentor",
    "can_host", "priority_group", "protected_hours_per_month", "status", "email_confirmed",
    "profile_complete", "free_half_days", "joined_at", "withdrawn_at", "withdrawal_reason",
)
_SIDE = ("id", "name", "email", "profession", "sector", "borough", "organisation")
MATCH_COLUMNS = (
    "match_id", "status", "pinned",
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


def _pending_pairs(session: Session, programme_round: ProgrammeRound):
    """The pairs the round's newest proposal would add if approved now (a local run's too), and
    that run; nothing when the newest run with a proposal is approved already."""
    from mentoring.matching.decisions import plan_changes  # decisions build on the rounds

    run = session.exec(
        select(OptimiserRun).where(
            OptimiserRun.round_id == programme_round.id,
            OptimiserRun.status == RunStatus.SUCCEEDED,
            OptimiserRun.solution.is_not(None),  # type: ignore[union-attr]
        ).order_by(OptimiserRun.id.desc())  # type: ignore[union-attr]
    ).first()
    if run is None or run.approved_at is not None:
        return None, []
    return run, plan_changes(session, run).new_pairs


def matches_csv(session: Session, programme_round: ProgrammeRound, actor: User, *,
                ip: str = "") -> CsvFile:
    """Every match of the round, and the pairs its newest proposal would add (status
    `proposed`, as a run's summary counts them). Pinned pairs not yet approved are `proposed`
    too; forbidden pairs are not matches and are left out."""
    mentor = _people()
    mentee = _people()
    statement = sa.select(Match, *_side(*mentor), *_side(*mentee))
    statement = _join_side(statement, *mentor, Match.mentor_id)
    statement = _join_side(statement, *mentee, Match.mentee_id)
    rows = session.execute(
        statement.where(Match.round_id == programme_round.id, sa.not_(Match.forbidden))
        .order_by(Match.id)
    ).all()
    run, pending = _pending_pairs(session, programme_round)
    proposed = {(int(pair["mentor"]), int(pair["mentee"])): pair for pair in pending}
    people = _sides_of(session, {leader for key in proposed for leader in key})
    priority = set(programme_round.priority_professions)
    width = len(_SIDE)
    words = vocabularies.of(session)

    def line(match: Match | None, mentor_values, mentee_values, pair=None) -> list[Any]:
        if pair is not None:  # in the proposal: as the run proposes it
            score, reasons = float(pair.get("score") or 0.0), [
                readable_reason(reason, words) for reason in pair.get("reasons") or []]
            run_id, created_at, decided_at = run.id, run.finished_at, None
        else:
            score, reasons = match.score, match.reasons or []
            run_id, created_at, decided_at = match.run_id, match.created_at, match.decided_at
        return [
            match.id if match else None, match.status if match else MatchStatus.PROPOSED,
            bool(match and match.pinned),
            *_labelled_side(words, mentor_values), *_labelled_side(words, mentee_values),
            mentee_values[3] in priority, score, "; ".join(reasons), run_id, created_at,
            decided_at, match.decline_reason if match else "",
            match.wants_different_match if match else None,
        ]

    lines = []
    for row in rows:
        match, values = row[0], row[1:]
        pair = proposed.pop((match.mentor_id, match.mentee_id), None)
        lines.append(line(match, values[:width], values[width:], pair))
    for (mentor_id, mentee_id), pair in proposed.items():
        lines.append(line(None, people[mentor_id], people[mentee_id], pair))
    text, count = to_csv(MATCH_COLUMNS, lines)
    record_export(session, "matches", programme_round, actor, count, ip)
    return CsvFile(csv_filename(programme_round, "matches"), text, count)


def _sides_of(session: Session, leader_ids: set[int]) -> dict[int, Sequence[Any]]:
    """Each leader's columns of a side (`_SIDE`), by id."""
    if not leader_ids:
        return {}
    profile, user, organisation = _people()
    statement = (
        sa.select(*_side(profile, user, organisation)).select_from(profile)
        .join(user, user.id == profile.user_id)
        .outerjoin(organisation, organisation.id == profile.organisation_id)
        .where(profile.id.in_(sorted(leader_ids)))
    )
    return {row[0]: tuple(row) for row in session.execute(statement).all()}


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
