"""A feasible answer fast, without a solver: pairs formed one at a time, each scheduled by a
short search around what the pairs before it use.

The integer programmes of a national round can run out of time before they find any
solution; this one is always there to fall back on (and to start the solver from). It keeps
every rule the checker checks: one mentor a mentee, mentor capacity, no two leaders each
other's mentor, pinned and fixed pairs, and for each pair's exchanges one exchange a leader
a slot, protected hours, hosting limits, host_from, spacing and reciprocal hosting. The
priority floor is not sought (``solve`` reports whether it holds).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from .candidates import Pair, Usage, find_schedule
from .data import Data

#: steps of one pair's schedule search (beyond them the pair is passed over)
GREEDY_SEARCH_STEPS = 200


@dataclass
class Scheduled:
    """Pairs formed and their new exchanges, (slot, host leader index)."""

    pairs: list[tuple[Pair, list[tuple[int, int]]]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(p.weight for p, _ in self.pairs), 6)


def greedy_schedule(data: Data, pairs: list[Pair], first: set[tuple[int, int]] | None = None,
                    deadline: float | None = None) -> Scheduled | None:
    """Form pairs greedily: pinned and fixed pairs, then the pairs of ``first`` (a matching to
    keep where it can be scheduled), then every other candidate, best weight first; each is
    formed when its mentee has no mentor yet, its mentor has room and a schedule of its
    exchanges is found. None when a pinned or fixed pair cannot be scheduled (then only the
    solver can say whether the problem is feasible). Past ``deadline`` (a
    ``time.perf_counter()`` value) no more pairs are tried."""
    first = first or set()
    leaders = data.leaders
    usage = Usage()
    load: Counter[int] = Counter()
    matched: set[int] = set()
    formed: set[tuple[int, int]] = set()
    out = Scheduled()

    def rank(p: Pair):
        # pinned and fixed first; then the matching to keep, the hardest to schedule first;
        # then the rest by weight
        if p.forced:
            return (0, 0.0)
        if (p.mentor, p.mentee) in first:
            return (1, len(p.slots))
        return (2, -p.weight)

    for tried, p in enumerate(sorted(pairs, key=rank)):
        if not p.forced and deadline is not None and tried % 256 == 0 and \
                time.perf_counter() > deadline:
            break
        if p.mentee in matched or load[p.mentor] >= leaders[p.mentor].mentor_capacity or \
                (p.mentee, p.mentor) in formed:
            if p.forced:
                return None
            continue
        schedule = find_schedule(data, p, usage, GREEDY_SEARCH_STEPS) if p.need else []
        if schedule is None or schedule is False:
            if p.forced:
                return None
            continue
        usage.take(data, p, schedule)
        load[p.mentor] += 1
        matched.add(p.mentee)
        formed.add((p.mentor, p.mentee))
        out.pairs.append((p, schedule))
    return out
