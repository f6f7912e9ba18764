"""The straightforward formulation, the baseline to beat: one binary per pair, slot and
host (over the same candidate pairs and their common free slots), every constraint
written out directly, solved by PuLP's stock HiGHS interface."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict

import pulp

from optimiser.candidates import build_candidates
from optimiser.data import Data


def solve_baseline(problem, *, time_limit: float | None = None) -> dict:
    t0 = time.perf_counter()
    data = Data(problem, problem.rules.weights, None)
    cands = build_candidates(data, None)
    pairs = cands.pairs
    t1 = time.perf_counter()
    K, d, L = data.exchanges_per_pair, data.min_days, data.leaders
    prob = pulp.LpProblem("baseline", pulp.LpMaximize)
    x = {i: prob.add_variable(f"x_{i}", 0, 1, cat=pulp.LpBinary) for i in range(len(pairs))}
    z = {}
    for i, p in enumerate(pairs):
        for s in sorted(data.avail[p.mentor] & data.avail[p.mentee]):
            for h in (p.mentor, p.mentee):
                z[i, s, h] = prob.add_variable(f"z_{i}_{s}_{h}", 0, 1, cat=pulp.LpBinary)
    by_pair = defaultdict(list)
    by_leader_slot = defaultdict(list)
    by_leader_month = defaultdict(list)
    by_host_week = defaultdict(list)
    for (i, s, h), v in z.items():
        p = pairs[i]
        by_pair[i].append((s, h, v))
        for ld in (p.mentor, p.mentee):
            by_leader_slot[ld, s].append(v)
            by_leader_month[ld, data.month[s]].append((v, data.hours[s]))
        by_host_week[h, data.week[s]].append(v)

    def add(terms, sense, rhs, name):
        prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense,
                                             name=name, rhs=rhs))

    LE, GE, EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
    for e in {p.mentee for p in pairs}:
        add([(x[i], 1) for i, p in enumerate(pairs) if p.mentee == e], LE, 1, f"mentee_{e}")
    for m in {p.mentor for p in pairs}:
        add([(x[i], 1) for i, p in enumerate(pairs) if p.mentor == m], LE,
            L[m].mentor_capacity, f"mentor_{m}")
    for i, p in enumerate(pairs):
        if p.forced:
            add([(x[i], 1)], EQ, 1, f"pin_{i}")
        add([(v, 1) for _, _, v in by_pair[i]] + [(x[i], -K)], EQ, 0, f"k_{i}")
        for s, h, v in by_pair[i]:
            add([(v, 1), (x[i], -1)], LE, 0, f"link_{i}_{s}_{h}")
        if data.reciprocal_for(p.mentor, p.mentee):
            for h in (p.mentor, p.mentee):
                add([(v, 1) for _, hh, v in by_pair[i] if hh == h] + [(x[i], -1)], GE, 0,
                    f"recip_{i}_{h}")
        if d > 0:
            for (s, _, v), (t, _, w) in itertools.combinations(by_pair[i], 2):
                if s != t and abs(data.date[s] - data.date[t]) < d:
                    add([(v, 1), (w, 1)], LE, 1, f"days_{v.name}_{w.name}")
    for (ld, s), vs in by_leader_slot.items():
        add([(v, 1) for v in vs], LE, 1, f"slot_{ld}_{s}")
    for (ld, mo), vs in by_leader_month.items():
        cap = L[ld].protected_hours_per_month
        if cap is not None:
            add([(v, h) for v, h in vs], LE, cap, f"hours_{ld}_{mo}")
    for (ld, w), vs in by_host_week.items():
        cap = L[ld].max_hosted_per_week
        if cap is not None:
            add([(v, 1) for v in vs], LE, cap, f"hosted_{ld}_{w}")
    prob.setObjective(pulp.LpAffineExpression([(x[i], p.weight) for i, p in enumerate(pairs)]))
    t2 = time.perf_counter()
    solver = pulp.HiGHS(msg=False, timeLimit=time_limit)
    prob.solve(solver)
    t3 = time.perf_counter()
    h = prob.solverModel
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    obj = sum(p.weight for i, p in enumerate(pairs) if (x[i].varValue or 0) > 0.5)
    bound = -info.mip_dual_bound if h.getObjectiveSense()[1].name == "kMinimize" else \
        info.mip_dual_bound
    return {"status": status, "objective": round(obj, 6), "bound": round(abs(bound), 6),
            "gap": info.mip_gap, "variables": len(x) + len(z),
            "constraints": prob.numConstraints(), "pairs": sum(
                1 for i in x if (x[i].varValue or 0) > 0.5),
            "exchanges": sum(1 for v in z.values() if (v.varValue or 0) > 0.5),
            "scoring_seconds": t1 - t0, "build_seconds": t2 - t1, "solve_seconds": t3 - t2}
