"""Reading and validating ``mentoring-problem/1``; writing ``mentoring-solution/1``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, time
from typing import Any

from .model import (
    PROBLEM_FORMAT,
    RECIPROCAL_OFF,
    RECIPROCAL_REQUIRED,
    RECIPROCAL_VALUES,
    SOLUTION_FORMAT,
    UNMATCHED_RULES,
    ExchangeResult,
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

_MISSING = object()


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, fault: str) -> None:
        self.items.append(f"{where}: {fault}" if where else fault)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _get(obj: dict, key: str, where: str, err: _Errors, kind: str, default: Any = _MISSING):
    """Fetch and type-check ``obj[key]``; record an error and return None on a fault."""
    loc = f"{where}.{key}" if where else key
    if key not in obj or (obj[key] is None and default is not _MISSING and kind != "str"):
        if default is _MISSING:
            err.add(loc, "missing")
            return None
        return default
    v = obj[key]
    ok = {
        "str": isinstance(v, str),
        "int": _is_int(v),
        "bool": isinstance(v, bool),
        "number": _is_number(v),
        "list": isinstance(v, list),
        "dict": isinstance(v, dict),
    }[kind]
    if not ok:
        names = {"str": "a string", "int": "an integer", "bool": "true or false",
                 "number": "a number", "list": "a list", "dict": "an object"}
        err.add(loc, f"must be {names[kind]}, got {type(v).__name__} {v!r:.40}")
        return None
    return v


def _parse_time(v: Any, loc: str, err: _Errors) -> datetime | None:
    if not isinstance(v, str):
        err.add(loc, f"must be an ISO 8601 date-time string, got {v!r:.40}")
        return None
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        err.add(loc, f"not an ISO 8601 date-time: {v!r:.40}")
        return None
    # Local wall-clock time is what counts for dates, weeks and months.
    return t.replace(tzinfo=None)


def _parse_host_from(v: Any, loc: str, err: _Errors) -> datetime | None:
    """Optional: an ISO 8601 date (midnight) or local date-time; null or missing = no limit."""
    if v is None:
        return None
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v).replace(tzinfo=None)
        except ValueError:
            pass
    err.add(loc, f"must be an ISO 8601 date or date-time string (like '2027-01-18'), "
                 f"got {v!r:.40}")
    return None


def _str_list(obj: dict, key: str, where: str, err: _Errors) -> tuple[str, ...]:
    v = _get(obj, key, where, err, "list", [])
    if v is None:
        return ()
    out = []
    for i, item in enumerate(v):
        if not isinstance(item, str):
            err.add(f"{where}.{key}[{i}]", f"must be a string, got {item!r:.40}")
        else:
            out.append(item)
    return tuple(out)


def _load_weights(obj: Any, where: str, err: _Errors) -> ScoreWeights:
    if obj is None:
        return ScoreWeights()
    if not isinstance(obj, dict):
        err.add(where, "must be an object")
        return ScoreWeights()
    names = {f.name for f in fields(ScoreWeights)}
    kw = {}
    for k, v in obj.items():
        if k not in names:
            err.add(f"{where}.{k}", f"unknown weight (known: {', '.join(sorted(names))})")
        elif not _is_number(v) or v < 0:
            err.add(f"{where}.{k}", f"must be a number >= 0, got {v!r:.40}")
        else:
            kw[k] = float(v)
    return ScoreWeights(**kw)


def _load_reciprocal(v: Any, err: _Errors) -> str:
    """``"required"``, ``"where_possible"`` or ``"off"``; true and false (the values before
    the choice existed) are ``"required"`` and ``"off"``; missing or null: ``"off"``."""
    if v is None:
        return RECIPROCAL_OFF
    if isinstance(v, bool):
        return RECIPROCAL_REQUIRED if v else RECIPROCAL_OFF
    if isinstance(v, str) and v in RECIPROCAL_VALUES:
        return v
    err.add("rules.reciprocal", f"must be one of {', '.join(map(repr, RECIPROCAL_VALUES))} "
                                f"(or true = 'required', false = 'off'), got {v!r:.40}")
    return RECIPROCAL_OFF


def _load_rules(obj: Any, err: _Errors) -> Rules:
    if obj is None:
        return Rules()
    if not isinstance(obj, dict):
        err.add("rules", "must be an object")
        return Rules()
    w = "rules"
    k = _get(obj, "exchanges_per_pair", w, err, "int", 0)
    if k is not None and k < 0:
        err.add("rules.exchanges_per_pair", f"must be >= 0, got {k}")
    d = _get(obj, "min_days_between_exchanges", w, err, "int", 0)
    if d is not None and d < 0:
        err.add("rules.min_days_between_exchanges", f"must be >= 0, got {d}")
    rec = _load_reciprocal(obj.get("reciprocal", False), err)
    floor = _get(obj, "priority_floor", w, err, "bool", False)
    same = _get(obj, "allow_same_organisation", w, err, "bool", False)
    mb = _get(obj, "match_bonus", w, err, "number", 100.0)
    pb = _get(obj, "priority_bonus", w, err, "number", 50.0)
    weights = _load_weights(obj.get("weights"), "rules.weights", err)
    return Rules(
        exchanges_per_pair=k if k is not None and k >= 0 else 0,
        min_days_between_exchanges=d if d is not None and d >= 0 else 0,
        reciprocal=rec,
        priority_floor=bool(floor),
        allow_same_organisation=bool(same),
        match_bonus=float(mb if mb is not None else 100.0),
        priority_bonus=float(pb if pb is not None else 50.0),
        weights=weights,
    )


def _load_pins(data: dict, key: str, ids: dict[str, int], err: _Errors) -> list[tuple[int, Pin]]:
    v = _get(data, key, "", err, "list", [])
    out = []
    for i, item in enumerate(v or []):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            err.add(where, "must be an object with 'mentor' and 'mentee'")
            continue
        m = _get(item, "mentor", where, err, "str")
        e = _get(item, "mentee", where, err, "str")
        bad = False
        for role, x in (("mentor", m), ("mentee", e)):
            if x is not None and x not in ids:
                err.add(f"{where}.{role}", f"unknown leader id {x!r}")
                bad = True
        if m is None or e is None or bad:
            continue
        out.append((i, Pin(m, e)))
    return out


def load_problem(data: dict) -> Problem:
    """Validate a ``mentoring-problem/1`` document and return a :class:`Problem`.

    Every fault found is collected; if there is any, one :class:`ProblemError` is raised
    carrying them all, each prefixed with a JSON-path-like location. One validator a
    section of the format: slots, leaders, rules, scores, pinned and excluded pairs.
    """
    err = _Errors()
    if not isinstance(data, dict):
        raise ProblemError(["(document): must be a JSON object"])
    fmt = data.get("format")
    if fmt != PROBLEM_FORMAT:
        err.add("format", f"must be {PROBLEM_FORMAT!r}, got {fmt!r:.40}")
    slots, slot_ids = _load_slots(data, err)
    leaders, raw_by_id, all_ids = _load_leaders(data, slot_ids, err)
    rules = _load_rules(data.get("rules"), err)
    candidate_fault = _candidate_fault(raw_by_id)
    scores, score_keys = _load_scores(data, all_ids, candidate_fault, err)
    pinned, excluded = _load_pinned_and_excluded(data, all_ids, candidate_fault, scores,
                                                 score_keys, err)
    if err.items:
        raise ProblemError(err.items)
    return Problem(
        slots=tuple(slots),
        leaders=tuple(leaders),
        rules=rules,
        scores=tuple(scores) if scores is not None else None,
        pinned=tuple(dict.fromkeys(p for _, p in pinned)),
        excluded=tuple(dict.fromkeys(p for _, p in excluded)),
    )


def _load_slots(data: dict, err: _Errors) -> tuple[list[Slot], dict[str, int]]:
    """``slots``: ids unique, ends after starts, no two overlapping."""
    slots: list[Slot] = []
    slot_ids: dict[str, int] = {}
    raw_slots = _get(data, "slots", "", err, "list")
    for i, s in enumerate(raw_slots or []):
        where = f"slots[{i}]"
        if not isinstance(s, dict):
            err.add(where, "must be an object with 'id', 'start' and 'end'")
            continue
        sid = _get(s, "id", where, err, "str")
        start = _parse_time(s.get("start"), f"{where}.start", err) if "start" in s else None
        end = _parse_time(s.get("end"), f"{where}.end", err) if "end" in s else None
        if "start" not in s:
            err.add(f"{where}.start", "missing")
        if "end" not in s:
            err.add(f"{where}.end", "missing")
        if sid is not None:
            if sid == "":
                err.add(f"{where}.id", "must not be empty")
            elif sid in slot_ids:
                err.add(f"{where}.id", f"duplicate slot id {sid!r} (also slots[{slot_ids[sid]}])")
        if start and end and end <= start:
            err.add(where, f"ends ({end.isoformat()}) before or when it starts "
                           f"({start.isoformat()})")
            continue
        if sid and start and end and sid not in slot_ids:
            slot_ids[sid] = i
            slots.append(Slot(sid, start, end))
    order = sorted(range(len(slots)), key=lambda j: slots[j].start)
    for a, b in itertools.pairwise(order):
        if slots[b].start < slots[a].end:
            sa, sb = slots[a], slots[b]
            err.add(f"slots[{slot_ids[sb.id]}]",
                    f"slot {sb.id!r} overlaps slot {sa.id!r} (slots[{slot_ids[sa.id]}])")
    return slots, slot_ids


def _load_leaders(data: dict, slot_ids: dict[str, int], err: _Errors
                  ) -> tuple[list[Leader], dict[str, dict], dict[str, int]]:
    """``leaders``: the valid ones, every raw leader by id, and every id present (even of
    an invalid leader, so that references to it are not reported a second time)."""
    leaders: list[Leader] = []
    leader_ids: dict[str, int] = {}
    raw_leaders = _get(data, "leaders", "", err, "list")
    for i, ld in enumerate(raw_leaders or []):
        where = f"leaders[{i}]"
        if not isinstance(ld, dict):
            err.add(where, "must be an object")
            continue
        n_before = len(err.items)
        lid = _get(ld, "id", where, err, "str")
        if lid is not None:
            if lid == "":
                err.add(f"{where}.id", "must not be empty")
            elif lid in leader_ids:
                err.add(f"{where}.id",
                        f"duplicate leader id {lid!r} (also leaders[{leader_ids[lid]}])")
            else:
                leader_ids[lid] = i
        prof = _get(ld, "profession", where, err, "str")
        org = _get(ld, "organisation", where, err, "str")
        sector = _get(ld, "sector", where, err, "str")
        borough = _get(ld, "borough", where, err, "str")
        cap = _get(ld, "mentor_capacity", where, err, "int")
        if cap is not None and cap < 0:
            err.add(f"{where}.mentor_capacity", f"must be >= 0, got {cap}")
        wants = _get(ld, "wants_mentor", where, err, "bool")
        prio = _get(ld, "priority", where, err, "bool", False)
        strengths = _str_list(ld, "strengths", where, err)
        goals = _str_list(ld, "goals", where, err)
        avail = _str_list(ld, "available", where, err)
        seen: set[str] = set()
        for j, a in enumerate(avail):
            if a not in slot_ids:
                err.add(f"{where}.available[{j}]", f"unknown slot id {a!r}")
            elif a in seen:
                err.add(f"{where}.available[{j}]", f"slot id {a!r} listed twice")
            seen.add(a)
        hours = _get(ld, "protected_hours_per_month", where, err, "number", None)
        if hours is not None and hours < 0:
            err.add(f"{where}.protected_hours_per_month", f"must be >= 0, got {hours}")
        hosted = _get(ld, "max_hosted_per_week", where, err, "int", None)
        if hosted is not None and hosted < 0:
            err.add(f"{where}.max_hosted_per_week", f"must be >= 0, got {hosted}")
        host_from = _parse_host_from(ld.get("host_from"), f"{where}.host_from", err)
        if len(err.items) > n_before or lid is None or leader_ids.get(lid) != i:
            continue
        leaders.append(Leader(
            id=lid, profession=prof, organisation=org, sector=sector, borough=borough,
            mentor_capacity=cap, wants_mentor=wants, priority=bool(prio),
            strengths=strengths, goals=goals,
            available=tuple(dict.fromkeys(a for a in avail if a in slot_ids)),
            protected_hours_per_month=float(hours) if hours is not None else None,
            max_hosted_per_week=hosted, host_from=host_from,
        ))
    # ids of leaders that exist in the document, even if invalid, so that references
    # to them are not reported as unknown a second time
    all_ids = {ld["id"]: i for i, ld in enumerate(raw_leaders or [])
               if isinstance(ld, dict) and isinstance(ld.get("id"), str)}
    raw_by_id = {ld["id"]: ld for ld in raw_leaders or []
                 if isinstance(ld, dict) and isinstance(ld.get("id"), str)}
    return leaders, raw_by_id, all_ids


def _candidate_fault(raw_by_id: dict[str, dict]) -> Callable[[str, str], str | None]:
    """Why (mentor, mentee) cannot be a pair at all, or None."""
    def candidate_fault(m: str, e: str) -> str | None:
        if m == e:
            return "a leader cannot mentor themselves"
        lm, le = raw_by_id.get(m, {}), raw_by_id.get(e, {})
        if lm.get("mentor_capacity") == 0:
            return f"{m!r} is not a mentor (mentor_capacity 0)"
        if le.get("wants_mentor") is False:
            return f"{e!r} does not want a mentor (wants_mentor false)"
        return None
    return candidate_fault


def _load_scores(data: dict, all_ids: dict[str, int],
                 candidate_fault: Callable[[str, str], str | None], err: _Errors
                 ) -> tuple[list[Score] | None, set[tuple[str, str]]]:
    """``scores`` (optional): known leaders, candidate pairs, each pair once."""
    scores: list[Score] | None = None
    score_keys: set[tuple[str, str]] = set()
    if data.get("scores") is not None:
        scores = []
        raw = _get(data, "scores", "", err, "list", [])
        for i, sc in enumerate(raw or []):
            where = f"scores[{i}]"
            if not isinstance(sc, dict):
                err.add(where, "must be an object with 'mentor', 'mentee' and 'score'")
                continue
            m = _get(sc, "mentor", where, err, "str")
            e = _get(sc, "mentee", where, err, "str")
            v = _get(sc, "score", where, err, "number")
            ok = m is not None and e is not None and v is not None
            for role, x in (("mentor", m), ("mentee", e)):
                if x is not None and x not in all_ids:
                    err.add(f"{where}.{role}", f"unknown leader id {x!r}")
                    ok = False
            if ok:
                fault = candidate_fault(m, e)
                if fault:
                    err.add(where, fault)
                    ok = False
            if ok and (m, e) in score_keys:
                err.add(where, f"pair ({m!r}, {e!r}) scored twice")
                ok = False
            if ok:
                score_keys.add((m, e))
                scores.append(Score(m, e, float(v)))
    return scores, score_keys


def _load_pinned_and_excluded(data: dict, all_ids: dict[str, int],
                              candidate_fault: Callable[[str, str], str | None],
                              scores: list[Score] | None, score_keys: set[tuple[str, str]],
                              err: _Errors) -> tuple[list[tuple[int, Pin]],
                                                     list[tuple[int, Pin]]]:
    """``pinned`` and ``excluded``: known leaders; a pinned pair once, not excluded, and a
    candidate."""
    pinned = _load_pins(data, "pinned", all_ids, err)
    excluded = _load_pins(data, "excluded", all_ids, err)
    excluded_set = {(p.mentor, p.mentee): i for i, p in excluded}
    pinned_seen: dict[tuple[str, str], int] = {}
    for i, p in pinned:
        key = (p.mentor, p.mentee)
        where = f"pinned[{i}]"
        if key in pinned_seen:
            err.add(where, f"pair ({p.mentor!r}, {p.mentee!r}) pinned twice "
                           f"(also pinned[{pinned_seen[key]}])")
        pinned_seen.setdefault(key, i)
        if key in excluded_set:
            err.add(where, f"pair ({p.mentor!r}, {p.mentee!r}) is both pinned and excluded "
                           f"(excluded[{excluded_set[key]}])")
        fault = candidate_fault(p.mentor, p.mentee)
        if fault:
            err.add(where, f"pinned pair is not a candidate: {fault}")
        elif scores is not None and key not in score_keys:
            err.add(where, f"pinned pair ({p.mentor!r}, {p.mentee!r}) is not a candidate: "
                           "it is not listed in scores")
    return pinned, excluded


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _weights_to_dict(w: ScoreWeights) -> dict:
    return {f.name: _num(getattr(w, f.name)) for f in fields(ScoreWeights)}


def problem_to_dict(problem: Problem) -> dict:
    """The ``mentoring-problem/1`` document of ``problem`` (inverse of load_problem)."""
    r = problem.rules
    out: dict[str, Any] = {
        "format": PROBLEM_FORMAT,
        "slots": [{"id": s.id, "start": s.start.isoformat(timespec="minutes"),
                   "end": s.end.isoformat(timespec="minutes")} for s in problem.slots],
        "leaders": [],
        "rules": {
            "exchanges_per_pair": r.exchanges_per_pair,
            "min_days_between_exchanges": r.min_days_between_exchanges,
            "reciprocal": r.reciprocal,
            "allow_same_organisation": r.allow_same_organisation,
            "match_bonus": _num(r.match_bonus),
            "priority_bonus": _num(r.priority_bonus),
        },
        "pinned": [{"mentor": p.mentor, "mentee": p.mentee} for p in problem.pinned],
        "excluded": [{"mentor": p.mentor, "mentee": p.mentee} for p in problem.excluded],
    }
    if r.priority_floor:
        out["rules"]["priority_floor"] = True
    if r.weights != ScoreWeights():
        out["rules"]["weights"] = _weights_to_dict(r.weights)
    for ld in problem.leaders:
        d: dict[str, Any] = {
            "id": ld.id, "profession": ld.profession, "organisation": ld.organisation,
            "sector": ld.sector, "borough": ld.borough,
            "mentor_capacity": ld.mentor_capacity, "wants_mentor": ld.wants_mentor,
            "priority": ld.priority, "strengths": list(ld.strengths), "goals": list(ld.goals),
            "available": list(ld.available),
        }
        if ld.protected_hours_per_month is not None:
            d["protected_hours_per_month"] = _num(ld.protected_hours_per_month)
        if ld.max_hosted_per_week is not None:
            d["max_hosted_per_week"] = ld.max_hosted_per_week
        if ld.host_from is not None:
            d["host_from"] = (ld.host_from.date().isoformat() if ld.host_from.time() == time()
                              else ld.host_from.isoformat(timespec="minutes"))
        out["leaders"].append(d)
    if problem.scores is not None:
        out["scores"] = [{"mentor": s.mentor, "mentee": s.mentee, "score": _num(s.score)}
                         for s in problem.scores]
    return out


def solution_to_dict(solution: Solution) -> dict:
    """The ``mentoring-solution/1`` document of ``solution``."""
    out: dict[str, Any] = {
        "format": SOLUTION_FORMAT,
        "status": solution.status,
        "objective": solution.objective,
        "bound": solution.bound,
        "pairs": [{"mentor": p.mentor, "mentee": p.mentee, "score": _num(p.score),
                   "reasons": list(p.reasons)} for p in solution.pairs],
        "exchanges": [{"host": x.host, "visitor": x.visitor, "slot": x.slot}
                      for x in solution.exchanges],
        "unmatched": [{"id": u.id, "reason": u.reason, **({"rule": u.rule} if u.rule else {})}
                      for u in solution.unmatched],
        "stats": dict(solution.stats),
    }
    if solution.messages:
        out["messages"] = list(solution.messages)
    return out


def solution_from_dict(data: dict) -> Solution:
    """Read a ``mentoring-solution/1`` document (as written by solution_to_dict)."""
    err = _Errors()
    if not isinstance(data, dict):
        raise ProblemError(["(document): must be a JSON object"])
    if data.get("format") != SOLUTION_FORMAT:
        err.add("format", f"must be {SOLUTION_FORMAT!r}, got {data.get('format')!r:.40}")
    status = _get(data, "status", "", err, "str")
    pairs, exchanges, unmatched = [], [], []
    for i, p in enumerate(_get(data, "pairs", "", err, "list", []) or []):
        where = f"pairs[{i}]"
        if not isinstance(p, dict):
            err.add(where, "must be an object")
            continue
        m = _get(p, "mentor", where, err, "str")
        e = _get(p, "mentee", where, err, "str")
        s = _get(p, "score", where, err, "number", 0.0)
        reasons = _str_list(p, "reasons", where, err)
        if m is not None and e is not None and s is not None:
            pairs.append(PairResult(m, e, float(s), reasons))
    for i, x in enumerate(_get(data, "exchanges", "", err, "list", []) or []):
        where = f"exchanges[{i}]"
        if not isinstance(x, dict):
            err.add(where, "must be an object")
            continue
        h = _get(x, "host", where, err, "str")
        v = _get(x, "visitor", where, err, "str")
        s = _get(x, "slot", where, err, "str")
        if h is not None and v is not None and s is not None:
            exchanges.append(ExchangeResult(h, v, s))
    for i, u in enumerate(_get(data, "unmatched", "", err, "list", []) or []):
        where = f"unmatched[{i}]"
        if not isinstance(u, dict):
            err.add(where, "must be an object")
            continue
        uid = _get(u, "id", where, err, "str")
        reason = _get(u, "reason", where, err, "str", "")
        rule = _get(u, "rule", where, err, "str", "") or ""
        if rule and rule not in UNMATCHED_RULES:
            err.add(f"{where}.rule", f"unknown rule {rule!r} (known: "
                                     f"{', '.join(sorted(UNMATCHED_RULES))})")
        if uid is not None:
            unmatched.append(Unmatched(uid, reason or "", rule))
    obj = data.get("objective")
    bound = data.get("bound")
    for name, v in (("objective", obj), ("bound", bound)):
        if v is not None and not _is_number(v):
            err.add(name, f"must be a number or null, got {v!r:.40}")
    stats = data.get("stats") or {}
    if not isinstance(stats, dict):
        err.add("stats", "must be an object")
        stats = {}
    messages = _str_list(data, "messages", "", err)
    if status is not None and status not in ("optimal", "feasible", "infeasible",
                                             "no-solution-in-time", "error"):
        err.add("status", f"unknown status {status!r}")
    if err.items:
        raise ProblemError(err.items)
    return Solution(status=status, objective=obj, bound=bound, pairs=tuple(pairs),
                    exchanges=tuple(exchanges), unmatched=tuple(unmatched), stats=stats,
                    messages=messages)
