"""A coordinator's decisions on a proposal: pin, forbid or remove a pair, and approve.

None of them changes a run's stored solution: pins and forbidden pairs are rules of the round
for the runs to come, a removal is a row beside the run (`exclusions`).

Approval is one step and one transaction: the approved pairs become offers both leaders see
and answer (no done deals), their exchanges are held (one booking row per leader per half-day,
so the database refuses a double booking, but no calendar invitation until both accept) and
the introductions are queued. Approving a run built on an
approved state that has since changed is refused, so two coordinators acting at once cannot
approve conflicting changes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mentoring import audit
from mentoring.calendar_days import closed_days
from mentoring.configuration import vocabularies
from mentoring.exchanges.services import cancel_and_release
from mentoring.exchanges.visits import copy_from_host
from mentoring.matching.exclusions import TakenOut, as_decided, taken_out
from mentoring.matching.problem import (
    ExchangeTime,
    exchange_slot,
    live_matches,
    parse_slot,
    readable_reason,
    round_live_exchange_times,
    state_of,
)
from mentoring.matching.proposal import (
    RunDocuments,
    problem_digest,
    run_documents,
    stored_solution,
)
from mentoring.matching.runs import RUNNABLE_ROUND_STATUSES
from mentoring.models import (
    Availability,
    Exchange,
    ExchangeBooking,
    LeaderProfile,
    Match,
    OptimiserRun,
    ProgrammeRound,
    ProposalRemoval,
    RoundParticipant,
    User,
    utcnow,
)
from mentoring.notifications.plan import plan_exchange, reschedule_exchange
from mentoring.offers.services import make_offer, send_offer
from mentoring.slots import bounds, describe
from mentoring.visits.checks import open_checklist
from mentoring.visits.notice import london_date, notice_conflicts
from mentoring.vocab import (
    LIVE_MATCH_STATUSES,
    ExchangeStatus,
    MatchStatus,
    ParticipantStatus,
    RoundStatus,
    RunKind,
    RunStatus,
)

# Matches can be approved in the rounds that can be optimised.
APPROVABLE_ROUND_STATUSES = RUNNABLE_ROUND_STATUSES
PAIR_RULE_ACTIONS = {"pin": "match.pinned", "forbid": "match.forbidden",
                     "clear": "match.pin_or_forbid_cleared"}


class DecisionError(Exception):
    """The decision cannot be taken; the message is for the coordinator."""


# --- pins, forbidden pairs, removals ---------------------------------------------------------


def _pair_row(session: Session, programme_round: ProgrammeRound, mentor_id: int,
              mentee_id: int) -> Match | None:
    return session.exec(
        select(Match).where(Match.round_id == programme_round.id, Match.mentor_id == mentor_id,
                            Match.mentee_id == mentee_id)
    ).first()


def _participants(session: Session, programme_round: ProgrammeRound,
                  *leader_ids: int) -> dict[int, LeaderProfile]:
    rows = session.exec(
        select(LeaderProfile).join(RoundParticipant,
                                   RoundParticipant.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == programme_round.id,
               LeaderProfile.id.in_(leader_ids))  # type: ignore[union-attr]
    ).all()
    return {profile.id: profile for profile in rows}


def pair_name(session: Session, mentor_id: int, mentee_id: int) -> str:
    """A pair as messages name it: "Mentee with Mentor"."""
    names = dict(session.exec(select(LeaderProfile.id, LeaderProfile.name).where(
        LeaderProfile.id.in_((mentor_id, mentee_id)))).all())  # type: ignore[union-attr]
    return (f"{names.get(mentee_id, f'Leader {mentee_id}')} with "
            f"{names.get(mentor_id, f'Leader {mentor_id}')}")


def set_pair_rule(
    session: Session, programme_round: ProgrammeRound, user: User, mentor_id: int,
    mentee_id: int, rule: str, reason: str = "", *, ip: str = "",
) -> Match | None:
    """`pin` keeps the pair in every later run, `forbid` keeps it out, `clear` undoes either.
    Pins and forbidden pairs are rows in `match` with status `proposed` until approval."""
    if rule not in PAIR_RULE_ACTIONS:
        raise DecisionError("Unknown decision")
    people = _participants(session, programme_round, mentor_id, mentee_id)
    if mentor_id == mentee_id or len(people) != 2:
        raise DecisionError("Both leaders must take part in this round")
    row = _pair_row(session, programme_round, mentor_id, mentee_id)
    if row is not None and row.status != MatchStatus.PROPOSED:
        raise DecisionError(f"This pair is already {row.status}: pins and forbidden pairs "
                            f"only apply to proposals")
    if rule == "clear":
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = Match(round_id=programme_round.id, mentor_id=mentor_id, mentee_id=mentee_id)
        row.pinned, row.forbidden = rule == "pin", rule == "forbid"
        session.add(row)
    audit.record(session, PAIR_RULE_ACTIONS[rule], actor=user, obj=programme_round, ip=ip,
                 detail={"mentor_id": mentor_id, "mentee_id": mentee_id,
                         "reason": (reason or "").strip()[:1000]})
    session.flush()
    return None if rule == "clear" else row


def pin_pairs(
    session: Session, programme_round: ProgrammeRound, user: User,
    pairs: list[tuple[int, int]], *, run: OptimiserRun | None = None,
    filters: dict[str, str] | None = None, ip: str = "",
) -> int:
    """Pin many pairs at once ("keep every pair shown"): each that is not pinned already, in
    one audit entry. Pairs no longer only proposals (approved since) are left as they are.
    Returns how many were pinned."""
    if not pairs:
        return 0
    leaders = {leader for pair in pairs for leader in pair}
    taking_part = set(session.exec(
        select(RoundParticipant.leader_id).where(
            RoundParticipant.round_id == programme_round.id,
            RoundParticipant.leader_id.in_(leaders))  # type: ignore[attr-defined]
    ).all())
    if not leaders <= taking_part:
        raise DecisionError("Both leaders of every pair must take part in this round")
    rows = {(row.mentor_id, row.mentee_id): row for row in session.exec(
        select(Match).where(Match.round_id == programme_round.id,
                            Match.mentee_id.in_({mentee for _, mentee in pairs}))  # type: ignore[attr-defined]
    ).all()}
    pinned = 0
    for mentor_id, mentee_id in dict.fromkeys(pairs):
        row = rows.get((mentor_id, mentee_id))
        if row is not None and (row.status != MatchStatus.PROPOSED or row.pinned):
            continue
        row = row or Match(round_id=programme_round.id, mentor_id=mentor_id,
                           mentee_id=mentee_id)
        row.pinned, row.forbidden = True, False
        session.add(row)
        pinned += 1
    audit.record(session, "match.pinned_shown", actor=user, obj=programme_round, ip=ip,
                 detail={"run_id": run.id if run else None, "pinned": pinned,
                         "shown": len(pairs), "filters": filters or {}})
    session.flush()
    return pinned


def remove_pair(
    session: Session, run: OptimiserRun, user: User, mentor_id: int, mentee_id: int,
    reason: str = "", *, ip: str = "",
) -> ProposalRemoval:
    """Take a pair (and its exchanges) out of this run's proposal before approval: approval
    skips it and its mentee counts as unmatched. The run's solution is not changed (the review
    shows the pair as removed, and `restore_pair` puts it back). Later runs may pair them
    again (forbid the pair to stop that), but do not try to keep the pair."""
    _require_reviewable(run)
    key = (str(mentor_id), str(mentee_id))
    if key not in {(p["mentor"], p["mentee"])
                   for p in (stored_solution(session, run) or {}).get("pairs", [])}:
        raise DecisionError("That pair is not in this proposal")
    if key in problem_digest(session, run).fixed_pairs:
        raise DecisionError("This pair is already approved: it stays as it is")
    removal = _removal(session, run, mentor_id, mentee_id)
    if removal is not None:
        raise DecisionError("That pair is already removed from this proposal")
    removal = ProposalRemoval(run_id=run.id, mentor_id=mentor_id, mentee_id=mentee_id,
                              removed_by_id=user.id)
    session.add(removal)
    audit.record(session, "match.removed_from_proposal", actor=user, obj=run, ip=ip,
                 detail={"mentor_id": mentor_id, "mentee_id": mentee_id,
                         "reason": (reason or "").strip()[:1000]})
    session.flush()
    return removal


def restore_pair(session: Session, run: OptimiserRun, user: User, mentor_id: int,
                 mentee_id: int, *, ip: str = "") -> None:
    """Undo `remove_pair`: the pair is back in the proposal, as the optimiser proposed it."""
    _require_reviewable(run)
    removal = _removal(session, run, mentor_id, mentee_id)
    if removal is None:
        raise DecisionError("That pair is not removed from this proposal")
    session.delete(removal)
    audit.record(session, "match.restored_to_proposal", actor=user, obj=run, ip=ip,
                 detail={"mentor_id": mentor_id, "mentee_id": mentee_id})
    session.flush()


def _removal(session: Session, run: OptimiserRun, mentor_id: int,
             mentee_id: int) -> ProposalRemoval | None:
    return session.exec(select(ProposalRemoval).where(
        ProposalRemoval.run_id == run.id, ProposalRemoval.mentor_id == mentor_id,
        ProposalRemoval.mentee_id == mentee_id)).first()


def _require_reviewable(run: OptimiserRun) -> None:
    if run.status != RunStatus.SUCCEEDED or not run.solution:
        raise DecisionError("This run has no proposal to change")
    if run.approved_at is not None:
        raise DecisionError("This proposal has already been approved")


# --- what approving a run would change ------------------------------------------------------


class LiveMatch(NamedTuple):
    id: int
    mentor_id: int
    mentee_id: int


STATE_CHANGED = ("Matches or exchanges were approved, cancelled or moved after this run started: "
                 "run the optimiser again")


@dataclass(frozen=True)
class NewExchange:
    host_id: int
    visitor_id: int
    slot: str


@dataclass(frozen=True)
class MovedExchange:
    exchange: Exchange
    slot: str


@dataclass
class ChangePlan:
    """Exactly what approval does, computed against the approved state as it is now."""

    new_pairs: list[dict[str, Any]] = field(default_factory=list)
    new_exchanges: list[NewExchange] = field(default_factory=list)
    moved_exchanges: list[MovedExchange] = field(default_factory=list)
    cancelled_exchanges: list[Exchange] = field(default_factory=list)
    kept_pairs: int = 0
    kept_exchanges: int = 0
    conflicts: list[str] = field(default_factory=list)  # reasons approval must be refused

    @property
    def is_empty(self) -> bool:
        return not (self.new_pairs or self.new_exchanges or self.moved_exchanges
                    or self.cancelled_exchanges)


def plan_changes(session: Session, run: OptimiserRun,
                 documents: RunDocuments | None = None, *,
                 now: datetime | None = None,
                 taken: dict[tuple[str, str], TakenOut] | None = None) -> ChangePlan:
    """Compare the run's proposal with what is approved now (`now`: the time of approval). For
    a local run only changes that involve a leader in its scope count; everything else stays
    exactly as it is. `documents` are the run's, and `taken` what is taken out of it
    (`exclusions.taken_out`), if the caller has read them already."""
    plan = ChangePlan()
    solution = None
    if run.status == RunStatus.SUCCEEDED:
        documents = documents or run_documents(session, run)
        # Pairs removed from the proposal, or forbidden since, are not approved.
        solution = as_decided(documents.solution,
                              taken_out(session, run) if taken is None else taken)
    if not solution:
        plan.conflicts.append("This run has no proposal")
        return plan
    programme_round = session.get(ProgrammeRound, run.round_id)
    # Loaded once, as bare columns (no JSON to decode, no objects to build): the review page of
    # a round with 2,000 pairs spent most of its time loading them. Only the exchanges that
    # approval moves or cancels are loaded whole, at the end.
    matches = [LiveMatch._make(row) for row in session.connection().execute(
        select(Match.id, Match.mentor_id, Match.mentee_id).where(
            Match.round_id == programme_round.id,
            Match.status.in_(LIVE_MATCH_STATUSES),  # type: ignore[attr-defined]
        )
    ).all()]
    exchanges = round_live_exchange_times(session, programme_round)
    recorded_state = documents.problem.state
    if recorded_state is not None and recorded_state != state_of(matches, exchanges):
        plan.conflicts.append(STATE_CHANGED)
    scope = {str(leader_id) for leader_id in run.scope or []}
    everyone = run.kind != RunKind.LOCAL

    def in_scope(*leader_ids: str) -> bool:
        return everyone or bool(scope & set(leader_ids))

    live_pairs = {(str(m.mentor_id), str(m.mentee_id)) for m in matches}
    for pair in solution["pairs"]:
        if (pair["mentor"], pair["mentee"]) in live_pairs:
            plan.kept_pairs += 1
        elif in_scope(pair["mentor"], pair["mentee"]):
            plan.new_pairs.append(pair)

    current: dict[tuple[str, str], list[ExchangeTime]] = defaultdict(list)
    for exchange in exchanges:
        current[(str(exchange.host_id), str(exchange.visitor_id))].append(exchange)
    proposed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for x in solution["exchanges"]:
        proposed[(x["host"], x["visitor"])].append(x["slot"])
    # The exchanges of new and live pairs, either way round, may change.
    changeable = {pair for mentor, mentee in
                  live_pairs | {(p["mentor"], p["mentee"]) for p in plan.new_pairs}
                  for pair in ((mentor, mentee), (mentee, mentor))}
    moved: list[tuple[int, str]] = []  # exchange ids and their new slots
    cancelled: list[int] = []
    for key in sorted(set(current) | set(proposed)):
        host, visitor = key
        if not in_scope(host, visitor) or key not in changeable:
            plan.kept_exchanges += len(current.get(key, []))
            continue
        wanted = sorted(proposed.get(key, []))
        if wanted == sorted(exchange_slot(x) for x in current.get(key, [])):
            plan.kept_exchanges += len(wanted)  # the usual case: nothing changes
            continue
        now_slots = {exchange_slot(x): x for x in current.get(key, [])}
        plan.kept_exchanges += sum(1 for slot in wanted if slot in now_slots)
        gone = [now_slots[slot] for slot in sorted(now_slots) if slot not in wanted]
        added = [slot for slot in wanted if slot not in now_slots]
        # An exchange whose half-day changed is moved (same calendar entry, new time).
        for exchange, slot in zip(gone, added, strict=False):
            moved.append((exchange.id, slot))
        cancelled += [exchange.id for exchange in gone[len(added):]]
        plan.new_exchanges += [NewExchange(int(host), int(visitor), slot)
                               for slot in added[len(gone):]]
    whole = _exchanges(session, [exchange_id for exchange_id, _ in moved] + cancelled)
    if len(whole) < len(moved) + len(cancelled):  # deleted since they were listed
        plan.conflicts.append(STATE_CHANGED)
    plan.moved_exchanges = [MovedExchange(whole[exchange_id], slot)
                            for exchange_id, slot in moved if exchange_id in whole]
    plan.cancelled_exchanges = [whole[exchange_id] for exchange_id in cancelled
                                if exchange_id in whole]
    plan.conflicts += _still_possible(session, programme_round, plan)
    plan.conflicts += _too_soon(session, plan, now or utcnow())
    return plan


def _exchanges(session: Session, exchange_ids: list[int]) -> dict[int, Exchange]:
    if not exchange_ids:
        return {}
    return {exchange.id: exchange for exchange in session.exec(
        select(Exchange).where(Exchange.id.in_(exchange_ids))  # type: ignore[union-attr]
    ).all()}


def _still_possible(session: Session, programme_round: ProgrammeRound,
                    plan: ChangePlan) -> list[str]:
    """Leaders may have left the round or changed their availability since the run, and days
    may have closed."""
    leader_ids = {int(p[k]) for p in plan.new_pairs for k in ("mentor", "mentee")}
    leader_ids |= {x.host_id for x in plan.new_exchanges} | {x.visitor_id
                                                            for x in plan.new_exchanges}
    leader_ids |= {leader for moved in plan.moved_exchanges
                   for leader in (moved.exchange.host_id, moved.exchange.visitor_id)}
    if not leader_ids:
        return []
    joined = dict(session.exec(
        select(LeaderProfile.id, LeaderProfile.name)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == programme_round.id,
               RoundParticipant.status == ParticipantStatus.JOINED,
               LeaderProfile.id.in_(leader_ids))  # type: ignore[union-attr]
    ).all())
    problems = [f"Leader {leader_id} no longer takes part in the round"
                for leader_id in sorted(leader_ids - set(joined))]
    free = set(session.exec(
        select(Availability.leader_id, Availability.day, Availability.period).where(
            Availability.round_id == programme_round.id,
            Availability.leader_id.in_(leader_ids),  # type: ignore[attr-defined]
        )
    ).all())
    wanted = [(x.host_id, x.visitor_id, x.slot) for x in plan.new_exchanges] + [
        (m.exchange.host_id, m.exchange.visitor_id, m.slot) for m in plan.moved_exchanges]
    closed = closed_days(session, programme_round)
    for host, visitor, slot in wanted:
        day, period = parse_slot(slot)
        if day in closed:  # blackout dates added since the run
            problems.append(f"{describe(day, period)} is now closed ({closed.label(day)}): "
                            "run the optimiser again")
            continue
        for leader in (host, visitor):
            if leader in joined and (leader, day, period) not in free:
                problems.append(f"{joined[leader]} is no longer free on "
                                f"{describe(day, period)}: run the optimiser again")
    return problems


def _too_soon(session: Session, plan: ChangePlan, now: datetime) -> list[str]:
    """The notice a host's organisation needs is a hard rule from the day of approval (the run
    may have been built days before)."""
    hosted = [(x.host_id, *parse_slot(x.slot)) for x in plan.new_exchanges] + [
        (m.exchange.host_id, *parse_slot(m.slot)) for m in plan.moved_exchanges]
    return notice_conflicts(session, hosted, london_date(now)) if hosted else []


# --- approval --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalResult:
    pairs: int
    exchanges: int
    moved: int
    cancelled: int


def approve_run(
    session: Session, run: OptimiserRun, user: User, now: datetime, reason: str = "", *,
    ip: str = "",
) -> ApprovalResult:
    """Publish the run's proposal in one transaction (the caller commits)."""
    # Approvals of a round queue behind each other: the second sees what the first did.
    programme_round = session.exec(
        select(ProgrammeRound).where(ProgrammeRound.id == run.round_id).with_for_update()
    ).one()
    session.refresh(run)
    _require_reviewable(run)
    if programme_round.status not in APPROVABLE_ROUND_STATUSES:
        raise DecisionError(f"A {programme_round.status} round cannot take new matches")
    plan = plan_changes(session, run, now=now)
    if plan.conflicts:
        raise DecisionError(" ".join(dict.fromkeys(plan.conflicts)))
    if plan.is_empty:
        raise DecisionError("This proposal changes nothing that is approved now")
    try:
        with session.begin_nested():
            _apply(session, programme_round, run, plan, user, now)
    except IntegrityError as exc:
        raise DecisionError(
            "Someone else approved a conflicting change at the same time: reload the page "
            "and run the optimiser again"
        ) from exc
    run.approved_at, run.approved_by_id = now, user.id
    session.add(run)
    if programme_round.status != RoundStatus.PUBLISHED:
        programme_round.status = RoundStatus.PUBLISHED
        session.add(programme_round)
    result = ApprovalResult(len(plan.new_pairs), len(plan.new_exchanges),
                            len(plan.moved_exchanges), len(plan.cancelled_exchanges))
    audit.record(session, "optimiser.run_approved", actor=user, obj=run, ip=ip, detail={
        "round_id": programme_round.id, "kind": run.kind, "reason": (reason or "").strip(),
        "new_pairs": result.pairs, "new_exchanges": result.exchanges,
        "moved_exchanges": result.moved, "cancelled_exchanges": result.cancelled,
    })
    session.flush()
    return result


def _apply(session: Session, programme_round: ProgrammeRound, run: OptimiserRun,
           plan: ChangePlan, user: User, now: datetime) -> None:
    offers = []
    for pair in plan.new_pairs:
        mentor_id, mentee_id = int(pair["mentor"]), int(pair["mentee"])
        match = _pair_row(session, programme_round, mentor_id, mentee_id) or Match(
            round_id=programme_round.id, mentor_id=mentor_id, mentee_id=mentee_id)
        make_offer(session, match, programme_round, now)
        offers.append(match)
        match.run_id = run.id
        match.score = float(pair.get("score") or 0.0)
        match.reasons = [readable_reason(reason, vocabularies.of(session))
                         for reason in pair.get("reasons") or []]
        match.decided_at, match.decided_by_id = now, user.id
        session.add(match)
    session.flush()  # the one-live-mentor-per-mentee index speaks here
    match_of = {(m.mentor_id, m.mentee_id): m for m in live_matches(session, programme_round)}
    host_ids = {new.host_id for new in plan.new_exchanges}
    hosts = {host.id: host for host in session.exec(
        select(LeaderProfile).where(LeaderProfile.id.in_(host_ids))  # type: ignore[union-attr]
    ).all()} if host_ids else {}
    for new in plan.new_exchanges:
        match = match_of.get((new.host_id, new.visitor_id)) or match_of[(new.visitor_id,
                                                                         new.host_id)]
        starts_at, ends_at = bounds(*parse_slot(new.slot))
        exchange = Exchange(
            match_id=match.id, host_id=new.host_id, visitor_id=new.visitor_id,
            starts_at=starts_at, ends_at=ends_at, uid=f"{uuid.uuid4()}@leadership-exchange",
            preparation="Read each other's profiles and agree one question to explore.",
            # Held while the match is an offer; a match both have accepted books it at once.
            status=(ExchangeStatus.SCHEDULED if match.status == MatchStatus.ACCEPTED
                    else ExchangeStatus.HELD),
        )
        copy_from_host(exchange, hosts[new.host_id])  # where to go: the host's visit details
        session.add(exchange)
        session.flush()
        _book(session, exchange)
        plan_exchange(session, exchange, now)  # nothing for a held exchange
        open_checklist(session, exchange, now)  # nor here
    for moved in plan.moved_exchanges:
        starts_at, ends_at = bounds(*parse_slot(moved.slot))
        session.execute(sa.delete(ExchangeBooking).where(
            ExchangeBooking.exchange_id == moved.exchange.id))
        reschedule_exchange(session, moved.exchange, starts_at, ends_at, now)
        _book(session, moved.exchange)
    for exchange in plan.cancelled_exchanges:
        cancel_and_release(session, exchange, "The coordinator re-planned the exchanges", now,
                           cause="coordinator")
    session.flush()  # the no-double-booking constraint speaks here
    for match in offers:
        send_offer(session, match, now)


def _book(session: Session, exchange: Exchange) -> None:
    session.add_all(
        ExchangeBooking(exchange_id=exchange.id, leader_id=leader_id,
                        starts_at=exchange.starts_at)
        for leader_id in (exchange.host_id, exchange.visitor_id)
    )
