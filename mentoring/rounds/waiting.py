"""The waiting list: mentees who joined a round and have no mentor yet, and mentors with room
for another mentee, each with the reason, so a coordinator can act (make a pair by hand, chase
availability, or ask a mentor to take one more). No Flask here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session, select

from mentoring.configuration import vocabularies
from mentoring.insights.figures import mentee_ids
from mentoring.matching.exclusions import as_decided, taken_out
from mentoring.models import Match, OptimiserRun, ProgrammeRound, User
from mentoring.rounds.exports import CsvFile, csv_filename, record_export, to_csv
from mentoring.rounds.participants import ParticipantRow, participant_rows
from mentoring.vocab import LIVE_MATCH_STATUSES, ParticipantStatus, RunStatus

NOT_RUN_YET = "Not in a matching run yet"


@dataclass(frozen=True)
class Waiting:
    row: ParticipantRow
    role: str  # "mentee" (no mentor yet) or "mentor" (room for more)
    spare: int  # mentors: how many more mentees they could take; mentees: 0
    reason: str


def waiting_list(session: Session, programme_round: ProgrammeRound) -> list[Waiting]:
    """Mentees first, then mentors, each by name."""
    rows = [row for row in participant_rows(session, programme_round)
            if row.participant.status == ParticipantStatus.JOINED]
    live = session.exec(select(Match.mentor_id, Match.mentee_id).where(
        Match.round_id == programme_round.id,
        Match.status.in_(list(LIVE_MATCH_STATUSES)))).all()  # type: ignore[attr-defined]
    mentees_of = Counter(mentor for mentor, _ in live)
    reasons = _last_run_reasons(session, programme_round)
    # The mentees the dashboard counts as not matched, by the same definition.
    mentees = mentee_ids(session, programme_round)
    without_mentor = mentees.mentees - mentees.matched
    waiting = [
        Waiting(row, "mentee", 0, _why(row, reasons, "mentee"))
        for row in rows if row.profile.id in without_mentor
    ]
    for row in rows:
        spare = row.profile.mentor_capacity - mentees_of[row.profile.id]
        if spare > 0:
            waiting.append(Waiting(row, "mentor", spare, _why(row, reasons, "mentor")))
    return waiting


def _last_run_reasons(session: Session, programme_round: ProgrammeRound) -> dict[int, str] | None:
    """Why the latest finished run left each leader out (None: no run has finished)."""
    run = session.exec(
        select(OptimiserRun).where(OptimiserRun.round_id == programme_round.id,
                                   OptimiserRun.status == RunStatus.SUCCEEDED)
        .order_by(OptimiserRun.finished_at.desc(), OptimiserRun.id.desc())  # type: ignore[union-attr]
    ).first()
    if run is None:
        return None
    # As the coordinator left it: a mentee whose pair was removed is unmatched, and says why.
    solution = as_decided(run.solution, taken_out(session, run))
    return {int(u["id"]): u.get("reason", "") for u in (solution or {}).get("unmatched", [])
            if str(u.get("id", "")).isdigit()}


def _why(row: ParticipantRow, reasons: dict[int, str] | None, role: str) -> str:
    if not row.verified:
        return "Has not confirmed their email address"
    if not row.profile_complete:
        return "Has not finished their profile"
    if row.free_half_days == 0:
        return "Has not said when they are free in this round"
    if reasons is None:
        return NOT_RUN_YET
    if row.profile.id in reasons:
        return reasons[row.profile.id] or "The last run found no pair for them"
    if role == "mentor":
        return "The last run had no more mentees who suited them"
    return "Joined or changed after the last run"


WAITING_COLUMNS = (
    "leader_id", "name", "email", "waiting_as", "spare_places", "profession", "sector",
    "borough", "organisation", "free_half_days", "reason",
)


def waiting_list_csv(session: Session, programme_round: ProgrammeRound, actor: User, *,
                     ip: str = "") -> CsvFile:
    words = vocabularies.of(session)
    text, count = to_csv(WAITING_COLUMNS, (
        (
            w.row.profile.id, w.row.profile.name, w.row.user.email, w.role,
            w.spare if w.role == "mentor" else "",
            words.label("profession", w.row.profile.profession),
            words.label("sector", w.row.profile.sector),
            words.label("place", w.row.profile.borough),
            w.row.organisation.name if w.row.organisation else "", w.row.free_half_days,
            w.reason,
        )
        for w in waiting_list(session, programme_round)
    ))
    record_export(session, "waiting_list", programme_round, actor, count, ip)
    return CsvFile(csv_filename(programme_round, "waiting-list"), text, count)
