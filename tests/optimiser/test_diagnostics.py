"""Unmatched reasons and infeasibility explanations."""

from __future__ import annotations

import optimiser
from optimiser.testing import half_day_slots, leader, problem, solve_doc

S = half_day_slots(20)
ALL = [s["id"] for s in S]


def reasons(sol):
    return {u.id: u.reason for u in sol.unmatched}


def test_unmatched_reasons():
    doc = problem(S, [
        leader("m", cap=1, avail=["s0", "s10"], org="X"),
        leader("same_org", wants=True, avail=["s0", "s10"], org="X"),
        leader("no_common", wants=True, avail=["s1", "s11"]),
        leader("too_few", wants=True, avail=["s0"]),
        leader("ok", wants=True, avail=["s0", "s10"], priority=True),
        leader("full", wants=True, avail=["s0", "s10"]),
    ], exchanges_per_pair=2, min_days_between_exchanges=7)
    _, sol = solve_doc(doc)
    r = reasons(sol)
    assert "ok" not in r
    assert r["same_org"].startswith("no candidate mentor")
    assert r["no_common"] == "no common free slots with any candidate mentor"
    assert r["too_few"] == "too few free slots: 1 free slot(s); 2 exchanges needed"
    assert r["full"].startswith("every candidate mentor is full")


def test_time_used_by_better_pairs():
    doc = problem(S, [
        leader("m", cap=2, avail=["s0", "s1"]),
        leader("a", wants=True, avail=["s0", "s1"], priority=True),
        leader("b", wants=True, avail=["s0", "s1"]),
    ], exchanges_per_pair=2)
    _, sol = solve_doc(doc)
    assert reasons(sol)["b"].startswith("candidate mentors' free slots")


def infeasible(doc) -> list[str]:
    p = optimiser.load_problem(doc)
    sol = optimiser.solve(p)
    assert sol.status == "infeasible" and not sol.pairs
    assert optimiser.check_solution(p, sol) == []
    return list(sol.messages)


def test_pinned_pair_without_common_slots():
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s1"]),
                      leader("e", wants=True, avail=["s2", "s3"])],
                  exchanges_per_pair=1, pinned=[{"mentor": "m", "mentee": "e"}])
    assert infeasible(doc) == ["pinned pair ('m', 'e'): no common free slots"]


def test_pinned_pair_too_few_spaced_slots():
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s1", "s2"]),
                      leader("e", wants=True, avail=["s0", "s1", "s2"])],
                  exchanges_per_pair=2, min_days_between_exchanges=7,
                  pinned=[{"mentor": "m", "mentee": "e"}])
    assert infeasible(doc) == ["pinned pair ('m', 'e'): 3 common free slots hold at most 1 "
                               "exchange(s) at least 7 days apart; 2 needed"]


def test_pinned_same_organisation_capacity_and_twice():
    doc = problem(S, [leader("m", cap=1, avail=ALL, org="X"),
                      leader("m2", cap=1, avail=ALL),
                      leader("a", wants=True, avail=ALL, org="X"),
                      leader("b", wants=True, avail=ALL)],
                  pinned=[{"mentor": "m", "mentee": "a"}, {"mentor": "m", "mentee": "b"},
                          {"mentor": "m2", "mentee": "b"}])
    msgs = infeasible(doc)
    assert "mentee 'b' is pinned to 2 mentors ('m', 'm2'); a mentee has at most one" in msgs
    assert "mentor 'm' is pinned to 2 mentees but has mentor_capacity 1" in msgs
    assert ("pinned pair ('m', 'a'): both are in 'X' and the rules do not allow pairs within "
            "one organisation") in msgs


def test_pinned_pairs_protected_time():
    doc = problem(S, [leader("m", cap=2, avail=ALL, protected_hours_per_month=8),
                      leader("a", wants=True, avail=ALL), leader("b", wants=True, avail=ALL)],
                  exchanges_per_pair=2,
                  pinned=[{"mentor": "m", "mentee": "a"}, {"mentor": "m", "mentee": "b"}])
    assert infeasible(doc) == ["leader 'm': pinned pairs need 4 exchanges but their free "
                               "slots and protected hours allow at most 2"]


def test_infeasible_only_together_names_the_pins():
    # each pin can be scheduled alone, not both: the mentor has two slots, a and b one each
    doc = problem(S, [leader("m", cap=2, avail=["s0", "s1"]),
                      leader("a", wants=True, avail=["s0"]),
                      leader("b", wants=True, avail=["s0"])],
                  exchanges_per_pair=1,
                  pinned=[{"mentor": "m", "mentee": "a"}, {"mentor": "m", "mentee": "b"}])
    (msg,) = infeasible(doc)
    assert msg.startswith("no assignment satisfies every rule together with the pinned")
    assert "('m', 'a')" in msg and "('m', 'b')" in msg
