"""The demo's finished round, so that "did it work" has something to show on `make run`.

A round that ended three weeks before the demo's today, closed, with some of the demo's leaders
in it: most answered the statements on joining and at the end (a change of about one step, a
little more for some sectors than others), some only on joining. The demo leader
(leader@demo...) answered only on joining, so the worker's end-of-round email reaches them and
they can answer. Groups come out of every size, so the dashboard shows suppression at work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from random import Random

from sqlmodel import Session

from mentoring.confidence.services import STATEMENT_KEYS
from mentoring.models import (
    LeaderProfile,
    Moment,
    ProgrammeRound,
    RoundParticipant,
    SelfAssessment,
)
from mentoring.vocab import ParticipantStatus, RoundStatus

PAST_ROUND_LEADERS = 60
ANSWERED_ONLY_ON_JOINING = 0.1
# Sectors whose leaders gain a little more (so that the groups differ).
GAINS_MORE = {"vcse", "social_care", "community_pharmacy"}


def _on(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=UTC)


def load_finished_round(session: Session, rng: Random, profiles: list[LeaderProfile],
                        demo_leader: LeaderProfile | None, name: str, today: date,
                        created_by_id: int | None) -> ProgrammeRound:
    ends_on = today - timedelta(days=21)
    starts_on = ends_on - timedelta(weeks=12, days=-3)
    finished = ProgrammeRound(
        name=name, description="Demo: a round that has finished, with leaders' answers on "
        "joining and at the end.", starts_on=starts_on, ends_on=ends_on,
        status=RoundStatus.CLOSED, contact_name="South east London leadership programme",
        contact_email="leadership.programme@demo.example.nhs.uk", created_by_id=created_by_id)
    session.add(finished)
    session.flush()
    others = [profile for profile in profiles if profile is not demo_leader]
    chosen = rng.sample(others, min(PAST_ROUND_LEADERS, len(others)))
    if demo_leader is not None:
        chosen.append(demo_leader)
    session.add_all(RoundParticipant(round_id=finished.id, leader_id=profile.id,
                                     status=ParticipantStatus.JOINED, joined_at=_on(starts_on))
                    for profile in chosen)
    rows = []
    for profile in chosen:
        joining = {key: rng.choice((2, 2, 3, 3, 3, 4)) for key in STATEMENT_KEYS}
        rows.append(SelfAssessment(round_id=finished.id, leader_id=profile.id,
                                   moment=Moment.JOINING, answers=joining,
                                   answered_at=_on(starts_on - timedelta(days=7))))
        if profile is demo_leader or rng.random() < ANSWERED_ONLY_ON_JOINING:
            continue
        steps = (0, 1, 1, 2) if profile.sector in GAINS_MORE else (0, 0, 1, 1)
        end = {key: min(5, value + rng.choice(steps)) for key, value in joining.items()}
        rows.append(SelfAssessment(round_id=finished.id, leader_id=profile.id,
                                   moment=Moment.END, answers=end,
                                   answered_at=_on(ends_on + timedelta(days=3))))
    session.add_all(rows)
    session.flush()
    return finished
