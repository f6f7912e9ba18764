"""An exhaustive solver for tiny problems, written from the format's definition and
sharing no code with the optimiser's model (it reuses only score_pair for the scores)."""

from __future__ import annotations

import itertools

from optimiser import Problem, score_pair


def brute_force(problem: Problem) -> float | None:
    """The optimal objective, or None when no solution exists."""
    rules = problem.rules
    K = rules.exchanges_per_pair
    L = {ld.id: ld for ld in problem.leaders}
    slots = {s.id: s for s in problem.slots}
    excluded = {(p.mentor, p.mentee) for p in problem.excluded}
    scored = None if problem.scores is None else {
        (s.mentor, s.mentee): s.score for s in problem.scores}
    cands: dict[str, list[tuple[str, float]]] = {}
    for e in problem.leaders:
        if not e.wants_mentor:
            continue
        opts = []
        for m in problem.leaders:
            if m.mentor_capacity <= 0 or m.id == e.id or (m.id, e.id) in excluded:
                continue
            if not rules.allow_same_organisation and m.organisation == e.organisation:
                continue
            if scored is not None:
                if (m.id, e.id) not in scored:
                    continue
                sc = scored[(m.id, e.id)]
            else:
                sc = score_pair(m, e, rules.weights)[0]
            w = rules.match_bonus + sc + (rules.priority_bonus if e.priority else 0)
            opts.append((m.id, w))
        cands[e.id] = opts
    pinned = {p.mentee: p.mentor for p in problem.pinned}
    if len(pinned) < len({(p.mentor, p.mentee) for p in problem.pinned}):
        return None  # a mentee pinned to two mentors
    mentees = list(cands)  # two leaders form at most one pair (no mutual mentoring)
    matchings: list[tuple[float, list[tuple[str, str]]]] = []

    def rec(i: int, load: dict[str, int], chosen: list, total: float) -> None:
        if i == len(mentees):
            matchings.append((total, list(chosen)))
            return
        e = mentees[i]
        options = [(None, 0.0)] + cands[e]
        if e in pinned:
            options = [o for o in cands[e] if o[0] == pinned[e]]
        for m, w in options:
            if m is None:
                rec(i + 1, load, chosen, total)
                continue
            if load.get(m, 0) >= L[m].mentor_capacity or (e, m) in chosen:
                continue
            load[m] = load.get(m, 0) + 1
            chosen.append((m, e))
            rec(i + 1, load, chosen, total + w)
            chosen.pop()
            load[m] -= 1

    rec(0, {}, [], 0.0)
    matchings.sort(key=lambda t: -t[0])
    everyone = [e for e in L.values() if e.wants_mentor]
    priority = [e for e in everyone if e.priority]

    def floor_met(pairs) -> bool:
        """Priority-group mentees matched at a rate at least the overall rate."""
        if not priority:
            return True
        matched = {e for _, e in pairs}
        return sum(1 for e in priority if e.id in matched) * len(everyone) >= \
            len(matched) * len(priority)

    floors = (True, False) if rules.priority_floor else (False,)
    for floor in floors:  # the floor applies whenever some solution meets it
        for total, pairs in matchings:
            if floor and not floor_met(pairs):
                continue
            if K == 0 or _schedulable(problem, pairs, L, slots):
                return round(total, 6)
    return None


def _options(problem, m, e, L, slots):
    rules = problem.rules
    K = rules.exchanges_per_pair
    common = sorted(set(L[m].available) & set(L[e].available), key=lambda s: slots[s].start)
    out = []
    reciprocal = rules.reciprocal == "required" or (
        rules.reciprocal == "where_possible"
        and all(L[h].max_hosted_per_week != 0 and any(
            L[h].host_from is None or slots[s].start >= L[h].host_from for s in common)
            for h in (m, e)))
    for combo in itertools.combinations(common, K):
        dates = [slots[s].start.date() for s in combo]
        if any((b - a).days < rules.min_days_between_exchanges
               for a, b in itertools.combinations(sorted(dates), 2)):
            continue
        for hosts in itertools.product((m, e), repeat=K):
            if reciprocal and K >= 2 and set(hosts) != {m, e}:
                continue
            if any(L[h].host_from is not None and slots[s].start < L[h].host_from
                   for s, h in zip(combo, hosts, strict=True)):
                continue  # a host cannot host before their host_from (notice)
            out.append(list(zip(combo, hosts, strict=True)))
    return out


def _schedulable(problem, pairs, L, slots) -> bool:
    opts = [_options(problem, m, e, L, slots) for m, e in pairs]
    if any(not o for o in opts):
        return False
    busy: set[tuple[str, str]] = set()
    hours: dict[tuple[str, int, int], float] = {}
    hosted: dict[tuple[str, int, int], int] = {}

    def rec(i: int) -> bool:
        if i == len(pairs):
            return True
        m, e = pairs[i]
        for opt in opts[i]:
            undo = []
            ok = True
            for s, h in opt:
                sl = slots[s]
                hrs = (sl.end - sl.start).total_seconds() / 3600
                iso = sl.start.isocalendar()
                for ld in (m, e):
                    if (ld, s) in busy:
                        ok = False
                        break
                    key = (ld, sl.start.year, sl.start.month)
                    cap = L[ld].protected_hours_per_month
                    if cap is not None and hours.get(key, 0) + hrs > cap + 1e-9:
                        ok = False
                        break
                    busy.add((ld, s))
                    hours[key] = hours.get(key, 0) + hrs
                    undo.append(("b", (ld, s)))
                    undo.append(("h", key, hrs))
                if not ok:
                    break
                wk = (h, iso[0], iso[1])
                cap = L[h].max_hosted_per_week
                if cap is not None and hosted.get(wk, 0) + 1 > cap:
                    ok = False
                    break
                hosted[wk] = hosted.get(wk, 0) + 1
                undo.append(("w", wk))
            if ok and rec(i + 1):
                return True
            for u in reversed(undo):
                if u[0] == "b":
                    busy.discard(u[1])
                elif u[0] == "h":
                    hours[u[1]] -= u[2]
                else:
                    hosted[u[1]] -= 1
        return False

    return rec(0)
