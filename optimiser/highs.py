"""Solver back ends: PuLP's in-process HiGHS with a bulk model transfer, and CBC.

``pulp.HiGHS`` hands the model to highspy one column and one row at a time and reports a
time-out as "Optimal"; :class:`BulkHiGHS` passes the model in bulk (CSR arrays),
keeps HiGHS's own model status, and exposes the MIP dual bound, so that the optimiser
can say ``optimal`` only when optimality is proven.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulp


@dataclass
class SolverResult:
    state: str  # "optimal" (solver finished), "limit" (stopped with a solution),
    # "no-solution" (stopped without one), "infeasible", "error"
    objective: float | None
    bound: float | None
    values: np.ndarray | None  # by variable order in ``variables``
    solver: str
    message: str = ""
    # the variables' names, in the order of ``values`` (None: read prob.variables())
    names: list[str] | None = None


def row_arrays(prob: pulp.LpProblem, index: dict[str, int]):
    """The rows of ``prob`` as arrays: lower and upper limits, and the coefficients in
    compressed sparse rows (row starts, column by ``index`` of the variable's name, value)."""
    lower, upper, starts, idx, vals = [], [], [0], [], []
    inf = math.inf
    for con in prob.constraints():
        for var, coef in con.items():
            if coef:
                idx.append(index[var.name])
                vals.append(coef)
        starts.append(len(idx))
        rhs = -con.constant
        sense = con.sense
        lower.append(rhs if sense >= 0 else -inf)
        upper.append(rhs if sense <= 0 else inf)
    return (np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64),
            np.array(starts, dtype=np.int32), np.array(idx, dtype=np.int32),
            np.array(vals, dtype=np.float64))


class BulkHiGHS(pulp.HiGHS):
    """pulp.HiGHS with a bulk model transfer and an honest status/bound (see module doc)."""

    def __init__(self, *args, on_log: Callable[[float, float | None, float | None], None]
                 | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_log = on_log
        self.start: dict[str, float] | None = None
        self.deadline: float | None = None  # time.perf_counter() value
        self.result: SolverResult | None = None
        self.variables: list[pulp.LpVariable] = []

    def buildSolverModel(self, lp):
        import highspy

        h = lp.solverModel
        self.variables = variables = lp.variables()
        index = {v.name: i for i, v in enumerate(variables)}
        n = len(variables)
        inf = highspy.kHighsInf
        obj = lp.objective
        cost = np.zeros(n)
        for var, coef in obj.items():
            cost[index[var.name]] = coef
        lb = np.array([-inf if v.lowBound is None else v.lowBound for v in variables],
                      dtype=np.float64)
        ub = np.array([inf if v.upBound is None else v.upBound for v in variables],
                      dtype=np.float64)
        h.addCols(n, cost, lb, ub, 0, np.zeros(n, dtype=np.int32), np.zeros(0, dtype=np.int32),
                  np.zeros(0))
        if self.mip:
            ints = np.array([i for i, v in enumerate(variables) if v.cat == pulp.LpInteger],
                            dtype=np.int32)
            if len(ints):
                h.changeColsIntegrality(len(ints), ints,
                                        np.full(len(ints), highspy.HighsVarType.kInteger))
        lower, upper, starts, idx, vals = row_arrays(lp, index)
        m = len(lower)
        if m:
            lower = np.where(np.isinf(lower), -inf, lower)
            upper = np.where(np.isinf(upper), inf, upper)
            h.addRows(m, lower, upper, len(idx), starts[:-1], idx, vals)
        h.changeObjectiveOffset(obj.constant)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if lp.sense == pulp.LpMaximize
                               else highspy.ObjSense.kMinimize)
        if self.start:
            pos = [(index[k], v) for k, v in self.start.items() if k in index]
            if pos:
                ix, vx = zip(*pos, strict=False)
                h.setSolution(len(ix), np.array(ix, dtype=np.int32), np.array(vx, dtype=float))
        if self.on_log is not None:
            start = time.monotonic()
            on_log = self.on_log

            def log(e):
                d = e.data_out
                on_log(time.monotonic() - start, d.objective_function_value, d.mip_dual_bound)

            # (an older highspy has no callback objects: then no progress while solving)
            with contextlib.suppress(AttributeError):
                h.cbMipImprovingSolution.subscribe(log)

    def actualSolve(self, lp):

        self.createAndConfigureSolver(lp)
        self.buildSolverModel(lp)
        h = lp.solverModel
        if self.deadline is not None:  # the transfer above counts against the time limit
            h.setOptionValue("time_limit", max(0.01, self.deadline - time.perf_counter()))
        h.run()
        state, obj, bound, values, message = _read_highs(
            h, self.mip and any(v.cat == pulp.LpInteger for v in self.variables))
        self.result = SolverResult(state, obj, bound, values, "highs", message,
                                   [v.name for v in self.variables])
        if values is not None:
            for v, val in zip(self.variables, values, strict=False):
                v.varValue = val
        status = {"optimal": pulp.LpStatusOptimal, "infeasible": pulp.LpStatusInfeasible,
                  "limit": pulp.LpStatusOptimal}.get(state, pulp.LpStatusNotSolved)
        lp.assignStatus(status)
        return status


def solve_highs(prob: pulp.LpProblem, *, mip: bool, time_limit: float | None,
                rel_gap: float, abs_gap: float,
                on_log: Callable[[float, float | None, float | None], None] | None = None,
                start: dict[str, float] | None = None) -> SolverResult:
    solver = BulkHiGHS(mip=mip, msg=False, timeLimit=time_limit, gapRel=rel_gap,
                       gapAbs=abs_gap, threads=None, on_log=on_log)
    solver.start = start
    if time_limit is not None:
        solver.deadline = time.perf_counter() + time_limit
    try:
        prob.solve(solver)
    except Exception as exc:  # the solver failed: report it, don't crash the caller
        return SolverResult("error", None, None, None, "highs", f"HiGHS failed: {exc}")
    assert solver.result is not None
    return solver.result


def solve_rows_highs(prob, *, mip: bool, time_limit: float | None, rel_gap: float,
                     abs_gap: float, start: dict[str, float] | None = None,
                     whole: bool = False) -> SolverResult:
    """Solve a binary :class:`optimiser.ip.RowProgramme` (maximise) with HiGHS directly: the
    columns and rows handed over as arrays, with no PuLP objects.

    As a linear programme (``mip=False``) HiGHS is kept with the programme between calls:
    a later call hands over only the rows added since (the decomposition's cuts) and HiGHS
    starts from its last basis (on M, 5-10 ms a cut round against 0.1 s from nothing).
    ``whole``: when the linear programme's values are not whole, the integer programme is
    solved instead (its answer is then exact)."""
    import highspy

    deadline = None if time_limit is None else time.perf_counter() + time_limit
    n = len(prob.costs)
    kept = None if mip else prob.__dict__.get("_highs")
    if kept is None:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", rel_gap)
        h.setOptionValue("mip_abs_gap", abs_gap)
        h.addCols(n, np.array(prob.costs, dtype=np.float64), np.zeros(n), np.ones(n), 0,
                  np.zeros(n, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        if mip and n:
            h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                    np.full(n, highspy.HighsVarType.kInteger))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        sent = 0
    else:
        h, sent = kept
    _add_rows(h, prob.rows[sent:])
    if not mip:
        prob.__dict__["_highs"] = (h, len(prob.rows))
    if start and kept is None:
        pos = [(int(k[1:]), v) for k, v in start.items() if k.startswith("x")]
        if pos:
            ix, vx = zip(*pos, strict=True)
            h.setSolution(len(ix), np.array(ix, dtype=np.int32), np.array(vx, dtype=float))
    # the transfer above counts against the time limit
    h.setOptionValue("time_limit", highspy.kHighsInf if deadline is None
                     else max(0.01, deadline - time.perf_counter()))
    try:
        h.run()
    except Exception as exc:  # the solver failed: report it, don't crash the caller
        prob.__dict__.pop("_highs", None)
        return SolverResult("error", None, None, None, "highs", f"HiGHS failed: {exc}")
    state, obj, bound, values, message = _read_highs(h, mip and n > 0)
    if whole and not mip and values is not None and np.any(np.minimum(values, 1 - values) > 1e-6):
        return solve_rows_highs(prob, mip=True, rel_gap=rel_gap, abs_gap=abs_gap, start=start,
                                time_limit=None if deadline is None
                                else max(0.01, deadline - time.perf_counter()))
    return SolverResult(state, obj, bound, values, "highs", message,
                        [f"x{i}" for i in range(n)])


def _add_rows(h, rows) -> None:
    """Hand ``rows`` ((terms, sense, rhs), see RowProgramme) to HiGHS ``h``."""
    import highspy

    if not rows:
        return
    inf = highspy.kHighsInf
    lower, upper, starts, idx, vals = [], [], [0], [], []
    for terms, sense, rhs in rows:
        for column, coef in terms:
            if coef:
                idx.append(column.index)
                vals.append(coef)
        starts.append(len(idx))
        lower.append(rhs if sense >= 0 else -inf)
        upper.append(rhs if sense <= 0 else inf)
    h.addRows(len(lower), np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64),
              len(idx), np.array(starts[:-1], dtype=np.int32), np.array(idx, dtype=np.int32),
              np.array(vals, dtype=np.float64))


def _read_highs(h, mip: bool):
    """HiGHS's own status as ours, the objective, the bound (the MIP dual bound, or the
    optimum of a linear programme), the values and HiGHS's words for the status."""
    import highspy

    st = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = np.array(h.getSolution().col_value) if has_sol else None
    obj = h.getObjectiveValue() if has_sol else None
    if mip:
        bound = info.mip_dual_bound
        bound = None if bound is None or not math.isfinite(bound) else bound
    else:
        bound = obj if st == S.kOptimal else None
    if st == S.kOptimal:
        state = "optimal"
    elif st in (S.kInfeasible, S.kUnboundedOrInfeasible):
        state = "infeasible"
    elif st in {S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kObjectiveBound,
                S.kObjectiveTarget, getattr(S, "kSolutionLimit", S.kInterrupt)}:
        state = "limit" if has_sol else "no-solution"
    else:
        state = "error"
    return state, obj, bound, values, h.modelStatusToString(st)


_BEST_POSSIBLE = re.compile(r"best possible\s*([-+0-9.eE]+)", re.IGNORECASE)


def solve_cbc(prob: pulp.LpProblem, *, mip: bool, time_limit: float | None,
              rel_gap: float, abs_gap: float) -> SolverResult:
    """Solve with CBC (the binary bundled with PuLP, run through COIN_CMD)."""
    from pulp.apis.coin_api import pulp_cbc_path

    fd, log_path = tempfile.mkstemp(suffix=".log", prefix="optimiser-cbc-")
    os.close(fd)
    try:
        solver = pulp.COIN_CMD(path=pulp_cbc_path, mip=mip, msg=False, timeLimit=time_limit,
                               gapRel=rel_gap, gapAbs=abs_gap, logPath=log_path)
        try:
            prob.solve(solver)
        except Exception as exc:
            return SolverResult("error", None, None, None, "cbc", f"CBC failed: {exc}")
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
    finally:
        os.unlink(log_path)
    variables = prob.variables()
    st, sol = prob.status, prob.sol_status
    has_sol = sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    values = np.array([v.varValue or 0.0 for v in variables]) if has_sol else None
    obj = pulp.value(prob.objective) if has_sol else None
    if st == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return SolverResult("infeasible", None, None, None, "cbc", "infeasible")
    if sol == pulp.LpSolutionOptimal:
        return SolverResult("optimal", obj, obj, values, "cbc", "optimal")
    bound = None
    found = _BEST_POSSIBLE.findall(log)
    if found and obj is not None:
        try:
            bound = max(abs(float(found[-1])), obj)
        except ValueError:
            bound = None
    return SolverResult("limit" if has_sol else "no-solution", obj, bound, values, "cbc",
                        "stopped")
