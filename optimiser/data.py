"""Index-based view of a Problem (plus what is fixed) used by the model and diagnostics."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict

from .model import (
    RECIPROCAL_REQUIRED,
    RECIPROCAL_WHERE_POSSIBLE,
    Fixed,
    Leader,
    Problem,
    ProblemError,
    ScoreWeights,
)


class Data:
    """Slots sorted by start; leaders by index; what fixed exchanges consume."""

    def __init__(self, problem: Problem, weights: ScoreWeights, fixed: Fixed | None):
        self.problem = problem
        self.rules = problem.rules
        self.weights = weights
        self.exchanges_per_pair = problem.rules.exchanges_per_pair
        self.min_days = problem.rules.min_days_between_exchanges
        self.slots = sorted(problem.slots, key=lambda s: s.start)
        self.sidx = {s.id: i for i, s in enumerate(self.slots)}
        self.hours = [s.hours for s in self.slots]
        self.date = [s.start.date().toordinal() for s in self.slots]
        months: dict[tuple[int, int], int] = {}
        weeks: dict[tuple[int, int], int] = {}
        self.month = [months.setdefault((s.start.year, s.start.month), len(months))
                      for s in self.slots]
        self.week = [weeks.setdefault(tuple(s.start.isocalendar())[:2], len(weeks))
                     for s in self.slots]
        self.month_keys = list(months)
        self.week_keys = list(weeks)
        self.leaders: list[Leader] = list(problem.leaders)
        self.lidx = {ld.id: i for i, ld in enumerate(self.leaders)}
        self.avail = [frozenset(self.sidx[a] for a in ld.available) for ld in self.leaders]
        # the first slot (in start order) each leader may host in: host_from, the notice
        # their organisation needs (0: any)
        starts = [s.start for s in self.slots]
        self.first_host_slot = [0 if ld.host_from is None else bisect_left(starts, ld.host_from)
                                for ld in self.leaders]
        n = len(self.leaders)
        # consumed by fixed exchanges
        self.busy: list[set[int]] = [set() for _ in range(n)]
        self.used_hours: list[dict[int, float]] = [defaultdict(float) for _ in range(n)]
        self.used_hosted: list[dict[int, int]] = [defaultdict(int) for _ in range(n)]
        self.fixed_pairs: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._reciprocal: dict[tuple[int, int], bool] = {}
        self._load_fixed(fixed)
        # may host in any week they are free (no weekly limit of 0, none used by a fixed
        # exchange): for them only host_from can rule a slot out
        self.hosts_every_week = [ld.max_hosted_per_week != 0 and not self.used_hosted[i]
                                 for i, ld in enumerate(self.leaders)]

    # -- fixed part ---------------------------------------------------------------------
    def _load_fixed(self, fixed: Fixed | None) -> None:
        if fixed is None:
            return
        errors: list[str] = []
        for i, p in enumerate(fixed.pairs):
            where = f"fixed.pairs[{i}]"
            m, e = self.lidx.get(p.mentor), self.lidx.get(p.mentee)
            if m is None:
                errors.append(f"{where}.mentor: unknown leader id {p.mentor!r}")
            if e is None:
                errors.append(f"{where}.mentee: unknown leader id {p.mentee!r}")
            if m is None or e is None:
                continue
            if m == e or self.leaders[m].mentor_capacity == 0 or \
                    not self.leaders[e].wants_mentor:
                errors.append(f"{where}: ({p.mentor!r}, {p.mentee!r}) is not a mentor and "
                              "a mentee")
                continue
            self.fixed_pairs.setdefault((m, e), [])
        for i, x in enumerate(fixed.exchanges):
            where = f"fixed.exchanges[{i}]"
            h, v, s = self.lidx.get(x.host), self.lidx.get(x.visitor), self.sidx.get(x.slot)
            if h is None:
                errors.append(f"{where}.host: unknown leader id {x.host!r}")
            if v is None:
                errors.append(f"{where}.visitor: unknown leader id {x.visitor!r}")
            if s is None:
                errors.append(f"{where}.slot: unknown slot id {x.slot!r}")
            if h is None or v is None or s is None:
                continue
            key = (h, v) if (h, v) in self.fixed_pairs else (v, h)
            if key not in self.fixed_pairs:
                errors.append(f"{where}: exchange of ({x.host!r}, {x.visitor!r}) which is not "
                              "a fixed pair")
                continue
            for ld in (h, v):
                if s in self.busy[ld]:
                    errors.append(f"{where}: {self.leaders[ld].id!r} has two fixed "
                                  f"exchanges in slot {x.slot!r}")
                self.busy[ld].add(s)
                self.used_hours[ld][self.month[s]] += self.hours[s]
            self.used_hosted[h][self.week[s]] += 1
            self.fixed_pairs[key].append((s, h))
        if errors:
            raise ProblemError(errors)

    # -- reciprocal hosting -----------------------------------------------------------------
    def can_host_with(self, ld: int, other: int) -> bool:
        """Can ``ld`` host ``other`` at all: not barred from hosting (max_hosted_per_week 0)
        and free, with ``other``, in a slot at or after their ``host_from``? Read from the
        problem alone (not from what fixed exchanges use), as the checker reads it."""
        if self.leaders[ld].max_hosted_per_week == 0:
            return False
        first = self.first_host_slot[ld]
        return any(s >= first for s in self.avail[ld] & self.avail[other])

    def reciprocal_for(self, m: int, e: int) -> bool:
        """Must each side of the pair (m, e) host at least one of its exchanges?"""
        if self.exchanges_per_pair < 2:
            return False
        mode = self.rules.reciprocal
        if mode == RECIPROCAL_REQUIRED:
            return True
        if mode == RECIPROCAL_WHERE_POSSIBLE:
            # asked for each pair by several constraint families: worked out once
            known = self._reciprocal.get((m, e))
            if known is None:
                known = self._reciprocal[(m, e)] = (self.can_host_with(m, e)
                                                    and self.can_host_with(e, m))
            return known
        return False

    # -- per-leader limits ----------------------------------------------------------------
    def hours_left(self, ld: int, month: int) -> float:
        cap = self.leaders[ld].protected_hours_per_month
        if cap is None:
            return math.inf
        return cap - self.used_hours[ld][month]

    def hosting_left(self, ld: int, week: int) -> float:
        cap = self.leaders[ld].max_hosted_per_week
        if cap is None:
            return math.inf
        return cap - self.used_hosted[ld][week]

    def may_host(self, ld: int, s: int) -> bool:
        """Could ``ld`` host a new exchange in slot ``s`` (hosting left that week, and not
        before their ``host_from``)?"""
        return s >= self.first_host_slot[ld] and self.hosting_left(ld, self.week[s]) > 0

    def may_host_in_any(self, ld: int, slots: list[int]) -> bool:
        """Could ``ld`` host a new exchange in one of ``slots`` (sorted)?"""
        if not slots:
            return False
        if self.hosts_every_week[ld]:
            return slots[-1] >= self.first_host_slot[ld]
        return any(self.may_host(ld, s) for s in slots)

    def usable(self, ld: int) -> set[int]:
        """Slots in which ``ld`` could still take part in an exchange."""
        return {s for s in self.avail[ld] - self.busy[ld]
                if self.hours[s] <= self.hours_left(ld, self.month[s]) + 1e-9}

    def most_exchanges_needed(self, ld: int) -> int:
        """The most exchanges ``ld``'s pairs could need: K for each mentee they may have,
        and K for their own mentor."""
        leader = self.leaders[ld]
        return self.exchanges_per_pair * (leader.mentor_capacity + (1 if leader.wants_mentor
                                                                    else 0))

    def max_exchanges(self, ld: int, usable: set[int] | None = None) -> int:
        """Most further exchanges ``ld`` can take part in (slots and protected hours)."""
        usable = self.usable(ld) if usable is None else usable
        by_month: dict[int, list[float]] = defaultdict(list)
        for s in usable:
            by_month[self.month[s]].append(self.hours[s])
        total = 0
        for mo, hrs in by_month.items():
            left = self.hours_left(ld, mo)
            for h in sorted(hrs):
                if h > left + 1e-9:
                    break
                left -= h
                total += 1
        return total

    def spaced_count(self, slots: list[int], fixed_dates: list[int] = (),
                     stop_at: int | None = None) -> int:
        """Most slots of ``slots`` (sorted) whose dates are pairwise >= d days apart
        (greedy earliest-first, which is optimal for this)."""
        d = self.min_days
        if d <= 0 and not fixed_dates:
            return len(slots) if stop_at is None else min(len(slots), stop_at)
        count, last = 0, None
        for s in slots:
            if d > 0:
                if last is not None and self.date[s] - last < d:
                    continue
                if any(abs(self.date[s] - f) < d for f in fixed_dates):
                    continue
            count += 1
            last = self.date[s]
            if stop_at is not None and count >= stop_at:
                break
        return count
