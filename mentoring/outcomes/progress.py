"""How a round's pairs are getting on, for its coordinators. No Flask here.

What coordinators see of an agreement is whether it exists and whether both leaders confirmed
it; its words only on its own page, and only when the pair shared them. Check-ins and concerns
are written to the coordinators, so they see them in full.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from mentoring.models import CheckIn, Concern, LeaderProfile, Match, PairAgreement, ProgrammeRound
from mentoring.outcomes.agreements import agreements_of_round
from mentoring.outcomes.check_ins import (
    RoundDates,
    _check_ins_of,
    _done_exchanges,
    is_flagged,
    is_quiet,
)
from mentoring.vocab import MatchStatus

NONE, DRAFT, CONFIRMED = "none", "draft", "confirmed"
AGREEMENT_LABELS = {NONE: "None yet", DRAFT: "Draft: not confirmed by both",
                    CONFIRMED: "Confirmed by both"}


def agreement_state(agreement: PairAgreement | None) -> str:
    if agreement is None:
        return NONE
    return CONFIRMED if agreement.confirmed else DRAFT


@dataclass
class PairRow:
    match: Match
    mentor: str
    mentee: str
    agreement: str  # NONE, DRAFT or CONFIRMED
    agreement_shared: bool
    exchanges_done: int
    check_ins: list[CheckIn]
    concerns: int
    quiet: bool  # nudged (or about to be)
    flagged: bool  # still quiet a week after the nudge

    @property
    def agreement_label(self) -> str:
        return AGREEMENT_LABELS[self.agreement]


@dataclass
class ConcernRow:
    concern: Concern
    raised_by: str
    about: str


@dataclass
class PairProgress:
    programme_round: ProgrammeRound
    dates: RoundDates
    pairs: list[PairRow]
    concerns: list[ConcernRow]
    names: dict[int, str] = field(default_factory=dict)

    @property
    def counts(self) -> Counter:
        counts: Counter = Counter(pairs=len(self.pairs), concerns=len(self.concerns))
        for row in self.pairs:
            counts[f"agreement_{row.agreement}"] += 1
            counts["flagged"] += row.flagged
            counts["quiet"] += row.quiet
            counts["checked_in"] += bool(row.check_ins)
        return counts


LEFT = "A leader who has left"


def concerns_of_round(session: Session, round_id: int,
                      since: datetime | None = None) -> list[ConcernRow]:
    """The round's concerns, newest first, with who raised each and about whom (one query)."""
    raiser, mentor, mentee = (aliased(LeaderProfile) for _ in range(3))
    query = (
        select(Concern, Match.mentor_id, raiser.name, mentor.name, mentee.name)
        .join(Match, Match.id == Concern.match_id)
        .outerjoin(raiser, raiser.id == Concern.raised_by_id)
        .outerjoin(mentor, mentor.id == Match.mentor_id)
        .outerjoin(mentee, mentee.id == Match.mentee_id)
        .where(Concern.round_id == round_id)
        .order_by(Concern.created_at.desc(), Concern.id.desc())  # type: ignore[attr-defined]
    )
    if since is not None:
        query = query.where(Concern.created_at > since)
    rows = []
    for concern, mentor_id, raised_by, mentor_name, mentee_name in session.exec(query).all():
        about = mentee_name if concern.raised_by_id == mentor_id else mentor_name
        rows.append(ConcernRow(concern, raised_by or LEFT, about or ""))
    return rows


def pair_progress(session: Session, programme_round: ProgrammeRound,
                  now: datetime) -> PairProgress:
    """Every booked pair of the round, and every concern raised in it."""
    dates = RoundDates.of(programme_round)
    matches = list(session.exec(
        select(Match).where(Match.round_id == programme_round.id,
                            Match.status == MatchStatus.ACCEPTED).order_by(Match.id)).all())
    concerns = concerns_of_round(session, programme_round.id)
    leader_ids = {i for m in matches for i in (m.mentor_id, m.mentee_id)}
    names = dict(session.exec(select(LeaderProfile.id, LeaderProfile.name).where(
        LeaderProfile.id.in_(leader_ids))).all()) if leader_ids else {}  # type: ignore[union-attr]
    match_ids = [match.id for match in matches]
    agreements = agreements_of_round(session, programme_round.id)
    check_ins = _check_ins_of(session, match_ids)
    done = _done_exchanges(session, match_ids, now)
    concern_counts = Counter(row.concern.match_id for row in concerns)
    pairs = []
    for match in matches:
        rows = sorted(check_ins[match.id], key=lambda row: (row.point != "midpoint", row.id))
        pairs.append(PairRow(
            match=match, mentor=names.get(match.mentor_id, ""),
            mentee=names.get(match.mentee_id, ""),
            agreement=agreement_state(agreements.get(match.id)),
            agreement_shared=bool(agreements.get(match.id) and agreements[match.id].shared),
            exchanges_done=done.get(match.id, 0), check_ins=rows,
            concerns=concern_counts[match.id],
            quiet=is_quiet(done.get(match.id, 0), len(rows), dates, now),
            flagged=is_flagged(done.get(match.id, 0), len(rows), dates, now),
        ))
    return PairProgress(programme_round, dates, pairs, concerns, names)
