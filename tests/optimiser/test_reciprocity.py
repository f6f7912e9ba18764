"""Reciprocal hosting that does not exclude: rules.reciprocal "required", "where_possible",
"off" (true and false stay valid), checked against the exhaustive search too."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import optimiser
from optimiser import check_solution, load_problem, solve
from optimiser.bruteforce import brute_force
from optimiser.testing import half_day_slots, leader, problem, solve_doc

sys.path.insert(0, str(Path(__file__).parent))
from test_property import problems

S = half_day_slots(20)
ALL = [s["id"] for s in S]


def _cannot_host_mentee(reciprocal):
    return problem(S, [leader("m", cap=1, avail=ALL),
                       leader("e", wants=True, avail=ALL, max_hosted_per_week=0,
                              priority=True)],
                   exchanges_per_pair=2, min_days_between_exchanges=3, reciprocal=reciprocal)


@pytest.mark.parametrize("value, read_as", [(True, "required"), (False, "off"),
                                            ("required", "required"), ("off", "off"),
                                            ("where_possible", "where_possible"), (None, "off")])
def test_values_read(value, read_as):
    doc = _cannot_host_mentee(value)
    p = load_problem(doc)
    assert p.rules.reciprocal == read_as
    assert load_problem(optimiser.problem_to_dict(p)).rules.reciprocal == read_as


def test_unknown_value_is_a_clear_error():
    doc = _cannot_host_mentee("sometimes")
    with pytest.raises(optimiser.ProblemError) as caught:
        load_problem(doc)
    assert caught.value.errors == (
        "rules.reciprocal: must be one of 'required', 'where_possible', 'off' "
        "(or true = 'required', false = 'off'), got 'sometimes'",)


def test_a_mentee_who_cannot_host_is_matched_where_possible():
    _, required = solve_doc(_cannot_host_mentee("required"))
    assert not required.pairs
    assert [u.rule for u in required.unmatched] == ["reciprocal"]
    assert required.stats["unmatched_by_rule"] == {"reciprocal": 1}
    assert required.stats["unmatched_priority_by_rule"] == {"reciprocal": 1}
    _, where_possible = solve_doc(_cannot_host_mentee("where_possible"))
    assert [(p.mentor, p.mentee) for p in where_possible.pairs] == [("m", "e")]
    # all its exchanges at the workplace of the one who can host
    assert [x.host for x in where_possible.exchanges] == ["m", "m"]
    assert where_possible.stats["unmatched_by_rule"] == {}


def test_both_can_host_so_each_hosts_once():
    doc = _cannot_host_mentee("where_possible")
    del doc["leaders"][1]["max_hosted_per_week"]
    doc["leaders"][0]["max_hosted_per_week"] = 1  # a limit that can bind: hosts are decided
    _, sol = solve_doc(doc)
    assert sorted(x.host for x in sol.exchanges) == ["e", "m"]


def test_host_from_after_every_common_slot_means_cannot_host():
    doc = _cannot_host_mentee("where_possible")
    del doc["leaders"][1]["max_hosted_per_week"]
    doc["leaders"][1]["host_from"] = "2026-03-01"  # after the round's slots
    _, sol = solve_doc(doc)
    assert [x.host for x in sol.exchanges] == ["m", "m"]
    doc["rules"]["reciprocal"] = "required"
    _, sol = solve_doc(doc)
    assert not sol.pairs


def test_checker_flags_one_sided_hosting_where_both_can_host():
    doc = _cannot_host_mentee("where_possible")
    del doc["leaders"][1]["max_hosted_per_week"]
    p = load_problem(doc)
    good = solve(p)
    one_sided = optimiser.Solution(
        good.status, good.objective, good.bound, good.pairs,
        tuple(optimiser.ExchangeResult("m", "e", x.slot) for x in good.exchanges))
    assert any("not reciprocal" in v for v in check_solution(p, one_sided))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_where_possible_matches_exhaustive_search(doc):
    doc["rules"]["reciprocal"] = "where_possible"
    p = load_problem(doc)
    expected = brute_force(p)
    s = solve(p)
    assert check_solution(p, s) == [], (check_solution(p, s), s)
    if expected is None:
        assert s.status == "infeasible"
    else:
        assert s.status == "optimal" and abs(s.objective - expected) < 1e-6, (s, doc)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_where_possible_on_the_large_instance_path(doc):
    from unittest.mock import patch

    import optimiser.solver as solve_module

    doc["rules"]["reciprocal"] = "where_possible"
    p = load_problem(doc)
    expected = brute_force(p)
    with patch.object(solve_module, "FULL_MODEL_MAX", -1):
        s = solve(p)
    assert check_solution(p, s) == []
    if expected is not None:
        assert s.status == "optimal" and abs(s.objective - expected) < 1e-6, (s, doc)


def test_a_pair_that_cannot_be_scheduled_even_alone_is_no_candidate():
    """One host with a weekly limit of 1 and both common slots in one week: no schedule,
    found before solving (the pinned pair's message says so)."""
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s1"], max_hosted_per_week=1),
                      leader("e", wants=True, avail=["s0", "s1"], max_hosted_per_week=0)],
                  exchanges_per_pair=2, reciprocal="where_possible")
    _, sol = solve_doc(doc)
    assert not sol.pairs and [u.rule for u in sol.unmatched] == ["spacing"]
    doc["pinned"] = [{"mentor": "m", "mentee": "e"}]
    sol = solve(load_problem(doc))
    assert sol.status == "infeasible"
    assert sol.messages == ("pinned pair ('m', 'e'): no schedule of its 2 exchange(s) meets the "
                            "spacing, hosting limits, host_from, protected time and reciprocal "
                            "hosting, even with no other pair",)
