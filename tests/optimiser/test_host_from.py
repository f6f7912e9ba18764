"""`host_from`: the notice a host's organisation needs. A leader hosts no exchange in a slot
that starts before it; the other leader of the pair may; fixed (approved) exchanges stay."""

from __future__ import annotations

from datetime import datetime

import pytest

import optimiser
from optimiser import ExchangeResult, Fixed, Pin, ProblemError, Solution, solve
from optimiser.candidates import build_candidates
from optimiser.data import Data
from optimiser.ip import build_model
from optimiser.testing import half_day_slots, leader, problem, solve_doc

S = half_day_slots(20)  # s0 = Mon 5 Jan AM ... s9 = Fri 9 Jan PM, s10 = Mon 12 Jan AM ...
ALL = [s["id"] for s in S]
SECOND_WEEK = "2026-01-12"  # s10 onwards


def hosts_by_slot(sol: Solution) -> dict[str, str]:
    return {x.slot: x.host for x in sol.exchanges}


def test_a_host_hosts_nothing_before_host_from():
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s12"], host_from=SECOND_WEEK),
                      leader("e", wants=True, avail=["s0", "s12"], max_hosted_per_week=1)],
                  exchanges_per_pair=2, reciprocal=True)
    _, sol = solve_doc(doc)
    # Without the notice either could host either day; with it the mentee hosts in week one.
    assert hosts_by_slot(sol) == {"s0": "e", "s12": "m"}
    # ... even when an earlier solution, which the solver prefers to keep, had it otherwise.
    earlier = Solution("optimal", sol.objective, sol.bound, sol.pairs,
                       (ExchangeResult("m", "e", "s0"), ExchangeResult("e", "m", "s12")))
    _, again = solve_doc(doc, previous=earlier)
    assert hosts_by_slot(again) == {"s0": "e", "s12": "m"}
    del doc["leaders"][0]["host_from"]
    _, free = solve_doc(doc, previous=earlier)
    assert hosts_by_slot(free) == {"s0": "m", "s12": "e"}  # the earlier solution, kept


def test_no_exchange_where_neither_may_host_yet():
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s2", "s12"], host_from=SECOND_WEEK),
                      leader("e", wants=True, avail=["s0", "s2", "s12"],
                             host_from="2026-01-07T13:00")],
                  exchanges_per_pair=2)
    _, sol = solve_doc(doc)
    # s0 (Mon) and s2 (Tue) are too soon for both; s12 alone cannot hold two exchanges.
    assert not sol.pairs
    doc["leaders"][1]["host_from"] = "2026-01-06"  # the mentee may host on Tuesday
    _, sol = solve_doc(doc)
    assert hosts_by_slot(sol) in ({"s2": "e", "s12": "m"}, {"s2": "e", "s12": "e"})


def test_a_pin_that_notice_makes_impossible_is_explained():
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s1"], host_from=SECOND_WEEK),
                      leader("e", wants=True, avail=["s0", "s1"], host_from=SECOND_WEEK)],
                  exchanges_per_pair=1, pinned=[{"mentor": "m", "mentee": "e"}])
    _, sol = solve_doc(doc)
    assert sol.status == "infeasible"
    assert "host_from" in sol.messages[0]


def test_add_host_from_writes_one_row_per_leader_with_early_slots():
    doc = problem(S, [leader("m", cap=1, avail=ALL, host_from=SECOND_WEEK),
                      leader("e", wants=True, avail=ALL)], exchanges_per_pair=2)
    data = Data(optimiser.load_problem(doc), optimiser.ScoreWeights(), None)
    model = build_model(data, build_candidates(data, 0).pairs)
    rows = {row.name: row for row in model.prob.constraints()
            if row.name.startswith("host_from")}
    assert list(rows) == ["host_from_0"]  # the mentor's row; the mentee may host any day
    # ... over the mentor-hosted exchanges of the first week (s0..s9), held at zero
    assert len(rows["host_from_0"]) == 10 and rows["host_from_0"].constant == 0
    assert all(name.endswith("m") for name in (v.name for v in rows["host_from_0"]))


def test_fixed_exchanges_before_host_from_stay():
    """Approved earlier, with their own notice: a re-optimisation keeps them."""
    doc = problem(S, [leader("m", cap=2, avail=ALL, host_from=SECOND_WEEK),
                      leader("a", wants=True, avail=ALL, max_hosted_per_week=0),
                      leader("b", wants=True, avail=ALL, max_hosted_per_week=0)],
                  exchanges_per_pair=1)
    p = optimiser.load_problem(doc)
    fixed = Fixed(pairs=(Pin("m", "a"),), exchanges=(ExchangeResult("m", "a", "s0"),))
    sol = solve(p, fixed=fixed)
    assert ExchangeResult("m", "a", "s0") in sol.exchanges
    new = [x for x in sol.exchanges if x.visitor == "b"]
    assert new and all(x.slot in ALL[10:] for x in new)
    assert optimiser.check_solution(p, sol, fixed=fixed) == []
    # Without being told what was fixed, the checker sees a host before their host_from.
    assert any("cannot host before 2026-01-12T00:00 (host_from)" in problem_
               for problem_ in optimiser.check_solution(p, sol))


def test_the_checker_catches_hosting_too_soon():
    doc = problem(S, [leader("m", cap=1, avail=ALL, host_from=SECOND_WEEK),
                      leader("e", wants=True, avail=ALL)], exchanges_per_pair=1)
    p, sol = solve_doc(doc)
    bad = Solution(sol.status, sol.objective, sol.bound, sol.pairs,
                   (ExchangeResult("m", "e", "s3"),))
    assert optimiser.check_solution(p, bad) == [
        "exchanges[0] ('m' hosts 'e' in 's3'): 'm' cannot host before 2026-01-12T00:00 "
        "(host_from)"]


def test_host_from_is_read_validated_and_written_back():
    doc = problem(S[:2], [leader("m", cap=1, avail=ALL[:2], host_from="2026-01-05T13:00"),
                          leader("e", wants=True, avail=ALL[:2], host_from="2026-01-06"),
                          leader("f", wants=True, avail=ALL[:2], host_from=None)])
    p = optimiser.load_problem(doc)
    assert [ld.host_from for ld in p.leaders] == [datetime(2026, 1, 5, 13), datetime(2026, 1, 6),
                                                  None]
    written = optimiser.problem_to_dict(p)["leaders"]
    assert [ld.get("host_from") for ld in written] == ["2026-01-05T13:00", "2026-01-06", None]
    assert optimiser.load_problem(optimiser.problem_to_dict(p)) == p
    doc["leaders"][0]["host_from"] = "next Monday"
    doc["leaders"][1]["host_from"] = 20260106
    with pytest.raises(ProblemError) as caught:
        optimiser.load_problem(doc)
    assert caught.value.errors == (
        "leaders[0].host_from: must be an ISO 8601 date or date-time string (like "
        "'2027-01-18'), got 'next Monday'",
        "leaders[1].host_from: must be an ISO 8601 date or date-time string (like "
        "'2027-01-18'), got 20260106",
    )
