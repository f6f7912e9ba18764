"""solve(): progress, the large-input method against the whole programme, time limits."""

from __future__ import annotations

from unittest.mock import patch

import optimiser
import optimiser.solver as solver_module
from optimiser.generate import generate


def test_progress_stages():
    p = optimiser.load_problem(generate(6, 10, 2, seed=4))
    seen = []
    sol = optimiser.solve(p, progress=lambda stage, frac: seen.append((stage, frac)))
    stages = [s for s, _ in seen]
    assert stages[0] == "scoring" and stages[-1] == "done"
    assert {"building", "solving"} <= set(stages)
    fracs = [f for _, f in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0
    assert sol.status == "optimal"


def test_large_method_agrees_with_the_whole_programme():
    p = optimiser.load_problem(generate(25, 50, 6, seed=5))
    whole = optimiser.solve(p, exact=True)
    with patch.object(solver_module, "FULL_MODEL_MAX", -1):
        steps = optimiser.solve(p)
    assert whole.status == steps.status == "optimal"
    assert whole.objective == steps.objective
    assert "cut_rounds" in steps.stats and "cut_rounds" not in whole.stats
    assert optimiser.check_solution(p, steps) == []


def test_gap_and_time_limit_are_honoured():
    p = optimiser.load_problem(generate(25, 50, 6, seed=6))
    sol = optimiser.solve(p, time_limit=30, gap=0.5)
    assert sol.status in ("optimal", "feasible")
    assert sol.bound >= sol.objective
    assert (sol.bound - sol.objective) / sol.bound <= 0.5
    assert optimiser.check_solution(p, sol) == []


def test_public_api_names():
    for name in ("Problem", "Slot", "Leader", "Rules", "ScoreWeights", "Pin", "Fixed",
                 "Solution", "PairResult", "ExchangeResult", "Unmatched", "ProblemError",
                 "load_problem", "problem_to_dict", "solution_to_dict", "solution_from_dict",
                 "solve", "score_pair", "check_solution"):
        assert hasattr(optimiser, name), name
