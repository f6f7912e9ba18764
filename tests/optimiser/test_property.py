"""Property-based tests: tiny random problems against an exhaustive search, and every
solution through the independent feasibility checker."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimiser.solver as solve_module
from optimiser import check_solution, load_problem, solve
from optimiser.bruteforce import brute_force

# half-day slots across a month end and three ISO weeks; PM slots are 2 hours
POOL = [(d, h) for d in ("2026-01-29", "2026-01-30", "2026-02-02", "2026-02-03",
                         "2026-02-09", "2026-02-10") for h in ("AM", "PM")]
TOPICS = ["finance", "safety", "strategy", "coaching"]


@st.composite
def problems(draw, scores: bool = False):
    n_slots = draw(st.integers(1, 6))
    picked = sorted(draw(st.lists(st.sampled_from(range(len(POOL))), min_size=n_slots,
                                  max_size=n_slots, unique=True)))
    slots = []
    for i in picked:
        d, h = POOL[i]
        a, b = ("09:00", "13:00") if h == "AM" else ("13:00", "15:00")
        slots.append({"id": f"{d}{h}", "start": f"{d}T{a}", "end": f"{d}T{b}"})
    ids = [s["id"] for s in slots]
    n = draw(st.integers(3, 6))
    leaders = []
    for i in range(n):
        cap = draw(st.sampled_from([0, 1, 1, 2]))
        leaders.append({
            "id": f"p{i}", "profession": draw(st.sampled_from(["nursing", "pharmacy"])),
            "organisation": draw(st.sampled_from(["A", "B", "C", "D"])),
            "sector": draw(st.sampled_from(["acute", "community"])),
            "borough": draw(st.sampled_from(["Bexley", "Lambeth"])),
            "mentor_capacity": cap,
            "wants_mentor": draw(st.booleans()) if cap else draw(st.sampled_from([True, True,
                                                                                   False])),
            "priority": draw(st.booleans()),
            "strengths": draw(st.lists(st.sampled_from(TOPICS), unique=True, max_size=3)),
            "goals": draw(st.lists(st.sampled_from(TOPICS), unique=True, max_size=3)),
            # dense diaries, so that most problems have exchanges to schedule
            "available": draw(st.lists(st.sampled_from(ids), unique=True,
                                       min_size=len(ids) // 2)),
        })
        hours = draw(st.sampled_from([None, None, None, 2, 4, 6, 8]))
        if hours is not None:
            leaders[-1]["protected_hours_per_month"] = hours
        hosted = draw(st.sampled_from([None, None, None, 0, 1]))
        if hosted is not None:
            leaders[-1]["max_hosted_per_week"] = hosted
        # the notice a host's organisation needs: no hosting before this
        host_from = draw(st.sampled_from([None, None, None, "2026-01-30", "2026-02-03T13:00",
                                          "2026-02-09"]))
        if host_from is not None:
            leaders[-1]["host_from"] = host_from
    rules = {"exchanges_per_pair": draw(st.sampled_from([0, 1, 2, 2, 2])),
             "min_days_between_exchanges": draw(st.sampled_from([0, 1, 3, 7])),
             "reciprocal": draw(st.booleans()),
             "allow_same_organisation": draw(st.booleans())}
    mentors = [ld["id"] for ld in leaders if ld["mentor_capacity"] > 0]
    mentees = [ld["id"] for ld in leaders if ld["wants_mentor"]]
    pairs = [(m, e) for m in mentors for e in mentees if m != e]
    doc = {"format": "mentoring-problem/1", "slots": slots, "leaders": leaders,
           "rules": rules, "pinned": [], "excluded": []}
    if scores and pairs:
        chosen = draw(st.lists(st.sampled_from(pairs), unique=True))
        doc["scores"] = [{"mentor": m, "mentee": e, "score": draw(st.integers(0, 10))}
                         for m, e in chosen]
        pairs = chosen
    if pairs and draw(st.integers(0, 2)) == 0:
        m, e = draw(st.sampled_from(pairs))
        doc["pinned"].append({"mentor": m, "mentee": e})
    if pairs and draw(st.booleans()):
        m, e = draw(st.sampled_from(pairs))
        if {"mentor": m, "mentee": e} not in doc["pinned"]:
            doc["excluded"].append({"mentor": m, "mentee": e})
    return doc


def _agree(doc: dict, **kw) -> None:
    p = load_problem(doc)
    expected = brute_force(p)
    s = solve(p, **kw)
    assert check_solution(p, s) == [], (check_solution(p, s), s)
    if expected is None:
        assert s.status == "infeasible", (s, doc)
        assert s.messages
    else:
        assert s.status == "optimal", (s, doc)
        assert abs(s.objective - expected) < 1e-6, (s.objective, expected, doc)
        assert abs(s.bound - expected) < 1e-6


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_highs_matches_exhaustive_search(doc):
    _agree(doc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(scores=True))
def test_given_scores_match_exhaustive_search(doc):
    _agree(doc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_large_instance_path_matches_exhaustive_search(doc):
    """The path for large inputs (matching part, schedule, conflict cuts, whole
    programme) forced on tiny problems."""
    with patch.object(solve_module, "FULL_MODEL_MAX", -1):
        _agree(doc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_cbc_matches_exhaustive_search(doc):
    _agree(doc, solver="cbc")
