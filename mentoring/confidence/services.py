"""The self-assessment: its statements, a leader's answers, and the end-of-round email.
No Flask here.

A leader answers eight statements on a five-point agree scale when they join a round (the
baseline, skippable) and again once the round's window has ended (an email asks, once). The
paired change (mentoring.insights.confidence) compares the two answers of each leader who gave
both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.models import (
    LeaderProfile,
    Moment,
    ProgrammeRound,
    RoundParticipant,
    SelfAssessment,
    User,
    utcnow,
)
from mentoring.notifications.outbox import absolute, enqueue
from mentoring.vocab import ParticipantStatus, RoundStatus


@dataclass(frozen=True)
class Statement:
    key: str
    text: str  # what the leader reads
    short: str  # a table's column heading


# The statements, in the order asked. The keys are the export's column names: keep them.
STATEMENTS = (
    Statement("other_sectors", "I understand the pressures that other sectors face.",
              "Other sectors' pressures"),
    Statement("relationships", "I have working relationships with people in organisations "
              "other than my own.", "Relationships elsewhere"),
    Statement("whom_to_call", "I know whom to call in another organisation to get something "
              "done.", "Whom to call"),
    Statement("other_views", "I can see a problem from the point of view of another "
              "profession or organisation.", "Others' point of view"),
    Statement("lead_change", "I can lead change across organisational boundaries.",
              "Leading change across boundaries"),
    Statement("influence", "I can influence people in other organisations who do not report "
              "to me.", "Influence without authority"),
    Statement("shared_goals", "I can bring people from different organisations to agree a "
              "shared goal.", "Agreeing shared goals"),
    Statement("speak_up", "I am confident speaking up for my service in meetings across the "
              "local health and care system.", "Speaking up in the system"),
)
STATEMENT_KEYS = tuple(statement.key for statement in STATEMENTS)
SCALE = {1: "Strongly disagree", 2: "Disagree", 3: "Neither agree nor disagree", 4: "Agree",
         5: "Strongly agree"}
# The end-of-round email goes to rounds that ended within this many days (not to every round
# that ended before this feature existed).
ASK_WITHIN_DAYS = 28
# Rounds that ran (a draft never did).
RAN = (RoundStatus.OPEN, RoundStatus.MATCHING, RoundStatus.PUBLISHED, RoundStatus.CLOSED)
KIND_END = "self-assessment-end"
LONDON = ZoneInfo("Europe/London")


class NotTakingPart(Exception):
    """The leader has not joined this round (or has left it)."""


def moment_for(programme_round: ProgrammeRound, today: date) -> Moment:
    """Before the window has ended, a leader gives the baseline; after it, the end answers."""
    return Moment.END if today > programme_round.ends_on else Moment.JOINING


def taking_part(session: Session, round_id: int, leader_id: int) -> bool:
    return session.exec(select(RoundParticipant.id).where(
        RoundParticipant.round_id == round_id, RoundParticipant.leader_id == leader_id,
        RoundParticipant.status == ParticipantStatus.JOINED)).first() is not None


def own_answers(session: Session, round_id: int, leader_id: int,
                moment: Moment) -> SelfAssessment | None:
    """The leader's own answers at this moment (the only answers a leader ever reads)."""
    return session.exec(select(SelfAssessment).where(
        SelfAssessment.round_id == round_id, SelfAssessment.leader_id == leader_id,
        SelfAssessment.moment == moment)).first()


def answered(session: Session, leader_id: int, round_ids: list[int],
             moment: Moment) -> set[int]:
    """Which of these rounds the leader has answered at this moment."""
    if not round_ids:
        return set()
    return set(session.exec(select(SelfAssessment.round_id).where(
        SelfAssessment.leader_id == leader_id, SelfAssessment.moment == moment,
        SelfAssessment.round_id.in_(round_ids))).all())  # type: ignore[attr-defined]


def parse(form: Mapping[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """(answers, errors) from the form: every statement needs one of 1..5."""
    answers: dict[str, int] = {}
    errors: dict[str, str] = {}
    for statement in STATEMENTS:
        value = (form.get(statement.key) or "").strip()
        if value in {"1", "2", "3", "4", "5"}:
            answers[statement.key] = int(value)
        else:
            errors[statement.key] = f"Choose how far you agree: {statement.text}"
    return answers, errors


def save(session: Session, programme_round: ProgrammeRound, leader: LeaderProfile,
         answers: dict[str, int], today: date, now: datetime | None = None) -> SelfAssessment:
    """Store (or replace) the leader's answers for the round's current moment."""
    if not taking_part(session, programme_round.id, leader.id):
        raise NotTakingPart
    if set(answers) != set(STATEMENT_KEYS) or any(
            value not in SCALE for value in answers.values()):
        raise ValueError("every statement needs an answer from 1 to 5")
    moment = moment_for(programme_round, today)
    row = own_answers(session, programme_round.id, leader.id, moment) or SelfAssessment(
        round_id=programme_round.id, leader_id=leader.id, moment=moment)
    row.answers = {key: answers[key] for key in STATEMENT_KEYS}
    row.answered_at = now or utcnow()
    session.add(row)
    return row


# --- the end-of-round email ------------------------------------------------------------------


def ask_at_round_end(session: Session, today: date) -> int:
    """Email every leader still in a round whose window ended in the last four weeks, once,
    asking for their end answers (leaders who already gave them are not asked). Safe to run
    again and from two workers: each email's key names the round and the leader."""
    rounds = session.exec(select(ProgrammeRound).where(
        ProgrammeRound.ends_on < today,
        ProgrammeRound.ends_on >= today - timedelta(days=ASK_WITHIN_DAYS),
        ProgrammeRound.status.in_(RAN),  # type: ignore[attr-defined]
        ProgrammeRound.personal_data_removed_at.is_(None),  # type: ignore[union-attr]
    )).all()
    written = 0
    for programme_round in rounds:
        already = sa.select(SelfAssessment.leader_id).where(
            SelfAssessment.round_id == programme_round.id, SelfAssessment.moment == Moment.END)
        baseline = sa.select(SelfAssessment.leader_id).where(
            SelfAssessment.round_id == programme_round.id,
            SelfAssessment.moment == Moment.JOINING)
        found = session.execute(
            sa.select(LeaderProfile.id, LeaderProfile.name, User.id, User.email,
                      LeaderProfile.id.in_(baseline))  # type: ignore[union-attr]
            .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
            .join(User, User.id == LeaderProfile.user_id)
            .where(RoundParticipant.round_id == programme_round.id,
                   RoundParticipant.status == ParticipantStatus.JOINED,
                   User.is_active.is_(True),  # type: ignore[attr-defined]
                   User.anonymised_at.is_(None),  # type: ignore[union-attr]
                   LeaderProfile.id.not_in(already))  # type: ignore[union-attr]
        ).all()
        for leader_id, name, user_id, email, gave_baseline in found:
            written += enqueue(
                session, key=f"{KIND_END}:{programme_round.id}:{leader_id}", kind=KIND_END,
                recipient_email=email, recipient_user_id=user_id, round_id=programme_round.id,
                subject=f"{programme_round.name} has ended: how confident do you feel now?"[:255],
                template="self_assessment_end",
                context={"name": name, "round_name": programme_round.name,
                         "ended_on": _day(programme_round.ends_on),
                         "gave_baseline": bool(gave_baseline),
                         "url": absolute(question_path(programme_round.id))},
            )
    return written


def question_path(round_id: int) -> str:
    return f"/rounds/{round_id}/self-assessment"


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def london_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LONDON).date()


def ask_at_round_end_job(context) -> int:
    """The worker's job (mentoring.worker.JOBS), hourly."""
    from mentoring.db import session_scope

    with session_scope(context.session_factory) as session:
        return ask_at_round_end(session, london_today())
