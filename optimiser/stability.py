"""Stability: with a previous solution, a second objective after the score.

Lexicographic: the score of the first solve is held (within a cent, or 1e-6 when scores are
not whole cents), then the fewest earlier pairs are changed, then the fewest earlier exchanges
moved. One integer programme does both: each kept earlier pair is worth more than every
earlier exchange together, so keeping a pair always comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pulp

from .candidates import Pair
from .data import Data
from .highs import SolverResult
from .ip import EITHER, MENTEE, MENTOR, Model, build_model
from .model import Solution
from .values import chosen_pairs, start_values, values_by_name

#: the name of the row that holds the score in the second solve
KEEP_SCORE = "keep_score"


@dataclass(frozen=True)
class Previous:
    """An earlier solution, by leader and slot ids."""

    pairs: frozenset[tuple[str, str]]  # (mentor, mentee)
    exchanges: frozenset[tuple[str, str, str]]  # (host, visitor, slot)

    @classmethod
    def of(cls, solution: Solution) -> Previous:
        return cls(frozenset((p.mentor, p.mentee) for p in solution.pairs),
                   frozenset((x.host, x.visitor, x.slot) for x in solution.exchanges))

    def hosts(self, data: Data, pair: Pair) -> dict[int, int]:
        """Slot -> host (leader index) of the pair's earlier exchanges."""
        ids = data.leaders[pair.mentor].id, data.leaders[pair.mentee].id
        out = {}
        for host, visitor, slot in self.exchanges:
            if {host, visitor} == set(ids) and slot in data.sidx:
                out[data.sidx[slot]] = pair.mentor if host == ids[0] else pair.mentee
        return out


def stability_terms(data: Data, model: Model, previous: Previous
                    ) -> list[tuple[pulp.LpVariable, float]]:
    """The second objective: each earlier exchange kept counts 1, each earlier pair kept
    counts more than all of those together."""
    exchange_terms = []
    for ev in model.ex:
        p = model.pairs[ev.pair]
        mentor, mentee = data.leaders[p.mentor].id, data.leaders[p.mentee].id
        slot = data.slots[ev.slot].id
        mentor_hosts = (mentor, mentee, slot) in previous.exchanges
        mentee_hosts = (mentee, mentor, slot) in previous.exchanges
        if (ev.side == MENTOR and mentor_hosts) or (ev.side == MENTEE and mentee_hosts) or (
                ev.side == EITHER and (mentor_hosts or mentee_hosts)):
            exchange_terms.append((ev.var, 1.0))
    pair_worth = float(len(exchange_terms) + 1)
    pair_terms = [(x, pair_worth) for p, x in zip(model.pairs, model.x, strict=True)
                  if (data.leaders[p.mentor].id, data.leaders[p.mentee].id) in previous.pairs]
    return pair_terms + exchange_terms


def keep_previous(data: Data, model: Model, result: SolverResult, previous: Previous,
                  candidates: list[Pair], score_tolerance: float,
                  solve: Callable[..., SolverResult], time_left: float | None,
                  whole_model: bool) -> tuple[Model, SolverResult, dict]:
    """The second solve: the same score (at least the first solve's, less
    ``score_tolerance``), then as many earlier pairs and exchanges as possible.

    ``whole_model``: ``model`` holds every candidate pair; otherwise (the large-input
    method) the second solve is over its pairs and the earlier pairs still candidates.
    Returns the model and result to read the solution from (the first ones when the
    second solve finds nothing better) and its stats."""
    score = sum(p.weight for p in chosen_pairs(model, result))
    start = values_by_name(model, result)
    target = model
    if not whole_model:
        # the model's pairs, the earlier pairs, and the candidate pairs between leaders whose
        # pair changed: the neighbourhood where a closer solution can be
        have = {(p.mentor, p.mentee) for p in model.pairs}
        ids = {(data.leaders[p.mentor].id, data.leaders[p.mentee].id): p for p in candidates}
        now = {(p.mentor, p.mentee) for p in chosen_pairs(model, result)}
        was = {(ids[key].mentor, ids[key].mentee) for key in previous.pairs if key in ids}
        moved = {leader for pair in now ^ was for leader in pair}
        more = [p for p in candidates if (p.mentor, p.mentee) not in have and (
            (p.mentor, p.mentee) in was or (p.mentor in moved or p.mentee in moved))]
        if more:
            target = build_model(data, [*model.pairs, *more])
            start = start_values(model, result, target)
    terms = stability_terms(data, target, previous)
    if not terms:
        return model, result, {}
    prob = target.prob
    objective = prob.objective
    target.add([(x, p.weight) for p, x in zip(target.pairs, target.x, strict=True)],
               pulp.LpConstraintGE, score - score_tolerance, KEEP_SCORE)
    prob.setObjective(pulp.LpAffineExpression(terms))
    second = solve(prob, start)
    if second.values is None or second.state not in ("optimal", "limit"):
        # (the score's row stays: the first solution meets it, and it is read as it was)
        prob.setObjective(objective)
        return model, result, {"stability": "not improved: " + second.message}
    # The score is held, so the first solve's status and bound still hold for it; read the
    # solution with the score as its objective again.
    prob.setObjective(objective)
    return target, replace(result, values=second.values, names=second.names,
                           solver=second.solver), {
        "stability": "proven" if second.state == "optimal" else "best found in time"}
