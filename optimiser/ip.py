"""The integer programme, one function per constraint family.

Variables
  x[p]        1 when candidate pair p is formed.
  y[p,s,h]    1 when pair p has an exchange in slot s hosted by h.  Only slots in which
              both leaders are free (and have protected time and hosting left) get a
              variable.  The host is split into two variables only where it matters
              (a hosting limit that can bind, together with reciprocal hosting or a
              limit on both sides, or a slot before one leader's ``host_from``);
              elsewhere a single variable stands for the exchange and the host is chosen
              after solving.

Families realised by omission rather than rows: excluded pairs and same-organisation
pairs (when not allowed) get no variable; a slot where a leader is unavailable gets no
variable.  Rows are built with LpAffineExpression over lists, never with sum() or +=.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import pulp

from .candidates import Pair
from .data import Data

MENTOR, MENTEE, EITHER = "m", "e", "?"
LE = pulp.LpConstraintLE


@dataclass
class ExVar:
    pair: int
    slot: int
    side: str  # MENTOR / MENTEE hosts, or EITHER (host chosen after solving)
    var: pulp.LpVariable


@dataclass
class Model:
    data: Data
    pairs: list[Pair]
    prob: pulp.LpProblem
    x: list[pulp.LpVariable]
    ex: list[ExVar] = field(default_factory=list)
    by_pair: dict[int, list[ExVar]] = field(default_factory=lambda: defaultdict(list))
    by_leader: dict[int, list[ExVar]] = field(default_factory=lambda: defaultdict(list))
    pairs_of_leader: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    hosting_binds: set[int] = field(default_factory=set)

    def add(self, terms: list[tuple[pulp.LpVariable, float]], sense: int, rhs: float,
            name: str) -> None:
        self.prob.addConstraint(
            pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name=name, rhs=rhs))


class Column(NamedTuple):
    """A column of a :class:`RowProgramme` (what a PuLP variable is to a PuLP problem)."""

    index: int
    name: str


@dataclass
class RowProgramme:
    """A binary programme kept as plain rows over column indices, for HiGHS directly
    (optimiser/highs.py ``solve_rows_highs``): the matching part of a national round has
    hundreds of thousands of pairs, which PuLP takes half a minute or more to build and hand
    over. Maximises ``costs``."""

    costs: list[float]
    # (terms, sense, rhs): terms as (Column, coefficient), sense as PuLP's (-1 <=, 0 =, 1 >=)
    rows: list[tuple[list[tuple[Column, float]], int, float]] = field(default_factory=list)

    def numConstraints(self) -> int:
        return len(self.rows)


@dataclass
class RowModel:
    """The matching part as a :class:`RowProgramme`: the constraint families below write
    their rows into it as they would into a PuLP :class:`Model`."""

    data: Data
    pairs: list[Pair]
    prob: RowProgramme
    x: list[Column]
    ex: list[ExVar] = field(default_factory=list)
    pairs_of_leader: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def add(self, terms: list[tuple[Column, float]], sense: int, rhs: float,
            name: str) -> None:
        self.prob.rows.append((terms, sense, rhs))


def _host_leader(model: Model, ev: ExVar) -> int | None:
    p = model.pairs[ev.pair]
    return p.mentor if ev.side == MENTOR else p.mentee if ev.side == MENTEE else None


def _before_host_from(data: Data, p: Pair) -> bool:
    """Does one of the pair's slots come before a leader's ``host_from``? (Its slots are
    sorted by start, as the slot indices are.)"""
    return bool(p.slots) and p.slots[0] < max(data.first_host_slot[p.mentor],
                                              data.first_host_slot[p.mentee])


# -- matching -----------------------------------------------------------------------------
def add_one_mentor_per_mentee(model: Model) -> None:
    by_mentee: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(model.pairs):
        by_mentee[p.mentee].append(i)
    for e, idx in by_mentee.items():
        if len(idx) > 1:
            model.add([(model.x[i], 1.0) for i in idx], pulp.LpConstraintLE, 1,
                      f"one_mentor_{e}")


def add_mentor_capacity(model: Model) -> None:
    by_mentor: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(model.pairs):
        by_mentor[p.mentor].append(i)
    for m, idx in by_mentor.items():
        cap = model.data.leaders[m].mentor_capacity
        if len(idx) > cap:
            model.add([(model.x[i], 1.0) for i in idx], pulp.LpConstraintLE, cap,
                      f"capacity_{m}")


def add_no_mutual_pairs(model: Model) -> None:
    """Two leaders form at most one pair: not each other's mentor (their exchanges could
    not be told apart)."""
    where = {(p.mentor, p.mentee): i for i, p in enumerate(model.pairs)}
    for (m, e), i in where.items():
        j = where.get((e, m))
        if j is not None and i < j:
            model.add([(model.x[i], 1.0), (model.x[j], 1.0)], pulp.LpConstraintLE, 1,
                      f"not_mutual_{i}_{j}")


def add_pinned_pairs(model: Model) -> None:
    """Pinned pairs, and pairs fixed by a re-optimisation, are formed."""
    for i, p in enumerate(model.pairs):
        if p.forced:
            model.add([(model.x[i], 1.0)], pulp.LpConstraintEQ, 1,
                      f"{'fixed' if p.fixed else 'pinned'}_{i}")


# -- exchanges ----------------------------------------------------------------------------
def add_exchange_variables(model: Model) -> None:
    """Create y variables (see the module doc for when the host is split)."""
    data, pairs = model.data, model.pairs
    for i, p in enumerate(pairs):
        model.pairs_of_leader[p.mentor].append(i)
        model.pairs_of_leader[p.mentee].append(i)
    # which leaders' hosting limits can bind: more slots with a variable in some week than
    # hosting left that week, and more exchanges possible than that
    slots_of: dict[int, set[int]] = defaultdict(set)
    for p in pairs:
        slots_of[p.mentor].update(p.slots)
        slots_of[p.mentee].update(p.slots)
    for ld, slots in slots_of.items():
        if data.leaders[ld].max_hosted_per_week is None:
            continue
        most = sum(pairs[i].need for i in model.pairs_of_leader[ld])
        per_week: dict[int, int] = defaultdict(int)
        for s in slots:
            per_week[data.week[s]] += 1
        if any(min(c, most) > data.hosting_left(ld, w) for w, c in per_week.items()):
            model.hosting_binds.add(ld)
    prob = model.prob
    for i, p in enumerate(pairs):
        if p.need == 0 or not p.slots:
            continue
        reciprocal = data.reciprocal_for(p.mentor, p.mentee)
        bm, be = p.mentor in model.hosting_binds, p.mentee in model.hosting_binds
        if _before_host_from(data, p):
            sides = [MENTOR, MENTEE]  # add_host_from says who may host when
        elif not bm and not be:
            sides = [EITHER]
        elif reciprocal or (bm and be):
            sides = [MENTOR, MENTEE]
        else:
            sides = [MENTEE] if bm else [MENTOR]
        for s in p.slots:
            w = data.week[s]
            for side in sides:
                host = p.mentor if side == MENTOR else p.mentee if side == MENTEE else None
                if host is not None and len(sides) == 2 and data.hosting_left(host, w) <= 0:
                    continue
                v = prob.add_variable(f"y{i}_{s}{side if side != EITHER else ''}", 0, 1,
                                      cat=pulp.LpBinary)
                ev = ExVar(i, s, side, v)
                model.ex.append(ev)
                model.by_pair[i].append(ev)
                model.by_leader[p.mentor].append(ev)
                model.by_leader[p.mentee].append(ev)


def add_exactly_k_exchanges(model: Model) -> None:
    """A formed pair has exactly K exchanges (K minus the fixed ones); no pair, none."""
    for i, p in enumerate(model.pairs):
        if p.need == 0:
            continue
        terms = [(ev.var, 1.0) for ev in model.by_pair.get(i, [])]
        terms.append((model.x[i], -float(p.need)))
        model.add(terms, pulp.LpConstraintEQ, 0, f"k_exchanges_{i}")


def add_one_exchange_per_leader_per_slot(model: Model) -> None:
    for ld, evs in model.by_leader.items():
        by_slot: dict[int, list[ExVar]] = defaultdict(list)
        for ev in evs:
            by_slot[ev.slot].append(ev)
        for s, group in by_slot.items():
            if len(group) > 1:
                model.add([(ev.var, 1.0) for ev in group], pulp.LpConstraintLE, 1,
                          f"one_per_slot_{ld}_{s}")


def add_protected_hours_per_month(model: Model) -> None:
    """Exchange hours of a leader in a calendar month stay within their protected hours;
    written only where the limit can bind."""
    data = model.data
    for ld, evs in model.by_leader.items():
        if data.leaders[ld].protected_hours_per_month is None:
            continue
        most = sum(model.pairs[i].need for i in model.pairs_of_leader[ld])
        by_month: dict[int, list[ExVar]] = defaultdict(list)
        for ev in evs:
            by_month[data.month[ev.slot]].append(ev)
        for mo, group in by_month.items():
            left = data.hours_left(ld, mo)
            hours = sorted({ev.slot: data.hours[ev.slot] for ev in group}.values(),
                           reverse=True)
            if sum(hours[:most]) <= left + 1e-9:
                continue  # cannot bind
            model.add([(ev.var, data.hours[ev.slot]) for ev in group], pulp.LpConstraintLE,
                      left, f"hours_{ld}_{mo}")


def add_max_hosted_per_week(model: Model) -> None:
    data = model.data
    for ld in model.hosting_binds:
        by_week: dict[int, list[ExVar]] = defaultdict(list)
        for ev in model.by_leader.get(ld, []):
            if _host_leader(model, ev) == ld:
                by_week[data.week[ev.slot]].append(ev)
        for w, group in by_week.items():
            left = data.hosting_left(ld, w)
            if len({ev.slot for ev in group}) > left:
                model.add([(ev.var, 1.0) for ev in group], pulp.LpConstraintLE, left,
                          f"hosted_{ld}_{w}")


def add_host_from(model: Model) -> None:
    """A leader hosts no new exchange in a slot before their ``host_from`` (the notice their
    organisation needs): one row per such leader, over the exchanges they would host too
    soon. Fixed exchanges are not variables, so they stay as they were approved."""
    data = model.data
    too_soon: dict[int, list[ExVar]] = defaultdict(list)
    for ev in model.ex:
        host = _host_leader(model, ev)
        if host is not None and ev.slot < data.first_host_slot[host]:
            too_soon[host].append(ev)
    for ld, group in too_soon.items():
        model.add([(ev.var, 1.0) for ev in group], LE, 0, f"host_from_{ld}")


def add_min_days_between_exchanges(model: Model) -> None:
    """Start dates of two exchanges of a pair are >= d days apart: for every window of d
    consecutive days, at most one exchange of the pair starts in it (and none unless the
    pair is formed).  Only maximal windows are written."""
    data = model.data
    d = data.min_days
    if d <= 0:
        return
    for i, p in enumerate(model.pairs):
        evs = model.by_pair.get(i, [])
        if p.need < 2 or not evs:
            continue
        evs = sorted(evs, key=lambda ev: ev.slot)
        dates = [data.date[ev.slot] for ev in evs]
        last_end, j, n = -1, 0, len(evs)
        for a in range(n):
            j = max(j, a)
            while j + 1 < n and dates[j + 1] <= dates[a] + d - 1:
                j += 1
            if j > a and j > last_end:
                terms = [(ev.var, 1.0) for ev in evs[a:j + 1]]
                terms.append((model.x[i], -1.0))
                model.add(terms, pulp.LpConstraintLE, 0, f"spacing_{i}_{a}")
                last_end = j


def add_reciprocal_hosting(model: Model) -> None:
    """With reciprocal hosting and K >= 2 each side hosts at least one exchange ("where
    possible": only in pairs where both leaders can host).  Pairs whose host is chosen after
    solving get it there (their hosting cannot bind)."""
    data = model.data
    for i, p in enumerate(model.pairs):
        evs = model.by_pair.get(i, [])
        if not evs or evs[0].side == EITHER or not data.reciprocal_for(p.mentor, p.mentee):
            continue
        hosts = {h for _, h in p.fixed_ex}
        for side, ld in ((MENTOR, p.mentor), (MENTEE, p.mentee)):
            if ld in hosts:
                continue
            terms = [(ev.var, 1.0) for ev in evs if ev.side == side]
            terms.append((model.x[i], -1.0))
            model.add(terms, pulp.LpConstraintGE, 0, f"reciprocal_{i}_{side}")


def add_exchange_capacity(model: Model, slots_of: dict[int, set[int]]) -> None:
    """Implied: a leader's pairs need no more exchanges than the leader has slots (of
    ``slots_of``) and protected hours for (tightens the relaxation; written only where it
    can bind). Both the whole programme and the matching part alone have it."""
    data = model.data
    for ld, idx in model.pairs_of_leader.items():
        most = data.most_exchanges_needed(ld)
        need = [model.pairs[i].need for i in idx]
        if min(sum(need), most) == 0:
            continue
        cap = data.max_exchanges(ld, slots_of.get(ld, set()))
        if min(sum(need), most) > cap:
            model.add([(model.x[i], float(n)) for i, n in zip(idx, need, strict=False) if n],
                      pulp.LpConstraintLE, cap, f"exchange_capacity_{ld}")


def _hosting_needed(data: Data, p: Pair, ld: int) -> int:
    """Exchanges of pair ``p`` that leader ``ld`` must host when it is formed: all that are
    left when the other cannot host in any of the pair's slots, one under reciprocal hosting
    (unless a fixed exchange already has ``ld`` hosting), else none."""
    if p.need == 0:
        return 0
    other = p.mentee if ld == p.mentor else p.mentor
    if not data.may_host_in_any(other, p.slots):
        return p.need
    if data.reciprocal_for(p.mentor, p.mentee) and ld not in {h for _, h in p.fixed_ex}:
        return 1
    return 0


def hosting_capacity(data: Data, ld: int, slots: set[int]) -> float:
    """Most new exchanges ``ld`` can host in ``slots``: per ISO week, their hosting left
    or the slots they may host in, whichever is fewer."""
    per_week: dict[int, int] = defaultdict(int)
    for s in slots:
        if s >= data.first_host_slot[ld]:
            per_week[data.week[s]] += 1
    return sum(min(count, data.hosting_left(ld, w)) for w, count in per_week.items())


def add_hosting_capacity(model: Model, slots_of: dict[int, set[int]]) -> None:
    """Implied: a leader's pairs need no more hosting than the leader can give (the weeks
    they may host in, their weekly limit): pairs whose other side cannot host need all their
    exchanges hosted, reciprocal ones one. Tightens the matching part, where schedules are
    not modelled; written only where it can bind."""
    data = model.data
    for ld, idx in model.pairs_of_leader.items():
        needed = [(i, _hosting_needed(data, model.pairs[i], ld)) for i in idx]
        needed = [(i, n) for i, n in needed if n]
        if not needed:
            continue
        cap = hosting_capacity(data, ld, slots_of.get(ld, set()))
        most = sorted((n for _, n in needed), reverse=True)[:data.leaders[ld].mentor_capacity
                                                             + 1]
        if sum(most) > cap:
            model.add([(model.x[i], float(n)) for i, n in needed], LE, cap,
                      f"hosting_capacity_{ld}")


def add_priority_floor(model: Model) -> None:
    """``rules.priority_floor``: priority-group mentees matched at a rate at least the
    overall rate, matched(P) / |P| >= matched(all) / |all|, written as
    |all| * matched(P) - |P| * matched(all) >= 0 (over every mentee of the problem)."""
    data = model.data
    if not data.rules.priority_floor:
        return
    mentees = [ld for ld in data.leaders if ld.wants_mentor]
    everyone = len(mentees)
    priority = sum(1 for ld in mentees if ld.priority)
    if priority in (0, everyone):
        return  # nobody to compare with
    terms = [(x, float(everyone - priority if data.leaders[p.mentee].priority else -priority))
             for p, x in zip(model.pairs, model.x, strict=True)]
    model.add(terms, pulp.LpConstraintGE, 0, "priority_floor")


def build_model(data: Data, pairs: list[Pair], *, with_floor: bool = True) -> Model:
    """The whole programme over ``pairs``: maximise the sum of the formed pairs' weights.
    (Staying close to a previous solution is a second solve: optimiser/stability.py.)
    ``with_floor=False`` leaves out the priority floor (conflicts between pairs must hold
    whatever other pairs are formed)."""
    prob = pulp.LpProblem("mentoring", pulp.LpMaximize)
    x = [prob.add_variable(f"x{i}", 0, 1, cat=pulp.LpBinary) for i in range(len(pairs))]
    model = Model(data, pairs, prob, x)
    add_one_mentor_per_mentee(model)
    add_mentor_capacity(model)
    add_no_mutual_pairs(model)
    add_pinned_pairs(model)
    if data.exchanges_per_pair > 0:
        add_exchange_variables(model)
        add_exactly_k_exchanges(model)
        add_one_exchange_per_leader_per_slot(model)
        add_protected_hours_per_month(model)
        add_max_hosted_per_week(model)
        add_host_from(model)
        add_min_days_between_exchanges(model)
        add_reciprocal_hosting(model)
        add_exchange_capacity(model, {ld: {ev.slot for ev in evs}
                                      for ld, evs in model.by_leader.items()})
    if with_floor:
        add_priority_floor(model)
    prob.setObjective(pulp.LpAffineExpression([(x[i], p.weight) for i, p in enumerate(pairs)]))
    return model


def size(model: Model) -> tuple[int, int]:
    return len(model.x) + len(model.ex), model.prob.numConstraints()


def build_relaxation(data: Data, pairs: list[Pair], *, as_rows: bool = False
                     ) -> Model | RowModel:
    """The matching part alone, with each leader's exchange capacity: its optimum is an
    upper bound on the full programme (used when the full programme is solved over a
    subset of each pair's slots). ``as_rows``: as plain rows for HiGHS directly (large
    inputs), not as a PuLP problem."""
    if as_rows:
        model = RowModel(data, pairs, RowProgramme([p.weight for p in pairs]),
                         [Column(i, f"x{i}") for i in range(len(pairs))])
    else:
        prob = pulp.LpProblem("mentoring_relaxation", pulp.LpMaximize)
        x = [prob.add_variable(f"x{i}", 0, 1, cat=pulp.LpBinary) for i in range(len(pairs))]
        model = Model(data, pairs, prob, x)
    add_one_mentor_per_mentee(model)
    add_mentor_capacity(model)
    add_no_mutual_pairs(model)
    add_pinned_pairs(model)
    slots_of: dict[int, set[int]] = defaultdict(set)
    for i, p in enumerate(pairs):
        model.pairs_of_leader[p.mentor].append(i)
        model.pairs_of_leader[p.mentee].append(i)
        slots_of[p.mentor].update(p.slots)
        slots_of[p.mentee].update(p.slots)
    add_exchange_capacity(model, slots_of)
    add_hosting_capacity(model, slots_of)
    add_priority_floor(model)
    if not as_rows:
        model.prob.setObjective(pulp.LpAffineExpression(
            [(model.x[i], p.weight) for i, p in enumerate(pairs)]))
    return model
