"""Reading a run: the proposal as a coordinator reviews it, its summary figures, and two runs
side by side. Leaders are described as they were in the run's problem; names come from the
database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased as sa_aliased
from sqlmodel import Session, select

from mentoring.matching.problem import parse_slot, readable_reason
from mentoring.matching.runs import CONTEXT_KEY
from mentoring.models import (
    LeaderProfile,
    Match,
    OptimiserRun,
    Organisation,
    RoundParticipant,
    User,
)
from mentoring.slots import bounds
from mentoring.vocab import BOROUGHS, PROFESSIONS, SECTORS, MatchStatus, label

SORTS = {"score": "Score, highest first", "mentee": "Mentee's name", "mentor": "Mentor's name"}


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    profession: str
    sector: str
    borough: str
    organisation: str
    priority: bool

    def describe(self) -> str:
        return f"{label(PROFESSIONS, self.profession)}, {self.organisation}"


@dataclass(frozen=True)
class ProposedExchange:
    host: Person
    visitor: Person
    slot: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class ProposedPair:
    mentor: Person
    mentee: Person
    score: float
    reasons: tuple[str, ...]
    exchanges: tuple[ProposedExchange, ...]
    pinned: bool
    approved: bool  # already approved before this run: it stays as it is

    @property
    def crosses_sectors(self) -> bool:
        return self.mentor.sector != self.mentee.sector

    def involves(self, attribute: str, value: str) -> bool:
        return value in (getattr(self.mentor, attribute), getattr(self.mentee, attribute))


@dataclass(frozen=True)
class UnmatchedLeader:
    person: Person
    reason: str


@dataclass(frozen=True)
class Summary:
    mentees: int
    matched_mentees: int
    priority_mentees: int
    matched_priority_mentees: int
    pairs: int
    cross_sector_pairs: int
    exchanges: int
    protected_hours_used: float
    protected_hours_budget: float

    @staticmethod
    def share(part: float, whole: float) -> float | None:
        return part / whole if whole else None

    @property
    def matched_share(self) -> float | None:
        return self.share(self.matched_mentees, self.mentees)

    @property
    def priority_matched_share(self) -> float | None:
        return self.share(self.matched_priority_mentees, self.priority_mentees)

    @property
    def cross_sector_share(self) -> float | None:
        return self.share(self.cross_sector_pairs, self.pairs)

    @property
    def protected_hours_share(self) -> float | None:
        return self.share(self.protected_hours_used, self.protected_hours_budget)


@dataclass
class Proposal:
    run: OptimiserRun
    pairs: list[ProposedPair]
    unmatched: list[UnmatchedLeader]
    summary: Summary
    shown: list[ProposedPair] = field(default_factory=list)  # after filters and sorting
    filters: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    removed: list[tuple[Person, Person]] = field(default_factory=list)

    def pair_of(self, mentee_id: int) -> ProposedPair | None:
        return next((pair for pair in self.pairs if pair.mentee.id == mentee_id), None)


def _people(session: Session, problem: dict[str, Any], round_id: int) -> dict[str, Person]:
    leaders = {leader["id"]: leader for leader in problem.get("leaders", [])}
    # Only the columns shown (whole profile rows cost 0.1 ms each, 0.5 s for 5,000 leaders),
    # of the round's participants: every leader of the problem is one (a list of thousands of
    # ids costs more to send than the query takes to run).
    rows = session.exec(
        select(LeaderProfile.id, LeaderProfile.name, Organisation.name, User.email)
        .join(User, User.id == LeaderProfile.user_id)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .where(RoundParticipant.round_id == round_id)
    ).all() if leaders else []
    found = {str(profile_id): (name, organisation, email)
             for profile_id, name, organisation, email in rows}
    people = {}
    for leader_id, leader in leaders.items():
        name, organisation, email = found.get(leader_id, (None, None, ""))
        people[leader_id] = Person(
            id=int(leader_id),
            # A leader who has since deleted their account keeps only their id here.
            name=name if name is not None else f"Leader {leader_id} (account deleted)",
            email=email,
            profession=leader["profession"], sector=leader["sector"],
            borough=leader["borough"], organisation=organisation or "",
            priority=bool(leader.get("priority")),
        )
    return people


def read_proposal(session: Session, run: OptimiserRun, filters: dict[str, str] | None = None,
                  sort: str = "score") -> Proposal:
    problem, solution = run.problem or {}, run.solution or {}
    people = _people(session, problem, run.round_id)
    fixed_pairs = {(p["mentor"], p["mentee"])
                   for p in problem.get(CONTEXT_KEY, {}).get("fixed", {}).get("pairs", [])}
    pinned = {(p["mentor"], p["mentee"]) for p in problem.get("pinned", [])}
    by_pair: dict[frozenset[str], list[ProposedExchange]] = {}
    for x in solution.get("exchanges", []):
        starts_at, ends_at = bounds(*parse_slot(x["slot"]))
        by_pair.setdefault(frozenset((x["host"], x["visitor"])), []).append(ProposedExchange(
            people[x["host"]], people[x["visitor"]], x["slot"], starts_at, ends_at))
    pairs = [
        ProposedPair(
            mentor=people[p["mentor"]], mentee=people[p["mentee"]],
            score=float(p.get("score") or 0.0),
            reasons=tuple(readable_reason(reason) for reason in p.get("reasons") or ()),
            exchanges=tuple(sorted(by_pair.get(frozenset((p["mentor"], p["mentee"])), []),
                                   key=lambda x: x.starts_at)),
            pinned=(p["mentor"], p["mentee"]) in pinned,
            approved=(p["mentor"], p["mentee"]) in fixed_pairs,
        )
        for p in solution.get("pairs", [])
    ]
    unmatched = [UnmatchedLeader(people[u["id"]], u["reason"])
                 for u in solution.get("unmatched", []) if u["id"] in people]
    proposal = Proposal(
        run=run, pairs=pairs, unmatched=sorted(unmatched, key=lambda u: u.person.name),
        summary=summarise(problem, solution),
        removed=[(people[r["mentor"]], people[r["mentee"]]) for r in solution.get("removed", [])
                 if r["mentor"] in people and r["mentee"] in people],
    )
    proposal.filters = {key: value for key, value in (filters or {}).items()
                        if value and key in ("borough", "sector", "profession")}
    proposal.shown = _filtered(pairs, proposal.filters, sort)
    proposal.options = {
        "borough": _present(BOROUGHS, (p.borough for p in people.values())),
        "sector": _present(SECTORS, (p.sector for p in people.values())),
        "profession": _present(PROFESSIONS, (p.profession for p in people.values())),
    }
    return proposal


def _present(vocabulary: dict[str, str], keys: Iterable[str]) -> list[tuple[str, str]]:
    seen = set(keys)
    return [(key, text) for key, text in vocabulary.items() if key in seen]


def _filtered(pairs: list[ProposedPair], filters: dict[str, str], sort: str) -> list[ProposedPair]:
    shown = [pair for pair in pairs
             if all(pair.involves(attribute, value) for attribute, value in filters.items())]
    if sort == "mentee":
        return sorted(shown, key=lambda pair: pair.mentee.name.lower())
    if sort == "mentor":
        return sorted(shown, key=lambda pair: (pair.mentor.name.lower(), pair.mentee.name.lower()))
    return sorted(shown, key=lambda pair: (-pair.score, pair.mentee.name.lower()))


def summarise(problem: dict[str, Any], solution: dict[str, Any]) -> Summary:
    """The figures a coordinator judges a proposal by, from the run's own documents."""
    leaders = {leader["id"]: leader for leader in problem.get("leaders", [])}
    mentees = {i for i, leader in leaders.items() if leader.get("wants_mentor")}
    priority = {i for i in mentees if leaders[i].get("priority")}
    matched = {p["mentee"] for p in solution.get("pairs", [])}
    slots = {slot["id"]: slot for slot in problem.get("slots", [])}
    months = {slot["start"][:7] for slot in slots.values()}
    hours_used = 0.0
    for x in solution.get("exchanges", []):
        slot = slots.get(x["slot"])
        if slot:
            length = (datetime.fromisoformat(slot["end"])
                      - datetime.fromisoformat(slot["start"])).total_seconds() / 3600
            hours_used += 2 * length  # the host's and the visitor's time
    budget = sum((leader.get("protected_hours_per_month") or 0) * len(months)
                 for leader in leaders.values())
    pairs = solution.get("pairs", [])
    return Summary(
        mentees=len(mentees), matched_mentees=len(matched & mentees),
        priority_mentees=len(priority), matched_priority_mentees=len(matched & priority),
        pairs=len(pairs),
        cross_sector_pairs=sum(
            1 for p in pairs
            if p["mentor"] in leaders and p["mentee"] in leaders
            and leaders[p["mentor"]]["sector"] != leaders[p["mentee"]]["sector"]
        ),
        exchanges=len(solution.get("exchanges", [])),
        protected_hours_used=hours_used, protected_hours_budget=float(budget),
    )


# --- two runs side by side -------------------------------------------------------------------


@dataclass(frozen=True)
class PairComparison:
    mentee: Person
    mentor_a: Person | None
    mentor_b: Person | None
    score_a: float | None
    score_b: float | None

    @property
    def same(self) -> bool:
        return self.mentor_a is not None and self.mentor_b is not None and (
            self.mentor_a.id == self.mentor_b.id)


@dataclass(frozen=True)
class Comparison:
    a: Proposal
    b: Proposal
    rows: list[PairComparison]

    @property
    def changed(self) -> list[PairComparison]:
        return [row for row in self.rows if not row.same]

    @property
    def unchanged(self) -> int:
        return sum(1 for row in self.rows if row.same)


def compare(session: Session, run_a: OptimiserRun, run_b: OptimiserRun) -> Comparison:
    """Mentee by mentee: who their mentor is in each run."""
    a, b = read_proposal(session, run_a), read_proposal(session, run_b)
    mentees: dict[int, Person] = {}
    for proposal in (a, b):
        for pair in proposal.pairs:
            mentees.setdefault(pair.mentee.id, pair.mentee)
    rows = []
    for mentee_id, mentee in mentees.items():
        pair_a, pair_b = a.pair_of(mentee_id), b.pair_of(mentee_id)
        rows.append(PairComparison(
            mentee=mentee,
            mentor_a=pair_a.mentor if pair_a else None, mentor_b=pair_b.mentor if pair_b else None,
            score_a=pair_a.score if pair_a else None, score_b=pair_b.score if pair_b else None,
        ))
    rows.sort(key=lambda row: (row.same, row.mentee.name.lower()))
    return Comparison(a, b, rows)


@dataclass(frozen=True)
class PairRule:
    mentor_id: int
    mentor_name: str
    mentee_id: int
    mentee_name: str
    rule: str  # pinned or forbidden


def pair_rules(session: Session, round_id: int) -> list[PairRule]:
    """The round's pinned and forbidden pairs (still proposals), by mentee."""
    mentor, mentee = sa_aliased(LeaderProfile), sa_aliased(LeaderProfile)
    rows = session.exec(
        select(Match, mentor.name, mentee.name)
        .join(mentor, mentor.id == Match.mentor_id)
        .join(mentee, mentee.id == Match.mentee_id)
        .where(Match.round_id == round_id, Match.status == MatchStatus.PROPOSED,
               sa.or_(Match.pinned, Match.forbidden))
        .order_by(mentee.name, mentor.name)
    ).all()
    return [PairRule(match.mentor_id, mentor_name, match.mentee_id, mentee_name,
                     "forbidden" if match.forbidden else "pinned")
            for match, mentor_name, mentee_name in rows]
