"""From a solved programme to a Solution: the pairs, the exchanges with their hosts, the
status and bound, and each unmatched mentee with the rule that leaves them out."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from .candidates import Candidates, Pair, pair_reasons
from .data import Data
from .greedy import Scheduled
from .highs import SolverResult
from .ip import EITHER, MENTEE, MENTOR, Model
from .model import (
    RECIPROCAL_REQUIRED,
    ExchangeResult,
    PairResult,
    Solution,
    Unmatched,
)
from .stability import Previous
from .values import chosen_exchanges, formed_pair_indices


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
        h = pair.mentor if side == MENTOR else pair.mentee if side == MENTEE else \
            (earlier or {}).get(s, -1)
        hosts.append(h)
        if h >= 0:
            hosted[h] += 1
        elif side == EITHER:
            free.append(i)
    for i in free:
        h = pair.mentor if hosted[pair.mentor] <= hosted[pair.mentee] else pair.mentee
        hosts[i] = h
        hosted[h] += 1
    if data.reciprocal_for(pair.mentor, pair.mentee) and len(chosen) >= 2:
        # earlier hosts kept may leave one side hosting none: hand it a free exchange
        for side, other in ((pair.mentor, pair.mentee), (pair.mentee, pair.mentor)):
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
    K = data.exchanges_per_pair
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
                           f"exchanges at least {data.min_days} days apart (or hosting limits, "
                           "notice or protected time leave no schedule)")
    if mine and all(p.mentor in full for p in mine):
        return "mentor_capacity", f"every candidate mentor is full ({len(mine)} candidate(s))"
    if K > 0:
        return "competition", ("candidate mentors' free slots, protected time or hosting were "
                               "used by better-scoring pairs")
    return "competition", "candidate mentors were given to better-scoring pairs"


def make_solution(data: Data, cands: Candidates, model: Model, res: SolverResult,
                   cents: bool, stats: dict, previous: Previous | None,
                   bound_override: float | None = None) -> Solution:
    leaders = data.leaders
    pairs = model.pairs
    if res.state == "infeasible":
        forced = [p for p in pairs if p.forced]
        names = ", ".join(f"({leaders[p.mentor].id!r}, {leaders[p.mentee].id!r})" for p in forced)
        msg = ("no assignment satisfies every rule together with the pinned/fixed pairs "
               f"{names}" if forced else "no assignment satisfies every rule")
        return Solution("infeasible", None, None, stats=stats, messages=(msg,),
                        unmatched=tuple(Unmatched(leaders[e].id, "the problem is infeasible",
                                                  "infeasible")
                                        for e in cands.mentees))
    if res.state in ("error", "no-solution") or res.values is None:
        status = "no-solution-in-time" if res.state == "no-solution" else "error"
        bound = res.bound
        return Solution(status, None, bound, stats=stats, messages=(res.message,))
    formed = formed_pair_indices(model, res)
    chosen = chosen_exchanges(model, res)
    scheduled = []
    for i in formed:
        p = pairs[i]
        ch = sorted(chosen.get(i, []))
        earlier = previous.hosts(data, p) if previous is not None else None
        hosts = _assign_hosts(data, p, ch, earlier)
        scheduled.append((p, [(s, h) for (s, _), h in zip(ch, hosts, strict=True)]))
    bound = res.bound if bound_override is None else bound_override
    state = res.state
    if bound_override is not None and state == "limit":
        state = "optimal"  # proven when the bound (found elsewhere) is met
    linear = state == "optimal" and not (data.exchanges_per_pair > 0 or res.solver == "cbc")
    return _solution(data, cands, scheduled, state == "optimal", bound, linear, cents, stats,
                     previous, pairs)


def solution_from_schedule(data: Data, cands: Candidates, scheduled: Scheduled,
                           bound: float | None, cents: bool, stats: dict,
                           previous: Previous | None) -> Solution:
    """The solution of pairs scheduled without a solver (optimiser/greedy.py), against
    ``bound`` (an upper bound found by a solver, if any): optimal when it meets the bound."""
    return _solution(data, cands, scheduled.pairs, True, bound, False, cents, stats, previous,
                     cands.pairs)


def _solution(data: Data, cands: Candidates, scheduled: list[tuple[Pair, list[tuple[int, int]]]],
              may_be_proven: bool, bound: float | None, linear: bool, cents: bool, stats: dict,
              previous: Previous | None, considered: list[Pair]) -> Solution:
    """The Solution of the pairs formed and their new exchanges, (slot, host): the status
    against ``bound`` (``may_be_proven``: the pairs are optimal if they meet it; ``linear``: a
    linear programme over a totally unimodular matrix, optimal as it stands), and each
    unmatched mentee with the rule that leaves them out (``considered``: the pairs the
    solution was chosen from)."""
    leaders = data.leaders
    pair_results, exchanges = [], []
    objective = 0.0
    for p, new_exchanges in scheduled:
        objective += p.weight
        pair_results.append(PairResult(leaders[p.mentor].id, leaders[p.mentee].id, p.score,
                                       pair_reasons(data, p)))
        for s, h in [*p.fixed_ex, *new_exchanges]:
            v = p.mentee if h == p.mentor else p.mentor
            exchanges.append(ExchangeResult(leaders[h].id, leaders[v].id, data.slots[s].id))
    objective = round(objective, 6)
    if bound is not None:
        bound = math.floor(bound * 100 + 1e-6) / 100 if cents else bound
        bound = max(bound, objective)
    proven = may_be_proven and bound is not None and (
        bound - objective < (0.01 if cents else 1e-6 * max(1.0, abs(objective))))
    if linear:
        proven, bound = True, objective  # an LP over a totally unimodular matrix
    if proven:
        bound = objective
    status = "optimal" if proven else "feasible"
    stats["gap"] = None if bound is None else round(
        (bound - objective) / max(1.0, abs(bound)), 6)
    # unmatched mentees and their reasons
    load = Counter(p.mentor for p, _ in scheduled)
    full = {m for m in load if load[m] >= leaders[m].mentor_capacity}
    matched = {p.mentee for p, _ in scheduled}
    pairs_of_mentee: dict[int, list[Pair]] = defaultdict(list)
    for p in considered:
        pairs_of_mentee[p.mentee].append(p)
    unmatched = []
    for e in cands.mentees:
        if e not in matched:
            rule, reason = _unmatched_reason(data, cands, e, full, pairs_of_mentee)
            unmatched.append(Unmatched(leaders[e].id, reason, rule))
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
