"""How pairs are getting on: check-ins at the round's mid-point and end, concerns raised
privately with the coordinators, and quiet pairs. No Flask here.

The dates come from the round's window (fixed offsets, documented in docs/outcomes.md):
- the mid-point check-in is asked at 9am (London) on the middle day of the window, and can be
  answered as soon as the match is booked;
- the end check-in is asked at 9am on the window's last day, and opens a week before;
- a booked pair with no exchange taken place and no check-in from either leader two weeks after
  the mid-point (`QUIET_AFTER_MIDPOINT`) is quiet: both leaders are nudged once by email, and a
  week later (`FLAG_AFTER_NUDGE`) a pair still quiet is flagged on the coordinators' pages.
Every email has its own idempotency key, so the worker can run the job as often as it likes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.exchanges.services import LeaderError, MatchView, get_match
from mentoring.models import (
    CheckIn,
    Concern,
    Exchange,
    LeaderProfile,
    Match,
    ProgrammeRound,
    User,
)
from mentoring.models.outcomes import CheckInPoint, GoingWell, HaveMet
from mentoring.notifications.calendar import LONDON
from mentoring.notifications.outbox import absolute, enqueue, fit_key
from mentoring.notifications.plan import long_date
from mentoring.vocab import ExchangeStatus, MatchStatus, RoundStatus

ASK_AT = time(9, 0)
END_OPENS_BEFORE = timedelta(days=7)
QUIET_AFTER_MIDPOINT = timedelta(days=14)
FLAG_AFTER_NUDGE = timedelta(days=7)
# The end check-in is still asked for a while after the window closes (a late worker, a round
# approved late), not for ever.
END_ASKED_UNTIL = timedelta(days=30)
CONCERN_MAX_LENGTH = 4000
ANYTHING_MAX_LENGTH = 2000

POINT_LABELS = {CheckInPoint.MIDPOINT: "Mid-point check-in", CheckInPoint.END: "End check-in"}
HAVE_MET_LABELS = {HaveMet.YES: "Yes", HaveMet.NOT_YET: "Not yet"}
GOING_WELL_LABELS = {GoingWell.WELL: "Yes, it is going well", GoingWell.PARTLY: "Partly",
                     GoingWell.NOT_WELL: "No, not well"}
# The same answers in a few words, for the coordinators' table.
HAVE_MET_SHORT = {HaveMet.YES: "have met", HaveMet.NOT_YET: "not met yet"}
GOING_WELL_SHORT = {GoingWell.WELL: "going well", GoingWell.PARTLY: "going partly well",
                    GoingWell.NOT_WELL: "not going well"}
ROUNDS_RUNNING = (RoundStatus.OPEN, RoundStatus.MATCHING, RoundStatus.PUBLISHED)

ASK_KIND = "check-in-request"
NUDGE_KIND = "quiet-pair-nudge"
CONCERN_KIND = "concern-raised"
CHECKED_IN = "check_in.given"
CONCERN_RAISED = "concern.raised"


def _nine_am(day: date) -> datetime:
    return datetime.combine(day, ASK_AT, tzinfo=LONDON).astimezone(UTC)


@dataclass(frozen=True)
class RoundDates:
    """When a round asks its pairs how they are getting on."""

    midpoint: datetime
    end: datetime

    @classmethod
    def of(cls, programme_round: ProgrammeRound) -> RoundDates:
        middle = programme_round.starts_on + (
            programme_round.ends_on - programme_round.starts_on) / 2
        return cls(_nine_am(middle), _nine_am(programme_round.ends_on))

    @property
    def quiet_from(self) -> datetime:
        return self.midpoint + QUIET_AFTER_MIDPOINT

    @property
    def flagged_from(self) -> datetime:
        return self.quiet_from + FLAG_AFTER_NUDGE

    def asked_at(self, point: str) -> datetime:
        return self.midpoint if point == CheckInPoint.MIDPOINT else self.end

    def opens_at(self, point: str) -> datetime | None:
        """None: open as soon as the match is booked."""
        return None if point == CheckInPoint.MIDPOINT else self.end - END_OPENS_BEFORE


# --- a leader's check-in ------------------------------------------------------------------


@dataclass
class CheckInView:
    match: MatchView
    point: str
    dates: RoundDates
    mine: CheckIn | None

    @property
    def label(self) -> str:
        return POINT_LABELS[CheckInPoint(self.point)]

    def is_open(self, now: datetime) -> bool:
        opens = self.dates.opens_at(self.point)
        return (self.match.match.status == MatchStatus.ACCEPTED and self.mine is None
                and (opens is None or now >= opens))


def _point(point: str) -> str:
    if point not in tuple(CheckInPoint):
        raise LookupError(f"check-in point {point}")
    return point


def _mine(session: Session, me: LeaderProfile, match_id: int) -> dict[str, CheckIn]:
    return {row.point: row for row in session.exec(
        select(CheckIn).where(CheckIn.match_id == match_id, CheckIn.leader_id == me.id)).all()}


def get_check_in(session: Session, me: LeaderProfile, match_id: int, point: str) -> CheckInView:
    view = get_match(session, me, match_id)
    point = _point(point)
    dates = RoundDates.of(view.programme_round)
    return CheckInView(view, point, dates, _mine(session, me, match_id).get(point))


def my_check_ins(session: Session, me: LeaderProfile, view: MatchView,
                 now: datetime) -> list[tuple[CheckInView, bool]]:
    """Both check-ins of a match, for its page: (view, open now)."""
    if view.programme_round is None:
        return []
    dates = RoundDates.of(view.programme_round)
    mine = _mine(session, me, view.match.id)
    views = [CheckInView(view, point, dates, mine.get(point)) for point in CheckInPoint]
    return [(item, item.is_open(now)) for item in views]


def give_check_in(session: Session, me: LeaderProfile, user: User, match_id: int, point: str,
                  form, now: datetime) -> CheckIn:
    view = get_check_in(session, me, match_id, point)
    if view.mine is not None:
        raise LeaderError("You have already answered this check-in")
    if not view.is_open(now):
        opens = view.dates.opens_at(point)
        raise LeaderError(f"This check-in opens on {long_date(opens)}" if opens and now < opens
                          else "This check-in is closed: the match is not going ahead")
    errors: dict[str, str] = {}
    have_met = form.get("have_met", "")
    going_well = form.get("going_well", "")
    anything = str(form.get("anything_else", "") or "").replace("\r\n", "\n").strip()
    if have_met not in tuple(HaveMet):
        errors["have_met"] = "Select whether you have met"
    if going_well not in tuple(GoingWell):
        errors["going_well"] = "Select how it is going"
    if len(anything) > ANYTHING_MAX_LENGTH:
        errors["anything_else"] = f"Enter no more than {ANYTHING_MAX_LENGTH:,} characters"
    if errors:
        raise LeaderError(errors)
    check_in = CheckIn(match_id=match_id, round_id=view.match.match.round_id, leader_id=me.id,
                       point=point, have_met=have_met, going_well=going_well,
                       anything_else=anything, created_at=now)
    session.add(check_in)
    session.flush()
    audit.record(session, CHECKED_IN, actor=user, obj=check_in, detail={"point": point})
    return check_in


# --- concerns -----------------------------------------------------------------------------


def concern_page(session: Session, me: LeaderProfile, match_id: int) -> MatchView:
    """Any match a leader can see can have a concern raised about it (even an offer)."""
    return get_match(session, me, match_id)


def raise_concern(session: Session, me: LeaderProfile, user: User, match_id: int, text: str,
                  now: datetime) -> Concern:
    """Store the concern and email every coordinator a link to it (not its words: email is
    read in more places than the app). The other leader is never told."""
    from mentoring.offers.services import coordinators  # offers builds on exchanges, as we do

    view = concern_page(session, me, match_id)
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise LeaderError({"text": "Enter your concern"})
    if len(text) > CONCERN_MAX_LENGTH:
        raise LeaderError({"text": f"Enter no more than {CONCERN_MAX_LENGTH:,} characters"})
    concern = Concern(match_id=match_id, round_id=view.match.round_id, raised_by_id=me.id,
                      text=text, created_at=now)
    session.add(concern)
    session.flush()
    audit.record(session, CONCERN_RAISED, actor=user, obj=concern,
                 detail={"match_id": match_id})
    for coordinator in coordinators(session):
        enqueue(session, key=fit_key(f"{CONCERN_KIND}:{concern.id}:{coordinator.email}"),
                kind=CONCERN_KIND, recipient_email=coordinator.email,
                recipient_user_id=coordinator.user_id, round_id=view.match.round_id,
                subject=f"A leader has raised a concern: {me.name}",
                template="concern_raised",
                context={"leader_name": me.name, "other_name": view.other.name,
                         "round_name": view.programme_round.name if view.programme_round
                         else "",
                         "progress_url": absolute(
                             f"/rounds/{view.match.round_id}/pair-progress#concerns")},
                due_at=now)
    return concern


# --- quiet pairs and the worker's emails --------------------------------------------------


def _done_exchanges(session: Session, match_ids: list[int], now: datetime) -> dict[int, int]:
    """Exchanges that have taken place, per match."""
    if not match_ids:
        return {}
    done = sa.or_(Exchange.status == ExchangeStatus.COMPLETED,
                  sa.and_(Exchange.status == ExchangeStatus.SCHEDULED, Exchange.ends_at <= now))
    return dict(session.execute(
        sa.select(Exchange.match_id, sa.func.count())
        .where(Exchange.match_id.in_(match_ids), done)  # type: ignore[attr-defined]
        .group_by(Exchange.match_id)).all())


def _check_ins_of(session: Session, match_ids: list[int]) -> dict[int, list[CheckIn]]:
    found: dict[int, list[CheckIn]] = defaultdict(list)
    if match_ids:
        for row in session.exec(select(CheckIn).where(
                CheckIn.match_id.in_(match_ids))).all():  # type: ignore[attr-defined]
            found[row.match_id].append(row)
    return found


def is_quiet(done_exchanges: int, check_ins: int, dates: RoundDates, now: datetime) -> bool:
    """No exchange has taken place and neither leader has checked in, past the quiet date
    (and before the window ends: then the end check-in asks instead)."""
    return (done_exchanges == 0 and check_ins == 0
            and dates.quiet_from <= now < dates.end)


def is_flagged(done_exchanges: int, check_ins: int, dates: RoundDates, now: datetime) -> bool:
    """Still quiet a week after the nudge: the coordinators' pages flag the pair. A pair that
    stayed silent to the end stays flagged."""
    return done_exchanges == 0 and check_ins == 0 and now >= dates.flagged_from


def _reader(session: Session, leader: LeaderProfile) -> User | None:
    user = session.get(User, leader.user_id)
    return user if user is not None and user.email and user.is_active else None


def _email_leader(session: Session, kind: str, match: Match, leader: LeaderProfile,
                  other: LeaderProfile, key: str, subject: str, template: str,
                  context: dict, now: datetime) -> bool:
    user = _reader(session, leader)
    if user is None:
        return False
    return enqueue(session, key=fit_key(f"{key}:{user.email}"), kind=kind,
                   recipient_email=user.email, recipient_user_id=user.id,
                   round_id=match.round_id, subject=subject, template=template,
                   context={"name": leader.name, "other_name": other.name, **context},
                   due_at=now)


def plan_check_ins(session: Session, now: datetime) -> int:
    """The worker's job: ask for each check-in that is due and not yet given, and nudge quiet
    pairs. Each email is written once (its key), however often this runs."""
    written = 0
    rounds = {r.id: r for r in session.exec(select(ProgrammeRound).where(
        ProgrammeRound.status.in_(ROUNDS_RUNNING))).all()}  # type: ignore[attr-defined]
    if not rounds:
        return 0
    matches = session.exec(select(Match).where(
        Match.status == MatchStatus.ACCEPTED,
        Match.round_id.in_(list(rounds)))).all()  # type: ignore[attr-defined]
    match_ids = [match.id for match in matches]
    check_ins = _check_ins_of(session, match_ids)
    done = _done_exchanges(session, match_ids, now)
    people = {p.id: p for p in session.exec(select(LeaderProfile).where(
        LeaderProfile.id.in_({i for m in matches  # type: ignore[union-attr]
                              for i in (m.mentor_id, m.mentee_id)}))).all()}
    for match in matches:
        dates = RoundDates.of(rounds[match.round_id])
        answered = {(row.leader_id, row.point) for row in check_ins[match.id]}
        sides = ((people[match.mentor_id], people[match.mentee_id]),
                 (people[match.mentee_id], people[match.mentor_id]))
        due = []
        if dates.midpoint <= now < dates.end:
            due.append(CheckInPoint.MIDPOINT)
        if dates.end <= now < dates.end + END_ASKED_UNTIL:
            due.append(CheckInPoint.END)
        for point in due:
            for me, other in sides:
                if (me.id, point) in answered:
                    continue
                written += _email_leader(
                    session, ASK_KIND, match, me, other, f"{ASK_KIND}:{point}:{match.id}",
                    f"How is your leadership exchange with {other.name} going?",
                    "check_in_request",
                    {"point": point, "check_in_url": absolute(
                        f"/matches/{match.id}/check-in/{point}")}, now)
        if is_quiet(done.get(match.id, 0), len(check_ins[match.id]), dates, now):
            for me, other in sides:
                written += _email_leader(
                    session, NUDGE_KIND, match, me, other, f"{NUDGE_KIND}:{match.id}",
                    f"Have you and {other.name} been able to meet?", "quiet_pair_nudge",
                    {"match_url": absolute(f"/matches/{match.id}"),
                     "check_in_url": absolute(
                         f"/matches/{match.id}/check-in/{CheckInPoint.MIDPOINT}"),
                     "round_ends": long_date(dates.end)}, now)
    return written
