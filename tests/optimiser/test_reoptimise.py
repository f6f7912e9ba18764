"""Re-optimisation: fixed pairs and exchanges stay; what moved is counted."""

from __future__ import annotations

import dataclasses

import optimiser
from optimiser import ExchangeResult, Fixed, Pin, solve
from optimiser.testing import half_day_slots, leader, problem

S = half_day_slots(20)
ALL = [s["id"] for s in S]


def base_doc():
    return problem(S, [
        leader("m1", cap=2, avail=ALL, profession="pharmacy"),
        leader("m2", cap=1, avail=ALL, profession="medicine"),
        leader("a", wants=True, avail=ALL), leader("b", wants=True, avail=ALL),
        leader("c", wants=True, avail=ALL),
    ], exchanges_per_pair=2, min_days_between_exchanges=3, reciprocal=True)


def test_fixed_part_untouched_after_a_decline():
    p = optimiser.load_problem(base_doc())
    first = solve(p)
    assert len(first.pairs) == 3
    keep = [q for q in first.pairs if q.mentee != "a"]
    keep_ex = [x for x in first.exchanges if "a" not in (x.host, x.visitor)]
    # 'a' declines: drop them; everything else approved and fixed
    leaders = tuple(ld for ld in p.leaders if ld.id != "a")
    p2 = dataclasses.replace(p, leaders=leaders)
    fixed = Fixed(pairs=tuple(Pin(q.mentor, q.mentee) for q in keep),
                  exchanges=tuple(keep_ex))
    second = solve(p2, fixed=fixed, previous=first)
    assert optimiser.check_solution(p2, second) == []
    assert set(keep) <= set(second.pairs)
    assert set(keep_ex) <= set(second.exchanges)
    assert second.stats["moved_pairs"] == 1  # a's pair is gone
    assert second.stats["moved"] == 3  # ... with its two exchanges


def test_fixed_exchanges_consume_slots_and_time():
    doc = problem(S, [leader("m", cap=2, avail=["s0", "s2", "s4", "s6"],
                             protected_hours_per_month=12),
                      leader("a", wants=True, avail=["s0", "s2", "s4", "s6"]),
                      leader("b", wants=True, avail=["s0", "s2", "s4", "s6"])],
                  exchanges_per_pair=1)
    p = optimiser.load_problem(doc)
    fixed = Fixed(pairs=(Pin("m", "a"),), exchanges=(ExchangeResult("m", "a", "s0"),))
    sol = solve(p, fixed=fixed)
    assert optimiser.check_solution(p, sol) == []
    assert ExchangeResult("m", "a", "s0") in sol.exchanges
    assert {x.slot for x in sol.exchanges if "b" in (x.host, x.visitor)} <= {"s2", "s4", "s6"}
    # 12 h a month: the fixed exchange uses 4, so two more 4-hour exchanges at most
    assert len(sol.exchanges) == 2


def test_fixed_pair_gets_remaining_exchanges():
    p = optimiser.load_problem(base_doc())
    fixed = Fixed(pairs=(Pin("m2", "c"),), exchanges=(ExchangeResult("m2", "c", "s0"),))
    sol = solve(p, fixed=fixed)
    assert optimiser.check_solution(p, sol) == []
    mine = [x for x in sol.exchanges if {x.host, x.visitor} == {"m2", "c"}]
    assert len(mine) == 2 and ExchangeResult("m2", "c", "s0") in mine
    assert {x.host for x in mine} == {"m2", "c"}  # reciprocal: c hosts the other one


def test_previous_solution_kept_when_nothing_changed():
    p = optimiser.load_problem(base_doc())
    first = solve(p)
    again = solve(p, previous=first)
    assert again.stats["moved"] == 0
    assert set(again.pairs) == set(first.pairs)
    assert again.objective == first.objective


def test_new_leader_joins():
    doc = base_doc()
    p = optimiser.load_problem(doc)
    first = solve(p)
    doc["leaders"].append(leader("d", wants=True, avail=ALL, priority=True))
    doc["leaders"].append(leader("m3", cap=1, avail=ALL))
    p2 = optimiser.load_problem(doc)
    fixed = Fixed(pairs=tuple(Pin(q.mentor, q.mentee) for q in first.pairs),
                  exchanges=first.exchanges)
    second = solve(p2, fixed=fixed, previous=first)
    assert optimiser.check_solution(p2, second) == []
    assert second.stats["moved"] == 0 and len(second.pairs) == 4


def test_bad_fixed_input_is_a_problem_error():
    p = optimiser.load_problem(base_doc())
    try:
        solve(p, fixed=Fixed(pairs=(Pin("m1", "zz"),),
                             exchanges=(ExchangeResult("m2", "b", "s0"),)))
    except optimiser.ProblemError as exc:
        assert exc.errors == ("fixed.pairs[0].mentee: unknown leader id 'zz'",
                              "fixed.exchanges[0]: exchange of ('m2', 'b') which is not a "
                              "fixed pair")
    else:
        raise AssertionError("expected ProblemError")
