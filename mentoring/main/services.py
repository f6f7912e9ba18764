"""What each role's home page shows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.exchanges.services import VISIBLE_MATCH_STATUSES
from mentoring.insights.you_said import published_for_leader
from mentoring.models import (
    Availability,
    Exchange,
    LeaderProfile,
    Match,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.notifications.plan import when
from mentoring.offers.services import answer_date
from mentoring.vocab import (
    ExchangeStatus,
    MatchStatus,
    ParticipantStatus,
    RoundStatus,
)

# Rounds a leader can still be taking part in.
CURRENT_ROUND_STATUSES = (RoundStatus.OPEN, RoundStatus.MATCHING, RoundStatus.PUBLISHED)


@dataclass(frozen=True)
class NextAction:
    """The one thing a leader should do next (or wait for), with its date."""

    text: str
    href: str = ""
    link_text: str = ""


@dataclass(frozen=True)
class Milestone:
    label: str
    when: str  # already written for people ("14 January 2027", "4 January to 26 March 2027")
    state: str  # done, now or later


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def timeline(programme_round: ProgrammeRound, today: date) -> list[Milestone]:
    """The round's steps in order, from its settings: joining closes, matching, offers, the
    exchanges. A step whose date has passed is done; the first one still to come is now."""
    steps = [(label, day) for label, day in (
        ("Joining closes", programme_round.joining_closes_on),
        ("Matching", programme_round.matching_on),
        ("Match offers go out", programme_round.offers_on),
    ) if day is not None]
    milestones: list[Milestone] = []
    current_found = False
    for label, day in steps:
        state = "done" if day < today else ("later" if current_found else "now")
        current_found = current_found or state == "now"
        milestones.append(Milestone(label, _day(day), state))
    in_window = programme_round.starts_on <= today <= programme_round.ends_on
    done = programme_round.ends_on < today
    milestones.append(Milestone(
        "Exchanges", f"{_day(programme_round.starts_on)} to {_day(programme_round.ends_on)}",
        "done" if done else ("now" if in_window or not current_found else "later")))
    return milestones


def _next_action(profile, offers, booked, lapsed, joined, free_counts, open_rounds,
                 left) -> NextAction:
    if profile is None:
        return NextAction("Tell us about yourself: your profile is how we find you a good match.",
                          "/profile", "Complete your profile")
    if offers:
        match, other = offers[0]
        deadline = f" by {answer_date(match.respond_by)}" if match.respond_by else ""
        return NextAction(f"Answer your match offer from {other}{deadline}.",
                          f"/matches/{match.id}", "Answer your match offer")
    if booked:
        exchange, other = booked[0]
        return NextAction(f"Your next exchange, with {other}: "
                          f"{when(exchange.starts_at, exchange.ends_at)}.",
                          f"/exchanges/{exchange.id}", "See where to go and how to prepare")
    if lapsed:
        return NextAction("The date to answer your match offer has passed. The programme "
                          "coordinators will email you about what happens next.",
                          f"/matches/{lapsed[0].id}", "See the offer")
    for programme_round in joined:
        if not free_counts.get(programme_round.id):
            closes = (f" by {_day(programme_round.joining_closes_on)}"
                      if programme_round.joining_closes_on else "")
            return NextAction(f"Tell us which half-days you are free in {programme_round.name}"
                              f"{closes}.", f"/rounds/{programme_round.id}/availability",
                              "Tell us when you are free")
    if joined:
        programme_round = joined[0]
        expected = (f" Offers go out around {_day(programme_round.offers_on)}."
                    if programme_round.offers_on else "")
        return NextAction(f"You are ready for {programme_round.name}. We will email you when "
                          f"the coordinators offer you a match.{expected}",
                          "/availability", "Check when you are free")
    joinable = [r for r in open_rounds if r.id not in left]
    if joinable:
        return NextAction(f"Join {joinable[0].name} and tell us when you are free.",
                          "/availability", "Join a round")
    if left:
        return NextAction("You have left the round. It is still open, so you can rejoin it.",
                          "/availability", "Rejoin the round")
    return NextAction("No round is open at the moment. We will email you when the next one "
                      "opens.")


def leader_home(session: Session, user: User, today: date, now: datetime) -> dict[str, Any]:
    profile = session.exec(select(LeaderProfile).where(LeaderProfile.user_id == user.id)).first()
    open_rounds = list(session.exec(
        select(ProgrammeRound).where(ProgrammeRound.status == RoundStatus.OPEN)
        .order_by(ProgrammeRound.starts_on)
    ).all())
    matches: list[Match] = []
    participations: list[tuple[RoundParticipant, ProgrammeRound]] = []
    offers, booked, lapsed, free_counts = [], [], [], {}
    if profile is not None:
        matches = list(session.exec(
            select(Match).where(
                sa.or_(Match.mentor_id == profile.id, Match.mentee_id == profile.id),
                Match.status.in_(VISIBLE_MATCH_STATUSES),  # type: ignore[attr-defined]
            ).order_by(Match.respond_by, Match.id)
        ).all())
        others = dict(session.exec(select(LeaderProfile.id, LeaderProfile.name).where(
            LeaderProfile.id.in_([m.mentee_id if m.mentor_id == profile.id else m.mentor_id
                                  for m in matches]))).all()) if matches else {}

        def other_of(match: Match) -> str:
            return others.get(match.mentee_id if match.mentor_id == profile.id
                              else match.mentor_id, "")

        for match in matches:
            mine = match.mentor_accepted_at if match.mentor_id == profile.id else (
                match.mentee_accepted_at)
            if match.status == MatchStatus.OFFERED and mine is None:
                offers.append((match, other_of(match)))
            elif match.status == MatchStatus.LAPSED:
                lapsed.append(match)
        by_match = {m.id: m for m in matches}
        for exchange in session.exec(select(Exchange).where(
                sa.or_(Exchange.host_id == profile.id, Exchange.visitor_id == profile.id),
                Exchange.status == ExchangeStatus.SCHEDULED, Exchange.starts_at > now)
                .order_by(Exchange.starts_at)).all():
            if exchange.match_id in by_match:
                booked.append((exchange, other_of(by_match[exchange.match_id])))
        participations = list(session.exec(
            select(RoundParticipant, ProgrammeRound)
            .join(ProgrammeRound, ProgrammeRound.id == RoundParticipant.round_id)
            .where(RoundParticipant.leader_id == profile.id,
                   ProgrammeRound.status.in_(CURRENT_ROUND_STATUSES))  # type: ignore[attr-defined]
            .order_by(ProgrammeRound.starts_on)
        ).all())
        free_counts = dict(session.exec(
            select(Availability.round_id, sa.func.count())
            .where(Availability.leader_id == profile.id).group_by(Availability.round_id)
        ).all())
    joined = [r for p, r in participations if p.status == ParticipantStatus.JOINED]
    left = {r.id: p.withdrawn_at for p, r in participations
            if p.status == ParticipantStatus.WITHDRAWN and r.status == RoundStatus.OPEN}
    # The round whose timeline is shown: the one they are in, else the first open one.
    shown = joined[0] if joined else (open_rounds[0] if open_rounds else None)
    # Rounds whose "you said, we did" page the leader can read.
    you_said_we_did = published_for_leader(session, profile) if profile is not None else []
    return {
        "profile": profile, "open_rounds": open_rounds, "matches": matches,
        "next_action": _next_action(profile, offers, booked, lapsed, joined, free_counts,
                                    open_rounds, left),
        "timeline_round": shown,
        "timeline": timeline(shown, today) if shown else [],
        "joined_ids": {r.id for r in joined}, "left": left,
        "stages": Counter(match.stage for match in matches),
        "you_said_we_did": you_said_we_did,
    }


def coordinator_home(session: Session) -> dict[str, Any]:
    participants = (
        sa.select(RoundParticipant.round_id, sa.func.count().label("n"))
        .group_by(RoundParticipant.round_id)
        .subquery()
    )
    rows = session.exec(
        sa.select(ProgrammeRound, sa.func.coalesce(participants.c.n, 0))
        .outerjoin(participants, participants.c.round_id == ProgrammeRound.id)
        .order_by(ProgrammeRound.starts_on.desc())
    ).all()
    return {"rounds": [(round_, count) for round_, count in rows]}


def admin_home(session: Session) -> dict[str, Any]:
    counts = dict(
        session.exec(sa.select(User.role, sa.func.count()).group_by(User.role)).all()
    )
    return {"user_counts": counts}
