"""Frozen dataclasses for mentoring problems and solutions.

This module is the hard boundary of the optimiser: dataclasses in, Solution out.
Nothing here knows about Flask, databases or files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

PROBLEM_FORMAT = "mentoring-problem/1"
SOLUTION_FORMAT = "mentoring-solution/1"

STATUSES = ("optimal", "feasible", "infeasible", "no-solution-in-time", "error")

#: values of ``rules.reciprocal``: each side of a pair hosts at least one exchange always
#: (``required``), only when both leaders can host (``where_possible``: a pair in which one
#: leader cannot host has all its exchanges at the other's workplace), or never (``off``)
RECIPROCAL_REQUIRED, RECIPROCAL_WHERE_POSSIBLE, RECIPROCAL_OFF = (
    "required", "where_possible", "off")
RECIPROCAL_VALUES = (RECIPROCAL_REQUIRED, RECIPROCAL_WHERE_POSSIBLE, RECIPROCAL_OFF)


class ProblemError(ValueError):
    """A problem document is invalid.  ``errors`` lists every fault found,
    each as ``"<location>: <fault>"`` (for example
    ``"leaders[3].available[2]: unknown slot id 'x'"``)."""

    def __init__(self, errors: list[str] | tuple[str, ...]):
        self.errors: tuple[str, ...] = tuple(errors)
        super().__init__("\n".join(self.errors) if self.errors else "invalid problem")


@dataclass(frozen=True)
class Slot:
    id: str
    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class Leader:
    id: str
    profession: str
    organisation: str
    sector: str
    borough: str
    mentor_capacity: int = 0
    wants_mentor: bool = False
    priority: bool = False
    strengths: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    available: tuple[str, ...] = ()
    protected_hours_per_month: float | None = None
    max_hosted_per_week: int | None = None
    # The leader hosts no exchange in a slot that starts before this (local wall-clock time):
    # the notice their organisation needs. None: no such limit.
    host_from: datetime | None = None


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the compatibility score (0-10) computed when ``scores`` is absent.

    The points available add up to 10 with the defaults; a weighted total above 10 is
    capped at 10.  Crossing professional, sectoral and organisational boundaries is
    the point of the programme, so each crossing earns points.
    """

    goals: float = 4.0  # times the fraction of the mentee's goals the mentor's strengths cover
    cross_profession: float = 2.5
    cross_sector: float = 2.0
    cross_organisation: float = 0.5
    same_borough: float = 1.0  # exchanges are visits: travel is easier within a borough


@dataclass(frozen=True)
class Rules:
    exchanges_per_pair: int = 0
    min_days_between_exchanges: int = 0
    # one of RECIPROCAL_VALUES; True and False (the first format's values) are read as
    # "required" and "off"
    reciprocal: str = RECIPROCAL_OFF
    allow_same_organisation: bool = False
    match_bonus: float = 100.0
    priority_bonus: float = 50.0
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    # priority-group mentees are matched at a rate at least the overall rate (when feasible)
    priority_floor: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.reciprocal, bool):
            object.__setattr__(self, "reciprocal",
                               RECIPROCAL_REQUIRED if self.reciprocal else RECIPROCAL_OFF)
        if self.reciprocal not in RECIPROCAL_VALUES:
            raise ValueError(f"unknown reciprocal rule {self.reciprocal!r} "
                             f"(one of {', '.join(RECIPROCAL_VALUES)})")


@dataclass(frozen=True)
class Pin:
    mentor: str
    mentee: str


@dataclass(frozen=True)
class Score:
    mentor: str
    mentee: str
    score: float


@dataclass(frozen=True)
class Problem:
    slots: tuple[Slot, ...]
    leaders: tuple[Leader, ...]
    rules: Rules = field(default_factory=Rules)
    scores: tuple[Score, ...] | None = None
    pinned: tuple[Pin, ...] = ()
    excluded: tuple[Pin, ...] = ()


@dataclass(frozen=True)
class PairResult:
    mentor: str
    mentee: str
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExchangeResult:
    host: str
    visitor: str
    slot: str


@dataclass(frozen=True)
class Unmatched:
    id: str
    reason: str
    # the rule that leaves the mentee out, as a key (see UNMATCHED_RULES); "" when unknown
    rule: str = ""


#: keys of ``Unmatched.rule``: which rule left a mentee without a mentor
UNMATCHED_RULES = {
    "no_candidate": "no mentor allowed by the rules (organisation, exclusions, scores)",
    "protected_time": "protected time too short for the exchanges",
    "free_slots": "too few free slots",
    "common_slots": "no common free slots with any candidate mentor",
    "reciprocal": "cannot host, and exchanges are reciprocal",
    "spacing": "too few common free slots for the exchanges and their spacing",
    "mentor_capacity": "every candidate mentor is full",
    "competition": "candidate mentors or their time went to better-scoring pairs",
    "infeasible": "the problem is infeasible",
}


@dataclass(frozen=True)
class Fixed:
    """What must stay as it is when re-optimising: approved pairs and their exchanges.

    Fixed exchanges consume their slot, the leaders' protected hours and hosting
    capacity.  A fixed pair with fewer than K fixed exchanges gets the rest scheduled.
    """

    pairs: tuple[Pin, ...] = ()
    exchanges: tuple[ExchangeResult, ...] = ()


def _frozen_mapping(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Solution:
    """Result of :func:`optimiser.solve`.

    ``status`` is ``optimal`` (proven), ``feasible`` (a solution, optimality not proven),
    ``infeasible`` (``messages`` say why), ``no-solution-in-time`` (the time limit passed
    before any solution was found) or ``error`` (the solver failed; see ``messages``).
    """

    status: str
    objective: float | None
    bound: float | None
    pairs: tuple[PairResult, ...] = ()
    exchanges: tuple[ExchangeResult, ...] = ()
    unmatched: tuple[Unmatched, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        object.__setattr__(self, "stats", _frozen_mapping(self.stats))
