import json

import pytest

import optimiser
from optimiser import ProblemError, load_problem, problem_to_dict
from optimiser.testing import half_day_slots, leader, problem


def errors_of(doc) -> list[str]:
    with pytest.raises(ProblemError) as info:
        load_problem(doc)
    return list(info.value.errors)


def good() -> dict:
    return problem(half_day_slots(4), [
        leader("a", cap=1, avail=["s0", "s1"], protected_hours_per_month=8),
        leader("b", wants=True, avail=["s0", "s1"], max_hosted_per_week=1),
    ], exchanges_per_pair=1)


def test_round_trip():
    p = load_problem(good())
    assert p.leaders[0].protected_hours_per_month == 8
    assert p.leaders[1].max_hosted_per_week == 1
    assert p.leaders[0].max_hosted_per_week is None
    again = load_problem(json.loads(json.dumps(problem_to_dict(p))))
    assert again == p


def test_collects_every_error_with_its_place():
    doc = good()
    doc["slots"].append({"id": "s0", "start": "2026-01-05T10:00", "end": "2026-01-05T11:00"})
    doc["slots"].append({"id": "bad", "start": "yesterday", "end": "2026-01-05T11:00"})
    doc["slots"].append({"id": "ov", "start": "2026-01-05T12:00", "end": "2026-01-05T14:00"})
    doc["slots"].append({"id": "back", "start": "2026-02-05T12:00", "end": "2026-02-05T11:00"})
    doc["leaders"][0]["available"].append("x")
    doc["leaders"][1]["mentor_capacity"] = -1
    doc["leaders"].append(leader("a", cap=1))
    doc["leaders"].append(leader("c", wants="yes"))
    doc["pinned"] = [{"mentor": "a", "mentee": "b"}, {"mentor": "b", "mentee": "a"},
                     {"mentor": "zz", "mentee": "b"}]
    doc["excluded"] = [{"mentor": "a", "mentee": "b"}]
    doc["rules"]["exchanges_per_pair"] = -2
    errs = errors_of(doc)
    expected = [
        "slots[4].id: duplicate slot id 's0' (also slots[0])",
        "slots[5].start: not an ISO 8601 date-time: 'yesterday'",
        "slots[6]: slot 'ov' overlaps slot 's0' (slots[0])",
        "slots[7]: ends (2026-02-05T11:00:00) before or when it starts (2026-02-05T12:00:00)",
        "leaders[0].available[2]: unknown slot id 'x'",
        "leaders[1].mentor_capacity: must be >= 0, got -1",
        "leaders[2].id: duplicate leader id 'a' (also leaders[0])",
        "leaders[3].wants_mentor: must be true or false, got str 'yes'",
        "rules.exchanges_per_pair: must be >= 0, got -2",
        "pinned[0]: pair ('a', 'b') is both pinned and excluded (excluded[0])",
        "pinned[2].mentor: unknown leader id 'zz'",
    ]
    for e in expected:
        assert e in errs, (e, errs)
    assert any(e.startswith("pinned[1]: pinned pair is not a candidate") for e in errs), errs


def test_overlap_with_second_slot():
    doc = good()
    doc["slots"][1]["start"] = "2026-01-05T12:00:00"
    assert errors_of(doc) == ["slots[1]: slot 's1' overlaps slot 's0' (slots[0])"]


def test_missing_fields_and_types():
    doc = {"format": "mentoring-problem/2", "slots": [{"id": 3}], "leaders": [{"id": "x"}]}
    errs = errors_of(doc)
    assert "format: must be 'mentoring-problem/1', got 'mentoring-problem/2'" in errs
    assert "slots[0].id: must be a string, got int 3" in errs
    assert "slots[0].start: missing" in errs
    assert "leaders[0].organisation: missing" in errs
    assert "leaders[0].mentor_capacity: missing" in errs


def test_pinned_not_a_candidate_when_scores_given():
    doc = good()
    doc["scores"] = [{"mentor": "a", "mentee": "b", "score": 3}]
    load_problem(doc)
    doc["leaders"].append(leader("c", wants=True))
    doc["pinned"] = [{"mentor": "a", "mentee": "c"}]
    assert errors_of(doc) == [
        "pinned[0]: pinned pair ('a', 'c') is not a candidate: it is not listed in scores"]


def test_scores_entries_checked():
    doc = good()
    doc["scores"] = [{"mentor": "b", "mentee": "a", "score": 3},
                     {"mentor": "a", "mentee": "q", "score": 1},
                     {"mentor": "a", "mentee": "b", "score": "high"}]
    errs = errors_of(doc)
    assert "scores[0]: 'b' is not a mentor (mentor_capacity 0)" in errs
    assert "scores[1].mentee: unknown leader id 'q'" in errs
    assert "scores[2].score: must be a number, got str 'high'" in errs


def test_weights_in_rules():
    doc = good()
    doc["rules"]["weights"] = {"goals": 6, "same_borough": 0, "colour": 1}
    assert errors_of(doc) == [
        "rules.weights.colour: unknown weight (known: cross_organisation, cross_profession, "
        "cross_sector, goals, same_borough)"]
    del doc["rules"]["weights"]["colour"]
    p = load_problem(doc)
    assert p.rules.weights.goals == 6 and p.rules.weights.same_borough == 0
    assert load_problem(problem_to_dict(p)).rules.weights == p.rules.weights


def test_solution_round_trip():
    p = load_problem(good())
    s = optimiser.solve(p)
    d = optimiser.solution_to_dict(s)
    assert d["format"] == "mentoring-solution/1"
    back = optimiser.solution_from_dict(json.loads(json.dumps(d)))
    assert back.pairs == s.pairs and back.exchanges == s.exchanges
    assert back.status == s.status and back.objective == s.objective
    assert optimiser.check_solution(p, back) == []
