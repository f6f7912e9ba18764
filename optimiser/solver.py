"""solve(): candidates, pre-checks, model, solver, solution and diagnostics."""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .candidates import Candidates, Pair, build_candidates, schedulable
from .data import Data
from .highs import SolverResult, solve_cbc, solve_highs
from .ip import EITHER, LE, MENTEE, MENTOR, Model, build_model, build_relaxation, size
from .model import (
    RECIPROCAL_REQUIRED,
    ExchangeResult,
    Fixed,
    PairResult,
    Problem,
    ScoreWeights,
    Solution,
    Unmatched,
)
from .stability import Previous, keep_previous
from .values import chosen_exchanges, chosen_pairs, formed_pair_indices, score_of

Progress = Callable[[str, float], None]

#: above this many pair-slot variables, solve over a subset of slots first
FULL_MODEL_MAX = 20_000
#: ... and fall back to the whole programme only below this many
FULL_MODEL_FALLBACK_MAX = 300_000
#: rounds of (matching, schedule, conflict cuts) before solving the whole programme
MAX_CUT_ROUNDS = 30


def _highs_available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def _cents(values: list[float]) -> bool:
    return all(abs(v * 100 - round(v * 100)) < 1e-6 for v in values)


def _precheck(data: Data, cands: Candidates) -> list[str]:
    """Reasons why pinned (and fixed) pairs cannot all be formed, found without solving."""
    msgs: list[str] = []
    L = data.leaders
    forced = [p for p in cands.pairs if p.forced]

    def name(p: Pair) -> str:
        kind = "fixed" if p.fixed else "pinned"
        return f"{kind} pair ({L[p.m].id!r}, {L[p.e].id!r})"

    by_mentee: dict[int, list[Pair]] = defaultdict(list)
    by_mentor: dict[int, list[Pair]] = defaultdict(list)
    for p in forced:
        by_mentee[p.e].append(p)
        by_mentor[p.m].append(p)
    for e, ps in by_mentee.items():
        if len(ps) > 1:
            msgs.append(f"mentee {L[e].id!r} is pinned to {len(ps)} mentors "
                        f"({', '.join(sorted(repr(L[p.m].id) for p in ps))}); a mentee has "
                        "at most one")
    for m, ps in by_mentor.items():
        cap = L[m].mentor_capacity
        if len(ps) > cap:
            msgs.append(f"mentor {L[m].id!r} is pinned to {len(ps)} mentees but has "
                        f"mentor_capacity {cap}")
    keys = {(p.m, p.e) for p in forced}
    for p in forced:
        if (p.e, p.m) in keys and p.m < p.e:
            msgs.append(f"{name(p)} and its reverse are both pinned; two leaders cannot be "
                        "each other's mentor")
    for p in forced:
        if not data.rules.allow_same_organisation and L[p.m].organisation == L[p.e].organisation:
            msgs.append(f"{name(p)}: both are in {L[p.m].organisation!r} and the rules do not "
                        "allow pairs within one organisation")
        if (L[p.m].id, L[p.e].id) in {(x.mentor, x.mentee) for x in data.problem.excluded}:
            msgs.append(f"{name(p)} is excluded")
        if data.K == 0 or p.need == 0:
            continue
        if not p.slots:
            common = data.avail[p.m] & data.avail[p.e]
            if not common:
                msgs.append(f"{name(p)}: no common free slots")
            else:
                msgs.append(f"{name(p)}: the {len(common)} common free slots are all taken "
                            "by fixed exchanges, over protected time or hosting limits, or "
                            "before both leaders' host_from (notice)")
            continue
        if not schedulable(data, p):
            most = data.spaced_count(p.slots)
            if most < p.need:
                msgs.append(
                    f"{name(p)}: {len(p.slots)} common free slots hold at most {most} "
                    f"exchange(s) at least {data.d} days apart; {p.need} needed")
            elif data.reciprocal_for(p.m, p.e) and not all(
                    any(data.may_host(side, s) for s in p.slots) for side in (p.m, p.e)):
                msgs.append(f"{name(p)}: reciprocal hosting is impossible (a leader cannot "
                            "host in any common slot: max_hosted_per_week or host_from)")
            else:
                msgs.append(f"{name(p)}: no schedule of its {p.need} exchange(s) meets the "
                            "spacing, hosting limits, host_from, protected time and "
                            "reciprocal hosting, even with no other pair")
    # protected time / slots per leader over all forced pairs
    need: Counter[int] = Counter()
    for p in forced:
        need[p.m] += p.need
        need[p.e] += p.need
    for ld, n in need.items():
        if n and data.max_exchanges(ld) < n:
            msgs.append(f"leader {L[ld].id!r}: pinned pairs need {n} exchanges but their free "
                        f"slots and protected hours allow at most {data.max_exchanges(ld)}")
    return msgs


def _assign_hosts(data: Data, pair: Pair, chosen: list[tuple[int, str]],
                  earlier: dict[int, int] | None = None) -> list[int]:
    """Hosts for the new exchanges of ``pair`` (``chosen``: their slots and sides). Decided
    sides stay; a free one (EITHER: no hosting limit binds) goes to its earlier host
    (``earlier``: slot -> host, from a previous solution), then the two alternate, so that
    each side hosts at least one."""
    hosts: list[int] = []
    hosted = Counter(h for _, h in pair.fixed_ex)
    free = []
    for i, (s, side) in enumerate(chosen):
        h = pair.m if side == MENTOR else pair.e if side == MENTEE else \
            (earlier or {}).get(s, -1)
        hosts.append(h)
        if h >= 0:
            hosted[h] += 1
        elif side == EITHER:
            free.append(i)
    for i in free:
        h = pair.m if hosted[pair.m] <= hosted[pair.e] else pair.e
        hosts[i] = h
        hosted[h] += 1
    if data.reciprocal_for(pair.m, pair.e) and len(chosen) >= 2:
        # earlier hosts kept may leave one side hosting none: hand it a free exchange
        for side, other in ((pair.m, pair.e), (pair.e, pair.m)):
            if hosted[side] == 0:
                flip = next((i for i, (_, sd) in enumerate(chosen)
                             if sd == EITHER and hosts[i] == other), None)
                if flip is not None:
                    hosts[flip] = side
                    hosted[side] += 1
                    hosted[other] -= 1
    return hosts


def _unmatched_reason(data: Data, cands: Candidates, e: int, full: set[int],
                      pairs_of_mentee: dict[int, list[Pair]]) -> tuple[str, str]:
    """Why mentee ``e`` has no mentor: the rule that leaves them out (a key of
    ``UNMATCHED_RULES``) and a sentence."""
    info = cands.mentees[e]
    K = data.K
    if info.basic == 0:
        return "no_candidate", ("no candidate mentor (none allowed by the rules: organisation, "
                                "exclusions, scores)")
    if K > 0 and info.max_exchanges < K:
        ld = data.leaders[e]
        free = len(data.avail[e] - data.busy[e])
        if free >= K and ld.protected_hours_per_month is not None:
            return "protected_time", (
                f"protected time: {ld.protected_hours_per_month:g} hours a month leave room "
                f"for {info.max_exchanges} exchange(s); {K} needed")
        return "free_slots", f"too few free slots: {free} free slot(s); {K} exchanges needed"
    if K > 0 and info.common == 0:
        return "common_slots", "no common free slots with any candidate mentor"
    mine = pairs_of_mentee.get(e, [])
    if K >= 2 and not mine and data.rules.reciprocal == RECIPROCAL_REQUIRED and \
            data.leaders[e].max_hosted_per_week == 0:
        return "reciprocal", ("cannot host a visit, and this round's exchanges are reciprocal "
                              "(each leader hosts at least one)")
    if K > 0 and not mine:
        return "spacing", (f"too few common free slots with every candidate mentor for {K} "
                           f"exchanges at least {data.d} days apart (or hosting limits, "
                           "notice or protected time leave no schedule)")
    if mine and all(p.m in full for p in mine):
        return "mentor_capacity", f"every candidate mentor is full ({len(mine)} candidate(s))"
    if K > 0:
        return "competition", ("candidate mentors' free slots, protected time or hosting were "
                               "used by better-scoring pairs")
    return "competition", "candidate mentors were given to better-scoring pairs"


def solve(problem: Problem, *, time_limit: float | None = None, gap: float | None = None,
          solver: str = "highs", fixed: Fixed | None = None, previous: Solution | None = None,
          progress: Progress | None = None, weights: ScoreWeights | None = None,
          candidates_per_mentee: int | None = None, exact: bool = False,
          previous_tolerance: float = 0.0) -> Solution:
    """Solve ``problem``; see docs/optimiser-format.md for the semantics.

    ``time_limit`` (seconds) and ``gap`` (relative) bound the search; the status is
    ``optimal`` only when optimality is proven.  ``solver`` is ``"highs"`` (default,
    in-process) or ``"cbc"`` (also the fallback when highspy is missing).  ``fixed`` pairs
    and exchanges stay untouched; ``previous`` is an earlier solution to stay close to: a
    second objective after the score (the score held, then the fewest earlier pairs
    changed, then the fewest earlier exchanges moved; ``stats["moved"]``).
    ``previous_tolerance`` (relative, default 0: the score is held to the cent) lets the
    score fall by that share of itself for fewer changes.
    ``weights`` override ``problem.rules.weights``; ``candidates_per_mentee`` prunes to
    the best N mentors per mentee (None: automatic for large inputs, 0: never).
    Large programmes (K > 0) are solved in steps: the matching part alone gives an
    upper bound and a matching; if that matching can be scheduled it is proven optimal;
    otherwise conflict cuts, a repair step and (where its size allows) the whole
    programme, warm-started, follow with the time left (docs/optimiser-format.md).
    ``exact=True`` always solves the whole programme in one go.

    With ``rules.priority_floor`` the priority-group mentees are matched at a rate at least
    the overall rate; when no solution can (pinned or fixed pairs), the problem is solved
    again without the floor, and ``stats["priority_floor"]`` says so.
    """
    started = time.perf_counter()
    options = dict(gap=gap, solver=solver, fixed=fixed, previous=previous, progress=progress,
                   weights=weights, candidates_per_mentee=candidates_per_mentee, exact=exact,
                   previous_tolerance=previous_tolerance)
    solution = _solve_once(problem, time_limit=time_limit, **options)
    if not problem.rules.priority_floor:
        return solution
    if solution.status == "infeasible":  # perhaps because of the floor: try without
        left = None if time_limit is None else max(
            1.0, time_limit - (time.perf_counter() - started))
        without = replace(problem, rules=replace(problem.rules, priority_floor=False))
        solution = _solve_once(without, time_limit=left, **options)
        return replace(solution, stats={**solution.stats,
                                        "priority_floor": "not feasible: solved without it"})
    met = solution.stats.get("priority_rate") is None or (
        solution.stats["priority_rate"] >= solution.stats["overall_rate"] - 1e-9)
    return replace(solution, stats={**solution.stats,
                                    "priority_floor": "met" if met else "not met"})


def _solve_once(problem: Problem, *, time_limit: float | None = None, gap: float | None = None,
          solver: str = "highs", fixed: Fixed | None = None, previous: Solution | None = None,
          progress: Progress | None = None, weights: ScoreWeights | None = None,
          candidates_per_mentee: int | None = None, exact: bool = False,
          previous_tolerance: float = 0.0) -> Solution:
    """One solve of ``problem`` (see :func:`solve`)."""
    t0 = time.perf_counter()

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    if solver not in ("highs", "cbc"):
        raise ValueError(f"unknown solver {solver!r} (highs or cbc)")
    if solver == "highs" and not _highs_available():
        solver = "cbc"
    report("scoring", 0.0)
    data = Data(problem, weights or problem.rules.weights, fixed)
    cands = build_candidates(data, candidates_per_mentee)
    L = data.leaders
    stats: dict = {"solver": solver, "candidate_pairs": len(cands.pairs),
                   "pruned_to_per_mentee": cands.pruned_to}
    msgs = _precheck(data, cands)
    if msgs:
        stats.update(variables=0, constraints=0, build_seconds=round(time.perf_counter() - t0, 3),
                     solve_seconds=0.0)
        report("done", 1.0)
        return Solution("infeasible", None, None, unmatched=tuple(
            Unmatched(L[e].id, "the problem is infeasible", "infeasible") for e in cands.mentees),
            stats=stats, messages=tuple(msgs))

    t_build0 = time.perf_counter()
    weights_cents = _cents([p.weight for p in cands.pairs])
    report("building", 0.2)
    deadline = None if time_limit is None else t0 + time_limit

    def left() -> float | None:
        return None if deadline is None else max(0.05, deadline - time.perf_counter())

    mip = data.K > 0 or solver == "cbc"
    abs_gap = 0.0099 if weights_cents else 1e-6
    rel_gap = gap if gap is not None else 0.0
    on_log = None
    if progress is not None:
        start_gap: list[float | None] = [None]

        def on_log(elapsed: float, obj: float | None, bnd: float | None) -> None:
            if time_limit:
                frac = min(1.0, elapsed / time_limit)
            elif obj is not None and bnd is not None and bnd:
                g = abs(bnd - obj) / max(1.0, abs(bnd))
                start_gap[0] = start_gap[0] or max(g, 1e-9)
                frac = 1.0 - min(1.0, g / start_gap[0])
            else:
                frac = 0.0
            report("solving", 0.4 + 0.55 * frac)

    def run(prob, mip_: bool, limit: float | None, start=None, *,
            gaps: tuple[float, float] | None = None) -> SolverResult:
        """Solve ``prob``; ``gaps`` (relative, absolute) override the score's."""
        rel, absolute = gaps or (rel_gap, abs_gap)
        if not prob.variables():  # nothing to decide (CBC cannot read an empty model)
            return SolverResult("optimal", 0.0, 0.0, np.zeros(0), solver, "empty model")
        if solver == "highs":
            r = solve_highs(prob, mip=mip_, time_limit=limit, rel_gap=rel, abs_gap=absolute,
                            on_log=on_log if gaps is None else None, start=start)
            if not mip_ and r.values is not None and any(
                    min(v, 1 - v) > 1e-6 for v in r.values):
                r = solve_highs(prob, mip=True, time_limit=limit, rel_gap=rel,
                                abs_gap=absolute)
            return r
        return solve_cbc(prob, mip=True, time_limit=limit, rel_gap=rel, abs_gap=absolute)

    pairs = cands.pairs
    full_vars = sum(len(p.slots) for p in pairs if p.need)
    large = data.K > 0 and full_vars > FULL_MODEL_MAX and not exact
    tol = 0.01 if weights_cents else 1e-6
    wanted = gap if gap is not None else 0.0
    build_seconds = solve_seconds = 0.0
    bound_override = None
    model = res = None
    whole_model = not large  # does the model read hold every candidate pair?
    if large:
        # 1. the matching part alone (with exchange capacities): an upper bound and a
        #    matching that usually can be scheduled
        tb = time.perf_counter()
        relax = build_relaxation(data, pairs)
        build_seconds += time.perf_counter() - tb
        cuts: set[frozenset[tuple[int, int]]] = set()
        pair_index = {(q.m, q.e): i for i, q in enumerate(pairs)}
        obj = None
        relax_bound = None
        for it in range(MAX_CUT_ROUNDS):
            ts = time.perf_counter()
            rr = run(relax.prob, True, None if deadline is None else 0.3 * left())
            solve_seconds += time.perf_counter() - ts
            if rr.state == "infeasible" or rr.values is None or rr.bound is None:
                break
            relax_bound = rr.bound if relax_bound is None else min(relax_bound, rr.bound)
            # 2. schedule that matching: the programme over its pairs only
            rindex = {v.name: i for i, v in enumerate(relax.prob.variables())}
            chosen = [p for p, x in zip(pairs, relax.x, strict=True)
                      if rr.values[rindex[x.name]] > 0.5 or p.forced]
            tb = time.perf_counter()
            m_b = build_model(data, chosen)
            build_seconds += time.perf_counter() - tb
            ts = time.perf_counter()
            r_b = run(m_b.prob, True, left())
            solve_seconds += time.perf_counter() - ts
            o_b = score_of(m_b, r_b)
            if o_b is not None and (obj is None or o_b > obj):
                model, res, obj = m_b, r_b, o_b
            stats["cut_rounds"] = it + 1
            report("solving", 0.4 + 0.55 * (it + 1) / MAX_CUT_ROUNDS)
            if obj is not None and (relax_bound - obj < tol or (
                    relax_bound - obj) / max(1.0, relax_bound) <= wanted):
                break
            if deadline is not None and deadline - time.perf_counter() < 0.3 * time_limit:
                break  # leave time for the repair
            # 2b. pairs the schedule dropped: find the small sets of pairs that cannot be
            #     scheduled together and forbid them in the matching part (valid cuts)
            if r_b.values is None:
                break
            bindex = {v.name: i for i, v in enumerate(m_b.prob.variables())}
            dropped = [p for p, x in zip(chosen, m_b.x, strict=True)
                       if r_b.values[bindex[x.name]] < 0.5]
            new = 0
            for p in dropped:
                group = [q for q in chosen if {q.m, q.e} & {p.m, p.e}]
                conflict = _minimal_conflict(data, group, p, run)
                if conflict is None:
                    continue
                key = frozenset((q.m, q.e) for q in conflict)
                if key in cuts:
                    continue
                cuts.add(key)
                idx = [pair_index[k] for k in key]
                relax.add([(relax.x[i], 1.0) for i in idx], LE, len(idx) - 1,
                          f"conflict_{len(cuts)}")
                new += 1
            stats["conflict_cuts"] = len(cuts)
            if not new:
                break
        if res is not None and res.values is not None and relax_bound is not None and \
                relax_bound - obj >= tol and (relax_bound - obj) / max(1.0, relax_bound) > \
                wanted and (deadline is None or deadline - time.perf_counter() > 2.0):
            # 2c. repair: let the mentees the best schedule left out (and those unmatched)
            #     try their other candidate mentors with spare capacity, warm-started
            m_b, r_b = model, res
            bindex = {v.name: i for i, v in enumerate(m_b.prob.variables())}
            kept = {(p.m, p.e) for p, x in zip(m_b.pairs, m_b.x, strict=True)
                    if r_b.values[bindex[x.name]] > 0.5}
            kept_e = {e for _, e in kept}
            load = Counter(m for m, _ in kept)
            ext = [p for p in pairs if (p.m, p.e) in kept or p.forced or (
                p.e not in kept_e and load[p.m] < L[p.m].mentor_capacity)]
            tb = time.perf_counter()
            m_r = build_model(data, ext)
            build_seconds += time.perf_counter() - tb
            ts = time.perf_counter()
            r_r = run(m_r.prob, True, None if deadline is None else 0.7 * left(),
                      _start_values(m_b, r_b, m_r))
            solve_seconds += time.perf_counter() - ts
            o_r = score_of(m_r, r_r)
            stats["repair_objective"] = o_r
            if o_r is not None and o_r > obj:
                model, res, obj = m_r, r_r, o_r
        stats["relaxation_bound"] = relax_bound
        stats["matching_schedule_objective"] = obj
        if relax_bound is None or model is None:
            large = False  # let the whole programme speak
            model = res = None
        else:
            bound_override = relax_bound
            done = obj is not None and (relax_bound - obj < tol or (
                relax_bound - obj) / max(1.0, relax_bound) <= wanted)
            # only where the whole programme is of a size to solve (memory, time): building
            # costs roughly 30 microseconds a variable, and leave time to solve too
            est = 30e-6 * full_vars + 5.0
            if not done and full_vars <= FULL_MODEL_FALLBACK_MAX and (
                    deadline is None or deadline - time.perf_counter() > 2 * est):
                # 3. not proven: the whole programme, warm-started, with the time left
                tb = time.perf_counter()
                model2 = build_model(data, pairs)
                build_seconds += time.perf_counter() - tb
                start = _start_values(model, res, model2)
                ts = time.perf_counter()
                res2 = run(model2.prob, True, left(), start)
                solve_seconds += time.perf_counter() - ts
                obj2 = score_of(model2, res2)
                if res2.bound is not None:
                    bound_override = min(relax_bound, res2.bound)
                if obj2 is not None and (obj is None or obj2 >= obj):
                    model, res, whole_model = model2, res2, True
                stats["whole_programme"] = True
    if not large:
        tb = time.perf_counter()
        model = build_model(data, pairs)
        build_seconds += time.perf_counter() - tb
        ts = time.perf_counter()
        res = run(model.prob, mip, left())
        solve_seconds += time.perf_counter() - ts
    if previous is not None and res.values is not None and \
            res.state in ("optimal", "limit") and (deadline is None or
                                                    deadline - time.perf_counter() > 0.5):
        # the second objective: hold the score, keep what the previous solution had
        ts = time.perf_counter()
        model, res, more = keep_previous(
            data, model, res, Previous.of(previous), pairs,
            _score_tolerance(res, model, weights_cents, previous_tolerance),
            lambda prob, start: run(prob, True, left(), start, gaps=(0.0, 0.5)),
            left(), whole_model)
        stats.update(more)
        stats["stability_seconds"] = round(time.perf_counter() - ts, 3)
    n_vars, n_cons = size(model)
    stats.update(variables=n_vars, constraints=n_cons,
                 scoring_seconds=round(t_build0 - t0, 3),
                 build_seconds=round(build_seconds, 3), solve_seconds=round(solve_seconds, 3),
                 solver_status=res.message)
    sol = _make_solution(data, cands, model, res, weights_cents, stats,
                         Previous.of(previous) if previous is not None else None, bound_override)
    report("done", 1.0)
    return sol


def _score_tolerance(res: SolverResult, model: Model, cents: bool, relative: float) -> float:
    """How far below the first solve's score the second (stability) solve may go."""
    exact = 0.005 if cents else 1e-6
    if not relative:
        return exact
    return exact + relative * abs(score_of(model, res) or 0.0)


def _minimal_conflict(data: Data, group: list[Pair], must: Pair, run) -> list[Pair] | None:
    """A smallest-by-deletion subset of ``group`` (containing ``must``) whose pairs cannot
    all be formed with their exchanges, even ignoring every other pair; None if the whole
    group can."""
    def feasible(ps: list[Pair]) -> bool:
        # without the priority floor: a conflict must hold whatever else is formed
        m = build_model(data, [replace(q, forced=True) for q in ps], with_floor=False)
        return run(m.prob, True, 10.0).state != "infeasible"

    if feasible(group):
        return None
    core = list(group)
    for q in list(core):
        if q is must or len(core) <= 1:
            continue
        trial = [r for r in core if r is not q]
        if not feasible(trial):
            core = trial
    return core


def _start_values(model: Model, res: SolverResult, target: Model) -> dict[str, float] | None:
    """A start for ``target`` from the solution of ``model`` (a programme over a subset of
    the pairs): by pair and slot."""
    if res.values is None:
        return None
    on_pairs = {(p.m, p.e) for p in chosen_pairs(model, res)}
    on_ex = {(model.pairs[i].m, model.pairs[i].e, slot, side)
             for i, chosen in chosen_exchanges(model, res).items() for slot, side in chosen}
    start = {x.name: 1.0 if (p.m, p.e) in on_pairs else 0.0
             for p, x in zip(target.pairs, target.x, strict=True)}
    for ev in target.ex:
        p = target.pairs[ev.pair]
        start[ev.var.name] = 1.0 if (p.m, p.e, ev.slot, ev.side) in on_ex else 0.0
    return start


def _make_solution(data: Data, cands: Candidates, model: Model, res: SolverResult,
                   cents: bool, stats: dict, previous: Previous | None,
                   bound_override: float | None = None) -> Solution:
    L = data.leaders
    pairs = model.pairs
    if res.state == "infeasible":
        forced = [p for p in pairs if p.forced]
        names = ", ".join(f"({L[p.m].id!r}, {L[p.e].id!r})" for p in forced)
        msg = ("no assignment satisfies every rule together with the pinned/fixed pairs "
               f"{names}" if forced else "no assignment satisfies every rule")
        return Solution("infeasible", None, None, stats=stats, messages=(msg,),
                        unmatched=tuple(Unmatched(L[e].id, "the problem is infeasible",
                                                  "infeasible")
                                        for e in cands.mentees))
    if res.state in ("error", "no-solution") or res.values is None:
        status = "no-solution-in-time" if res.state == "no-solution" else "error"
        bound = res.bound
        return Solution(status, None, bound, stats=stats, messages=(res.message,))
    formed = formed_pair_indices(model, res)
    chosen = chosen_exchanges(model, res)
    pair_results, exchanges = [], []
    objective = 0.0
    for i in formed:
        p = pairs[i]
        objective += p.weight
        pair_results.append(PairResult(L[p.m].id, L[p.e].id, p.score, p.reasons))
        for s, h in p.fixed_ex:
            v = p.e if h == p.m else p.m
            exchanges.append(ExchangeResult(L[h].id, L[v].id, data.slots[s].id))
        ch = sorted(chosen.get(i, []))
        earlier = previous.hosts(data, p) if previous is not None else None
        for (s, _), h in zip(ch, _assign_hosts(data, p, ch, earlier), strict=True):
            v = p.e if h == p.m else p.m
            exchanges.append(ExchangeResult(L[h].id, L[v].id, data.slots[s].id))
    objective = round(objective, 6)
    bound = res.bound if bound_override is None else bound_override
    if bound_override is not None and res.state == "limit":
        res = SolverResult("optimal", res.objective, bound, res.values, res.solver, res.message)
    if bound is not None:
        bound = math.floor(bound * 100 + 1e-6) / 100 if cents else bound
        bound = max(bound, objective)
    proven = res.state == "optimal" and bound is not None and (
        bound - objective < (0.01 if cents else 1e-6 * max(1.0, abs(objective))))
    if res.state == "optimal" and not (data.K > 0 or res.solver == "cbc"):
        proven, bound = True, objective  # an LP over a totally unimodular matrix
    if proven:
        bound = objective
    status = "optimal" if proven else "feasible"
    stats["gap"] = None if bound is None else round(
        (bound - objective) / max(1.0, abs(bound)), 6)
    # unmatched mentees and their reasons
    load = Counter(pairs[i].m for i in formed)
    full = {m for m in load if load[m] >= L[m].mentor_capacity}
    matched = {pairs[i].e for i in formed}
    pairs_of_mentee: dict[int, list[Pair]] = defaultdict(list)
    for p in pairs:
        pairs_of_mentee[p.e].append(p)
    unmatched = []
    for e in cands.mentees:
        if e not in matched:
            rule, reason = _unmatched_reason(data, cands, e, full, pairs_of_mentee)
            unmatched.append(Unmatched(L[e].id, reason, rule))
    stats.update(_left_out_counts(data, unmatched))
    stats.update(_match_rates(data, matched))
    if previous is not None:
        new_pairs = {(p.mentor, p.mentee) for p in pair_results}
        new_ex = {(x.host, x.visitor, x.slot) for x in exchanges}
        stats["moved_pairs"] = len(previous.pairs - new_pairs)
        stats["moved_exchanges"] = len(previous.exchanges - new_ex)
        stats["moved"] = stats["moved_pairs"] + stats["moved_exchanges"]
    return Solution(status, objective, bound, tuple(pair_results), tuple(exchanges),
                    tuple(unmatched), stats)


def _match_rates(data: Data, matched: set[int]) -> dict:
    """The share of mentees matched, overall and in the priority groups."""
    mentees = [i for i, ld in enumerate(data.leaders) if ld.wants_mentor]
    priority = [i for i in mentees if data.leaders[i].priority]
    return {
        "mentees": len(mentees), "matched_mentees": len(matched),
        "overall_rate": round(len(matched) / len(mentees), 6) if mentees else None,
        "priority_mentees": len(priority),
        "matched_priority_mentees": sum(1 for i in priority if i in matched),
        "priority_rate": round(sum(1 for i in priority if i in matched) / len(priority), 6)
        if priority else None,
    }


def _left_out_counts(data: Data, unmatched: list[Unmatched]) -> dict:
    """How many mentees each rule leaves out, and how many of them are in a priority group."""
    by_rule: Counter[str] = Counter(u.rule for u in unmatched)
    priority = {ld.id for ld in data.leaders if ld.priority}
    by_rule_priority: Counter[str] = Counter(u.rule for u in unmatched if u.id in priority)
    return {"unmatched_by_rule": dict(sorted(by_rule.items())),
            "unmatched_priority_by_rule": dict(sorted(by_rule_priority.items()))}
