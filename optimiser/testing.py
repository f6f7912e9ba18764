"""Helpers to write small mentoring problems by hand (used by the tests; handy for the
app's tests too)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import optimiser


def half_day_slots(n: int, start: date = date(2026, 1, 5)) -> list[dict]:
    """``n`` consecutive weekday half-day slots from ``start`` (a Monday): s0 = Mon AM..."""
    out = []
    d = start
    while len(out) < n:
        if d.weekday() < 5:
            for _half, (a, b) in enumerate(((9, 13), (13, 17))):
                if len(out) < n:
                    out.append({"id": f"s{len(out)}",
                                "start": datetime.combine(d, time(a)).isoformat(),
                                "end": datetime.combine(d, time(b)).isoformat()})
        d += timedelta(days=1)
    return out


def leader(lid: str, *, cap: int = 0, wants: bool = False, avail=(), org: str | None = None,
           **kw) -> dict:
    d = {"id": lid, "profession": kw.pop("profession", "nursing"),
         "organisation": org if org is not None else f"org-{lid}",
         "sector": kw.pop("sector", "acute"), "borough": kw.pop("borough", "Lewisham"),
         "mentor_capacity": cap, "wants_mentor": wants, "available": list(avail)}
    d.update(kw)
    return d


def problem(slots: list[dict], leaders: list[dict], **rules) -> dict:
    doc = {"format": "mentoring-problem/1", "slots": slots, "leaders": leaders,
           "rules": rules, "pinned": rules.pop("pinned", []),
           "excluded": rules.pop("excluded", [])}
    if "scores" in rules:
        doc["scores"] = rules.pop("scores")
    return doc


def solve_doc(doc: dict, **kw) -> tuple[optimiser.Problem, optimiser.Solution]:
    p = optimiser.load_problem(doc)
    s = optimiser.solve(p, **kw)
    assert optimiser.check_solution(p, s) == []
    return p, s
