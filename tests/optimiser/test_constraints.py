"""One small hand-made problem per constraint family."""

from __future__ import annotations

from optimiser.testing import half_day_slots, leader, problem, solve_doc

S = half_day_slots(20)  # s0 = Mon 5 Jan AM ... s19 = Fri 16 Jan PM
ALL = [s["id"] for s in S]


def pairs_of(sol):
    return {(p.mentor, p.mentee) for p in sol.pairs}


def test_one_mentor_per_mentee():
    doc = problem(S, [leader("m1", cap=1, avail=ALL), leader("m2", cap=1, avail=ALL),
                      leader("e", wants=True, avail=ALL)])
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 1 and sol.status == "optimal"


def test_mentor_capacity():
    doc = problem(S, [leader("m", cap=2, avail=ALL)] +
                  [leader(f"e{i}", wants=True, avail=ALL) for i in range(3)])
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 2
    assert [u.reason for u in sol.unmatched] == ["every candidate mentor is full (1 candidate(s))"]


def test_priority_mentee_preferred():
    doc = problem(S, [leader("m", cap=1, avail=ALL), leader("e1", wants=True, avail=ALL),
                      leader("e2", wants=True, avail=ALL, priority=True)])
    _, sol = solve_doc(doc)
    assert pairs_of(sol) == {("m", "e2")}
    assert sol.objective == 100 + 50 + sol.pairs[0].score


def test_excluded_and_pinned():
    leaders = [leader("m1", cap=1, avail=ALL, profession="pharmacy"),
               leader("m2", cap=1, avail=ALL), leader("e", wants=True, avail=ALL)]
    _, sol = solve_doc(problem(S, leaders))
    assert pairs_of(sol) == {("m1", "e")}  # crosses professions: scores higher
    _, sol = solve_doc(problem(S, leaders, excluded=[{"mentor": "m1", "mentee": "e"}]))
    assert pairs_of(sol) == {("m2", "e")}
    _, sol = solve_doc(problem(S, leaders, pinned=[{"mentor": "m2", "mentee": "e"}]))
    assert pairs_of(sol) == {("m2", "e")}


def test_same_organisation():
    leaders = [leader("m", cap=1, avail=ALL, org="X"), leader("e", wants=True, avail=ALL,
                                                              org="X")]
    _, sol = solve_doc(problem(S, leaders))
    assert not sol.pairs
    assert sol.unmatched[0].reason.startswith("no candidate mentor")
    _, sol = solve_doc(problem(S, leaders, allow_same_organisation=True))
    assert len(sol.pairs) == 1


def test_exactly_k_exchanges_in_common_slots():
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s2", "s4"]),
                      leader("e", wants=True, avail=["s2", "s4", "s6"])], exchanges_per_pair=2)
    _, sol = solve_doc(doc)
    assert sorted(x.slot for x in sol.exchanges) == ["s2", "s4"]
    doc["rules"]["exchanges_per_pair"] = 3
    _, sol = solve_doc(doc)
    assert not sol.pairs
    assert "too few common free slots" in sol.unmatched[0].reason


def test_one_exchange_per_leader_per_slot():
    # the mentor has two mentees and only two slots in common with both
    doc = problem(S, [leader("m", cap=2, avail=["s0", "s1"]),
                      leader("a", wants=True, avail=["s0", "s1"]),
                      leader("b", wants=True, avail=["s0", "s1"])], exchanges_per_pair=1)
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 2 and len({x.slot for x in sol.exchanges}) == 2
    doc["rules"]["exchanges_per_pair"] = 2
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 1


def test_protected_hours_per_month():
    # 4-hour slots; 8 protected hours a month leave room for two exchanges in January
    doc = problem(S, [leader("m", cap=2, avail=ALL, protected_hours_per_month=8),
                      leader("a", wants=True, avail=ALL), leader("b", wants=True, avail=ALL)],
                  exchanges_per_pair=2)
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 1
    doc["leaders"][0]["protected_hours_per_month"] = 16
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 2
    doc["leaders"][1]["protected_hours_per_month"] = 4
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 1
    assert sol.unmatched[0].id == "a"
    assert sol.unmatched[0].reason.startswith("protected time: 4 hours a month")


def test_max_hosted_per_week():
    # all slots in one week; the mentor hosts at most one a week and the mentee none
    one_week = ALL[:10]
    doc = problem(S, [leader("m", cap=1, avail=one_week, max_hosted_per_week=1),
                      leader("e", wants=True, avail=one_week, max_hosted_per_week=0)],
                  exchanges_per_pair=2)
    _, sol = solve_doc(doc)
    assert not sol.pairs
    doc["leaders"][0]["available"] = doc["leaders"][1]["available"] = ALL  # two weeks
    _, sol = solve_doc(doc)
    assert len(sol.exchanges) == 2 and all(x.host == "m" for x in sol.exchanges)


def test_min_days_between_exchanges():
    doc = problem(S, [leader("m", cap=1, avail=["s0", "s1", "s4", "s10"]),
                      leader("e", wants=True, avail=["s0", "s1", "s4", "s10"])],
                  exchanges_per_pair=2, min_days_between_exchanges=7)
    _, sol = solve_doc(doc)
    assert sorted(x.slot for x in sol.exchanges) in (["s0", "s10"], ["s1", "s10"])
    doc["rules"]["min_days_between_exchanges"] = 8  # s0 (5 Jan) to s10 (12 Jan) is 7 days
    _, sol = solve_doc(doc)
    assert not sol.pairs
    doc["rules"]["min_days_between_exchanges"] = 0  # same day allowed
    doc["leaders"][0]["available"] = doc["leaders"][1]["available"] = ["s0", "s1"]
    _, sol = solve_doc(doc)
    assert len(sol.exchanges) == 2


def test_reciprocal_hosting():
    doc = problem(S, [leader("m", cap=1, avail=ALL),
                      leader("e", wants=True, avail=ALL, max_hosted_per_week=0)],
                  exchanges_per_pair=2, reciprocal=True)
    _, sol = solve_doc(doc)
    assert not sol.pairs  # the mentee can never host
    del doc["leaders"][1]["max_hosted_per_week"]
    _, sol = solve_doc(doc)
    assert {x.host for x in sol.exchanges} == {"m", "e"}


def test_no_mutual_pairs():
    doc = problem(S, [leader("a", cap=1, wants=True, avail=ALL),
                      leader("b", cap=1, wants=True, avail=ALL)])
    _, sol = solve_doc(doc)
    assert len(sol.pairs) == 1


def test_given_scores_are_the_only_candidates():
    doc = problem(S, [leader("m1", cap=1, avail=ALL), leader("m2", cap=1, avail=ALL),
                      leader("e", wants=True, avail=ALL)],
                  scores=[{"mentor": "m2", "mentee": "e", "score": 7.5}])
    _, sol = solve_doc(doc)
    assert pairs_of(sol) == {("m2", "e")} and sol.objective == 107.5


def test_constraints_are_named():
    import optimiser
    from optimiser.candidates import build_candidates
    from optimiser.data import Data
    from optimiser.ip import build_model

    doc = problem(S, [leader("m", cap=2, avail=ALL, protected_hours_per_month=8,
                             max_hosted_per_week=1),
                      leader("m2", cap=1, avail=ALL),
                      leader("a", wants=True, avail=ALL, max_hosted_per_week=1),
                      leader("b", wants=True, avail=ALL)],
                  exchanges_per_pair=2, min_days_between_exchanges=3, reciprocal=True,
                  pinned=[{"mentor": "m", "mentee": "a"}])
    p = optimiser.load_problem(doc)
    data = Data(p, p.rules.weights, None)
    model = build_model(data, build_candidates(data, None).pairs)
    names = [c.name for c in model.prob.constraints()]
    assert all(names) and len(set(names)) == len(names)
    for prefix in ("one_mentor_", "capacity_", "pinned_", "k_exchanges_", "one_per_slot_",
                   "hours_", "hosted_", "spacing_", "reciprocal_"):
        assert any(n.startswith(prefix) for n in names), prefix
