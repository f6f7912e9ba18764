"""'You said, we did': the coordinator's answer to a round's feedback. No Flask here.

The coordinator writes it, saves it as a draft and publishes it; leaders who took part in the
round (joined, even if they later withdrew) can read it once it is published. Every change is
audited.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.configuration import vocabularies
from mentoring.insights.feedback import OTHER, topics_of
from mentoring.insights.figures import Ratings, ratings
from mentoring.models import (
    CheckIn,
    Concern,
    LeaderProfile,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.models.outcomes import GoingWell, HaveMet
from mentoring.vocab import ParticipantStatus

MAX_LENGTH = 10_000
SAVED = "you_said_we_did.saved"
PUBLISHED = "you_said_we_did.published"
UNPUBLISHED = "you_said_we_did.unpublished"
# Invited leaders never took part; withdrawn ones did, and hear what came of it.
TOOK_PART = (ParticipantStatus.JOINED, ParticipantStatus.WITHDRAWN)


class NotFound(LookupError):
    """No such round, or (for a leader) not one they can read."""


class YouSaidError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def get_round(session: Session, round_id: int) -> ProgrammeRound:
    programme_round = session.get(ProgrammeRound, round_id)
    if programme_round is None:
        raise NotFound(f"round {round_id}")
    return programme_round


def _clean(text: str) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def save(session: Session, programme_round: ProgrammeRound, user: User, text: str,
         publish: bool, now: datetime, ip: str = "") -> ProgrammeRound:
    """Save the text; with `publish`, also publish it (a published page stays published when
    its text is changed, and leaders see the new text)."""
    text = _clean(text)
    if len(text) > MAX_LENGTH:
        raise YouSaidError({"text": f"Enter no more than {MAX_LENGTH:,} characters"})
    if publish and not text:
        raise YouSaidError({"text": "Enter what you did before publishing"})
    changed = text != programme_round.you_said_we_did
    programme_round.you_said_we_did = text
    if changed:
        audit.record(session, SAVED, actor=user, obj=programme_round,
                     detail={"characters": len(text)}, ip=ip)
    if publish and programme_round.you_said_we_did_published_at is None:
        programme_round.you_said_we_did_published_at = now
        audit.record(session, PUBLISHED, actor=user, obj=programme_round,
                     detail={"characters": len(text)}, ip=ip)
    if not text and programme_round.you_said_we_did_published_at is not None:
        # An emptied page is not left published with nothing on it.
        programme_round.you_said_we_did_published_at = None
        audit.record(session, UNPUBLISHED, actor=user, obj=programme_round,
                     detail={"reason": "emptied"}, ip=ip)
    session.add(programme_round)
    session.flush()
    return programme_round


def unpublish(session: Session, programme_round: ProgrammeRound, user: User,
              ip: str = "") -> bool:
    if programme_round.you_said_we_did_published_at is None:
        return False
    programme_round.you_said_we_did_published_at = None
    session.add(programme_round)
    audit.record(session, UNPUBLISHED, actor=user, obj=programme_round, ip=ip)
    session.flush()
    return True


def paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; the template escapes each one."""
    return [part.strip() for part in _clean(text).split("\n\n") if part.strip()]


@dataclass(frozen=True)
class Published:
    programme_round: ProgrammeRound
    paragraphs: list[str]
    ratings: Ratings


def _took_part(session: Session, profile: LeaderProfile, round_id: int) -> bool:
    return session.exec(
        select(RoundParticipant.id).where(
            RoundParticipant.round_id == round_id,
            RoundParticipant.leader_id == profile.id,
            RoundParticipant.status.in_(TOOK_PART),  # type: ignore[attr-defined]
        )
    ).first() is not None


def read_for_leader(session: Session, profile: LeaderProfile | None,
                    round_id: int) -> Published:
    """The published page, for a leader who took part; NotFound otherwise (as if none)."""
    programme_round = session.get(ProgrammeRound, round_id)
    if (
        programme_round is None
        or profile is None
        or programme_round.you_said_we_did_published_at is None
        or not _took_part(session, profile, round_id)
    ):
        raise NotFound(f"round {round_id}")
    return Published(programme_round, paragraphs(programme_round.you_said_we_did),
                     ratings(session, round_id))


def published_for_leader(session: Session, profile: LeaderProfile) -> list[ProgrammeRound]:
    """Rounds the leader took part in whose 'you said, we did' page is published."""
    return list(session.exec(
        select(ProgrammeRound)
        .join(RoundParticipant, RoundParticipant.round_id == ProgrammeRound.id)
        .where(
            RoundParticipant.leader_id == profile.id,
            RoundParticipant.status.in_(TOOK_PART),  # type: ignore[attr-defined]
            ProgrammeRound.you_said_we_did_published_at.is_not(None),  # type: ignore[union-attr]
        )
        .order_by(ProgrammeRound.you_said_we_did_published_at.desc())  # type: ignore[union-attr]
    ).all())


# --- what else leaders said: check-ins and concerns (issue 20) ------------------------------


@dataclass(frozen=True)
class Listening:
    """Counts and themes from a round's check-ins and concerns, for the coordinator writing
    'you said, we did'. Never the words and never who: the page that leaders read shows only
    what the coordinator writes."""

    check_ins: int
    midpoint: int
    end: int
    met: int
    going: dict[str, int]  # a key of GoingWell: how many answered it
    told_us: int  # check-ins with something for the coordinators
    concerns: int
    themes: tuple[tuple[str, int], ...]  # (topic label, how many answers mention it)


def listening(session: Session, round_id: int) -> Listening:
    rows = session.execute(sa.select(CheckIn.point, CheckIn.have_met, CheckIn.going_well,
                                     CheckIn.anything_else)
                           .where(CheckIn.round_id == round_id)).all()
    concerns = session.exec(select(Concern.text).where(Concern.round_id == round_id)).all()
    texts = [row.anything_else for row in rows if (row.anything_else or "").strip()]
    themes: Counter[str] = Counter()
    for text in [*texts, *concerns]:
        found = topics_of(text)
        themes[found[0] if found else OTHER] += 1
    words = vocabularies.of(session)
    labelled = tuple(
        (words.label("topic", topic) if topic != OTHER else "Other", count)
        for topic, count in sorted(themes.items(),
                                   key=lambda item: (item[0] == OTHER, -item[1], item[0])))
    going = Counter(row.going_well for row in rows)
    return Listening(
        check_ins=len(rows),
        midpoint=sum(row.point == "midpoint" for row in rows),
        end=sum(row.point == "end" for row in rows),
        met=sum(row.have_met == HaveMet.YES for row in rows),
        going={key.value: going[key.value] for key in GoingWell},
        told_us=len(texts),
        concerns=len(concerns),
        themes=labelled,
    )
