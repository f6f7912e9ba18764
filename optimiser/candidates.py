"""Candidate pairs: who may mentor whom, with scores, schedulable slots and pruning."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .data import Data
from .scoring import score_matrix, score_pair

#: prune automatically (best N mentors per mentee) when there are more candidate pairs
AUTO_PRUNE_ABOVE = 20_000
AUTO_PER_MENTEE = 20


@dataclass
class Pair:
    mentor: int  # leader indices (Data.leaders)
    mentee: int
    score: float
    weight: float
    forced: bool = False
    fixed: bool = False
    fixed_ex: list[tuple[int, int]] = field(default_factory=list)  # (slot, host)
    need: int = 0  # further exchanges to schedule
    slots: list[int] = field(default_factory=list)  # slots usable for them (sorted)
    reasons: tuple[str, ...] = ()


@dataclass
class MenteeInfo:
    """Counts of candidate mentors per mentee, for the unmatched reasons."""

    basic: int = 0  # mentors allowed by the rules (organisation, excluded, scores)
    common: int = 0  # ... of which share at least one free slot
    schedulable: int = 0  # ... with which K exchanges can be scheduled
    max_exchanges: int = 0  # the mentee's own limit (slots and protected hours)


@dataclass
class Candidates:
    pairs: list[Pair]
    mentees: dict[int, MenteeInfo]
    pruned_to: int | None  # best N mentors per mentee, or None when not pruned
    considered: int  # pairs allowed by the rules that share a free slot, before pruning


def _tie(m: int, e: int) -> float:
    """A deterministic tie-breaker so that equal scores do not all go to one mentor."""
    return ((m * 2654435761 + e * 40503) % 9973) / 9973.0 * 1e-3


def _pair_slots(data: Data, usable: list[set[int]], m: int, e: int,
                fixed_ex: list[tuple[int, int]]) -> list[int]:
    common = usable[m] & usable[e]
    if not common:
        return []
    d = data.min_days
    fixed_dates = [data.date[s] for s, _ in fixed_ex]
    if not fixed_dates and data.leaders[m].max_hosted_per_week != 0 and \
            data.leaders[e].max_hosted_per_week != 0 and not data.used_hosted[m] and \
            not data.used_hosted[e] and \
            min(data.first_host_slot[m], data.first_host_slot[e]) <= min(common):
        return sorted(common)  # nothing else can rule a slot out
    out = []
    for s in sorted(common):
        if d > 0 and any(abs(data.date[s] - f) < d for f in fixed_dates):
            continue
        if not data.may_host(m, s) and not data.may_host(e, s):
            continue  # neither may host then (hosting limits, or notice: host_from)
        out.append(s)
    return out


#: most steps of the search for one pair's schedule (beyond it the pair counts as schedulable
#: and the conflict cuts of the large-input method deal with it)
SCHEDULE_SEARCH_STEPS = 2_000
#: the search runs only for pairs with at most this many usable slots an exchange: with more,
#: a schedule is all but certain (on the demo round, K = 2, every pair it ruled out had 6 or
#: fewer)
SCHEDULE_SEARCH_MAX_SLOTS_PER_EXCHANGE = 3


def schedulable(data: Data, pair: Pair) -> bool:
    """Can ``pair`` get its further exchanges (ignoring every other pair)?"""
    if pair.need == 0:
        return True
    if data.spaced_count(pair.slots, stop_at=pair.need) < pair.need:
        return False
    if data.reciprocal_for(pair.mentor, pair.mentee):
        hosts = {h for _, h in pair.fixed_ex}
        for side in (pair.mentor, pair.mentee):
            if side not in hosts and not any(data.may_host(side, s) for s in pair.slots):
                return False
        if len(hosts) + pair.need < 2:  # cannot happen for K >= 2; kept for clarity
            return False
    if len(pair.slots) > SCHEDULE_SEARCH_MAX_SLOTS_PER_EXCHANGE * pair.need:
        return True
    return schedule_alone(data, pair) is not False


def schedule_alone(data: Data, pair: Pair) -> bool | None:
    """Is there a schedule of the pair's further exchanges, the pair alone (spacing, hosting
    limits, host_from, protected time, reciprocal hosting)? A depth-first search over the
    slots in order; None when it gave up after SCHEDULE_SEARCH_STEPS steps."""
    m, e, need, d = pair.mentor, pair.mentee, pair.need, data.min_days
    fixed_dates = [data.date[s] for s, _ in pair.fixed_ex]
    must_host = set()
    if data.reciprocal_for(m, e):
        must_host = {m, e} - {h for _, h in pair.fixed_ex}
    slots = pair.slots
    hours = {m: defaultdict(float), e: defaultdict(float)}
    hosted = {m: defaultdict(int), e: defaultdict(int)}
    steps = 0

    def fits(s: int) -> bool:
        month = data.month[s]
        return all(hours[ld][month] + data.hours[s] <= data.hours_left(ld, month) + 1e-9
                   for ld in (m, e))

    def search(start: int, left: int, dates: list[int], hosts: set[int]) -> bool | None:
        nonlocal steps
        if left == 0:
            return must_host <= hosts
        if len(must_host - hosts) > left:
            return False
        gave_up = False
        for i in range(start, len(slots)):
            s = slots[i]
            steps += 1
            if steps > SCHEDULE_SEARCH_STEPS:
                return None
            if d > 0 and any(abs(data.date[s] - t) < d for t in dates):
                continue
            if not fits(s):
                continue
            week, month = data.week[s], data.month[s]
            for host in (m, e):
                if s < data.first_host_slot[host] or \
                        hosted[host][week] + 1 > data.hosting_left(host, week):
                    continue
                hours[m][month] += data.hours[s]
                hours[e][month] += data.hours[s]
                hosted[host][week] += 1
                found = search(i + 1, left - 1, [*dates, data.date[s]], hosts | {host})
                hours[m][month] -= data.hours[s]
                hours[e][month] -= data.hours[s]
                hosted[host][week] -= 1
                if found:
                    return True
                if found is None:
                    gave_up = True
                    break
            if gave_up:
                return None
        return False

    return search(0, need, fixed_dates, set())


def build_candidates(data: Data, per_mentee: int | None) -> Candidates:
    """All schedulable candidate pairs, pruned to the best ``per_mentee`` mentors of each
    mentee (``None``: automatic, ``0``: no pruning); pinned and fixed pairs always stay."""
    problem, rules, K = data.problem, data.rules, data.exchanges_per_pair
    leaders = data.leaders
    n = len(leaders)
    usable = [data.usable(i) for i in range(n)] if K > 0 else [set() for _ in range(n)]
    mentors = [i for i, ld in enumerate(leaders) if ld.mentor_capacity > 0]
    mentees = [i for i, ld in enumerate(leaders) if ld.wants_mentor]
    infos = {e: MenteeInfo() for e in mentees}
    if K > 0:
        for e in mentees:
            infos[e].max_exchanges = data.max_exchanges(e, usable[e])
    excluded = {(data.lidx[p.mentor], data.lidx[p.mentee]) for p in problem.excluded}
    pinned = {(data.lidx[p.mentor], data.lidx[p.mentee]) for p in problem.pinned}
    forced = pinned | set(data.fixed_pairs)
    prio = rules.priority_bonus

    def make(m: int, e: int, score: float) -> Pair:
        fixed_ex = data.fixed_pairs.get((m, e), [])
        p = Pair(m, e, score, rules.match_bonus + score + (prio if leaders[e].priority else 0),
                 forced=(m, e) in forced, fixed=(m, e) in data.fixed_pairs,
                 fixed_ex=list(fixed_ex), need=max(0, K - len(fixed_ex)) if K > 0 else 0)
        if K > 0:
            p.slots = _pair_slots(data, usable, m, e, p.fixed_ex)
        return p

    # for each mentee, its allowed mentors that share a free slot, best first (lazily)
    given: dict[tuple[int, int], float] = {}
    by_mentee: dict[int, list[tuple[float, int]]] = {}
    if problem.scores is not None:
        for sc in problem.scores:
            m, e = data.lidx[sc.mentor], data.lidx[sc.mentee]
            if (m, e) in excluded:
                continue
            if not rules.allow_same_organisation and \
                    leaders[m].organisation == leaders[e].organisation:
                continue
            given[(m, e)] = sc.score
            infos[e].basic += 1
            if K > 0 and not (usable[m] & usable[e]):
                continue
            infos[e].common += 1
            by_mentee.setdefault(e, []).append((sc.score + _tie(m, e), m))
        for lst in by_mentee.values():
            lst.sort(reverse=True)
        total = sum(len(v) for v in by_mentee.values())

        def ranked(e: int, limit: int):
            return [m for _, m in by_mentee.get(e, [])]
    else:
        approx = score_matrix([leaders[i] for i in mentors], [leaders[j] for j in mentees],
                              data.weights)
        mpos = np.array(mentors, dtype=np.int64)
        epos = np.array(mentees, dtype=np.int64)
        valid = mpos[:, None] != epos[None, :]
        if not rules.allow_same_organisation:
            orgs: dict[str, int] = {}
            codes = np.array([orgs.setdefault(ld.organisation, len(orgs)) for ld in leaders])
            valid &= codes[mpos][:, None] != codes[epos][None, :]
        mrow = {m: r for r, m in enumerate(mentors)}
        ecol = {e: c for c, e in enumerate(mentees)}
        for m, e in excluded:
            if m in mrow and e in ecol:
                valid[mrow[m], ecol[e]] = False
        ok = valid
        if K > 0 and len(data.slots):
            avail = np.zeros((n, len(data.slots)), dtype=np.float32)
            for i in range(n):
                if usable[i]:
                    avail[i, list(usable[i])] = 1
            ok = valid & ((avail[mpos] @ avail[epos].T) >= 1)
        basic, common = valid.sum(axis=0), ok.sum(axis=0)
        for c, e in enumerate(mentees):
            infos[e].basic, infos[e].common = int(basic[c]), int(common[c])
        total = int(common.sum())
        tie = ((mpos[:, None] * 2654435761 + epos[None, :] * 40503) % 9973) / 9973.0 * 1e-3
        rank_t = np.where(ok, approx + tie, -np.inf).T.copy()  # mentee x mentor
        del approx, tie, valid

        def ranked(e: int, limit: int):
            c = ecol[e]
            row = rank_t[c]
            n_ok = int(common[c])
            if n_ok == 0:
                return
            take = min(n_ok, limit * 3) if limit else n_ok
            idx = np.argpartition(-row, take - 1)[:take] if take < len(row) else \
                np.arange(len(row))
            idx = idx[np.argsort(-row[idx], kind="stable")]
            for i in idx:
                if row[i] > -np.inf:
                    yield int(mpos[i])
            if limit and take < n_ok:  # the few best were not enough: the rest, in order
                rest = np.argsort(-row, kind="stable")[take:n_ok]
                for i in rest:
                    yield int(mpos[i])

    limit = per_mentee
    if limit is None:
        limit = AUTO_PER_MENTEE if total > AUTO_PRUNE_ABOVE else 0
    pruned_to = limit or None

    pairs: list[Pair] = []
    seen: set[tuple[int, int]] = set()
    scores_cache: dict[tuple[int, int], tuple[float, tuple[str, ...]]] = {}

    def exact_score(m: int, e: int) -> tuple[float, tuple[str, ...]]:
        if (m, e) not in scores_cache:
            if problem.scores is not None:
                scores_cache[(m, e)] = (given.get((m, e), 0.0), ("score given with the problem",))
            else:
                s, why = score_pair(leaders[m], leaders[e], data.weights)
                scores_cache[(m, e)] = (s, tuple(why))
        return scores_cache[(m, e)]

    for e in mentees:
        kept = 0
        for m in ranked(e, limit):
            if limit and kept >= limit:
                break  # pinned and fixed pairs are added below
            score, why = exact_score(m, e)
            p = make(m, e, score)
            if K > 0 and not schedulable(data, p):
                continue
            infos[e].schedulable += 1
            p.reasons = why
            pairs.append(p)
            seen.add((m, e))
            kept += 1
    # pinned and fixed pairs always stay (even when not schedulable: the pre-checks say so)
    for m, e in sorted(forced):
        if (m, e) not in seen:
            score, why = exact_score(m, e)
            p = make(m, e, score)
            p.reasons = why
            pairs.append(p)
            seen.add((m, e))
    return Candidates(pairs, infos, pruned_to, total)
