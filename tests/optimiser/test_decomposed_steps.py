"""The decomposed strategy's steps on their own: a matching scheduled a part at a time, and
the matching part kept in HiGHS between cut rounds."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import optimiser
from optimiser.candidates import build_candidates
from optimiser.data import Data
from optimiser.generate import generate
from optimiser.highs import solve_rows_highs
from optimiser.ip import LE, Column, RowProgramme, build_model
from optimiser.solver import _solver_runner
from optimiser.strategies.base import SolveContext
from optimiser.strategies.in_parts import (
    PartsSchedule,
    as_solver_result,
    linked_parts,
    schedule_in_parts,
)
from optimiser.values import score_of


def _context(doc: dict) -> SolveContext:
    problem = optimiser.load_problem(doc)
    data = Data(problem, problem.rules.weights, None)
    candidates = build_candidates(data, None)
    return SolveContext(
        data=data, candidates=candidates.pairs,
        run_solver=_solver_runner("highs", None, True, None, lambda *_: None),
        deadline=None, time_limit=None, score_tolerance=0.01, wanted_gap=0.0,
        as_integer_programme=True, stats={}, report=lambda *_: None)


def _greedy_matching(context: SolveContext) -> list:
    """Best weight first, each mentee once, mentors up to capacity, no schedule looked at:
    a matching whose parts do not all fit."""
    load: Counter[int] = Counter()
    matched: set[int] = set()
    out = []
    for p in sorted(context.candidates, key=lambda p: -p.weight):
        if p.mentee in matched or load[p.mentor] >= \
                context.data.leaders[p.mentor].mentor_capacity:
            continue
        if any((q.mentor, q.mentee) == (p.mentee, p.mentor) for q in out):
            continue
        out.append(p)
        matched.add(p.mentee)
        load[p.mentor] += 1
    return out


def test_parts_share_no_leader_and_hold_every_pair():
    context = _context(generate(40, 90, 6, seed=3, exchanges=2))
    matching = _greedy_matching(context)
    parts = linked_parts(matching)
    assert sorted(id(p) for part in parts for p in part) == sorted(id(p) for p in matching)
    owner: dict[int, int] = {}
    for n, part in enumerate(parts):
        for p in part:
            for leader in (p.mentor, p.mentee):
                assert owner.setdefault(leader, n) == n  # a leader is in one part only
    assert len(parts) > 1


@pytest.mark.parametrize("seed", [3, 8, 21])
def test_a_matching_scheduled_in_parts_scores_what_its_whole_programme_does(seed):
    # few weeks and a hosting limit for many: some parts cannot schedule every pair
    context = _context(generate(40, 90, 4, seed=seed, exchanges=2))
    matching = _greedy_matching(context)
    parts = schedule_in_parts(context, matching)
    assert parts is not None
    whole = build_model(context.data, matching)
    solved = context.solve(whole.prob, None)
    assert solved.state == "optimal"
    assert parts.score == pytest.approx(score_of(whole, solved), abs=0.005)
    assert context.stats["schedule_parts"] == len(linked_parts(matching))
    # read as the solver's answer to the whole programme, it keeps every row of it
    result = as_solver_result(parts, build_model(context.data, matching))
    assert result is not None and result.state == "optimal"
    assert result.objective == parts.score


def test_the_parts_test_each_programme_with_a_part_to_solve():
    context = _context(generate(40, 90, 4, seed=8, exchanges=2))
    matching = _greedy_matching(context)
    schedule_in_parts(context, matching)
    assert context.stats["parts_by_programme"] >= 1  # not every part fits by search


def test_parts_that_break_a_row_are_not_taken_as_the_answer():
    context = _context(generate(40, 90, 6, seed=3, exchanges=2))
    matching = _greedy_matching(context)
    parts = schedule_in_parts(context, matching)
    assert parts is not None and parts.formed
    model = build_model(context.data, matching)
    assert as_solver_result(parts, model) is not None
    # a formed pair with one exchange short breaks its "exactly K exchanges" row
    key, exchanges = next((k, x) for k, x in parts.formed.items() if x)
    short = PartsSchedule(parts.matching, {**parts.formed, key: exchanges[1:]}, parts.score,
                          parts.bound)
    assert as_solver_result(short, build_model(context.data, matching)) is None


def test_the_decomposed_solve_reads_a_schedule_found_in_parts_like_the_solvers():
    problem = optimiser.load_problem(generate(200, 400, 12, 1, exchanges=2))
    solution = optimiser.solve(problem)
    assert solution.status == "optimal" and solution.objective == solution.bound
    assert solution.stats["solver_status"] == "Optimal (scheduled in parts)"
    assert optimiser.check_solution(problem, solution) == []
    assert len(solution.exchanges) == 2 * len(solution.pairs)


def _odd_cycle() -> RowProgramme:
    """max x0 + x1 + x2 with each two of them at most 1: the linear optimum 1.5 (every
    value a half), the integer one 1."""
    prob = RowProgramme([1.0, 1.0, 1.0])
    columns = [Column(i, f"x{i}") for i in range(3)]
    for a, b in ((0, 1), (1, 2), (0, 2)):
        prob.rows.append(([(columns[a], 1.0), (columns[b], 1.0)], LE, 1.0))
    return prob


def test_a_linear_programme_that_must_be_whole_falls_back_to_the_integer_one():
    options = dict(time_limit=None, rel_gap=0.0, abs_gap=1e-6)
    linear = solve_rows_highs(_odd_cycle(), mip=False, **options)
    assert linear.objective == pytest.approx(1.5)
    whole = solve_rows_highs(_odd_cycle(), mip=False, whole=True, **options)
    assert whole.objective == pytest.approx(1.0)
    assert set(np.round(whole.values, 6)) <= {0.0, 1.0}


def test_rows_added_between_solves_are_handed_over_and_the_answer_is_a_fresh_solves():
    options = dict(mip=False, time_limit=None, rel_gap=0.0, abs_gap=1e-6)
    kept = _odd_cycle()
    assert solve_rows_highs(kept, **options).objective == pytest.approx(1.5)
    cut = ([(Column(0, "x0"), 1.0), (Column(1, "x1"), 1.0), (Column(2, "x2"), 1.0)], LE, 1.2)
    kept.rows.append(cut)
    fresh = _odd_cycle()
    fresh.rows.append(cut)
    again = solve_rows_highs(kept, **options)
    assert again.objective == pytest.approx(1.2)
    assert again.objective == pytest.approx(solve_rows_highs(fresh, **options).objective)
    assert kept.__dict__["_highs"][1] == 4  # every row handed over, once


def test_with_a_previous_solution_the_bound_stays_in_cents():
    problem = optimiser.load_problem(generate(200, 400, 12, 1, exchanges=2))
    optimum = optimiser.solve(problem)
    again = optimiser.solve(problem, previous=optimum)
    # the preference for the previous pairs adds under half a cent; the bound is floored
    assert again.stats["relaxation_bound"] == optimum.stats["relaxation_bound"]
    assert again.stats["moved"] == 0 and again.objective == optimum.objective
