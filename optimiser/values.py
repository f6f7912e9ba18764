"""Reading a solved programme: one place that turns the solver's values into what they mean
(by variable name, formed pairs, chosen exchanges, the score)."""

from __future__ import annotations

from collections import defaultdict

from .candidates import Pair
from .greedy import Scheduled
from .highs import SolverResult
from .ip import EITHER, MENTEE, MENTOR, ExVar, Model


def values_by_name(model: Model, result: SolverResult) -> dict[str, float]:
    """Each variable's value, by name (empty when the solver returned none). Worked out
    once for a result and model: a solution is read several times."""
    if result.values is None:
        return {}
    known = result.__dict__.setdefault("_values_by_name", {})
    if id(model.prob) not in known:
        names = result.names if result.names is not None else [
            v.name for v in model.prob.variables()]
        known[id(model.prob)] = dict(zip(names, result.values.tolist(), strict=True))
    return known[id(model.prob)]


def is_on(values: dict[str, float], name: str) -> bool:
    return values.get(name, 0.0) > 0.5


def formed_pair_indices(model: Model, result: SolverResult) -> list[int]:
    """Indices (into ``model.pairs``) of the pairs formed."""
    values = values_by_name(model, result)
    return [i for i, x in enumerate(model.x) if is_on(values, x.name)]


def chosen_pairs(model: Model, result: SolverResult) -> list[Pair]:
    return [model.pairs[i] for i in formed_pair_indices(model, result)]


def chosen_exchanges(model: Model, result: SolverResult) -> dict[int, list[tuple[int, str]]]:
    """Pair index -> the (slot, side) of each new exchange chosen for it."""
    values = values_by_name(model, result)
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for ev in model.ex:
        if is_on(values, ev.var.name):
            out[ev.pair].append((ev.slot, ev.side))
    return out


def score_of(model: Model, result: SolverResult) -> float | None:
    """The objective (the sum of the formed pairs' weights), or None without a solution."""
    if result.values is None or result.state not in ("optimal", "limit"):
        return None
    return round(sum(p.weight for p in chosen_pairs(model, result)), 6)


def start_values(model: Model, result: SolverResult, target: Model) -> dict[str, float] | None:
    """A start for ``target`` from the solution of ``model`` (a programme over other pairs,
    usually fewer): by pair, slot and side."""
    if result.values is None:
        return None
    on_pairs = {(p.mentor, p.mentee) for p in chosen_pairs(model, result)}
    on_exchanges = {(model.pairs[i].mentor, model.pairs[i].mentee, slot, side)
                    for i, chosen in chosen_exchanges(model, result).items()
                    for slot, side in chosen}
    start = {x.name: 1.0 if (p.mentor, p.mentee) in on_pairs else 0.0
             for p, x in zip(target.pairs, target.x, strict=True)}
    for ev in target.ex:
        p = target.pairs[ev.pair]
        start[ev.var.name] = 1.0 if (p.mentor, p.mentee, ev.slot, ev.side) in on_exchanges \
            else 0.0
    return start


def start_from_schedule(target: Model, scheduled: Scheduled) -> dict[str, float]:
    """A start for ``target`` from pairs scheduled without a solver."""
    return schedule_values(target, {(p.mentor, p.mentee): schedule
                                    for p, schedule in scheduled.pairs})


def schedule_values(target: Model,
                    schedules: dict[tuple[int, int], list[tuple[int, int | None]]]
                    ) -> dict[str, float]:
    """Every variable of ``target`` from pairs, by (mentor, mentee), and their new exchanges
    (slot, host leader, or None where either may host): the exchange's variable for that
    host where the programme has one, else the one for either host, else the other host's
    (the programme let only that side host there, so the host need not matter)."""
    start = {x.name: float((p.mentor, p.mentee) in schedules)
             for p, x in zip(target.pairs, target.x, strict=True)}
    at: dict[tuple[int, int], list[ExVar]] = defaultdict(list)
    for ev in target.ex:
        start[ev.var.name] = 0.0
        at[(ev.pair, ev.slot)].append(ev)
    for i, p in enumerate(target.pairs):
        for slot, host in schedules.get((p.mentor, p.mentee), ()):
            side = EITHER if host is None else MENTOR if host == p.mentor else MENTEE
            options = at.get((i, slot))
            if options:
                ev = next((ev for ev in options if ev.side == side), None) or \
                    next((ev for ev in options if ev.side == EITHER), options[0])
                start[ev.var.name] = 1.0
    return start
