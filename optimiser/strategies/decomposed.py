"""Large inputs: relax → schedule → cut → repair → whole programme.

1. relax: the matching part alone (optimiser/ip.py ``build_relaxation``: who mentors whom,
   with each leader's exchange and hosting capacity) gives an upper bound and a matching.
2. schedule: the whole programme over that matching's pairs only, a part (pairs linked by
   their leaders) at a time (optimiser/strategies/in_parts.py); when every pair is
   scheduled the matching is proven optimal against the bound of 1.
3. cut: for each pair the schedule dropped, the smallest set of pairs around it that cannot
   be scheduled together even alone is forbidden in the matching part (a valid cut), and
   1-3 repeat (up to MAX_CUT_ROUNDS rounds, or until 70 % of the time limit has gone).
4. repair: the mentees left out try their other candidate mentors with spare capacity,
   warm-started from the best schedule.
5. whole programme: if still not proven, the whole programme, warm-started, with the time
   left, where its size allows (memory, time); its bound counts too.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

from ..candidates import Pair
from ..greedy import Scheduled, greedy_schedule
from ..highs import SolverResult
from ..ip import LE, Model, RowProgramme, build_model, build_relaxation
from ..values import (
    chosen_pairs,
    formed_pair_indices,
    schedule_values,
    score_of,
    start_from_schedule,
    start_values,
)
from .base import BUILD_SECONDS_PER_VARIABLE, Attempt, SolveContext
from .in_parts import PartsSchedule, as_solver_result, schedule_in_parts

#: rounds of (relax, schedule, cut) before the repair
MAX_CUT_ROUNDS = 30
#: the whole programme is tried (step 5) only up to this many pair-slot variables (memory)
WHOLE_PROGRAMME_MAX_VARIABLES = 300_000
#: each feasibility check of the cut step's search stops after this long
CONFLICT_CHECK_SECONDS = 10.0


@dataclass
class _Best:
    """The best schedule found so far: a solver's (model and result), one found a part at a
    time (parts: its programme is built when it is kept), or one found without a solver
    (scheduled)."""

    model: Model | None = None
    result: SolverResult | None = None
    score: float | None = None
    scheduled: Scheduled | None = None
    parts: PartsSchedule | None = None

    def _better(self, score: float | None) -> bool:
        return score is not None and (self.score is None or score > self.score)

    def offer(self, model: Model, result: SolverResult) -> None:
        score = score_of(model, result)
        if self._better(score):
            self.model, self.result, self.score = model, result, score
            self.scheduled = self.parts = None

    def offer_scheduled(self, scheduled: Scheduled | None) -> None:
        if scheduled is not None and self._better(scheduled.score):
            self.model = self.result = self.parts = None
            self.scheduled, self.score = scheduled, scheduled.score

    def offer_parts(self, parts: PartsSchedule) -> None:
        if self._better(parts.score):
            self.model = self.result = self.scheduled = None
            self.parts, self.score = parts, parts.score

    def settle(self, context: SolveContext) -> None:
        """A schedule found in parts becomes its programme and a solver's result (solved by
        the solver, started from it, should it break a row)."""
        if self.parts is None:
            return
        parts, self.parts = self.parts, None
        model = context.build(lambda: build_model(context.data, parts.matching))
        result = as_solver_result(parts, model) or context.solve(
            model.prob, context.time_left(), schedule_values(model, parts.formed))
        self.model, self.result, self.score = model, result, score_of(model, result)

    def start_for(self, target: Model) -> dict[str, float] | None:
        if self.parts is not None:
            return schedule_values(target, self.parts.formed)
        if self.scheduled is not None:
            return start_from_schedule(target, self.scheduled)
        if self.model is not None:
            return start_values(self.model, self.result, target)
        return None


class Decomposed:
    name = "decomposed"

    def solve(self, context: SolveContext) -> Attempt | None:
        context.tried.append(self.name)
        best = _Best()
        best.offer_scheduled(context.fallback)
        bound = self.relax_schedule_cut(context, best)
        best.settle(context)
        if best.result is not None and best.result.values is not None and \
                bound is not None and not context.proven(bound, best.score) and \
                context.seconds_to_deadline() > 2.0:
            self.repair(context, best)
        context.stats["relaxation_bound"] = bound
        context.stats["matching_schedule_objective"] = best.score
        if bound is None or (best.model is None and best.scheduled is None):
            return None  # let the whole programme speak
        attempt = Attempt(best.model, best.result, proven_bound=bound,
                          holds_every_candidate=False, scheduled=best.scheduled)
        if not context.proven(bound, best.score):
            self.whole_programme(context, best, attempt)
        return attempt

    # -- 1-3 ------------------------------------------------------------------------------
    def relax_schedule_cut(self, context: SolveContext, best: _Best) -> float | None:
        """Rounds of relax, schedule and cut; the best upper bound found (None: none)."""
        data, pairs = context.data, context.candidates
        matching = context.build(lambda: build_relaxation(
            data, pairs, as_rows=context.matching_as_rows))
        index_of_pair = {(p.mentor, p.mentee): i for i, p in enumerate(pairs)}
        preferring = prefer_previous(context, matching)
        cuts: set[frozenset[tuple[int, int]]] = set()
        bound = None
        start = None
        if context.fallback is not None:  # the answer found without a solver: an incumbent
            formed = {(p.mentor, p.mentee) for p, _ in context.fallback.pairs}
            start = {x.name: float((p.mentor, p.mentee) in formed)
                     for p, x in zip(pairs, matching.x, strict=True)}
        for round_number in range(MAX_CUT_ROUNDS):
            # the matching part as a linear programme first: on M its optimum is whole (0.09 s
            # against 0.36 s for the integer search, and 5-10 ms for a cut round's, started
            # from the last basis), and when it is not the integer search runs; a national
            # round's stays a linear programme: its optimum bounds the integer one, and
            # HiGHS's integer search on it overran a 10 s limit by minutes (most of its
            # values are whole; the greedy keeps the pairs above 0.5)
            relaxed = context.solve(matching.prob, None if context.deadline is None
                                    else (0.7 if context.matching_linear else 0.3)
                                    * context.time_left(), start, integer=False,
                                    whole=not context.matching_linear)
            start = None
            if relaxed.bound is not None and relaxed.state != "infeasible":
                # less what the preference for the previous pairs added (under a cent)
                found = math.floor(relaxed.bound * 100 + 1e-6) / 100 if preferring \
                    else relaxed.bound
                bound = found if bound is None else min(bound, found)
            if relaxed.state == "infeasible" or relaxed.values is None or relaxed.bound is None:
                break
            matched = set(formed_pair_indices(matching, relaxed))
            chosen = [p for i, p in enumerate(pairs) if i in matched or p.forced]
            if context.deadline is not None:
                # without a solver first: the matching where it can be scheduled, the other
                # mentees with other mentors (a feasible answer whatever the time left)
                best.offer_scheduled(greedy_schedule(
                    data, pairs, {(p.mentor, p.mentee) for p in chosen}, context.deadline))
                context.stats["greedy_objective"] = best.score
                if context.proven(bound, best.score) or \
                        not context.fits(sum(len(p.slots) for p in chosen if p.need)):
                    break
            parts = schedule_in_parts(context, chosen)
            if parts is not None:
                best.offer_parts(parts)
                formed = set(parts.formed)
            else:
                schedule = context.build(lambda chosen=chosen: build_model(data, chosen))
                scheduled = context.solve(schedule.prob, context.time_left(), None
                                          if context.deadline is None
                                          else best.start_for(schedule))
                best.offer(schedule, scheduled)
                if scheduled.values is None:
                    break
                formed = {(p.mentor, p.mentee) for p in chosen_pairs(schedule, scheduled)}
            context.stats["cut_rounds"] = round_number + 1
            context.report("solving", 0.4 + 0.55 * (round_number + 1) / MAX_CUT_ROUNDS)
            if context.proven(bound, best.score):
                break
            if context.deadline is not None and \
                    context.seconds_to_deadline() < 0.3 * context.time_limit:
                break  # leave time for the repair
            if context.seconds_to_deadline() < 1.0:
                break
            dropped = [p for p in chosen if (p.mentor, p.mentee) not in formed]
            new_cuts = self.cut(context, matching, chosen, dropped, index_of_pair, cuts)
            context.stats["conflict_cuts"] = len(cuts)
            if not new_cuts:
                break
        return bound

    def cut(self, context: SolveContext, matching: Model, chosen: list[Pair],
            dropped: list[Pair], index_of_pair: dict[tuple[int, int], int],
            cuts: set[frozenset[tuple[int, int]]]) -> int:
        """Forbid, in the matching part, each smallest set of pairs around a dropped pair
        that cannot be scheduled together; how many new cuts."""
        new_cuts = 0
        for pair in dropped:
            if context.seconds_to_deadline() < 0.3 * (context.time_limit or 0):
                break  # leave time for the repair
            group = [q for q in chosen if {q.mentor, q.mentee} & {pair.mentor, pair.mentee}]
            conflict = smallest_conflict(context, group, pair)
            if conflict is None:
                continue
            key = frozenset((q.mentor, q.mentee) for q in conflict)
            if key in cuts:
                continue
            cuts.add(key)
            members = [index_of_pair[k] for k in key]
            matching.add([(matching.x[i], 1.0) for i in members], LE, len(members) - 1,
                         f"conflict_{len(cuts)}")
            new_cuts += 1
        return new_cuts

    # -- 4 --------------------------------------------------------------------------------
    def repair(self, context: SolveContext, best: _Best) -> None:
        """The mentees the best schedule left out (and those unmatched) try their other
        candidate mentors with spare capacity, warm-started from the best schedule."""
        data = context.data
        kept = {(p.mentor, p.mentee) for p in chosen_pairs(best.model, best.result)}
        kept_mentees = {mentee for _, mentee in kept}
        load = Counter(mentor for mentor, _ in kept)
        wider = [p for p in context.candidates if (p.mentor, p.mentee) in kept or p.forced or (
            p.mentee not in kept_mentees
            and load[p.mentor] < data.leaders[p.mentor].mentor_capacity)]
        if not context.fits(sum(len(p.slots) for p in wider if p.need)):
            return
        repaired_model = context.build(lambda: build_model(data, wider))
        repaired = context.solve(repaired_model.prob, None if context.deadline is None
                                 else 0.7 * context.time_left(),
                                 best.start_for(repaired_model))
        context.stats["repair_objective"] = score_of(repaired_model, repaired)
        best.offer(repaired_model, repaired)

    # -- 5 --------------------------------------------------------------------------------
    def whole_programme(self, context: SolveContext, best: _Best, attempt: Attempt) -> None:
        """The whole programme, warm-started from the best schedule, where it is of a size to
        build and solve in the time left; its bound tightens the attempt's."""
        pairs = context.candidates
        variables = sum(len(p.slots) for p in pairs if p.need)
        # building costs roughly 30 microseconds a variable; leave time to solve too
        estimate = BUILD_SECONDS_PER_VARIABLE * variables + 5.0
        if variables > WHOLE_PROGRAMME_MAX_VARIABLES or \
                context.seconds_to_deadline() <= 2 * estimate:
            return
        whole = context.build(lambda: build_model(context.data, pairs))
        result = context.solve(whole.prob, context.time_left(), best.start_for(whole))
        if result.bound is not None:
            attempt.proven_bound = min(attempt.proven_bound, result.bound)
        score = score_of(whole, result)
        if score is not None and (best.score is None or score >= best.score):
            attempt.model, attempt.result, attempt.holds_every_candidate = whole, result, True
            attempt.scheduled = None
        context.stats["whole_programme"] = True


def prefer_previous(context: SolveContext, matching: Model) -> bool:
    """Among matchings of equal score, make the matching part prefer the previous solution's
    pairs: each is worth a little more, all of them together under half a cent, so that
    no score in cents is given up for them (and the bound, floored to the cent, still
    holds). Without it, the stability solve (optimiser/stability.py), which looks for a
    closer solution only around the pairs that changed, starts from whichever of the equal
    matchings the solver found first: on M, forbidding pair 200 of the optimum then changed
    7 pairs where 5 would do. True when the preference was added (the matching part as
    rows, scores in cents, and a previous solution)."""
    previous = context.previous_pairs
    if not previous or not isinstance(matching.prob, RowProgramme):
        return False
    bonus = 0.004 / (len(previous) + 1)
    for i, p in enumerate(matching.pairs):
        if (p.mentor, p.mentee) in previous:
            matching.prob.costs[i] += bonus
    return True


def smallest_conflict(context: SolveContext, group: list[Pair], must: Pair
                      ) -> list[Pair] | None:
    """A smallest-by-deletion subset of ``group`` (containing ``must``) whose pairs cannot
    all be formed with their exchanges, even ignoring every other pair; None if the whole
    group can."""
    def feasible(pairs: list[Pair]) -> bool:
        # without the priority floor: a conflict must hold whatever else is formed
        model = build_model(context.data, [replace(q, forced=True) for q in pairs],
                            with_floor=False)
        limit = CONFLICT_CHECK_SECONDS if context.deadline is None else \
            min(CONFLICT_CHECK_SECONDS, context.time_left())
        return context.solve(model.prob, limit).state != "infeasible"

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
