"""solve(): the driver. Candidates, pre-checks, a solving strategy, stability, the solution.

The strategies (optimiser/strategies/) are the ways to solve the programme: the whole
programme at once, or decomposed (relax → schedule → cut → repair → whole programme) for
large inputs. This module picks one, runs the second (stability) objective when there is a
previous solution, and reads the solution (optimiser/solution.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .candidates import build_candidates
from .data import Data
from .greedy import greedy_schedule
from .highs import SolverResult, solve_cbc, solve_highs, solve_rows_highs
from .ip import Model, RowProgramme, size
from .model import Fixed, Problem, ScoreWeights, Solution, Unmatched
from .precheck import pinned_pairs_faults
from .solution import make_solution, solution_from_schedule
from .stability import Previous, keep_previous
from .strategies import Attempt, Decomposed, SolveContext, WholeProgramme
from .values import score_of

Progress = Callable[[str, float], None]

#: above this many pair-slot variables (K > 0), the decomposed strategy solves first
FULL_MODEL_MAX = 20_000
#: above this many candidate pairs, or mentees (with HiGHS), the matching part is solved as
#: a linear programme only: on the national instance HiGHS's integer search on it ran
#: 150-170 s past a 10 s limit, while the linear programme took 2.7 s of CPU, and the greedy
#: schedule of its matching came within 0.43 % of its bound. (With HiGHS the matching part
#: is always handed over as plain rows, not built with PuLP: 286,300 pairs on the national
#: instance took 34 s with PuLP.)
MATCHING_LINEAR_ABOVE = 100_000
MATCHING_LINEAR_ABOVE_MENTEES = 10_000


def _highs_available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def _cents(values: list[float]) -> bool:
    return all(abs(v * 100 - round(v * 100)) < 1e-6 for v in values)


def solve(problem: Problem, *, time_limit: float | None = None, gap: float | None = None,
          solver: str = "highs", fixed: Fixed | None = None, previous: Solution | None = None,
          progress: Progress | None = None, weights: ScoreWeights | None = None,
          candidates_per_mentee: int | None = None, exact: bool = False,
          previous_tolerance: float = 0.0, started: float | None = None) -> Solution:
    """Solve ``problem``; see docs/optimiser-format.md for the semantics.

    ``time_limit`` (seconds) and ``gap`` (relative) bound the search; the status is
    ``optimal`` only when optimality is proven. The time limit is for the whole call,
    building included, counted from ``started`` (a ``time.perf_counter()`` value; default:
    now; the command line passes the moment it started, so that reading the file counts
    too). With a time limit a feasible answer is found first without a solver
    (optimiser/greedy.py) and returned when the solver finds nothing better in the time.
    ``solver`` is ``"highs"`` (default, in-process) or ``"cbc"`` (also the fallback when
    highspy is missing).  ``fixed`` pairs and exchanges stay untouched; ``previous`` is an
    earlier solution to stay close to: a second objective after the score (the score held,
    then the fewest earlier pairs changed, then the fewest earlier exchanges moved;
    ``stats["moved"]``).
    ``previous_tolerance`` (relative, default 0: the score is held to the cent) lets the
    score fall by that share of itself for fewer changes.
    ``weights`` override ``problem.rules.weights``; ``candidates_per_mentee`` prunes to
    the best N mentors per mentee (None: automatic for large inputs, 0: never).
    Large programmes (K > 0) are solved in steps: the matching part alone gives an
    upper bound and a matching; if that matching can be scheduled it is proven optimal;
    otherwise conflict cuts, a repair step and (where its size allows) the whole
    programme, warm-started, follow with the time left (docs/optimiser-format.md).
    ``exact=True`` always solves the whole programme in one go.

    With ``rules.priority_floor`` the priority-group mentees are matched at a rate at least
    the overall rate; when no solution can (pinned or fixed pairs), the problem is solved
    again without the floor, and ``stats["priority_floor"]`` says so.
    """
    started = time.perf_counter() if started is None else started
    options = dict(gap=gap, solver=solver, fixed=fixed, previous=previous, progress=progress,
                   weights=weights, candidates_per_mentee=candidates_per_mentee, exact=exact,
                   previous_tolerance=previous_tolerance)
    solution = _solve_once(problem, time_limit=time_limit, started=started, **options)
    if not problem.rules.priority_floor:
        return solution
    if solution.status == "infeasible":  # perhaps because of the floor: try without
        left = None if time_limit is None else max(
            1.0, time_limit - (time.perf_counter() - started))
        without = replace(problem, rules=replace(problem.rules, priority_floor=False))
        solution = _solve_once(without, time_limit=left, started=None, **options)
        return replace(solution, stats={**solution.stats,
                                        "priority_floor": "not feasible: solved without it"})
    met = solution.stats.get("priority_rate") is None or (
        solution.stats["priority_rate"] >= solution.stats["overall_rate"] - 1e-9)
    return replace(solution, stats={**solution.stats,
                                    "priority_floor": "met" if met else "not met"})


def _solve_once(problem: Problem, *, time_limit: float | None = None, gap: float | None = None,
                solver: str = "highs", fixed: Fixed | None = None,
                previous: Solution | None = None, progress: Progress | None = None,
                weights: ScoreWeights | None = None,
                candidates_per_mentee: int | None = None, exact: bool = False,
                previous_tolerance: float = 0.0, started: float | None = None) -> Solution:
    """One solve of ``problem`` (see :func:`solve`)."""
    started = time.perf_counter() if started is None else started
    deadline = None if time_limit is None else started + time_limit

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    if solver not in ("highs", "cbc"):
        raise ValueError(f"unknown solver {solver!r} (highs or cbc)")
    if solver == "highs" and not _highs_available():
        solver = "cbc"
    report("scoring", 0.0)
    data = Data(problem, weights or problem.rules.weights, fixed)
    candidates = build_candidates(data, candidates_per_mentee, deadline=deadline)
    stats: dict = {"solver": solver, "candidate_pairs": len(candidates.pairs),
                   "pruned_to_per_mentee": candidates.pruned_to}
    faults = pinned_pairs_faults(data, candidates)
    if faults:
        stats.update(variables=0, constraints=0, solve_seconds=0.0,
                     build_seconds=round(time.perf_counter() - started, 3))
        report("done", 1.0)
        return Solution("infeasible", None, None, unmatched=tuple(
            Unmatched(data.leaders[e].id, "the problem is infeasible", "infeasible")
            for e in candidates.mentees), stats=stats, messages=tuple(faults))

    scored = time.perf_counter()
    in_cents = _cents([p.weight for p in candidates.pairs])
    fallback = None
    if deadline is not None:
        # a feasible answer without a solver first, in case the solver finds none in time;
        # when building took all the time (a busy machine), still a tenth of the limit (at
        # most 5 s) for it: an empty answer helps nobody
        fallback = greedy_schedule(data, candidates.pairs, deadline=max(
            deadline, time.perf_counter() + min(5.0, 0.1 * time_limit)))
        stats["greedy_seconds"] = round(time.perf_counter() - scored, 3)
    report("building", 0.2)
    context = SolveContext(
        data=data, candidates=candidates.pairs,
        run_solver=_solver_runner(solver, gap, in_cents, time_limit, report),
        deadline=deadline, time_limit=time_limit,
        score_tolerance=0.01 if in_cents else 1e-6,
        wanted_gap=gap if gap is not None else 0.0,
        as_integer_programme=data.exchanges_per_pair > 0 or solver == "cbc",
        stats=stats, report=report, fallback=fallback,
        previous_pairs=frozenset() if previous is None or not in_cents else frozenset(
            (data.lidx[mentor], data.lidx[mentee])
            for mentor, mentee in Previous.of(previous).pairs
            if mentor in data.lidx and mentee in data.lidx),
        matching_as_rows=solver == "highs",
        matching_linear=solver == "highs" and (
            len(candidates.pairs) > MATCHING_LINEAR_ABOVE
            or len(candidates.mentees) > MATCHING_LINEAR_ABOVE_MENTEES))
    attempt = None
    if _decompose(data, candidates.pairs, exact):
        attempt = Decomposed().solve(context)
    if attempt is None and (fallback is None or context.fits(_variables(candidates.pairs))):
        attempt = WholeProgramme().solve(context)
    if attempt is None:  # no time to build the whole programme: the answer found without
        attempt = Attempt(None, None, scheduled=fallback)
    elif fallback is not None and attempt.scheduled is None and \
            attempt.result.state not in ("infeasible", "error") and (
                score_of(attempt.model, attempt.result) or -1.0) < fallback.score:
        # the solver found nothing better in the time: the answer found without a solver
        attempt.scheduled = fallback
        attempt.proven_bound = attempt.proven_bound if attempt.proven_bound is not None \
            else attempt.result.bound
    if attempt.scheduled is not None:
        stats.update(solve_seconds=round(context.solve_seconds, 3),
                     build_seconds=round(context.build_seconds, 3),
                     scoring_seconds=round(scored - started, 3), answer="found without a solver")
        if attempt.model is not None:
            stats.update(zip(("variables", "constraints"), size(attempt.model), strict=True))
        if previous is not None:
            stats["stability"] = "not run: no solver's answer in the time"
        solution = solution_from_schedule(
            data, candidates, attempt.scheduled, attempt.proven_bound, in_cents, stats,
            Previous.of(previous) if previous is not None else None)
        report("done", 1.0)
        return solution
    model, result = attempt.model, attempt.result
    if previous is not None and result.values is not None and \
            result.state in ("optimal", "limit") and context.seconds_to_deadline() > 0.5:
        # the second objective: hold the score, keep what the previous solution had
        stability_started = time.perf_counter()
        model, result, more = keep_previous(
            data, model, result, Previous.of(previous), candidates.pairs,
            _score_tolerance(result, model, in_cents, previous_tolerance),
            lambda prob, start: context.run_solver(prob, True, context.time_left(), start,
                                                   gaps=(0.0, 0.5)),
            context.time_left(), attempt.holds_every_candidate)
        stats.update(more)
        stats["stability_seconds"] = round(time.perf_counter() - stability_started, 3)
    variables, constraints = size(model)
    stats.update(variables=variables, constraints=constraints,
                 scoring_seconds=round(scored - started, 3),
                 build_seconds=round(context.build_seconds, 3),
                 solve_seconds=round(context.solve_seconds, 3),
                 solver_status=result.message)
    solution = make_solution(data, candidates, model, result, in_cents, stats,
                             Previous.of(previous) if previous is not None else None,
                             attempt.proven_bound)
    report("done", 1.0)
    return solution


def _variables(pairs) -> int:
    """Pair-slot variables (and one a pair) of the whole programme over ``pairs``."""
    return len(pairs) + sum(len(p.slots) for p in pairs if p.need)


def _decompose(data: Data, pairs, exact: bool) -> bool:
    """Large inputs (K > 0, more pair-slot variables than FULL_MODEL_MAX) are decomposed."""
    variables = sum(len(p.slots) for p in pairs if p.need)
    return data.exchanges_per_pair > 0 and variables > FULL_MODEL_MAX and not exact


def _solver_runner(solver: str, gap: float | None, in_cents: bool, time_limit: float | None,
                   report: Callable[[str, float], None]):
    """solve(programme, as an integer programme?, time limit, start values, gaps=None): the
    chosen solver with the score's gaps (``gaps``, relative and absolute, override them)."""
    rel_gap = gap if gap is not None else 0.0
    abs_gap = 0.0099 if in_cents else 1e-6
    first_gap: list[float | None] = [None]

    def on_log(elapsed: float, objective: float | None, bound: float | None) -> None:
        if time_limit:
            fraction = min(1.0, elapsed / time_limit)
        elif objective is not None and bound is not None and bound:
            now = abs(bound - objective) / max(1.0, abs(bound))
            first_gap[0] = first_gap[0] or max(now, 1e-9)
            fraction = 1.0 - min(1.0, now / first_gap[0])
        else:
            fraction = 0.0
        report("solving", 0.4 + 0.55 * fraction)

    def run(prob, integer: bool, limit: float | None, start=None, *,
            gaps: tuple[float, float] | None = None, whole: bool = False) -> SolverResult:
        rel, absolute = gaps or (rel_gap, abs_gap)
        # nothing to decide (CBC cannot read an empty model); every variable of ours is in
        # the objective or a row (prob.variables() would rescan and sort them all)
        if isinstance(prob, RowProgramme):  # the matching part
            return solve_rows_highs(prob, mip=integer, time_limit=limit, rel_gap=rel,
                                    abs_gap=absolute, start=start, whole=whole)
        if not prob.objective and not prob.numConstraints():
            return SolverResult("optimal", 0.0, 0.0, np.zeros(0), solver, "empty model", [])
        if solver == "highs":
            result = solve_highs(prob, mip=integer, time_limit=limit, rel_gap=rel,
                                 abs_gap=absolute, on_log=on_log if gaps is None else None,
                                 start=start)
            if not integer and result.values is not None and any(
                    min(v, 1 - v) > 1e-6 for v in result.values):
                # not integral (the priority floor's row): solve as an integer programme
                result = solve_highs(prob, mip=True, time_limit=limit, rel_gap=rel,
                                     abs_gap=absolute)
            return result
        return solve_cbc(prob, mip=True, time_limit=limit, rel_gap=rel, abs_gap=absolute)

    return run


def _score_tolerance(result: SolverResult, model: Model, in_cents: bool,
                     relative: float) -> float:
    """How far below the first solve's score the second (stability) solve may go."""
    exact = 0.005 if in_cents else 1e-6
    if not relative:
        return exact
    return exact + relative * abs(score_of(model, result) or 0.0)
