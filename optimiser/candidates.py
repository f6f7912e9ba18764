"""Candidate pairs: who may mentor whom, with scores, schedulable slots and pruning."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .data import Data
from .scoring import PairScores, ScoreMatrix, score_pair

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
    if not fixed_dates and data.hosts_every_week[m] and data.hosts_every_week[e] and \
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
            if side not in hosts and not data.may_host_in_any(side, pair.slots):
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
    found = find_schedule(data, pair, Usage())
    return None if found is None else found is not False


@dataclass
class Usage:
    """What the new exchanges of pairs already scheduled use, by leader: slots, protected
    hours a month and hosting a week (beyond what fixed exchanges use: Data)."""

    busy: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    hours: dict[int, dict[int, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    hosted: dict[int, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def take(self, data: Data, pair: Pair, schedule: list[tuple[int, int]]) -> None:
        """Record the pair's new exchanges (slot, host)."""
        for s, host in schedule:
            for ld in (pair.mentor, pair.mentee):
                self.busy[ld].add(s)
                self.hours[ld][data.month[s]] += data.hours[s]
            self.hosted[host][data.week[s]] += 1


def find_schedule(data: Data, pair: Pair, usage: Usage,
                  max_steps: int = SCHEDULE_SEARCH_STEPS) -> list[tuple[int, int]] | bool | None:
    """The pair's further exchanges as (slot, host), around what ``usage`` says is taken
    (spacing, hosting limits, host_from, protected time, reciprocal hosting); False when
    there is none, None when the depth-first search (over the slots in order) gave up after
    ``max_steps`` steps."""
    m, e, need, d = pair.mentor, pair.mentee, pair.need, data.min_days
    fixed_dates = [data.date[s] for s, _ in pair.fixed_ex]
    must_host = set()
    if data.reciprocal_for(m, e):
        must_host = {m, e} - {h for _, h in pair.fixed_ex}
    slots = pair.slots
    hours = {m: usage.hours[m], e: usage.hours[e]}
    hosted = {m: usage.hosted[m], e: usage.hosted[e]}
    busy_m, busy_e = usage.busy.get(m, ()), usage.busy.get(e, ())
    chosen: list[tuple[int, int]] = []
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
            if steps > max_steps:
                return None
            if s in busy_m or s in busy_e:
                continue
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
                chosen.append((s, host))
                found = search(i + 1, left - 1, [*dates, data.date[s]], hosts | {host})
                hours[m][month] -= data.hours[s]
                hours[e][month] -= data.hours[s]
                hosted[host][week] -= 1
                if found:
                    return True
                chosen.pop()
                if found is None:
                    gave_up = True
                    break
            if gave_up:
                return None
        return False

    found = search(0, need, fixed_dates, set())
    return chosen if found else found


#: the score and availability matrices are worked out a block of mentees at a time, against
#: every mentor, about this many cells a block: memory stays bounded on a national round
#: (6,000 mentors by 14,000 mentees at once took 3 GiB)
BLOCK_CELLS = 2_000_000
#: with a time limit and automatic pruning, building candidates may take this share of the
#: time left; beyond it, fewer mentors per mentee are kept (never fewer than MIN_PER_MENTEE).
#: On the national instance with 60 s: 0.25 kept 6 mentors a mentee, 0.45 keeps 17 (of 20)
#: and finds a matching 5 % better (1,428,963 against 1,357,004), the whole call in 43 s
BUILD_SHARE = 0.45
MIN_PER_MENTEE = 5
#: the pace of building is looked at every this many mentees (blocks of the score matrices
#: are worked out about 330 mentees at a time on a national round: a look spans a few)
PACE_EVERY = 1000


def build_candidates(data: Data, per_mentee: int | None, *, deadline: float | None = None,
                     block_cells: int | None = BLOCK_CELLS) -> Candidates:
    """All schedulable candidate pairs, pruned to the best ``per_mentee`` mentors of each
    mentee (``None``: automatic, ``0``: no pruning); pinned and fixed pairs always stay.

    ``deadline`` (a ``time.perf_counter()`` value): with automatic pruning, keep fewer
    mentors per mentee when the building would otherwise take more than BUILD_SHARE of the
    time left. ``block_cells``: the size of a block of the score matrices (None: one block,
    every mentor against every mentee at once; the same candidates, more memory)."""
    started = time.perf_counter()
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

    if problem.scores is not None:
        ranking = _GivenRanking(data, usable, excluded, infos)
    else:
        ranking = _ComputedRanking(data, usable, excluded, infos, mentors, mentees,
                                   block_cells)
    total = ranking.total
    limit = per_mentee
    if limit is None:
        limit = AUTO_PER_MENTEE if total > AUTO_PRUNE_ABOVE else 0
    adaptive = per_mentee is None and bool(limit) and deadline is not None
    budget = BUILD_SHARE * (deadline - started) if adaptive else 0.0

    kept_of: dict[int, list[Pair]] = {}
    done = 0
    window_started, window_done = time.perf_counter(), 0
    for e, mentors_best_first in ranking.mentors_by_mentee(limit):
        kept: list[Pair] = []
        for m in mentors_best_first:
            if limit and len(kept) >= limit:
                break  # pinned and fixed pairs are added below
            p = make(m, e, ranking.score(m, e))
            if K > 0 and not schedulable(data, p):
                continue
            kept.append(p)
        kept_of[e] = kept
        done += 1
        if adaptive and limit > MIN_PER_MENTEE and done % PACE_EVERY == 0:
            # on course to take more than the budget: fewer mentors per mentee, for the
            # mentees already done too (their lists are best first). The pace is that of the
            # mentees since the last look, at the present limit: the whole run's pace would
            # count the time spent at a higher limit again and again, and cut the limit to
            # the least (it kept 5 mentors a mentee on the national instance, where 20 take
            # 19.5 s of a 60 s limit and give a 7 % better matching at K = 0)
            now = time.perf_counter()
            pace = (now - window_started) / (done - window_done)
            window_started, window_done = now, done
            left = budget - (now - started)
            needed = pace * (len(mentees) - done)
            if needed > left:
                limit = max(MIN_PER_MENTEE, int(limit * max(0.0, left) / needed))
                for earlier in kept_of.values():
                    del earlier[limit:]
    pairs: list[Pair] = []
    seen: set[tuple[int, int]] = set()
    for e, kept in kept_of.items():
        infos[e].schedulable += len(kept)
        for p in kept:
            if problem.scores is not None:
                p.reasons = GIVEN_SCORE_REASONS
            pairs.append(p)
            seen.add((p.mentor, p.mentee))
    # pinned and fixed pairs always stay (even when not schedulable: the pre-checks say so)
    for m, e in sorted(forced):
        if (m, e) not in seen:
            p = make(m, e, ranking.score(m, e))
            if problem.scores is not None:
                p.reasons = GIVEN_SCORE_REASONS
            pairs.append(p)
            seen.add((m, e))
    return Candidates(pairs, infos, limit or None, total)


GIVEN_SCORE_REASONS = ("score given with the problem",)


def pair_reasons(data: Data, pair: Pair) -> tuple[str, ...]:
    """Why the pair scores what it does: worked out for the pairs formed only (building the
    candidates scores without the words)."""
    if pair.reasons:
        return pair.reasons
    if data.problem.scores is not None:
        return GIVEN_SCORE_REASONS
    leaders = data.leaders
    return tuple(score_pair(leaders[pair.mentor], leaders[pair.mentee], data.weights)[1])


class _GivenRanking:
    """Scores given with the problem: each mentee's allowed mentors that share a free slot,
    best first."""

    def __init__(self, data: Data, usable: list[set[int]], excluded: set[tuple[int, int]],
                 infos: dict[int, MenteeInfo]):
        rules, leaders, K = data.rules, data.leaders, data.exchanges_per_pair
        self.given: dict[tuple[int, int], float] = {}
        self.by_mentee: dict[int, list[tuple[float, int]]] = {}
        for sc in data.problem.scores:
            m, e = data.lidx[sc.mentor], data.lidx[sc.mentee]
            if (m, e) in excluded:
                continue
            if not rules.allow_same_organisation and \
                    leaders[m].organisation == leaders[e].organisation:
                continue
            self.given[(m, e)] = sc.score
            infos[e].basic += 1
            if K > 0 and not (usable[m] & usable[e]):
                continue
            infos[e].common += 1
            self.by_mentee.setdefault(e, []).append((sc.score + _tie(m, e), m))
        for lst in self.by_mentee.values():
            lst.sort(reverse=True)
        self.mentees = list(infos)
        self.total = sum(len(v) for v in self.by_mentee.values())

    def score(self, m: int, e: int) -> float:
        return self.given.get((m, e), 0.0)

    def mentors_by_mentee(self, limit: int):
        for e in self.mentees:
            yield e, [m for _, m in self.by_mentee.get(e, [])]


class _ComputedRanking:
    """Computed scores: each mentee's allowed mentors that share a free slot, best first by
    a vectorised approximation of the score (the exact score is worked out for the pairs
    kept). The matrices (mentors by mentees) are worked out a block of mentees at a time."""

    def __init__(self, data: Data, usable: list[set[int]], excluded: set[tuple[int, int]],
                 infos: dict[int, MenteeInfo], mentors: list[int], mentees: list[int],
                 block_cells: int | None):
        self.data, self.infos = data, infos
        leaders, K = data.leaders, data.exchanges_per_pair
        self.mentors, self.mentees = mentors, mentees
        self.mpos = np.array(mentors, dtype=np.int64)
        self.block = len(mentees) if not block_cells else max(
            1, block_cells // max(1, len(mentors)))
        self.codes = None
        if not data.rules.allow_same_organisation:
            orgs: dict[str, int] = {}
            self.codes = np.array([orgs.setdefault(ld.organisation, len(orgs))
                                   for ld in leaders])
        self.excluded_by_mentee: dict[int, list[int]] = {}
        mrow = {m: r for r, m in enumerate(mentors)}
        for m, e in excluded:
            if m in mrow:
                self.excluded_by_mentee.setdefault(e, []).append(mrow[m])
        self.avail = None
        if K > 0 and len(data.slots):
            self.avail = np.zeros((len(leaders), len(data.slots)), dtype=np.float32)
            for i in range(len(leaders)):
                if usable[i]:
                    self.avail[i, list(usable[i])] = 1
        self.common: dict[int, int] = {}
        # which mentors each block's mentees may have, kept as bits (10 MB on a national
        # round) for the second pass
        self.packed_ok: list[np.ndarray] = []
        for start in range(0, len(mentees), self.block):
            cols = mentees[start:start + self.block]
            valid, ok = self._allowed(cols)
            self.packed_ok.append(np.packbits(ok, axis=0))
            basic, common = valid.sum(axis=0), ok.sum(axis=0)
            for c, e in enumerate(cols):
                infos[e].basic, infos[e].common = int(basic[c]), int(common[c])
                self.common[e] = int(common[c])
        self.total = sum(self.common.values())
        self.score = PairScores(leaders, data.weights)

    def _allowed(self, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """For a block of mentees (columns): mentors allowed by the rules, and of those the
        ones sharing a usable slot."""
        epos = np.array(cols, dtype=np.int64)
        valid = self.mpos[:, None] != epos[None, :]
        if self.codes is not None:
            valid &= self.codes[self.mpos][:, None] != self.codes[epos][None, :]
        for c, e in enumerate(cols):
            for r in self.excluded_by_mentee.get(e, ()):
                valid[r, c] = False
        ok = valid
        if self.avail is not None:
            ok = valid & ((self.avail[self.mpos] @ self.avail[epos].T) >= 1)
        return valid, ok

    def mentors_by_mentee(self, limit: int):
        leaders, mpos = self.data.leaders, self.mpos
        scores = ScoreMatrix([leaders[i] for i in self.mentors],
                             [leaders[j] for j in self.mentees], self.data.weights)
        for number, start in enumerate(range(0, len(self.mentees), self.block)):
            cols = self.mentees[start:start + self.block]
            epos = np.array(cols, dtype=np.int64)
            ok = np.unpackbits(self.packed_ok[number], axis=0,
                               count=len(self.mentors)).astype(bool)
            approx = scores.block(start, start + len(cols))
            tie = ((mpos[:, None] * 2654435761 + epos[None, :] * 40503) % 9973) / 9973.0 * 1e-3
            rank_t = np.where(ok, approx + tie, -np.inf).T.copy()  # mentee x mentor
            del approx, tie, ok
            for c, e in enumerate(cols):
                yield e, self._best_first(rank_t[c], self.common[e], limit)

    def _best_first(self, row: np.ndarray, n_ok: int, limit: int):
        mpos = self.mpos
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
