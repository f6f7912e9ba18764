"""Command line: ``python -m optimiser solve|generate``."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .generate import generate
from .io import load_problem, solution_from_dict, solution_to_dict
from .model import ProblemError
from .solver import solve


def _progress_printer(stream):
    start = time.monotonic()
    last = {"stage": None, "t": 0.0}

    def progress(stage: str, fraction: float) -> None:
        now = time.monotonic() - start
        # stage changes always; solver progress at most every 5 s
        if stage != last["stage"] or now - last["t"] >= 5.0:
            print(f"[{now:7.1f}s] {stage} {fraction:4.0%}", file=stream, flush=True)
            last.update(stage=stage, t=now)

    return progress


def _cmd_solve(args) -> int:
    # the time limit is the user's: it counts from here, reading the problem included
    started = time.perf_counter()
    try:
        with open(args.problem, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        print(f"{args.problem}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"{args.problem}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}",
              file=sys.stderr)
        return 2
    try:
        problem = load_problem(data)
    except ProblemError as exc:
        for e in exc.errors:
            print(e, file=sys.stderr)
        return 2
    previous = None
    if args.previous:
        previous = _read_previous(args.previous)
        if previous is None:
            return 2
    progress = None if args.quiet else _progress_printer(sys.stderr)
    time_limit = args.time_limit
    if time_limit is not None:
        # keep back a little for writing the answer (a national round's is 10 MB of JSON)
        time_limit = max(0.5 * time_limit, time_limit - min(5.0, 0.05 * time_limit + 0.5))
    solution = solve(problem, time_limit=time_limit, gap=args.gap, solver=args.solver,
                     progress=progress, candidates_per_mentee=args.candidates_per_mentee,
                     previous=previous, previous_tolerance=args.previous_tolerance,
                     started=started)
    text = json.dumps(solution_to_dict(solution), indent=2)
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    if not args.quiet:
        s = solution.stats
        print(f"{solution.status}: objective {solution.objective} bound {solution.bound}, "
              f"{len(solution.pairs)} pairs, {len(solution.exchanges)} exchanges, "
              f"{len(solution.unmatched)} unmatched; build {s.get('build_seconds')} s, "
              f"solve {s.get('solve_seconds')} s", file=sys.stderr)
        if previous is not None:
            print(f"against {args.previous}: {s.get('moved_pairs')} earlier pair(s) changed, "
                  f"{s.get('moved_exchanges')} earlier exchange(s) moved", file=sys.stderr)
        for m in solution.messages:
            print(m, file=sys.stderr)
    return 0 if solution.status in ("optimal", "feasible") else 1


def _read_previous(path: str):
    """The solution file given with --previous, or None (the faults printed)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return None
    except json.JSONDecodeError as exc:
        print(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}",
              file=sys.stderr)
        return None
    try:
        return solution_from_dict(data)
    except ProblemError as exc:
        for e in exc.errors:
            print(f"{path}: {e}", file=sys.stderr)
        return None


def _cmd_generate(args) -> int:
    doc = generate(args.mentors, args.mentees, args.weeks, args.seed,
                   exchanges=args.exchanges, min_days=args.min_days)
    text = json.dumps(doc, indent=1)
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


def _positive(v: str) -> float:
    x = float(v)
    if x <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return x


def _gap(v: str) -> float:
    x = float(v)
    if not 0 <= x < 1:
        raise argparse.ArgumentTypeError("must be in [0, 1)")
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m optimiser",
                                 description="Mentoring and exchange matcher")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a mentoring-problem/1 file")
    s.add_argument("problem")
    s.add_argument("-o", "--output", help="solution file (default: standard output)")
    s.add_argument("--time-limit", type=_positive, help="seconds")
    s.add_argument("--gap", type=_gap, help="relative gap at which to stop (default 0)")
    s.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    s.add_argument("--candidates-per-mentee", type=int, default=None,
                   help="prune to the best N mentors per mentee (default: automatic; 0: none)")
    s.add_argument("--previous", metavar="SOLUTION.json",
                   help="an earlier solution to stay close to: after the score, the fewest "
                        "earlier pairs changed, then the fewest earlier exchanges moved")
    s.add_argument("--previous-tolerance", type=_gap, default=0.0, metavar="T",
                   help="with --previous: let the score fall by this share of itself for "
                        "fewer changes (default 0: the score is held to the cent)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    s.set_defaults(func=_cmd_solve)
    g = sub.add_parser("generate", help="write a realistic random problem")
    g.add_argument("--mentors", type=int, required=True)
    g.add_argument("--mentees", type=int, required=True)
    g.add_argument("--weeks", type=int, required=True)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--exchanges", type=int, default=2, help="exchanges per pair (K)")
    g.add_argument("--min-days", type=int, default=7, help="days between exchanges")
    g.add_argument("-o", "--output")
    g.set_defaults(func=_cmd_generate)
    args = ap.parse_args(argv)
    return args.func(args)
