from __future__ import annotations

import random

import optimiser
from optimiser import Leader, ScoreWeights, score_pair
from optimiser.generate import generate
from optimiser.scoring import score_matrix


def L(lid, **kw):
    base = dict(profession="nursing", organisation="Org", sector="acute", borough="Lewisham")
    base.update(kw)
    return Leader(id=lid, **base)


def test_reasons_read_like_a_person_wrote_them():
    m = L("m", profession="pharmacy", sector="acute", organisation="King's",
          strengths=("quality improvement", "finance", "coaching"), mentor_capacity=1)
    e = L("e", profession="pharmacy", sector="community pharmacy", organisation="Boots",
          goals=("Quality improvement", "finance", "strategy"), wants_mentor=True)
    score, reasons = score_pair(m, e)
    assert reasons[0] == ("the mentor's strengths cover 2 of the mentee's 3 goals "
                          "(quality improvement, finance) +2.67")
    assert "crosses sectors: acute and community pharmacy +2" in reasons
    assert "same profession: pharmacy" in reasons
    assert "both in Lewisham +1" in reasons
    assert score == round(4 * 2 / 3 + 2 + 0.5 + 1, 2)


def test_crossing_boundaries_scores_higher():
    e = L("e", goals=("a",), wants_mentor=True)
    same = L("m1", strengths=("a",), organisation="Other")
    crossing = L("m2", strengths=("a",), organisation="Other", profession="social work",
                 sector="social care")
    assert score_pair(crossing, e)[0] > score_pair(same, e)[0]
    assert score_pair(crossing, e)[0] == 10.0


def test_weights_change_the_score():
    m = L("m", strengths=("a",), borough="Bexley")
    e = L("e", goals=("a", "b"), borough="Bexley")
    assert score_pair(m, e)[0] == 2 + 1
    w = ScoreWeights(goals=10, same_borough=0, cross_organisation=0)
    assert score_pair(m, e, w)[0] == 5


def test_vectorised_ranking_agrees_with_score_pair():
    doc = generate(15, 25, 2, seed=3)
    p = optimiser.load_problem(doc)
    mentors = [ld for ld in p.leaders if ld.mentor_capacity]
    mentees = [ld for ld in p.leaders if ld.wants_mentor]
    w = ScoreWeights(goals=3, cross_profession=1.5, cross_sector=2.5, cross_organisation=1,
                     same_borough=2)
    mat = score_matrix(mentors, mentees, w)
    rng = random.Random(0)
    for _ in range(200):
        i, j = rng.randrange(len(mentors)), rng.randrange(len(mentees))
        assert abs(mat[i, j] - score_pair(mentors[i], mentees[j], w)[0]) < 0.006


def test_solve_uses_weights_argument_and_rules():
    doc = generate(5, 8, 2, seed=1, exchanges=0)
    p = optimiser.load_problem(doc)
    w = ScoreWeights(goals=0, cross_profession=0, cross_sector=0, cross_organisation=0,
                     same_borough=10)
    sol = optimiser.solve(p, weights=w)
    for pr in sol.pairs:
        assert pr.score in (0, 10)
    doc["rules"]["weights"] = {"goals": 0, "cross_profession": 0, "cross_sector": 0,
                               "cross_organisation": 0, "same_borough": 10}
    p2 = optimiser.load_problem(doc)
    sol2 = optimiser.solve(p2)
    assert sol2.objective == sol.objective
    assert optimiser.check_solution(p2, sol2) == []


def test_generator_is_realistic_and_deterministic():
    a = generate(10, 20, 4, seed=7)
    assert a == generate(10, 20, 4, seed=7)
    p = optimiser.load_problem(a)
    assert len(p.slots) == 4 * 10
    assert {ld.borough for ld in p.leaders} <= {"Bexley", "Bromley", "Greenwich", "Lambeth",
                                                "Lewisham", "Southwark"}
    assert {s.start.hour for s in p.slots} == {9, 13}
    assert sum(1 for ld in p.leaders if ld.mentor_capacity) == 10
