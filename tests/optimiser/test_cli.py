"""The command line, run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optimiser

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-W", "error", "-m", "optimiser", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_generate_then_solve(tmp_path):
    prob = tmp_path / "p.json"
    out = tmp_path / "s.json"
    r = run("generate", "--mentors", "6", "--mentees", "10", "--weeks", "3", "--seed", "2",
            "-o", str(prob))
    assert r.returncode == 0, r.stderr
    r = run("solve", str(prob), "-o", str(out), "--time-limit", "30", "--gap", "0")
    assert r.returncode == 0, r.stderr
    assert "solving" in r.stderr and "done" in r.stderr
    sol = optimiser.solution_from_dict(json.loads(out.read_text()))
    p = optimiser.load_problem(json.loads(prob.read_text()))
    assert sol.status == "optimal"
    assert optimiser.check_solution(p, sol) == []
    r = run("solve", str(prob), "-q", "--solver", "cbc")
    assert r.returncode == 0 and r.stderr == ""
    assert json.loads(r.stdout)["objective"] == sol.objective


def test_bad_file_every_error_one_per_line(tmp_path):
    doc = {"format": "mentoring-problem/1",
           "slots": [{"id": "a", "start": "2026-01-05T09:00", "end": "2026-01-05T13:00"},
                     {"id": "a", "start": "2026-01-05T12:00", "end": "2026-01-05T14:00"}],
           "leaders": [{"id": "x", "profession": "p", "organisation": "o", "sector": "s",
                        "borough": "b", "mentor_capacity": -1, "wants_mentor": True,
                        "available": ["zz"]}],
           "pinned": [{"mentor": "x", "mentee": "y"}]}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    r = run("solve", str(f))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        "slots[1].id: duplicate slot id 'a' (also slots[0])",
        "leaders[0].mentor_capacity: must be >= 0, got -1",
        "leaders[0].available[0]: unknown slot id 'zz'",
        "pinned[0].mentee: unknown leader id 'y'",
    ]


def test_not_json_and_missing_file(tmp_path):
    f = tmp_path / "broken.json"
    f.write_text("{ nope")
    r = run("solve", str(f))
    assert r.returncode == 2 and "not JSON: line 1 column 3" in r.stderr
    r = run("solve", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_infeasible_exit_code_and_message(tmp_path):
    from optimiser.testing import half_day_slots, leader, problem

    doc = problem(half_day_slots(4), [leader("m", cap=1, avail=["s0"]),
                                      leader("e", wants=True, avail=["s1"])],
                  exchanges_per_pair=1, pinned=[{"mentor": "m", "mentee": "e"}])
    f = tmp_path / "p.json"
    f.write_text(json.dumps(doc))
    r = run("solve", str(f), "-o", str(tmp_path / "s.json"))
    assert r.returncode == 1
    assert "pinned pair ('m', 'e'): no common free slots" in r.stderr
    sol = json.loads((tmp_path / "s.json").read_text())
    assert sol["status"] == "infeasible"
    assert sol["messages"] == ["pinned pair ('m', 'e'): no common free slots"]
