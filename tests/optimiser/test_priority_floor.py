"""The fairness floor: priority-group mentees matched at a rate at least the overall rate,
whenever that is feasible; reported in the stats."""

from __future__ import annotations

import sys
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings

import optimiser
from optimiser import check_solution, load_problem, solve
from optimiser.bruteforce import brute_force
from optimiser.testing import half_day_slots, leader, problem, solve_doc

sys.path.insert(0, str(Path(__file__).parent))
from test_property import problems

S = half_day_slots(10)
ALL = [s["id"] for s in S]


def _two_mentees_one_mentor(**rules):
    """One place: the non-priority mentee scores far better (shared goals)."""
    return problem(S, [leader("m", cap=1, avail=ALL, strengths=["finance"]),
                       leader("fit", wants=True, avail=ALL, goals=["finance"],
                              profession="pharmacy"),
                       leader("prio", wants=True, avail=ALL, priority=True)],
                   match_bonus=0, priority_bonus=0, **rules)


def test_without_the_floor_the_better_score_wins_and_rates_are_reported():
    _, sol = solve_doc(_two_mentees_one_mentor())
    assert [p.mentee for p in sol.pairs] == ["fit"]
    assert sol.stats["overall_rate"] == 0.5 and sol.stats["priority_rate"] == 0.0
    assert sol.stats["priority_mentees"] == 1 and sol.stats["matched_priority_mentees"] == 0
    assert "priority_floor" not in sol.stats


def test_the_floor_matches_the_priority_group_at_least_as_often():
    doc = _two_mentees_one_mentor(priority_floor=True)
    assert load_problem(doc).rules.priority_floor is True
    _, sol = solve_doc(doc)
    assert [p.mentee for p in sol.pairs] == ["prio"]
    assert sol.stats["priority_rate"] == 1.0 and sol.stats["priority_floor"] == "met"


def test_when_pins_make_the_floor_infeasible_it_is_dropped_and_said():
    doc = _two_mentees_one_mentor(priority_floor=True,
                                  pinned=[{"mentor": "m", "mentee": "fit"}])
    _, sol = solve_doc(doc)
    assert [p.mentee for p in sol.pairs] == ["fit"]
    assert sol.stats["priority_floor"] == "not feasible: solved without it"


def test_the_floor_must_be_true_or_false():
    doc = _two_mentees_one_mentor(priority_floor="yes")
    with pytest.raises(optimiser.ProblemError) as caught:
        load_problem(doc)
    assert caught.value.errors == ("rules.priority_floor: must be true or false, got str 'yes'",)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_floor_matches_exhaustive_search(doc):
    doc["rules"]["priority_floor"] = True
    p = load_problem(doc)
    expected = brute_force(p)
    s = solve(p)
    assert check_solution(p, s) == []
    if expected is None:
        assert s.status == "infeasible"
    else:
        assert s.status == "optimal" and abs(s.objective - expected) < 1e-6, (s, doc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_floor_on_the_large_instance_path(doc):
    import optimiser.solver as solve_module

    doc["rules"]["priority_floor"] = True
    p = load_problem(doc)
    expected = brute_force(p)
    with patch.object(solve_module, "FULL_MODEL_MAX", -1):
        s = solve(p)
    assert check_solution(p, s) == []
    if expected is not None:
        assert s.status == "optimal" and abs(s.objective - expected) < 1e-6, (s, doc)
