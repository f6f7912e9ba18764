"""National scale (issue 18 item 5): the time limit is the user's, building included; a feasible
answer whenever one exists; candidates built a block of mentees at a time, the same as all at
once."""

from __future__ import annotations

import time
from unittest.mock import patch

import pytest

import optimiser
import optimiser.solver as solver_module
from optimiser.candidates import build_candidates
from optimiser.data import Data
from optimiser.generate import generate
from optimiser.greedy import greedy_schedule
from optimiser.solution import solution_from_schedule
from optimiser.testing import half_day_slots, leader, problem


def _candidates(doc: dict, per_mentee, block_cells):
    p = optimiser.load_problem(doc)
    data = Data(p, p.rules.weights, None)
    c = build_candidates(data, per_mentee, block_cells=block_cells)
    return ([(q.mentor, q.mentee, q.score, q.weight, q.need, q.slots, q.forced) for q in c.pairs],
            sorted((e, vars(info)) for e, info in c.mentees.items()), c.pruned_to, c.considered)


@pytest.mark.parametrize("exchanges", [0, 2])
@pytest.mark.parametrize("per_mentee", [None, 0, 4])
def test_candidates_built_in_blocks_are_those_built_all_at_once(exchanges, per_mentee):
    doc = generate(30, 70, 6, seed=11, exchanges=exchanges)
    ids = [ld["id"] for ld in doc["leaders"]]
    mentors = [ld["id"] for ld in doc["leaders"] if ld["mentor_capacity"]]
    mentees = [ld["id"] for ld in doc["leaders"] if ld["wants_mentor"]]
    doc["excluded"] = [{"mentor": mentors[0], "mentee": mentees[0]},
                       {"mentor": mentors[3], "mentee": mentees[5]}]
    doc["pinned"] = [{"mentor": mentors[1], "mentee": mentees[1]}]
    assert len(ids) == 100
    all_at_once = _candidates(doc, per_mentee, None)
    # blocks of one, seven and a few dozen mentees (30 mentors a block row)
    for cells in (1, 7 * 30, 40 * 30):
        assert _candidates(doc, per_mentee, cells) == all_at_once, cells
    assert all_at_once[0]


def test_every_answer_found_without_a_solver_keeps_every_rule():
    """The greedy answer is checked by the same checker as the solver's, on rounds with
    protected hours, hosting limits, spacing and reciprocal hosting, and with a pinned pair."""
    for seed in range(4):
        doc = generate(25, 55, 8, seed=seed, exchanges=2 + seed % 2, min_days=7)
        mentors = [ld["id"] for ld in doc["leaders"] if ld["mentor_capacity"]]
        mentees = [ld["id"] for ld in doc["leaders"] if ld["wants_mentor"]]
        doc["rules"]["reciprocal"] = ["required", "where_possible", "off", "required"][seed]
        p = optimiser.load_problem(doc)
        data = Data(p, p.rules.weights, None)
        cands = build_candidates(data, None)
        pinned = next(q for q in cands.pairs if q.need and len(q.slots) > 8)
        doc["pinned"] = [{"mentor": data.leaders[pinned.mentor].id,
                          "mentee": data.leaders[pinned.mentee].id}]
        p = optimiser.load_problem(doc)
        data = Data(p, p.rules.weights, None)
        cands = build_candidates(data, None)
        scheduled = greedy_schedule(data, cands.pairs)
        assert scheduled is not None and len(scheduled.pairs) > 10
        solution = solution_from_schedule(data, cands, scheduled, None, True, {}, None)
        assert optimiser.check_solution(p, solution) == [], seed
        assert (doc["pinned"][0]["mentor"], doc["pinned"][0]["mentee"]) in {
            (x.mentor, x.mentee) for x in solution.pairs}
        assert mentors and mentees


def test_an_unschedulable_pinned_pair_leaves_it_to_the_solver():
    slots = half_day_slots(4)
    doc = problem(slots, [leader("m", cap=1, avail=["s0"]),
                          leader("e", wants=True, avail=["s0"])],
                  exchanges_per_pair=2, pinned=[{"mentor": "m", "mentee": "e"}])
    p = optimiser.load_problem(doc)
    data = Data(p, p.rules.weights, None)
    assert greedy_schedule(data, build_candidates(data, None).pairs) is None
    assert optimiser.solve(p, time_limit=10).status == "infeasible"


def test_the_time_limit_counts_building_and_a_feasible_answer_comes_back():
    """A medium round (1,200 leaders, K = 2) with a limit shorter than its building and solving
    take without one: the whole call keeps to the limit, with an answer that keeps every rule.
    (The margin allows for a busy machine: building candidates cannot stop half-way, and the
    greedy answer gets a tenth of the limit when building took it all.)"""
    p = optimiser.load_problem(generate(360, 840, 12, seed=7))
    limit = 10.0
    started = time.perf_counter()
    sol = optimiser.solve(p, time_limit=limit)
    took = time.perf_counter() - started
    assert took <= 1.25 * limit + 1.0, sol.stats
    assert sol.status in ("optimal", "feasible")
    assert len(sol.pairs) > 300
    assert optimiser.check_solution(p, sol) == []


def test_a_limit_too_short_for_any_solver_still_returns_a_feasible_answer():
    """Even when the whole programme could not be built in the time (here: forced through the
    whole-programme strategy with 4 s), the answer found without a solver comes back."""
    p = optimiser.load_problem(generate(120, 280, 12, seed=8))
    with patch.object(solver_module, "FULL_MODEL_MAX", 10**9):
        started = time.perf_counter()
        sol = optimiser.solve(p, time_limit=4.0)
        took = time.perf_counter() - started
    assert sol.status in ("optimal", "feasible")
    assert len(sol.pairs) > 200 and optimiser.check_solution(p, sol) == []
    assert took <= 1.5 * 4.0 + 1.0, sol.stats
