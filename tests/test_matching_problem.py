"""The bridge from a round in the database to the optimiser: what goes in, what stays fixed."""

from __future__ import annotations

from datetime import date

import pytest

from mentoring.matching.problem import build_problem, fixed_part
from mentoring.slots import bounds
from optimiser import check_solution, load_problem, solve

MONDAY = date(2027, 1, 4)


@pytest.fixture
def small_round(factory):
    programme_round = factory.programme_round(starts_on=MONDAY, exchanges_per_pair=2,
                                              min_days_between_exchanges=7, reciprocal="required")
    mentor = factory.mentor(name="Mo Mentor", profession="pcn_clinical_director",
                            strengths=["system_leadership"], max_hosted_per_week=1)
    mentee = factory.leader(name="Mia Mentee", profession="community_pharmacist",
                            sector="community_pharmacy", goals=["system_leadership"],
                            can_host=True)
    bystander = factory.leader(name="Not Joined")
    for leader in (mentor, mentee):
        factory.participant(programme_round, leader)
    for day in (date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 19)):
        for leader in (mentor, mentee):
            factory.availability(programme_round, leader, day, "am")
    factory.availability(programme_round, mentee, date(2027, 1, 6), "pm")
    return programme_round, mentor, mentee, bystander


def test_a_round_becomes_a_valid_problem(db, small_round):
    programme_round, mentor, mentee, bystander = small_round
    problem = build_problem(db, programme_round)
    # 12 weeks of weekday half-days, but for Good Friday (26 March 2027), a bank holiday
    assert len(problem["slots"]) == 118
    assert "2027-03-26-am" not in {slot["id"] for slot in problem["slots"]}
    assert problem["slots"][0] == {"id": "2027-01-04-am", "start": "2027-01-04T09:00",
                                   "end": "2027-01-04T13:00"}
    leaders = {leader["id"]: leader for leader in problem["leaders"]}
    assert set(leaders) == {str(mentor.id), str(mentee.id)}  # only joined leaders
    assert str(bystander.id) not in leaders
    assert leaders[str(mentee.id)]["priority"] is True  # community pharmacists come first
    assert leaders[str(mentee.id)]["available"] == ["2027-01-05-am", "2027-01-06-pm",
                                                    "2027-01-12-am", "2027-01-19-am"]
    assert problem["rules"]["exchanges_per_pair"] == 2
    load_problem(problem)  # the optimiser accepts it


def test_the_optimiser_pairs_them_inside_their_common_free_half_days(db, small_round):
    programme_round, mentor, mentee, _ = small_round
    problem = load_problem(build_problem(db, programme_round))
    solution = solve(problem, time_limit=30)
    assert solution.status == "optimal"
    assert [(pair.mentor, pair.mentee) for pair in solution.pairs] == [(str(mentor.id),
                                                                        str(mentee.id))]
    slots = sorted(exchange.slot for exchange in solution.exchanges)
    assert set(slots) <= {"2027-01-05-am", "2027-01-12-am", "2027-01-19-am"}
    assert {exchange.host for exchange in solution.exchanges} == {str(mentor.id),
                                                                  str(mentee.id)}
    assert check_solution(problem, solution) == []


def test_pinned_and_forbidden_pairs_are_passed_on(db, factory, small_round):
    programme_round, mentor, mentee, _ = small_round
    factory.match(programme_round, mentor, mentee, forbidden=True)
    problem = build_problem(db, programme_round)
    assert problem["excluded"] == [{"mentor": str(mentor.id), "mentee": str(mentee.id)}]
    assert solve(load_problem(problem), time_limit=30).pairs == ()


def test_approved_pairs_and_their_exchanges_stay_fixed(db, factory, small_round):
    programme_round, mentor, mentee, _ = small_round
    match = factory.match(programme_round, mentor, mentee, status="offered")
    start, end = bounds(date(2027, 1, 12), "am")
    factory.exchange(match, start, ends_at=end)
    fixed = fixed_part(db, programme_round)
    assert [(pin.mentor, pin.mentee) for pin in fixed.pairs] == [(str(mentor.id),
                                                                  str(mentee.id))]
    assert [exchange.slot for exchange in fixed.exchanges] == ["2027-01-12-am"]
    problem = load_problem(build_problem(db, programme_round))
    solution = solve(problem, fixed=fixed, time_limit=30)
    assert "2027-01-12-am" in {exchange.slot for exchange in solution.exchanges}
    assert len(solution.exchanges) == 2
    assert check_solution(problem, solution) == []


def test_the_demo_round_solves_with_its_approved_pair_kept(db):
    from mentoring.demo import load_demo
    from mentoring.models import ProgrammeRound

    load_demo(db, leaders=60, today=date(2027, 1, 1))
    programme_round = db.exec(ProgrammeRound.__table__.select().where(
        ProgrammeRound.__table__.c.status == "open")).first()
    programme_round = db.get(ProgrammeRound, programme_round.id)
    fixed = fixed_part(db, programme_round)
    problem = load_problem(build_problem(db, programme_round))
    solution = solve(problem, fixed=fixed, time_limit=60)
    assert solution.status in {"optimal", "feasible"}
    formed = {(pair.mentor, pair.mentee) for pair in solution.pairs}
    assert set((pin.mentor, pin.mentee) for pin in fixed.pairs) <= formed
    assert len(formed) >= 10
    assert check_solution(problem, solution) == []


def test_the_rounds_priority_floor_reaches_the_optimiser(db, small_round):
    programme_round = small_round[0]
    assert build_problem(db, programme_round)["rules"]["priority_floor"] is False
    programme_round.priority_floor = True
    db.add(programme_round)
    db.commit()
    problem = build_problem(db, programme_round)
    assert problem["rules"]["priority_floor"] is True
    assert load_problem(problem).rules.priority_floor is True


def test_a_pin_overtaken_by_a_pair_made_since_is_not_passed_on(db, factory, small_round):
    """A coordinator pins a pair, then pairs the mentee with someone else (by hand, or by
    approving another run): the old pin no longer binds, or every later run is infeasible
    ("mentee is pinned to 2 mentors")."""
    programme_round, mentor, mentee, _ = small_round
    other_mentor = factory.mentor(name="Other Mentor", profession="pcn_clinical_director",
                                  strengths=["system_leadership"], max_hosted_per_week=1)
    factory.participant(programme_round, other_mentor)
    factory.match(programme_round, other_mentor, mentee, pinned=True)
    factory.match(programme_round, mentor, mentee, status="accepted")
    problem = build_problem(db, programme_round)
    assert problem["pinned"] == []
    fixed = fixed_part(db, programme_round)
    solution = solve(load_problem(problem), fixed=fixed, time_limit=30)
    assert solution.status in ("optimal", "feasible")
