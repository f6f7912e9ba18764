"""Pinned and fixed pairs that cannot all be formed, found before solving (each with a
message naming the pair or rule): `solve` then returns status `infeasible` at once."""

from __future__ import annotations

from collections import Counter, defaultdict

from .candidates import Candidates, Pair, schedulable
from .data import Data


def pinned_pairs_faults(data: Data, cands: Candidates) -> list[str]:
    """Reasons why pinned (and fixed) pairs cannot all be formed, found without solving."""
    msgs: list[str] = []
    leaders = data.leaders
    forced = [p for p in cands.pairs if p.forced]

    def name(p: Pair) -> str:
        kind = "fixed" if p.fixed else "pinned"
        return f"{kind} pair ({leaders[p.mentor].id!r}, {leaders[p.mentee].id!r})"

    by_mentee: dict[int, list[Pair]] = defaultdict(list)
    by_mentor: dict[int, list[Pair]] = defaultdict(list)
    for p in forced:
        by_mentee[p.mentee].append(p)
        by_mentor[p.mentor].append(p)
    for e, ps in by_mentee.items():
        if len(ps) > 1:
            mentors = ", ".join(sorted(repr(leaders[p.mentor].id) for p in ps))
            msgs.append(f"mentee {leaders[e].id!r} is pinned to {len(ps)} mentors "
                        f"({mentors}); a mentee has at most one")
    for m, ps in by_mentor.items():
        cap = leaders[m].mentor_capacity
        if len(ps) > cap:
            msgs.append(f"mentor {leaders[m].id!r} is pinned to {len(ps)} mentees but has "
                        f"mentor_capacity {cap}")
    keys = {(p.mentor, p.mentee) for p in forced}
    for p in forced:
        if (p.mentee, p.mentor) in keys and p.mentor < p.mentee:
            msgs.append(f"{name(p)} and its reverse are both pinned; two leaders cannot be "
                        "each other's mentor")
    excluded = {(x.mentor, x.mentee) for x in data.problem.excluded}
    for p in forced:
        mentor, mentee = leaders[p.mentor], leaders[p.mentee]
        if not data.rules.allow_same_organisation and mentor.organisation == mentee.organisation:
            msgs.append(f"{name(p)}: both are in {mentor.organisation!r} and the rules do not "
                        "allow pairs within one organisation")
        if (mentor.id, mentee.id) in excluded:
            msgs.append(f"{name(p)} is excluded")
        if data.exchanges_per_pair == 0 or p.need == 0:
            continue
        if not p.slots:
            common = data.avail[p.mentor] & data.avail[p.mentee]
            if not common:
                msgs.append(f"{name(p)}: no common free slots")
            else:
                msgs.append(f"{name(p)}: the {len(common)} common free slots are all taken "
                            "by fixed exchanges, over protected time or hosting limits, or "
                            "before both leaders' host_from (notice)")
            continue
        if not schedulable(data, p):
            most = data.spaced_count(p.slots)
            if most < p.need:
                msgs.append(
                    f"{name(p)}: {len(p.slots)} common free slots hold at most {most} "
                    f"exchange(s) at least {data.min_days} days apart; {p.need} needed")
            elif data.reciprocal_for(p.mentor, p.mentee) and not all(
                    any(data.may_host(side, s) for s in p.slots) for side in (p.mentor, p.mentee)):
                msgs.append(f"{name(p)}: reciprocal hosting is impossible (a leader cannot "
                            "host in any common slot: max_hosted_per_week or host_from)")
            else:
                msgs.append(f"{name(p)}: no schedule of its {p.need} exchange(s) meets the "
                            "spacing, hosting limits, host_from, protected time and "
                            "reciprocal hosting, even with no other pair")
    # protected time / slots per leader over all forced pairs
    need: Counter[int] = Counter()
    for p in forced:
        need[p.mentor] += p.need
        need[p.mentee] += p.need
    for ld, n in need.items():
        if n and data.max_exchanges(ld) < n:
            msgs.append(f"leader {leaders[ld].id!r}: pinned pairs need {n} exchanges but their "
                        f"free slots and protected hours allow at most "
                        f"{data.max_exchanges(ld)}")
    return msgs
