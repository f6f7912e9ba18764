"""An independent feasibility checker: every rule of mentoring-problem/1, written
directly from the format's definition and sharing no code with the model."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

from .model import Fixed, Problem, Solution
from .scoring import score_pair


def check_solution(problem: Problem, solution: Solution, *, tolerance: float = 1e-6,
                   fixed: Fixed | None = None) -> list[str]:
    """Return every violation of the problem's rules by ``solution`` (empty when valid).

    Checks pairs (roles, organisation, exclusions, pins, capacities, scores), exchanges
    (count, common availability, one per leader per slot, protected hours per month,
    hosting per ISO week, no hosting before the host's ``host_from``, days between
    exchanges, reciprocal hosting) and the objective. The exchanges of ``fixed`` (a
    re-optimisation's) were approved earlier: ``host_from`` does not apply to them.
    """
    out: list[str] = []
    if solution.status not in ("optimal", "feasible"):
        if solution.pairs or solution.exchanges:
            out.append(f"status {solution.status!r} but the solution has pairs or exchanges")
        return out
    pair_set, expected = _check_pairs(problem, solution, out)
    _check_objective(solution, expected, tolerance, out)
    approved = {(x.host, x.visitor, x.slot) for x in fixed.exchanges} if fixed else set()
    _check_exchanges(problem, solution, pair_set, approved, out)
    return out


def _check_pairs(problem: Problem, solution: Solution, out: list[str]
                 ) -> tuple[set[tuple[str, str]], float]:
    """Pairs: roles, organisation, exclusions, scores, one mentor a mentee, no mutual pairs,
    capacities, pins. Returns the pairs formed and the objective they add up to."""
    rules = problem.rules
    leaders = {ld.id: ld for ld in problem.leaders}
    excluded = {(p.mentor, p.mentee) for p in problem.excluded}
    scored = None
    if problem.scores is not None:
        scored = {(s.mentor, s.mentee): s.score for s in problem.scores}
    weights = rules.weights
    mentor_of: dict[str, str] = {}
    mentees_of: dict[str, list[str]] = defaultdict(list)
    pair_set: set[tuple[str, str]] = set()
    expected = 0.0
    for n, p in enumerate(solution.pairs):
        where = f"pairs[{n}] ({p.mentor!r}, {p.mentee!r})"
        m, e = leaders.get(p.mentor), leaders.get(p.mentee)
        if m is None or e is None:
            out.append(f"{where}: unknown leader")
            continue
        if p.mentor == p.mentee:
            out.append(f"{where}: a leader paired with themselves")
        if m.mentor_capacity <= 0:
            out.append(f"{where}: {p.mentor!r} is not a mentor")
        if not e.wants_mentor:
            out.append(f"{where}: {p.mentee!r} does not want a mentor")
        if (p.mentor, p.mentee) in excluded:
            out.append(f"{where}: the pair is excluded")
        if not rules.allow_same_organisation and m.organisation == e.organisation:
            out.append(f"{where}: both in organisation {m.organisation!r}")
        if scored is not None:
            if (p.mentor, p.mentee) not in scored:
                out.append(f"{where}: not a scored pair")
                true_score = p.score
            else:
                true_score = scored[(p.mentor, p.mentee)]
        else:
            true_score, _ = score_pair(m, e, weights)
        if abs(true_score - p.score) > 1e-6:
            out.append(f"{where}: score {p.score} but the pair scores {true_score}")
        if (p.mentor, p.mentee) in pair_set:
            out.append(f"{where}: listed twice")
        pair_set.add((p.mentor, p.mentee))
        if p.mentee in mentor_of:
            out.append(f"{where}: mentee {p.mentee!r} already has mentor "
                       f"{mentor_of[p.mentee]!r}")
        mentor_of[p.mentee] = p.mentor
        mentees_of[p.mentor].append(p.mentee)
        expected += rules.match_bonus + true_score + (rules.priority_bonus if e.priority else 0)
    for m, e in pair_set:
        if (e, m) in pair_set and m < e:
            out.append(f"{m!r} and {e!r} are each other's mentor (at most one pair per two "
                       "leaders)")
    for mid, es in mentees_of.items():
        cap = leaders[mid].mentor_capacity
        if len(es) > cap:
            out.append(f"mentor {mid!r} has {len(es)} mentees, capacity {cap}")
    for p in problem.pinned:
        if (p.mentor, p.mentee) not in pair_set:
            out.append(f"pinned pair ({p.mentor!r}, {p.mentee!r}) is not formed")
    return pair_set, expected


def _check_objective(solution: Solution, expected: float, tolerance: float,
                     out: list[str]) -> None:
    """The objective is what the pairs add up to; the bound is not below it."""
    if solution.objective is None or abs(solution.objective - expected) > tolerance * max(
            1.0, abs(expected)):
        out.append(f"objective {solution.objective} but the pairs add up to {expected:.6f}")
    if solution.bound is not None and solution.objective is not None and \
            solution.bound < solution.objective - 1e-6:
        out.append(f"bound {solution.bound} is below the objective {solution.objective}")



def _check_exchanges(problem: Problem, solution: Solution, pair_set: set[tuple[str, str]],
                     approved: set[tuple[str, str, str]], out: list[str]) -> None:
    """Exchanges: of formed pairs, availability, host_from (approved ones exempt), one per
    leader per slot, protected hours, weekly hosting, K per pair, spacing, reciprocity."""
    rules = problem.rules
    K = rules.exchanges_per_pair
    leaders = {ld.id: ld for ld in problem.leaders}
    slots = {s.id: s for s in problem.slots}
    per_pair: dict[frozenset, list] = defaultdict(list)
    in_slot: Counter = Counter()
    month_hours: dict[tuple[str, int, int], float] = defaultdict(float)
    week_hosted: Counter = Counter()
    for n, x in enumerate(solution.exchanges):
        where = f"exchanges[{n}] ({x.host!r} hosts {x.visitor!r} in {x.slot!r})"
        s = slots.get(x.slot)
        if s is None or x.host not in leaders or x.visitor not in leaders:
            out.append(f"{where}: unknown slot or leader")
            continue
        if K == 0:
            out.append(f"{where}: exchange although exchanges_per_pair is 0")
        key = (x.host, x.visitor) if (x.host, x.visitor) in pair_set else (x.visitor, x.host)

        if key not in pair_set:
            out.append(f"{where}: the two leaders are not a formed pair")
            continue
        per_pair[frozenset(key)].append((s, x.host))
        host_from = leaders[x.host].host_from
        if host_from is not None and s.start < host_from and \
                (x.host, x.visitor, x.slot) not in approved:
            out.append(f"{where}: {x.host!r} cannot host before "
                       f"{host_from.isoformat(timespec='minutes')} "
                       "(host_from)")
        for lid in (x.host, x.visitor):
            if x.slot not in leaders[lid].available:
                out.append(f"{where}: {lid!r} is not available in that slot")
            in_slot[(lid, x.slot)] += 1
            month_hours[(lid, s.start.year, s.start.month)] += (
                s.end - s.start).total_seconds() / 3600
        iso = s.start.isocalendar()
        week_hosted[(x.host, iso[0], iso[1])] += 1
    for (lid, sid), c in in_slot.items():
        if c > 1:
            out.append(f"{lid!r} is in {c} exchanges in slot {sid!r}")
    for (lid, y, mo), h in month_hours.items():
        cap = leaders[lid].protected_hours_per_month
        if cap is not None and h > cap + 1e-9:
            out.append(f"{lid!r} has {h:g} exchange hours in {y}-{mo:02d}, protected {cap:g}")
    for (lid, y, w), c in week_hosted.items():
        cap = leaders[lid].max_hosted_per_week
        if cap is not None and c > cap:
            out.append(f"{lid!r} hosts {c} exchanges in ISO week {y}-W{w:02d}, at most {cap}")
    if K > 0:
        for mentor, mentee in pair_set:
            xs = per_pair.get(frozenset((mentor, mentee)), [])
            where = f"pair ({mentor!r}, {mentee!r})"
            if len(xs) != K:
                out.append(f"{where}: {len(xs)} exchanges, {K} required")
            dates = sorted(s.start.date() for s, _ in xs)
            for a, b in itertools.pairwise(dates):
                if (b - a).days < rules.min_days_between_exchanges:
                    out.append(f"{where}: exchanges on {a} and {b} are less than "
                               f"{rules.min_days_between_exchanges} days apart")
            if K >= 2 and len(xs) >= 2 and _reciprocal(rules.reciprocal, leaders, slots,
                                                        mentor, mentee):
                hosts = {h for _, h in xs}
                if hosts != {mentor, mentee}:
                    out.append(f"{where}: hosting is not reciprocal")


def _reciprocal(mode: str, leaders: dict, slots: dict, mentor: str, mentee: str) -> bool:
    """Must each side of the pair host at least once? Always ("required"), never ("off"),
    or, "where_possible", when both can host: neither has max_hosted_per_week 0, and each
    is free with the other in a slot that starts at or after their own host_from."""
    if mode == "required":
        return True
    if mode != "where_possible":
        return False
    common = set(leaders[mentor].available) & set(leaders[mentee].available)

    def can_host(lid: str) -> bool:
        ld = leaders[lid]
        return ld.max_hosted_per_week != 0 and any(
            ld.host_from is None or slots[s].start >= ld.host_from for s in common)

    return can_host(mentor) and can_host(mentee)
