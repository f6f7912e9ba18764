"""The interface every solving strategy shares: what it is given, and what it returns."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import pulp

from ..candidates import Pair
from ..data import Data
from ..greedy import Scheduled
from ..highs import SolverResult
from ..ip import Model

T = TypeVar("T")

#: building a programme costs roughly this long a variable (pair-slot, or pair)
BUILD_SECONDS_PER_VARIABLE = 30e-6

#: solve(programme, as an integer programme?, time limit, start values) -> result
RunSolver = Callable[..., SolverResult]


@dataclass
class Attempt:
    """What a strategy found: the model and solver result to read the solution from, or
    (``scheduled``, when no solver's solution was better in the time) pairs scheduled
    without a solver (optimiser/greedy.py)."""

    model: Model | None
    result: SolverResult | None
    # an upper bound proven outside ``result`` (the decomposition's matching part), if any
    proven_bound: float | None = None
    # does ``model`` hold every candidate pair (or only those the strategy chose)?
    holds_every_candidate: bool = True
    scheduled: Scheduled | None = None


@dataclass
class SolveContext:
    """What a strategy works with: the problem's data and candidate pairs, the solver, the
    clock, and the stats it adds to. Building and solving are timed through it."""

    data: Data
    candidates: list[Pair]
    run_solver: RunSolver
    deadline: float | None  # time.perf_counter() value
    time_limit: float | None
    score_tolerance: float  # two scores closer than this are equal
    wanted_gap: float  # relative gap at which to stop
    as_integer_programme: bool  # False: K = 0 with HiGHS, a linear programme will do
    stats: dict
    report: Callable[[str, float], None]
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    tried: list[str] = field(default_factory=list)
    # a feasible answer found without a solver, to start from and fall back on (None: none)
    fallback: Scheduled | None = None
    # build the matching part as plain rows for HiGHS, not with PuLP
    matching_as_rows: bool = False
    # the previous solution's pairs (leader indices): among equal scores the matching part
    # prefers them, so that the stability solve starts near them (scores in cents only)
    previous_pairs: frozenset[tuple[int, int]] = frozenset()
    # a national round's matching part stays a linear programme (its values need not be
    # whole: the greedy schedule keeps the pairs above 0.5)
    matching_linear: bool = False

    def time_left(self) -> float | None:
        """Seconds until the deadline (at least a twentieth), None without a time limit."""
        if self.deadline is None:
            return None
        return max(0.05, self.deadline - time.perf_counter())

    def seconds_to_deadline(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.perf_counter()

    def fits(self, variables: int) -> bool:
        """Is there time to build a programme of about ``variables`` pair-slot variables and
        still solve it (twice the building estimate left)?"""
        return self.seconds_to_deadline() > 2 * (BUILD_SECONDS_PER_VARIABLE * variables + 1.0)

    def _clocked(self, counter: str, work: Callable[[], T]) -> T:
        """``work()``, its time added to the stat ``counter`` (build or solve seconds)."""
        started = time.perf_counter()
        try:
            return work()
        finally:
            setattr(self, counter, getattr(self, counter) + time.perf_counter() - started)

    def build(self, make: Callable[[], Model]) -> Model:
        return self._clocked("build_seconds", make)

    def timed(self, work: Callable[[], T]) -> T:
        """Solving without the solver (a search): counted as solving."""
        return self._clocked("solve_seconds", work)

    def solve(self, prob: pulp.LpProblem, limit: float | None, start=None, *,
              integer: bool = True, whole: bool = False) -> SolverResult:
        """``integer=False, whole=True``: the linear programme, and the integer one should
        its values not be whole."""
        return self.timed(lambda: self.run_solver(prob, integer, limit, start, whole=whole))

    def proven(self, bound: float, score: float | None) -> bool:
        """Is ``score`` within the tolerance, or the wanted gap, of ``bound``?"""
        return score is not None and (bound - score < self.score_tolerance or (
            bound - score) / max(1.0, bound) <= self.wanted_gap)


class Strategy(Protocol):
    name: str

    def solve(self, context: SolveContext) -> Attempt | None:
        """An attempt at the programme, or None when this strategy cannot answer."""
