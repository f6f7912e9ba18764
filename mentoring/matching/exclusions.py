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

from sqlmodel import Session, select

from mentoring.models import Match, OptimiserRun, ProposalRemoval, User
from mentoring.vocab import MatchStatus

REMOVED, FORBIDDEN = "removed", "forbidden"

Pair = tuple[str, str]  # (mentor, mentee) ids as the run's documents write them


class TakenOut(NamedTuple):
    decision: str  # REMOVED or FORBIDDEN
    by: str = ""  # who removed it (their email), when known


def forbidden_pairs(session: Session, round_id: int) -> set[Pair]:
    """The round's forbidden pairs (a forbidden pair is still only a proposal)."""
    return {(str(mentor), str(mentee)) for mentor, mentee in session.exec(
        select(Match.mentor_id, Match.mentee_id).where(
            Match.round_id == round_id, Match.forbidden,
            Match.status == MatchStatus.PROPOSED)
    ).all()}


def removals(session: Session, run_ids: Iterable[int]) -> dict[int, dict[Pair, str]]:
    """The pairs removed from each of these runs, with who removed them."""
    run_ids = list(run_ids)
    found: dict[int, dict[Pair, str]] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return found
    for run_id, mentor, mentee, email in session.exec(
        select(ProposalRemoval.run_id, ProposalRemoval.mentor_id, ProposalRemoval.mentee_id,
               User.email)
        .outerjoin(User, User.id == ProposalRemoval.removed_by_id)
        .where(ProposalRemoval.run_id.in_(run_ids))  # type: ignore[attr-defined]
        .order_by(ProposalRemoval.id)
    ).all():
        found[run_id][(str(mentor), str(mentee))] = email or ""
    return found


def taken_out_of_runs(session: Session, round_id: int,
                      run_ids: Iterable[int]) -> dict[int, dict[Pair, TakenOut]]:
    """What is taken out of each of the round's runs (two queries, however many runs)."""
    forbidden = forbidden_pairs(session, round_id)
    return {run_id: {**{pair: TakenOut(FORBIDDEN) for pair in forbidden},
                     **{pair: TakenOut(REMOVED, by) for pair, by in removed.items()}}
            for run_id, removed in removals(session, run_ids).items()}


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
