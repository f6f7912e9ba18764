"""The schedule of a matching, a part at a time (the decomposed strategy's step 2).

Two pairs that share no leader share no row of the programme but the priority floor's: every
other rule (one exchange a leader a slot, protected hours, hosting a week, exchange
capacity, mentor capacity) is a leader's, and spacing, host_from and reciprocity are a pair's.
So the pairs of a matching fall into parts linked by their leaders (on M, 409 pairs in 191
parts of at most 8), and each part is scheduled on its own: by the single-pair search
(optimiser/candidates.py) when every pair of the part fits, which is then the part's optimum
since every pair is formed; otherwise by the part's own integer programme. The whole
schedule's programme is built only for the schedule kept, and the parts' answer is checked
against every one of its rows (the priority floor's among them) before it is taken.

On M this replaces, in each of the five cut rounds, building and solving an integer
programme of 5,600 variables (0.5-0.6 s) by the search (about 15 ms) and a few programmes of
a few dozen variables (1-3 ms each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..candidates import Pair, Usage, find_schedule
from ..greedy import GREEDY_SEARCH_STEPS
from ..highs import SolverResult, row_arrays
from ..ip import EITHER, MENTOR, Model, build_model
from ..values import chosen_exchanges, formed_pair_indices, schedule_values
from .base import SolveContext

#: two sides of a row closer than this are equal (the values are 0 and 1)
ROW_TOLERANCE = 1e-6

#: a pair's new exchanges: (slot, host leader, or None where either may host)
Exchanges = list[tuple[int, int | None]]


@dataclass
class PartsSchedule:
    """A matching's schedule found a part at a time: the pairs formed, by (mentor, mentee),
    with their new exchanges; its score, and the sum of the parts' bounds."""

    matching: list[Pair]
    formed: dict[tuple[int, int], Exchanges]
    score: float
    bound: float


def linked_parts(pairs: list[Pair]) -> list[list[Pair]]:
    """``pairs`` in groups linked by shared leaders (a union-find over leaders)."""
    parent: dict[int, int] = {}

    def root(leader: int) -> int:
        parent.setdefault(leader, leader)
        while parent[leader] != leader:
            parent[leader] = parent[parent[leader]]
            leader = parent[leader]
        return leader

    for p in pairs:
        parent[root(p.mentor)] = root(p.mentee)
    parts: dict[int, list[Pair]] = {}
    for p in pairs:
        parts.setdefault(root(p.mentor), []).append(p)
    return list(parts.values())


def schedule_in_parts(context: SolveContext, matching: list[Pair]) -> PartsSchedule | None:
    """The best schedule of ``matching``'s pairs, a part at a time; None when a part's
    programme did not finish (then the whole schedule is solved as one)."""
    formed: dict[tuple[int, int], Exchanges] = {}
    bound = 0.0
    parts = linked_parts(matching)
    context.stats.update(schedule_parts=len(parts), parts_by_programme=0)
    for part in parts:
        found = context.timed(lambda part=part: _search(context, part))
        if found is not None:
            formed.update(found)
            bound += sum(p.weight for p in part)
            continue
        context.stats["parts_by_programme"] += 1
        model = context.build(lambda part=part: build_model(context.data, part,
                                                            with_floor=False))
        result = context.solve(model.prob, context.time_left())
        if result.state != "optimal" or result.values is None or result.bound is None:
            return None
        bound += result.bound
        exchanges = chosen_exchanges(model, result)
        for i in formed_pair_indices(model, result):
            p = model.pairs[i]
            formed[(p.mentor, p.mentee)] = [
                (slot, None if side == EITHER else p.mentor if side == MENTOR else p.mentee)
                for slot, side in exchanges.get(i, ())]
    score = round(sum(p.weight for p in matching if (p.mentor, p.mentee) in formed), 6)
    return PartsSchedule(matching, formed, score, max(bound, score))


def as_solver_result(parts: PartsSchedule, model: Model) -> SolverResult | None:
    """``parts`` as the solution of ``model`` (the whole programme over the matching's
    pairs), as if from the solver; None when it breaks one of the model's rows."""
    values = schedule_values(model, parts.formed)
    names = list(values)
    vector = np.array([values[name] for name in names])
    if not _keeps_every_row(model, names, vector):
        return None
    return SolverResult("optimal", parts.score, parts.bound, vector, "highs",
                        "Optimal (scheduled in parts)", names)


def _search(context: SolveContext, part: list[Pair]
            ) -> dict[tuple[int, int], Exchanges] | None:
    """Every pair of ``part`` scheduled by the single-pair search, hardest first (pinned and
    fixed pairs before the rest, then the fewest usable slots); None when one does not fit,
    or a pair is worth nothing (its part's optimum might then leave it out)."""
    if any(p.weight <= 0 and not p.forced for p in part):
        return None
    taken = Usage()
    out: dict[tuple[int, int], Exchanges] = {}
    for p in sorted(part, key=lambda p: (not p.forced, len(p.slots))):
        schedule = find_schedule(context.data, p, taken, GREEDY_SEARCH_STEPS) if p.need else []
        if schedule is None or schedule is False:
            return None
        taken.take(context.data, p, schedule)
        out[(p.mentor, p.mentee)] = list(schedule)
    return out


def _keeps_every_row(model: Model, names: list[str], vector: np.ndarray) -> bool:
    """Do the values keep every row of ``model`` (the priority floor's among them)?"""
    lower, upper, starts, columns, coefficients = row_arrays(
        model.prob, {name: i for i, name in enumerate(names)})
    if not len(lower):
        return True
    totals = np.add.reduceat(np.append(coefficients * vector[columns], 0.0), starts[:-1]) \
        if len(columns) else np.zeros(len(lower))
    # reduceat gives the next row's first term for an empty row: count those as 0
    totals[starts[:-1] == starts[1:]] = 0.0
    return bool(np.all(totals <= upper + ROW_TOLERANCE) and
                np.all(totals >= lower - ROW_TOLERANCE))
