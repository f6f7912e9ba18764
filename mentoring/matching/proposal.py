"""Reading a run: the proposal as a coordinator reviews it, its summary figures, and two runs
side by side. Leaders are described as they were in the run's problem; names come from the
database.

A run's documents are big: the problem of a round of 5,000 leaders is megabytes of JSON (every
leader's free half-days), and decoding it and the solution on every view cost the review page
most of its time. The problem never changes once the worker has written it, so what the pages
need of it is kept, in each process, for the few runs read last; the solution can still change
(a pair removed), so it is kept by its content.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import aliased as sa_aliased
from sqlmodel import Session, select

from mentoring.configuration import vocabularies
from mentoring.insights import figures
from mentoring.insights.figures import RoundNow
from mentoring.matching.exclusions import REMOVED, TakenOut, as_decided, taken_out
from mentoring.matching.problem import parse_slot, readable_reason
from mentoring.matching.runs import CONTEXT_KEY
from mentoring.models import (
    LeaderProfile,
    Match,
    OptimiserRun,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
)
from mentoring.slots import bounds
from mentoring.vocab import MatchStatus
from optimiser.model import UNMATCHED_RULES

SORTS = {"score": "Score, highest first", "mentee": "Mentee's name", "mentor": "Mentor's name"}
FILTERS = ("borough", "sector", "profession")
CHANGED = "changed"  # the filter of pairs changed since the run followed ("1": on)


# --- a run's documents -----------------------------------------------------------------------


class LeaderTraits(NamedTuple):
    """A leader as the run's problem describes them."""

    profession: str
    sector: str
    borough: str
    priority: bool
    wants_mentor: bool
    protected_hours_per_month: float  # None in the document counts as 0


@dataclass(frozen=True)
class ProblemDigest:
    """What the pages read in a run's problem: everything but the leaders' free half-days."""

    leaders: dict[str, LeaderTraits]
    mentees: frozenset[str]  # leaders who want a mentor
    priority_mentees: frozenset[str]
    present: dict[str, frozenset[str]]  # the boroughs, sectors and professions of the leaders
    slot_hours: dict[str, float]  # how long each slot is
    fixed_pairs: frozenset[tuple[str, str]]  # approved before the run: they stay as they are
    pinned: frozenset[tuple[str, str]]
    state: list[list[int]] | None  # the approved state the run was built on
    previous_run_id: int | None = None  # the run the optimiser kept close to
    reference: Reference | None = None  # what it kept close to (runs stored since issue 17)


@dataclass(frozen=True)
class Reference:
    """The proposal a run followed, as it was given to the optimiser to keep close to (see
    `runs.previous_solution`): what the review's marks compare with."""

    mentor_of: dict[str, str]  # mentee -> mentor
    exchanges: dict[frozenset[str], frozenset[tuple[str, str, str]]]  # by pair: host, visitor, slot
    removed: frozenset[tuple[str, str]]  # pairs the coordinator removed from it

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Reference | None:
        if stored is None:
            return None
        exchanges: dict[frozenset[str], set[tuple[str, str, str]]] = {}
        for host, visitor, slot in stored.get("exchanges", []):
            exchanges.setdefault(frozenset((host, visitor)), set()).add((host, visitor, slot))
        return cls(mentor_of={mentee: mentor for mentor, mentee in stored.get("pairs", [])},
                   exchanges={pair: frozenset(xs) for pair, xs in exchanges.items()},
                   removed=frozenset((mentor, mentee)
                                     for mentor, mentee in stored.get("removed", [])))


def digest_problem(problem: dict[str, Any] | None) -> ProblemDigest:
    problem = problem or {}
    leaders = {
        leader["id"]: LeaderTraits(
            leader["profession"], leader["sector"], leader["borough"],
            bool(leader.get("priority")), bool(leader.get("wants_mentor")),
            leader.get("protected_hours_per_month") or 0)
        for leader in problem.get("leaders", [])
    }
    mentees = frozenset(i for i, leader in leaders.items() if leader.wants_mentor)
    slots = {slot["id"]: slot for slot in problem.get("slots", [])}
    context = problem.get(CONTEXT_KEY, {})
    return ProblemDigest(
        leaders=leaders, mentees=mentees,
        priority_mentees=frozenset(i for i in mentees if leaders[i].priority),
        present={attribute: frozenset(getattr(leader, attribute) for leader in leaders.values())
                 for attribute in FILTERS},
        slot_hours={
            slot_id: (datetime.fromisoformat(slot["end"])
                      - datetime.fromisoformat(slot["start"])).total_seconds() / 3600
            for slot_id, slot in slots.items()
        },
        fixed_pairs=frozenset((p["mentor"], p["mentee"])
                              for p in context.get("fixed", {}).get("pairs", [])),
        pinned=frozenset((p["mentor"], p["mentee"]) for p in problem.get("pinned", [])),
        state=context.get("state"),
        previous_run_id=context.get("previous_run_id"),
        reference=Reference.of(context.get("previous")),
    )


_T = TypeVar("_T")


class _Recent:
    """The values used last, a few at most, shared by the threads of a process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def get(self, key: Hashable, make: Callable[[], _T]) -> _T:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()  # outside the lock: reading a document takes a while
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value


_PROBLEMS = _Recent(4)
_SOLUTIONS = _Recent(4)


def _loaded(run: OptimiserRun, column: str) -> bool:
    return column not in sa.inspect(run).unloaded


def _problem_key(session: Session, run: OptimiserRun) -> tuple[Any, ...] | None:
    """Where the digest of a finished run's problem is kept (its problem never changes again):
    by database, run id and the run's start and end times, as test databases reuse ids. None
    for a run whose problem is loaded already or may still be written."""
    if _loaded(run, "problem") or run.finished_at is None:
        return None
    return (session.get_bind().engine.url.render_as_string(), run.id, run.created_at,
            run.finished_at)


def problem_digest(session: Session, run: OptimiserRun) -> ProblemDigest:
    """What the pages need of the run's problem."""
    key = _problem_key(session, run)
    if key is None:
        return digest_problem(run.problem)
    return _PROBLEMS.get(key, lambda: digest_problem(session.exec(
        select(OptimiserRun.problem).where(OptimiserRun.id == run.id)).first()))


def stored_solution(session: Session, run: OptimiserRun) -> dict[str, Any] | None:
    """The run's solution. Read as text, it is decoded only when that text is new: decoding
    2,000 pairs takes longer than reading them. A problem not kept yet comes in the same query
    (the pages that read the solution read the problem too)."""
    if _loaded(run, "solution"):
        return run.solution
    key = _problem_key(session, run)
    with_problem = key is not None and key not in _PROBLEMS
    row = session.connection().execute(
        select(sa.cast(OptimiserRun.solution, sa.Text),
               *([OptimiserRun.problem] if with_problem else []))
        .where(OptimiserRun.id == run.id)
    ).first()
    if row is None:
        return None
    if with_problem:
        _PROBLEMS.get(key, lambda: digest_problem(row[1]))
    text = row[0]
    if text is None:
        return None
    content = hashlib.blake2b(text.encode(), digest_size=20).digest()
    return _SOLUTIONS.get(content, lambda: json.loads(text))


class RunDocuments:
    """A run's solution, and what the pages need of its problem (read when first asked for).
    Both may be shared with other requests: read them, never change them."""

    def __init__(self, session: Session, run: OptimiserRun) -> None:
        self._session, self._run = session, run

    @cached_property
    def solution(self) -> dict[str, Any] | None:
        return stored_solution(self._session, self._run)

    @cached_property
    def problem(self) -> ProblemDigest:
        _ = self.solution  # the same query reads the problem, when it is not kept yet
        return problem_digest(self._session, self._run)


def run_documents(session: Session, run: OptimiserRun) -> RunDocuments:
    """The run's documents as the pages read them. A run whose documents are not loaded (see
    `sqlalchemy.orm.defer`) is read without decoding them again; a loaded one as it is."""
    return RunDocuments(session, run)


# --- the proposal ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    profession: str
    sector: str
    borough: str
    organisation: str
    priority: bool

    def describe(self) -> str:
        return f"{vocabularies.current().label('profession', self.profession)}, {self.organisation}"


@dataclass(frozen=True, slots=True)
class ProposedExchange:
    host: Person
    visitor: Person
    slot: str
    starts_at: datetime
    ends_at: datetime
    # How it differs from the run this one follows, for a pair kept: "" (not at all),
    # NEW_DATE or NEW_HOST (the same half-day, the other leader hosting).
    changed: str = ""


@dataclass(frozen=True, slots=True)
class ProposedPair:
    mentor: Person
    mentee: Person
    score: float
    reasons: tuple[str, ...]
    exchanges: tuple[ProposedExchange, ...]
    pinned: bool
    approved: bool  # already approved before this run: it stays as it is
    change: Change | None = None  # what changed since the run this one follows
    was_mentor: Person | None = None  # the mentee's mentor in that run (a new mentor)
    taken_out: TakenOut | None = None  # removed from this proposal, or forbidden since

    @property
    def key(self) -> str:
        """The row's id on the review page (the anchor its buttons come back to)."""
        return f"pair-{self.mentor.id}-{self.mentee.id}"

    @property
    def crosses_sectors(self) -> bool:
        return self.mentor.sector != self.mentee.sector

    def involves(self, attribute: str, value: str) -> bool:
        return value in (getattr(self.mentor, attribute), getattr(self.mentee, attribute))


@dataclass(frozen=True, slots=True)
class UnmatchedLeader:
    person: Person
    reason: str


@dataclass(frozen=True)
class Summary:
    """A run's figures for the whole round, as the dashboard defines them
    (`mentoring.insights.figures`): what the round would be if the run's proposal were approved
    now, beside what it is now. A local run's problem holds only some of the round's leaders;
    the mentees outside it, and the hours already committed, count all the same."""

    mentees: int  # joined participants who asked for a mentor
    matched_mentees: int  # with the proposal: matched now, or paired by it
    priority_mentees: int
    matched_priority_mentees: int
    matched_now: int
    priority_matched_now: int
    pairs: int  # the proposal's (a run keeps every approved pair of leaders still taking part)
    cross_sector_pairs: int
    exchanges: int
    protected_hours_used: float  # committed with the proposal: done, booked, held and proposed
    protected_hours_budget: float
    protected_hours_now: float  # committed now, as on the dashboard

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


class _People:
    """The run's leaders as `Person`s, each made when first needed: names and organisations
    from the database, the rest as the run's problem describes them."""

    def __init__(self, session: Session, problem: ProblemDigest, round_id: int) -> None:
        self._leaders = problem.leaders
        # Only the columns shown (whole profile rows cost 0.1 ms each, 0.5 s for 5,000
        # leaders), of the round's participants: every leader of the problem is one (a list of
        # thousands of ids costs more to send than the query takes to run). As plain rows (the
        # ORM's handling of rows costs as much as the query), the ids as text as in the problem.
        rows = session.connection().execute(
            select(sa.cast(LeaderProfile.id, sa.String), LeaderProfile.name, Organisation.name)
            .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
            .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
            .where(RoundParticipant.round_id == round_id)
        ).all() if self._leaders else []
        self._found = {row[0]: row for row in rows}  # id, name and organisation by id
        self._made: dict[str, Person] = {}

    def __contains__(self, leader_id: str) -> bool:
        return leader_id in self._leaders

    def __getitem__(self, leader_id: str) -> Person:
        person = self._made.get(leader_id)
        if person is None:
            leader = self._leaders[leader_id]
            organisation = self._found.get(leader_id, (None, None, None))[2]
            person = self._made[leader_id] = Person(
                id=int(leader_id), name=self.name(leader_id),
                profession=leader.profession, sector=leader.sector, borough=leader.borough,
                organisation=organisation or "", priority=leader.priority,
            )
        return person

    def name(self, leader_id: str) -> str:
        name = self._found.get(leader_id, (None, None, None))[1]
        # A leader who has since deleted their account keeps only their id here.
        return name if name is not None else f"Leader {leader_id} (account deleted)"


@lru_cache(maxsize=4096)
def _slot_bounds(slot: str) -> tuple[datetime, datetime]:
    # A run's thousands of exchanges fall in a few hundred slots: each is converted once.
    return bounds(*parse_slot(slot))


def _exchanges_by_pair(
    solution: dict[str, Any], people: _People, leaders: set[str] | None = None,
) -> dict[frozenset[str], list[ProposedExchange]]:
    """The solution's exchanges by pair (only those between `leaders`, if given)."""
    by_pair: dict[frozenset[str], list[ProposedExchange]] = {}
    for x in solution.get("exchanges", []):
        if leaders is not None and not (x["host"] in leaders and x["visitor"] in leaders):
            continue
        starts_at, ends_at = _slot_bounds(x["slot"])
        by_pair.setdefault(frozenset((x["host"], x["visitor"])), []).append(ProposedExchange(
            people[x["host"]], people[x["visitor"]], x["slot"], starts_at, ends_at))
    return by_pair


def _proposed_pair(pair: dict[str, Any], people: _People, problem: ProblemDigest,
                   by_pair: dict[frozenset[str], list[ProposedExchange]],
                   changes: dict[tuple[str, str], Change] | None = None,
                   taken: dict[tuple[str, str], TakenOut] | None = None) -> ProposedPair:
    key = (pair["mentor"], pair["mentee"])
    change = (changes or {}).get(key)
    exchanges = sorted(by_pair.get(frozenset(key), []), key=lambda x: x.starts_at)
    if change is not None and change.new_dates:
        exchanges = [
            replace(x, changed=NEW_HOST if x.slot in change.was_slots else NEW_DATE)
            if (str(x.host.id), str(x.visitor.id), x.slot) in change.new_dates else x
            for x in exchanges]
    return ProposedPair(
        mentor=people[pair["mentor"]], mentee=people[pair["mentee"]],
        score=float(pair.get("score") or 0.0),
        reasons=tuple(readable_reason(reason) for reason in pair.get("reasons") or ()),
        exchanges=tuple(exchanges),
        pinned=key in problem.pinned, approved=key in problem.fixed_pairs,
        change=change,
        was_mentor=people[change.was_mentor]
        if change is not None and change.was_mentor in people else None,
        taken_out=(taken or {}).get(key),
    )


def _unmatched(solution: dict[str, Any], people: _People) -> list[UnmatchedLeader]:
    unmatched = [UnmatchedLeader(people[u["id"]], u["reason"])
                 for u in solution.get("unmatched", []) if u["id"] in people]
    return sorted(unmatched, key=lambda u: u.person.name)


def _chosen(filters: dict[str, str] | None) -> dict[str, str]:
    return {key: value for key, value in (filters or {}).items()
            if value and key in (*FILTERS, CHANGED)}


def _order(pairs: list[dict[str, Any]], people: _People, problem: ProblemDigest,
           filters: dict[str, str], sort: str,
           changes: dict[tuple[str, str], Change] | None = None) -> list[int]:
    """Which of the solution's pairs pass the filters, in the order chosen (by position).
    `changes` (`changes_since`) serve the filter of changed pairs."""
    leaders = problem.leaders
    changed_only = CHANGED in filters and changes is not None  # a first run has no changes
    attributes = {key: value for key, value in filters.items() if key in FILTERS}
    shown = [
        number for number, pair in enumerate(pairs)
        if all(value in (getattr(leaders[pair["mentor"]], attribute),
                         getattr(leaders[pair["mentee"]], attribute))
               for attribute, value in attributes.items())
        and (not changed_only or (pair["mentor"], pair["mentee"]) in (changes or {}))
    ]
    names: dict[str, str] = {}

    def name(leader_id: str) -> str:
        if leader_id not in names:
            names[leader_id] = people.name(leader_id).lower()
        return names[leader_id]

    if sort == "mentee":
        return sorted(shown, key=lambda number: name(pairs[number]["mentee"]))
    if sort == "mentor":
        return sorted(shown, key=lambda number: (name(pairs[number]["mentor"]),
                                                 name(pairs[number]["mentee"])))
    return sorted(shown, key=lambda number: (-float(pairs[number].get("score") or 0.0),
                                             name(pairs[number]["mentee"])))


def _options(problem: ProblemDigest) -> dict[str, list[tuple[str, str]]]:
    words = vocabularies.current()
    return {attribute: [(key, text) for key, text in vocabulary.items()
                        if key in problem.present[attribute]]
            for attribute, vocabulary in (("borough", words.places), ("sector", words.sectors),
                                          ("profession", words.professions))}


def round_now(session: Session, run: OptimiserRun) -> RoundNow:
    """The run's round as it is now, which its summary counts."""
    return figures.round_now(session, session.get(ProgrammeRound, run.round_id))


def read_proposal(session: Session, run: OptimiserRun, filters: dict[str, str] | None = None,
                  sort: str = "score", *, documents: RunDocuments | None = None,
                  now: RoundNow | None = None) -> Proposal:
    """The proposal as decided: without the pairs taken out of it (`exclusions`)."""
    documents = documents or run_documents(session, run)
    taken = taken_out(session, run)
    problem, solution = documents.problem, as_decided(documents.solution, taken) or {}
    people = _People(session, problem, run.round_id)
    by_pair = _exchanges_by_pair(solution, people)
    pairs = [_proposed_pair(p, people, problem, by_pair) for p in solution.get("pairs", [])]
    proposal = Proposal(
        run=run, pairs=pairs, unmatched=_unmatched(solution, people),
        summary=summarise(problem, solution, now or round_now(session, run)),
        removed=[(people[mentor], people[mentee]) for (mentor, mentee), out in taken.items()
                 if out.decision == REMOVED and mentor in people and mentee in people],
    )
    proposal.filters = _chosen(filters)
    proposal.shown = [pairs[number] for number in _order(
        solution.get("pairs", []), people, problem, proposal.filters, sort)]
    proposal.options = _options(problem)
    return proposal


# Reasons that are the round's rules at work (not mentors given to better-scoring pairs):
# the review warns when one of them leaves out members of a priority group.
RULES_THAT_LEAVE_OUT = ("reciprocal", "no_candidate", "protected_time", "free_slots",
                        "common_slots", "spacing")


@dataclass(frozen=True)
class LeftOut:
    """How many leaders one rule leaves without a mentor, and how many are in a priority group."""

    rule: str
    description: str
    leaders: int
    priority: int


def left_out_by_rule(problem: ProblemDigest, solution: dict[str, Any]) -> list[LeftOut]:
    """Unmatched mentees counted by the rule that leaves them out (solutions from before the
    optimiser named the rule count as nothing here), most first."""
    leaders: dict[str, int] = {}
    priority: dict[str, int] = {}
    for item in solution.get("unmatched", []):
        rule = item.get("rule")
        if not rule:
            continue
        leaders[rule] = leaders.get(rule, 0) + 1
        if item["id"] in problem.priority_mentees:
            priority[rule] = priority.get(rule, 0) + 1
    return sorted((LeftOut(rule, UNMATCHED_RULES.get(rule, rule), count, priority.get(rule, 0))
                   for rule, count in leaders.items()), key=lambda x: (-x.leaders, x.rule))


@dataclass(frozen=True)
class KeptCloseTo:
    """The earlier run a run stayed close to, and what it changed of it."""

    run_id: int
    changed_pairs: int
    moved_exchanges: int


def _kept_close_to(problem: ProblemDigest, solution: dict[str, Any]) -> KeptCloseTo | None:
    stats = solution.get("stats") or {}
    if problem.previous_run_id is None or "moved_pairs" not in stats:
        return None
    return KeptCloseTo(problem.previous_run_id, int(stats["moved_pairs"]),
                       int(stats.get("moved_exchanges") or 0))


# --- what changed since the run followed -------------------------------------------------------

NEW_PAIR, NEW_MENTOR, PROPOSED_AGAIN, DATES_MOVED = "new", "mentor", "again", "moved"
NEW_DATE, NEW_HOST = "New date", "New host"  # how an exchange of a pair kept changed


class Change(NamedTuple):
    """How a pair differs from the run its run follows."""

    kind: str  # NEW_PAIR, NEW_MENTOR, PROPOSED_AGAIN (removed there) or DATES_MOVED
    was_mentor: str | None = None  # NEW_MENTOR: the mentee's mentor there
    new_dates: frozenset[tuple[str, str, str]] = frozenset()  # exchanges not there
    was_slots: frozenset[str] = frozenset()  # DATES_MOVED: the pair's half-days there


@dataclass(frozen=True)
class ChangeSummary:
    """The marks of a review, counted."""

    run_id: int  # the run followed
    new_pairs: int
    new_mentors: int
    proposed_again: int
    dates_moved: int
    unchanged: int
    gone: int  # pairs of the run followed whose mentee has no mentor now

    @property
    def changed(self) -> int:
        return self.new_pairs + self.new_mentors + self.proposed_again + self.dates_moved


def changes_since(problem: ProblemDigest,
                  solution: dict[str, Any]) -> dict[tuple[str, str], Change] | None:
    """Each pair of the solution that is new or changed since the run followed (None: there
    is no such run, or the run was stored before what it followed was). The comparison is with
    what the optimiser kept close to, so these are exactly the changes it chose."""
    reference = problem.reference
    if reference is None:
        return None
    now: dict[frozenset[str], set[tuple[str, str, str]]] = {}
    for x in solution.get("exchanges", []):
        now.setdefault(frozenset((x["host"], x["visitor"])), set()).add(
            (x["host"], x["visitor"], x["slot"]))
    changes: dict[tuple[str, str], Change] = {}
    for pair in solution.get("pairs", []):
        key = (pair["mentor"], pair["mentee"])
        was = reference.mentor_of.get(pair["mentee"])
        if was == pair["mentor"]:
            dates = now.get(frozenset(key), set())
            before = reference.exchanges.get(frozenset(key), frozenset())
            if dates != before:
                changes[key] = Change(DATES_MOVED, new_dates=frozenset(dates - before),
                                      was_slots=frozenset(slot for _, _, slot in before))
        elif key in reference.removed:
            changes[key] = Change(PROPOSED_AGAIN)
        elif was is not None:
            changes[key] = Change(NEW_MENTOR, was_mentor=was)
        else:
            changes[key] = Change(NEW_PAIR)
    return changes


def _count_changes(problem: ProblemDigest, solution: dict[str, Any],
                   changes: dict[tuple[str, str], Change] | None) -> ChangeSummary | None:
    if changes is None or problem.previous_run_id is None or problem.reference is None:
        return None
    kinds = [change.kind for change in changes.values()]
    matched = {pair["mentee"] for pair in solution.get("pairs", [])}
    return ChangeSummary(
        run_id=problem.previous_run_id, new_pairs=kinds.count(NEW_PAIR),
        new_mentors=kinds.count(NEW_MENTOR), proposed_again=kinds.count(PROPOSED_AGAIN),
        dates_moved=kinds.count(DATES_MOVED),
        unchanged=len(solution.get("pairs", [])) - len(kinds),
        gone=sum(1 for mentee in problem.reference.mentor_of if mentee not in matched),
    )


@dataclass
class Review:
    """A run's proposal as its review page shows it. Its pairs become `ProposedPair`s a page at
    a time (`page`): building all of a big round's pairs, with their exchanges, cost more than
    the rest of the page.

    Every pair the optimiser proposed keeps its row, in its place: one taken out of the
    proposal is marked so (`ProposedPair.taken_out`). The figures and the unmatched leaders
    are those of the proposal as decided (`exclusions.as_decided`), as approval would apply."""

    summary: Summary
    unmatched: list[UnmatchedLeader]
    filters: dict[str, str]
    options: dict[str, list[tuple[str, str]]]
    pair_count: int  # pairs in the proposal
    left_out: list[LeftOut]  # unmatched mentees by the rule that leaves them out
    kept_close_to: KeptCloseTo | None  # the earlier run the optimiser stayed close to
    changes: ChangeSummary | None  # what changed since the run followed, counted
    taken_out_count: int  # pairs removed from this proposal or forbidden since
    # with the round's priority floor: "met", "not met", or "not feasible: solved without it"
    priority_floor: str | None
    _shown: list[dict[str, Any]]  # the solution's pairs that pass the filters, in order
    _solution: dict[str, Any]
    _problem: ProblemDigest
    _people: _People
    _changes: dict[tuple[str, str], Change] = field(default_factory=dict)
    taken: dict[tuple[str, str], TakenOut] = field(default_factory=dict)  # taken out, by pair

    @property
    def priority_left_out_by_rules(self) -> list[LeftOut]:
        """The round's rules that leave out members of a priority group: the review warns."""
        return [item for item in self.left_out
                if item.priority and item.rule in RULES_THAT_LEAVE_OUT]

    @property
    def shown_count(self) -> int:
        return len(self._shown)

    def page(self, first: int, count: int) -> list[ProposedPair]:
        """The pairs shown from position `first` (0 is the first), `count` at most."""
        shown = self._shown[first:first + count]
        leaders = {leader for pair in shown for leader in (pair["mentor"], pair["mentee"])}
        by_pair = _exchanges_by_pair(self._solution, self._people, leaders)
        return [_proposed_pair(pair, self._people, self._problem, by_pair, self._changes,
                               self.taken) for pair in shown]

    def position_of(self, mentor_id: int, mentee_id: int) -> int | None:
        """Where a pair is among those shown (0 is the first), if it is shown."""
        key = (str(mentor_id), str(mentee_id))
        return next((number for number, pair in enumerate(self._shown)
                     if (pair["mentor"], pair["mentee"]) == key), None)

    def keepable(self) -> list[tuple[int, int]]:
        """The pairs shown (on every page) that a pin can keep: not approved already and not
        taken out of the proposal. As (mentor id, mentee id)."""
        return [(int(pair["mentor"]), int(pair["mentee"])) for pair in self._shown
                if (key := (pair["mentor"], pair["mentee"])) not in self._problem.fixed_pairs
                and key not in self.taken]


def review(session: Session, run: OptimiserRun, filters: dict[str, str] | None = None,
           sort: str = "score", *, documents: RunDocuments | None = None,
           now: RoundNow | None = None) -> Review:
    """What `read_proposal` reads, for the review page: the same pairs, in the same order, with
    the pairs taken out of the proposal marked instead of left out."""
    documents = documents or run_documents(session, run)
    problem, solution = documents.problem, documents.solution or {}
    taken = taken_out(session, run)
    decided = as_decided(solution, taken) or {}
    people = _People(session, problem, run.round_id)
    pairs = solution.get("pairs", [])
    chosen = _chosen(filters)
    changes = changes_since(problem, solution)
    return Review(
        summary=summarise(problem, decided, now or round_now(session, run)),
        unmatched=_unmatched(decided, people),
        filters=chosen, options=_options(problem), pair_count=len(pairs),
        left_out=left_out_by_rule(problem, solution),
        kept_close_to=_kept_close_to(problem, solution),
        changes=_count_changes(problem, solution, changes),
        taken_out_count=sum(1 for pair in pairs if (pair["mentor"], pair["mentee"]) in taken),
        priority_floor=(solution.get("stats") or {}).get("priority_floor"),
        _shown=[pairs[number]
                for number in _order(pairs, people, problem, chosen, sort, changes)],
        _solution=solution, _problem=problem, _people=people, _changes=changes or {},
        taken=taken,
    )


def summarise(problem: ProblemDigest, solution: dict[str, Any], now: RoundNow) -> Summary:
    """The figures a coordinator judges a proposal by: the whole round (`now`) with the run's
    proposal added."""
    leaders = problem.leaders
    pairs = solution.get("pairs", [])
    proposed_hours = 0.0
    for x in solution.get("exchanges", []):
        length = problem.slot_hours.get(x["slot"])
        if length is not None:
            proposed_hours += 2 * length  # the host's and the visitor's time
    with_proposal = now.matched_share(frozenset(int(p["mentee"]) for p in pairs))
    as_now = now.matched_share()
    return Summary(
        mentees=with_proposal.mentees, matched_mentees=with_proposal.matched,
        priority_mentees=with_proposal.priority_mentees,
        matched_priority_mentees=with_proposal.priority_matched,
        matched_now=as_now.matched, priority_matched_now=as_now.priority_matched,
        pairs=len(pairs),
        cross_sector_pairs=sum(
            1 for p in pairs
            if p["mentor"] in leaders and p["mentee"] in leaders
            and leaders[p["mentor"]].sector != leaders[p["mentee"]].sector
        ),
        exchanges=len(solution.get("exchanges", [])),
        protected_hours_used=now.committed_with(
            {(int(p["mentor"]), int(p["mentee"])) for p in pairs}, proposed_hours),
        protected_hours_budget=now.hours.budget,
        protected_hours_now=now.hours.committed,
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
