"""What each role's home page shows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.insights.you_said import published_for_leader
from mentoring.models import (
    LeaderProfile,
    Match,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.vocab import MatchStatus, RoundStatus


def leader_home(session: Session, user: User) -> dict[str, Any]:
    profile = session.exec(select(LeaderProfile).where(LeaderProfile.user_id == user.id)).first()
    open_rounds = session.exec(
        select(ProgrammeRound).where(ProgrammeRound.status == RoundStatus.OPEN)
    ).all()
    matches: list[Match] = []
    if profile is not None:
        matches = list(
            session.exec(
                select(Match).where(
                    sa.or_(Match.mentor_id == profile.id, Match.mentee_id == profile.id),
                    Match.status.in_(  # type: ignore[attr-defined]
                        [MatchStatus.APPROVED, MatchStatus.ACCEPTED]
                    ),
                )
            ).all()
        )
    # Rounds whose "you said, we did" page the leader can read.
    you_said_we_did = published_for_leader(session, profile) if profile is not None else []
    return {"profile": profile, "open_rounds": open_rounds, "matches": matches,
            "you_said_we_did": you_said_we_did}


def coordinator_home(session: Session) -> dict[str, Any]:
    participants = (
        sa.select(RoundParticipant.round_id, sa.func.count().label("n"))
        .group_by(RoundParticipant.round_id)
        .subquery()
    )
    rows = session.exec(
        sa.select(ProgrammeRound, sa.func.coalesce(participants.c.n, 0))
        .outerjoin(participants, participants.c.round_id == ProgrammeRound.id)
        .order_by(ProgrammeRound.starts_on.desc())
    ).all()
    return {"rounds": [(round_, count) for round_, count in rows]}


def admin_home(session: Session) -> dict[str, Any]:
    counts = dict(
        session.exec(sa.select(User.role, sa.func.count()).group_by(User.role)).all()
    )
    return {"user_counts": counts}
