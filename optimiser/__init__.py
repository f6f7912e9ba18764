"""Mentoring and exchange matcher: the optimiser.

Dataclasses in, Solution out; no web framework, no database.  See
docs/optimiser-format.md for the problem and solution formats.
"""

from .check import check_solution
from .io import load_problem, problem_to_dict, solution_from_dict, solution_to_dict
from .model import (
    ExchangeResult,
    Fixed,
    Leader,
    PairResult,
    Pin,
    Problem,
    ProblemError,
    Rules,
    Score,
    ScoreWeights,
    Slot,
    Solution,
    Unmatched,
)
from .scoring import score_pair
from .solver import solve

__all__ = [
    "ExchangeResult",
    "Fixed",
    "Leader",
    "PairResult",
    "Pin",
    "Problem",
    "ProblemError",
    "Rules",
    "Score",
    "ScoreWeights",
    "Slot",
    "Solution",
    "Unmatched",
    "check_solution",
    "load_problem",
    "problem_to_dict",
    "score_pair",
    "solution_from_dict",
    "solution_to_dict",
    "solve",
]
