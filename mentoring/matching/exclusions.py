"""Pairs a coordinator has taken out of a run's proposal, kept beside the run and never written
into it: a run's stored solution stays exactly as the optimiser wrote it.

Two decisions take a pair out. *Remove* is about one run (a `proposal_removal` row): later runs
may propose the pair again. *Forbid* is about the round (`match.forbidden`): no later run
proposes the pair, and no run that proposed it before can have it approved. The review shows
such pairs in their place, marked, with a way to undo; approval, the summary figures, the
runs compared and the waiting list read the proposal *as decided* (`as_decided`), and the next
run does not try to keep a removed pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.models import Match, OptimiserRun, ProposalRemoval, User
from mentoring.vocab import MatchStatus

REMOVED, FORBIDDEN = "removed", "forbidden"

Pair = tuple[str, str]  # (mentor, mentee) ids as the run's documents write them


class TakenOut(NamedTuple):
    decision: str  # REMOVED or FORBIDDEN
    by: str = ""  # who removed it (their email), when known


def _forbidden(round_id: int):
    """The round's forbidden pairs (a forbidden pair is still only a proposal)."""
    return select(sa.literal(None).label("run_id"), Match.mentor_id, Match.mentee_id,
                  sa.literal(None).label("email")).where(
        Match.round_id == round_id, Match.forbidden, Match.status == MatchStatus.PROPOSED)


def _removed(run_ids: list[int]):
    """The pairs removed from these runs, with who removed them."""
    return (select(ProposalRemoval.run_id, ProposalRemoval.mentor_id, ProposalRemoval.mentee_id,
                   User.email)
            .outerjoin(User, User.id == ProposalRemoval.removed_by_id)
            .where(ProposalRemoval.run_id.in_(run_ids)))  # type: ignore[attr-defined]


def removals(session: Session, run_ids: Iterable[int]) -> dict[int, dict[Pair, str]]:
    """The pairs removed from each of these runs, with who removed them (their email)."""
    found: dict[int, dict[Pair, str]] = {run_id: {} for run_id in run_ids}
    if found:
        for run_id, mentor, mentee, email in session.exec(
                _removed(list(found)).order_by(ProposalRemoval.id)).all():
            found[run_id][(str(mentor), str(mentee))] = email or ""
    return found


def taken_out_of_runs(session: Session, round_id: int,
                      run_ids: Iterable[int]) -> dict[int, dict[Pair, TakenOut]]:
    """What is taken out of each of these runs of the round, in one query (the review page
    reads it on every view)."""
    taken: dict[int, dict[Pair, TakenOut]] = {run_id: {} for run_id in run_ids}
    if not taken:
        return taken
    forbidden: dict[Pair, TakenOut] = {}
    removed: list[tuple[int, Pair, str]] = []
    for run_id, mentor, mentee, email in session.connection().execute(
            sa.union_all(_forbidden(round_id), _removed(list(taken)))).all():
        pair = (str(mentor), str(mentee))
        if run_id is None:
            forbidden[pair] = TakenOut(FORBIDDEN)
        else:
            removed.append((run_id, pair, email or ""))
    for run_id in taken:
        taken[run_id].update(forbidden)
    for run_id, pair, email in removed:  # a removal says more: who took it out, and undo
        taken[run_id][pair] = TakenOut(REMOVED, email)
    return taken


def taken_out(session: Session, run: OptimiserRun) -> dict[Pair, TakenOut]:
    return taken_out_of_runs(session, run.round_id, [run.id])[run.id]


def reason(taken: TakenOut) -> str:
    """Why the mentee of a pair taken out has no mentor in the proposal as decided."""
    if taken.decision == REMOVED:
        return f"removed from this proposal by {taken.by or 'a coordinator'}"
    return "their pair in this proposal was forbidden by a coordinator"


def as_decided(solution: dict[str, Any] | None,
               taken: dict[Pair, TakenOut]) -> dict[str, Any] | None:
    """The solution without the pairs taken out and their exchanges, their mentees listed as
    unmatched with the reason. A new document: the stored one (maybe shared with other
    requests) is left as it is, and returned itself when nothing is taken out of it."""
    if not solution or not taken:
        return solution
    pairs = solution.get("pairs", [])
    out = [p for p in pairs if (p["mentor"], p["mentee"]) in taken]
    if not out:
        return solution
    gone = {frozenset((p["mentor"], p["mentee"])) for p in out}
    listed = {u["id"] for u in solution.get("unmatched", [])}
    return {
        **solution,
        "pairs": [p for p in pairs if (p["mentor"], p["mentee"]) not in taken],
        "exchanges": [x for x in solution.get("exchanges", [])
                      if frozenset((x["host"], x["visitor"])) not in gone],
        "unmatched": [*solution.get("unmatched", []),
                      *({"id": p["mentee"], "reason": reason(taken[(p["mentor"], p["mentee"])])}
                        for p in out if p["mentee"] not in listed)],
    }
