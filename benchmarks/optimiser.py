"""Optimiser benchmarks.

    python benchmarks/optimiser.py [--only M|L|K0|baseline|pruning|stability|national]
                                   [--repeat N] [--json FILE]
                                   [--before REV]

Instances (made by ``optimiser.generate``, 12 weeks of half-day slots, seeds fixed):
  M   200 mentors, 400 mentees, K = 2, computed scores          (target: optimal, in <= 1 s
                                                                  of solve time)
  L   1,500 mentors, 3,500 mentees, K = 2                        (target: <= 1 % gap, 120 s,
                                                                  < 4 GiB)
  K0  M and L with K = 0 against an exact min-cost flow (networkx) of the same assignment
  baseline  the straightforward formulation (benchmarks/_baseline.py) on M
  pruning   K = 0 on M: the optimum with candidate pruning against none (exact, by flow)
  national  N (6,000 mentors, 14,000 mentees, K = 2) through the command line with a 60 s
            limit, the whole command timed (target: within 1 % of its bound, < 8 GiB), beside
            M, the straightforward model on M and N at K = 0 by us and by min-cost flow
  stability every N-th pair of M's optimum forbidden in turn and re-solved with the optimum
            as previous (target: at most 3 pairs changed with previous_tolerance 1e-4)

Each measurement runs in its own subprocess; peak memory is that process's ru_maxrss.
Needs networkx (the ``bench`` extra) besides the optimiser's own dependencies.

``--before REV`` also runs each of the optimiser's own rows with the optimiser package of
git revision REV (exported to a temporary folder), in the same run: figures before and
after a change, measured under the same load. (The straightforward model and min-cost
flow rows read the current package's internals, so they run once.)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the optimiser package measured: this checkout's, or (--before) an exported revision's
ROOT = Path(os.environ.get("BENCH_OPTIMISER_ROOT") or HERE.parent)
# this file is called optimiser.py: keep its folder off the path so that ``import optimiser``
# finds the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
INSTANCES = {
    "M": dict(mentors=200, mentees=400, weeks=12, seed=1),
    "L": dict(mentors=1500, mentees=3500, weeks=12, seed=2),
    # issue 18 item 5: a national round
    "N": dict(mentors=6000, mentees=14000, weeks=12, seed=3),
}


def _problem(name: str, k: int):
    from optimiser import load_problem
    from optimiser.generate import generate

    spec = INSTANCES[name]
    doc = generate(spec["mentors"], spec["mentees"], spec["weeks"], spec["seed"], exchanges=k)
    return load_problem(doc)


# -- workers (run in a subprocess) ---------------------------------------------------------
def worker_ours(name: str, k: int, time_limit: float | None, gap: float | None,
                per_mentee: int | None) -> dict:
    from optimiser import check_solution, solve

    problem = _problem(name, k)
    t = time.perf_counter()
    sol = solve(problem, time_limit=time_limit, gap=gap, candidates_per_mentee=per_mentee)
    total = time.perf_counter() - t
    s = sol.stats
    violations = check_solution(problem, sol)
    return {"status": sol.status, "objective": sol.objective, "bound": sol.bound,
            "gap": s.get("gap"), "pairs": len(sol.pairs), "exchanges": len(sol.exchanges),
            "variables": s.get("variables"), "constraints": s.get("constraints"),
            "candidate_pairs": s.get("candidate_pairs"),
            "scoring_seconds": s.get("scoring_seconds"), "build_seconds": s.get("build_seconds"),
            "solve_seconds": s.get("solve_seconds"), "total_seconds": round(total, 3),
            "cut_rounds": s.get("cut_rounds"), "violations": len(violations)}


def worker_baseline(name: str, k: int, time_limit: float | None) -> dict:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_baseline", HERE / "_baseline.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    solve_baseline = mod.solve_baseline

    r = solve_baseline(_problem(name, k), time_limit=time_limit)
    r["total_seconds"] = round(r["scoring_seconds"] + r["build_seconds"] + r["solve_seconds"], 3)
    return r


def worker_flow(name: str, per_mentee: int | None) -> dict:
    """Exact K = 0 optimum by min-cost flow (networkx) over the same candidate pairs."""
    import networkx as nx

    from optimiser.candidates import build_candidates
    from optimiser.data import Data

    problem = _problem(name, 0)
    data = Data(problem, problem.rules.weights, None)
    t0 = time.perf_counter()
    pairs = build_candidates(data, per_mentee).pairs
    t1 = time.perf_counter()
    g = nx.DiGraph()
    mentees = {p.mentee for p in pairs}
    n = len(mentees)
    g.add_node("s", demand=-n)
    g.add_node("t", demand=n)
    g.add_edge("s", "t", capacity=n, weight=0)
    for m in {p.mentor for p in pairs}:
        g.add_edge("s", ("m", m), capacity=data.leaders[m].mentor_capacity, weight=0)
    for e in mentees:
        g.add_edge(("e", e), "t", capacity=1, weight=0)
    for p in pairs:
        g.add_edge(("m", p.mentor), ("e", p.mentee), capacity=1, weight=-round(p.weight * 100))
    cost, flow = nx.network_simplex(g)
    t2 = time.perf_counter()
    return {"status": "optimal", "objective": round(-cost / 100, 6),
            "pairs": sum(1 for p in pairs if flow[("m", p.mentor)][("e", p.mentee)] > 0),
            "candidate_pairs": len(pairs), "scoring_seconds": round(t1 - t0, 3),
            "build_seconds": None, "solve_seconds": round(t2 - t1, 3),
            "total_seconds": round(t2 - t1, 3)}


def worker_cli(name: str, k: int, time_limit: float) -> dict:
    """``python -m optimiser solve FILE --time-limit T`` as a user runs it: the wall time of
    the whole command (reading the file, building, solving, writing the answer) and its peak
    memory."""
    import tempfile

    from optimiser import check_solution, load_problem
    from optimiser.generate import generate
    from optimiser.io import solution_from_dict

    spec = INSTANCES[name]
    doc = generate(spec["mentors"], spec["mentees"], spec["weeks"], spec["seed"], exchanges=k)
    with tempfile.TemporaryDirectory() as folder:
        problem_file, answer_file = Path(folder, "problem.json"), Path(folder, "answer.json")
        problem_file.write_text(json.dumps(doc))
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "optimiser", "solve", str(problem_file),
                               "--time-limit", str(time_limit), "-o", str(answer_file), "-q"],
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t
        if not answer_file.exists():
            return {"status": f"none (exit {proc.returncode})", "total_seconds": round(wall, 3),
                    "peak_mib": round(
                        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}
        answer = json.loads(answer_file.read_text())
    sol = solution_from_dict(answer)
    s = sol.stats
    return {"status": sol.status, "objective": sol.objective, "bound": sol.bound,
            "gap": s.get("gap"), "pairs": len(sol.pairs), "exchanges": len(sol.exchanges),
            "candidate_pairs": s.get("candidate_pairs"),
            "pruned_to": s.get("pruned_to_per_mentee"), "answer": s.get("answer", "solver"),
            "scoring_seconds": s.get("scoring_seconds"), "build_seconds": s.get("build_seconds"),
            "solve_seconds": s.get("solve_seconds"), "total_seconds": round(wall, 3),
            "violations": len(check_solution(load_problem(doc), sol)),
            "command_peak_mib": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def worker_stability(name: str, every: int, tolerance: float) -> dict:
    """Issue 18 item 3 on M: forbid one pair of the optimum (every ``every``-th), solve again
    with the optimum as ``previous``; how many of the optimum's pairs change (the forbidden
    one included)."""
    import dataclasses

    from optimiser import Pin, check_solution, solve

    problem = _problem(name, 2)
    optimum = solve(problem)
    before = {(p.mentor, p.mentee) for p in optimum.pairs}
    changed, seconds, proven, faults = [], [], 0, 0
    for pair in optimum.pairs[::every]:
        forbid = dataclasses.replace(problem, excluded=(Pin(pair.mentor, pair.mentee),))
        t = time.perf_counter()
        again = solve(forbid, previous=optimum, previous_tolerance=tolerance)
        seconds.append(time.perf_counter() - t)
        changed.append(len(before - {(p.mentor, p.mentee) for p in again.pairs}))
        proven += again.stats.get("stability") == "proven"
        faults += len(check_solution(forbid, again))
    counts = {str(k): changed.count(k) for k in sorted(set(changed))}
    return {"status": optimum.status, "objective": optimum.objective, "pairs": len(before),
            "sampled": len(changed), "changed_max": max(changed),
            "changed_median": statistics.median(changed),
            "changed_mean": round(statistics.mean(changed), 2),
            "share_at_most_3": round(sum(c <= 3 for c in changed) / len(changed), 3),
            "distribution": counts, "stability_proven": proven, "violations": faults,
            "solve_seconds": round(statistics.median(seconds), 3),
            "total_seconds": round(sum(seconds), 3)}


def _worker_main(argv: list[str]) -> None:
    kind, args = argv[0], json.loads(argv[1])
    fn = {"ours": worker_ours, "baseline": worker_baseline, "flow": worker_flow,
          "stability": worker_stability, "cli": worker_cli}[kind]
    out = fn(**args)
    # peak resident memory of this process (Linux reports kilobytes)
    out["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(out))


# -- driver --------------------------------------------------------------------------------
def run(kind: str, repeat: int, root: Path | None = None, **args) -> dict:
    results = [measure(kind, root, **args) for _ in range(repeat)]
    med = dict(results[len(results) // 2])
    for key in ("total_seconds", "build_seconds", "solve_seconds", "scoring_seconds",
                "peak_mib"):
        vals = [r[key] for r in results if r.get(key) is not None]
        if vals:
            med[key] = round(statistics.median(vals), 3)
    med["runs"] = repeat
    return med


def measure(kind: str, root: Path | None = None, **args) -> dict:
    """Run one measurement in a fresh Python process (which reports its own peak RSS),
    with the optimiser package of ``root`` (default: this checkout)."""
    env = dict(os.environ)
    root = root or HERE.parent
    env["BENCH_OPTIMISER_ROOT"] = str(root)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, json.dumps(args)],
                          capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


def _export(rev: str) -> Path:
    """The optimiser package of git revision ``rev``, exported to a temporary folder."""
    import tarfile
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="optimiser-before-"))
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "optimiser"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:.2f}"
    return str(v)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["M", "L", "K0", "baseline", "pruning", "stability",
                                       "national"])
    ap.add_argument("--stability-every", type=int, default=10, metavar="N",
                    help="stability: forbid every N-th pair of M's optimum (1: every pair)")
    ap.add_argument("--stability-tolerance", type=float, action="append", metavar="T",
                    help="stability: previous_tolerance (repeatable; default 0)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--baseline-time-limit", type=float, default=600.0)
    ap.add_argument("--before", metavar="REV",
                    help="also run the optimiser's rows with git revision REV's package")
    args = ap.parse_args()
    before_root = _export(args.before) if args.before else None

    def want(k: str) -> bool:
        return args.only in (None, k)

    rows: list[tuple[str, dict]] = []

    def add(label: str, res: dict) -> None:
        rows.append((label, res))
        print(f"{label:34s} " + " ".join(f"{k}={_fmt(v)}" for k, v in res.items()),
              flush=True)

    def ours(label: str, **kw) -> None:
        """A row of the optimiser's own, and with --before the same row before."""
        if before_root is not None:
            add(f"{label} [before: {args.before}]", run("ours", args.repeat, before_root, **kw))
        add(label, run("ours", args.repeat, **kw))

    if want("M") or want("baseline") or args.only == "national":
        ours("M K=2 ours", name="M", k=2, time_limit=None, gap=None, per_mentee=None)
    if want("baseline") or args.only == "national":
        add("M K=2 straightforward (baseline)",
            run("baseline", args.repeat, name="M", k=2, time_limit=args.baseline_time_limit))
    if want("L"):
        ours("L K=2 ours (120 s, gap 1%)", name="L", k=2, time_limit=120.0, gap=0.01,
             per_mentee=None)
        ours("L K=2 ours (120 s, gap 0)", name="L", k=2, time_limit=120.0, gap=None,
             per_mentee=None)
    if want("K0"):
        for name in ("M", "L"):
            ours(f"{name} K=0 ours", name=name, k=0, time_limit=None, gap=None,
                 per_mentee=None)
            add(f"{name} K=0 min-cost flow (networkx)",
                run("flow", args.repeat, name=name, per_mentee=None))
    if args.only == "national":  # not in the default run: minutes, and GiBs of memory
        add("N K=2 python -m optimiser solve --time-limit 60 (whole command)",
            run("cli", 1, name="N", k=2, time_limit=60.0))
        ours("N K=0 ours (60 s)", name="N", k=0, time_limit=60.0, gap=None, per_mentee=None)
        add("N K=0 min-cost flow (networkx)", run("flow", 1, name="N", per_mentee=None))
    if args.only == "stability":  # not in the default run: a solve for each pair sampled
        for tolerance in args.stability_tolerance or [0.0]:
            add(f"M K=2 stability, every {args.stability_every}th pair forbidden, "
                f"tolerance {tolerance:g}",
                run("stability", 1, name="M", every=args.stability_every, tolerance=tolerance))
    if want("pruning"):
        for n in (5, 10, 20, 0):
            add(f"M K=0 flow, {n or 'no'} pruning",
                run("flow", 1, name="M", per_mentee=n))
    print()
    print("| run | status | objective | gap | pairs | exchanges | build s | solve s | "
          "total s | peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r.get('status', '-')} | {_fmt(r.get('objective'))} | "
              f"{_fmt(r.get('gap'))} | {_fmt(r.get('pairs'))} | {_fmt(r.get('exchanges'))} | "
              f"{_fmt(r.get('build_seconds'))} | {_fmt(r.get('solve_seconds'))} | "
              f"{_fmt(r.get('total_seconds'))} | {_fmt(r.get('peak_mib'))} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([{"run": label, **r} for label, r in rows], f, indent=1)


if __name__ == "__main__":
    main()
