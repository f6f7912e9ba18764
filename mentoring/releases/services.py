"""A line manager's release of a leader's protected time for the exchanges of a booked match.

When both leaders accept a match in a round that asks for it, each leader's line manager (named
in the leader's profile) is emailed a link that shows the leader, the dates and the hours, and
lets them release the time or decline with a reason. They need no account. A decline is handled
like a request to move an exchange: the coordinators are emailed, it is listed on the round's
changes (a local re-optimisation may re-plan the pair's exchanges to come), and the leader is
told kindly. Leaders, coordinators and the dashboard see every answer; each one is audited.

The link is signed with the app's secret (`mentoring.auth.tokens`, purpose "time-release", 30
days) and names one `TimeRelease` and its nonce, so it is single-purpose (an altered token, or
another purpose's, does not read), single-use for the decision (recorded once, by a conditional
UPDATE; later visits show the answer) and ends with the last exchange it is about. A leader who
corrects their manager's address gets a new nonce: the old link stops working. No Flask here.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth.tokens import MAX_AGE_SECONDS, make_token, read_token
from mentoring.models import (
    Exchange,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    TimeRelease,
    User,
)
from mentoring.notifications.calendar import LONDON
from mentoring.notifications.outbox import absolute, enqueue, fit_key
from mentoring.notifications.plan import when
from mentoring.vocab import ExchangeStatus, MatchStatus, ReleaseStatus

PURPOSE = "time-release"
LINK_LIFETIME = timedelta(seconds=MAX_AGE_SECONDS[PURPOSE])
REASON_LIMIT = 1000
DECISIONS = {"release": ReleaseStatus.RELEASED, "decline": ReleaseStatus.DECLINED}


class Kind:
    REQUEST = "release-request"
    RELEASED_LEADER = "release-released-leader"
    DECLINED_LEADER = "release-declined-leader"
    DECLINED_COORDINATOR = "release-declined-coordinator"


class InvalidLink(LookupError):
    """Not a link we sent, altered, for another purpose, past 30 days, or replaced by a newer
    one (the leader corrected their manager's address)."""


class NotYours(PermissionError):
    """The leader whose time it is: only their line manager answers."""


class ReleaseError(ValueError):
    """An answer that cannot be recorded; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else errors
        super().__init__("; ".join(self.errors.values()))


# --- the signing secret ------------------------------------------------------------------------


@dataclass
class _Signing:
    secret: str = ""


_signing = _Signing()


def set_link_secret(secret: str) -> None:
    """Set once by `create_app` (web app, worker and CLI alike), as the base URL is: services
    write signed links into emails without a request."""
    _signing.secret = secret


def _secret() -> str:
    if not _signing.secret:
        raise RuntimeError("No secret to sign line managers' links with: create_app sets it")
    return _signing.secret


def link_for(release: TimeRelease) -> str:
    """The manager's link (absolute, for an email)."""
    token = make_token(_secret(), PURPOSE, {"r": release.id, "n": release.nonce})
    return absolute(f"/release/{token}")


# --- what the manager is asked about ----------------------------------------------------------


@dataclass(frozen=True)
class ExchangeLine:
    when: str
    hosting: bool  # the leader hosts (at their own workplace) rather than visits
    hours: float
    cancelled: bool = False


def _hours(exchange: Exchange) -> float:
    return (exchange.ends_at - exchange.starts_at).total_seconds() / 3600


def _lines(exchanges: list[Exchange], leader: LeaderProfile) -> list[ExchangeLine]:
    return [ExchangeLine(when(x.starts_at, x.ends_at), x.host_id == leader.id, _hours(x),
                         x.status == ExchangeStatus.CANCELLED) for x in exchanges]


def total_hours(lines: list[ExchangeLine]) -> float:
    return sum(line.hours for line in lines if not line.cancelled)


def _day(moment: datetime) -> str:
    """'Thursday 14 January 2027' in London time."""
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y}"


def _to_come(session: Session, match: Match, now: datetime) -> list[Exchange]:
    return list(session.exec(
        select(Exchange).where(Exchange.match_id == match.id,
                               Exchange.status == ExchangeStatus.SCHEDULED,
                               Exchange.starts_at > now)
        .order_by(Exchange.starts_at, Exchange.id)
    ).all())


def _asked_exchanges(session: Session, release: TimeRelease) -> list[Exchange]:
    ids = [exchange_id for exchange_id, _ in release.exchanges]
    if not ids:
        return []
    return list(session.exec(
        select(Exchange).where(Exchange.id.in_(ids))  # type: ignore[union-attr]
        .order_by(Exchange.starts_at, Exchange.id)
    ).all())


def _booked_to_come(exchanges: list[Exchange], now: datetime) -> list[Exchange]:
    return [x for x in exchanges if x.status == ExchangeStatus.SCHEDULED and x.starts_at > now]


def _still_as_asked(release: TimeRelease, exchanges: list[Exchange], now: datetime) -> list[int]:
    """The asked-about exchanges that are still to come, booked, and not moved since."""
    asked = {exchange_id: sequence for exchange_id, sequence in release.exchanges}
    return [x.id for x in _booked_to_come(exchanges, now) if asked.get(x.id) == x.sequence]


# --- asking --------------------------------------------------------------------------------------


def _release_of(session: Session, match_id: int, leader_id: int) -> TimeRelease | None:
    return session.exec(select(TimeRelease).where(TimeRelease.match_id == match_id,
                                                  TimeRelease.leader_id == leader_id)).first()


def request_releases(session: Session, match: Match, now: datetime) -> int:
    """A match has just been booked: when its round asks, email each leader's line manager a
    link to release the time. A leader who named no line manager is not asked yet: their match
    page says so, and naming one asks then (`ask_after_profile_change`). Returns how many
    managers were emailed. The caller commits."""
    programme_round = session.get(ProgrammeRound, match.round_id)
    if programme_round is None or not programme_round.ask_line_manager_release:
        return 0
    mentor = session.get(LeaderProfile, match.mentor_id)
    mentee = session.get(LeaderProfile, match.mentee_id)
    return sum(_ask(session, programme_round, match, leader, partner, now)
               for leader, partner in ((mentor, mentee), (mentee, mentor)))


def request_for_round(session: Session, programme_round: ProgrammeRound, now: datetime) -> int:
    """The round has just started asking: ask for every match already booked."""
    matches = session.exec(select(Match).where(Match.round_id == programme_round.id,
                                               Match.status == MatchStatus.ACCEPTED)).all()
    return sum(request_releases(session, match, now) for match in matches)


def ask_after_profile_change(session: Session, leader: LeaderProfile, now: datetime) -> int:
    """The leader has saved their profile: ask their line manager about booked matches in rounds
    that ask and that nobody has asked them about yet, or whose request went to an address the
    leader has since corrected (before an answer)."""
    if not leader.line_manager_email:
        return 0
    rows = session.exec(
        select(Match, ProgrammeRound)
        .join(ProgrammeRound, ProgrammeRound.id == Match.round_id)
        .where(Match.status == MatchStatus.ACCEPTED, ProgrammeRound.ask_line_manager_release,
               sa.or_(Match.mentor_id == leader.id, Match.mentee_id == leader.id))
    ).all()
    asked = 0
    for match, programme_round in rows:
        partner = session.get(LeaderProfile, match.mentee_id if match.mentor_id == leader.id
                              else match.mentor_id)
        asked += _ask(session, programme_round, match, leader, partner, now)
    return asked


def _ask(session: Session, programme_round: ProgrammeRound, match: Match,
         leader: LeaderProfile, partner: LeaderProfile, now: datetime) -> bool:
    if not leader.line_manager_email:
        return False
    exchanges = _to_come(session, match, now)
    if not exchanges:
        return False
    release = _release_of(session, match.id, leader.id)
    if release is not None and (release.status != ReleaseStatus.REQUESTED
                                or release.manager_email == leader.line_manager_email):
        return False  # answered already, or this manager has the link
    replaced = release.manager_email if release is not None else ""
    release = release or TimeRelease(match_id=match.id, leader_id=leader.id)
    release.manager_name = leader.line_manager_name
    release.manager_email = leader.line_manager_email
    release.nonce = secrets.token_urlsafe(24)  # a new link: any earlier one stops working
    release.exchanges = [[x.id, x.sequence] for x in exchanges]
    release.requested_at = now
    # No point releasing time once the exchanges are over.
    release.expires_at = min(now + LINK_LIFETIME, max(x.ends_at for x in exchanges))
    session.add(release)
    session.flush()
    detail = {"match_id": match.id, "leader_id": leader.id,
              "manager_email": release.manager_email}
    if replaced:
        detail["replaces"] = replaced
    audit.record(session, "time_release.requested", obj=release, detail=detail)
    organisation = session.get(Organisation, leader.organisation_id) if (
        leader.organisation_id) else None
    lines = _lines(exchanges, leader)
    return enqueue(
        session, key=fit_key(f"{Kind.REQUEST}:{release.id}:{now.isoformat()}"),
        kind=Kind.REQUEST, recipient_email=release.manager_email, round_id=match.round_id,
        subject=f"Please release {leader.name}'s time for the leadership exchange",
        template="release_request", due_at=now, context={
            "name": release.manager_name,
            "leader_name": leader.name,
            "leader_job_title": leader.job_title,
            "leader_organisation": organisation.name if organisation else "",
            "partner_name": partner.name,
            "round_name": programme_round.name,
            "exchanges": lines,
            "total_hours": total_hours(lines),
            "protected_hours_per_month": leader.protected_hours_per_month,
            "link_url": link_for(release),
            "expires_on": _day(release.expires_at),
        })


# --- the manager's link ----------------------------------------------------------------------


class LinkState:
    OPEN = "open"  # waiting for the manager's answer
    ANSWERED = "answered"
    EXPIRED = "expired"  # no answer by the end of the link's life
    ENDED = "ended"  # the match or all its exchanges to come are no longer going ahead


@dataclass
class ReleaseLink:
    release: TimeRelease
    leader: LeaderProfile
    partner: LeaderProfile
    match: Match
    programme_round: ProgrammeRound | None
    organisation: str
    lines: list[ExchangeLine]
    state: str

    @property
    def total_hours(self) -> float:
        return total_hours(self.lines)

    def is_leader(self, user_id: int | None) -> bool:
        return user_id is not None and user_id == self.leader.user_id


def open_link(session: Session, token: str, now: datetime) -> ReleaseLink:
    """What the link shows, and whether it can still be answered. InvalidLink otherwise."""
    payload = read_token(_secret(), PURPOSE, token)
    release_id = payload.get("r") if payload else None
    release = session.get(TimeRelease, release_id) if isinstance(release_id, int) else None
    if release is None or not hmac.compare_digest(str(payload.get("n", "")), release.nonce):
        raise InvalidLink(token)
    match = session.get(Match, release.match_id)
    leader = session.get(LeaderProfile, release.leader_id)
    partner = session.get(LeaderProfile, match.mentee_id if match.mentor_id == leader.id
                          else match.mentor_id)
    organisation = session.get(Organisation, leader.organisation_id) if (
        leader.organisation_id) else None
    exchanges = _asked_exchanges(session, release)
    if release.status != ReleaseStatus.REQUESTED:
        state = LinkState.ANSWERED
    elif match.status != MatchStatus.ACCEPTED or not _booked_to_come(exchanges, now):
        # (An exchange moved since the email is still to answer: the page shows its new date.)
        state = LinkState.ENDED
    elif now >= release.expires_at:
        state = LinkState.EXPIRED
    else:
        state = LinkState.OPEN
    return ReleaseLink(release=release, leader=leader, partner=partner, match=match,
                       programme_round=session.get(ProgrammeRound, match.round_id),
                       organisation=organisation.name if organisation else "",
                       lines=_lines(exchanges, leader), state=state)


def decide(session: Session, link: ReleaseLink, decision: str, reason: str, now: datetime,
           *, viewer_user_id: int | None = None, ip: str = "") -> TimeRelease:
    """Record the manager's answer once: released, or declined with a reason. The leader is
    told either way; a decline also reaches the coordinators. The caller commits."""
    if link.is_leader(viewer_user_id):
        raise NotYours("only the leader's line manager answers")
    if link.state != LinkState.OPEN:
        raise ReleaseError("This request cannot be answered any more")
    errors = {}
    status = DECISIONS.get(decision)
    if status is None:
        errors["decision"] = "Select whether you can release this time"
    reason = (reason or "").strip()
    if status == ReleaseStatus.DECLINED:
        if not reason:
            errors["reason"] = "Tell us why you cannot release this time"
        elif len(reason) > REASON_LIMIT:
            errors["reason"] = f"Enter no more than {REASON_LIMIT} characters"
    if errors:
        raise ReleaseError(errors)
    release = link.release
    if status == ReleaseStatus.RELEASED:
        reason = ""  # the form sends the reason only for a decline
    # Once only, even when two answers arrive at the same moment.
    recorded = session.execute(
        sa.update(TimeRelease)
        .where(TimeRelease.id == release.id, TimeRelease.nonce == release.nonce,
               TimeRelease.status == ReleaseStatus.REQUESTED)
        .values(status=status, decided_at=now, reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not recorded:
        raise ReleaseError("This request has already been answered")
    session.refresh(release)
    link.state = LinkState.ANSWERED
    audit.record(session, f"time_release.{status}", obj=release, ip=ip, detail={
        "match_id": release.match_id, "leader_id": release.leader_id,
        "by": "line manager", "manager_email": release.manager_email, "reason": reason})
    if status == ReleaseStatus.RELEASED:
        _tell_leader(session, link, Kind.RELEASED_LEADER, "release_released_leader",
                     "Your line manager has released your time for the leadership exchange",
                     now)
    else:
        _tell_leader(session, link, Kind.DECLINED_LEADER, "release_declined_leader",
                     "About the time for your leadership exchange", now)
        _tell_coordinators(session, link, now)
    session.flush()
    return release


def _manager_called(release: TimeRelease) -> str:
    return release.manager_name or release.manager_email


def _tell_leader(session: Session, link: ReleaseLink, kind: str, template: str, subject: str,
                 now: datetime) -> None:
    user = session.get(User, link.leader.user_id)
    if user is None:
        return
    release = link.release
    enqueue(session, key=fit_key(f"{kind}:{release.id}:{release.nonce}"), kind=kind,
            recipient_email=user.email, recipient_user_id=user.id,
            round_id=link.match.round_id, subject=subject, template=template, due_at=now,
            context={"name": link.leader.name, "manager": _manager_called(release),
                     "partner_name": link.partner.name, "reason": release.reason,
                     "exchanges": link.lines,
                     "match_url": absolute(f"/matches/{link.match.id}")})


def _tell_coordinators(session: Session, link: ReleaseLink, now: datetime) -> None:
    # Imported here: offers books the match and calls this module when it does.
    from mentoring.offers.services import coordinators

    release = link.release
    for coordinator in coordinators(session):
        enqueue(session, key=fit_key(f"{Kind.DECLINED_COORDINATOR}:{release.id}:"
                                     f"{release.nonce}:{coordinator.email}"),
                kind=Kind.DECLINED_COORDINATOR, recipient_email=coordinator.email,
                recipient_user_id=coordinator.user_id, round_id=link.match.round_id,
                subject=f"Time not released: {link.leader.name} and {link.partner.name}",
                template="release_declined_coordinator", due_at=now, context={
                    "name": coordinator.name, "leader_name": link.leader.name,
                    "partner_name": link.partner.name, "manager": _manager_called(release),
                    "manager_email": release.manager_email, "reason": release.reason,
                    "exchanges": link.lines,
                    "changes_url": absolute(f"/rounds/{link.match.round_id}/changes")})


# --- what leaders and coordinators see -----------------------------------------------------


@dataclass(frozen=True)
class LeaderRelease:
    """A leader's view of their line manager's release, on their match page."""

    release: TimeRelease | None
    has_manager: bool

    @property
    def status(self) -> str:
        return self.release.status if self.release else ""


def for_leader(session: Session, match: Match, leader: LeaderProfile) -> LeaderRelease | None:
    """None when there is nothing to say: the match is not booked, or its round does not ask
    (and never asked this leader's manager)."""
    if match.status != MatchStatus.ACCEPTED:
        return None
    release = _release_of(session, match.id, leader.id)
    if release is None:
        programme_round = session.get(ProgrammeRound, match.round_id)
        if programme_round is None or not programme_round.ask_line_manager_release:
            return None
    return LeaderRelease(release, bool(leader.line_manager_email))


@dataclass(frozen=True)
class ReleaseRow:
    release: TimeRelease
    leader_name: str
    partner_name: str
    expired: bool  # asked, and the link ran out without an answer


@dataclass(frozen=True)
class ReleaseCounts:
    """Booked leaders of a round by their line manager's answer."""

    asks: bool  # the round asks line managers to release the time
    released: int = 0
    declined: int = 0
    waiting: int = 0
    not_asked: int = 0  # booked leaders whose manager was never asked (no email given)
    rows: list[ReleaseRow] = field(default_factory=list)  # waiting and declined, for follow-up

    @property
    def shown(self) -> bool:
        return self.asks or bool(self.released + self.declined + self.waiting)


def release_counts(session: Session, programme_round: ProgrammeRound) -> ReleaseCounts:
    """Booked leaders of the round by their line manager's answer, in one aggregate query (for
    the dashboard, whose figures each come from a fixed number of queries)."""
    def answered(status: ReleaseStatus):
        return sa.func.coalesce(sa.func.sum(sa.case((TimeRelease.status == status, 1),
                                                    else_=0)), 0)

    booked, asked, released, declined, waiting = session.execute(
        sa.select(sa.func.count(sa.distinct(Match.id)), sa.func.count(TimeRelease.id),
                  answered(ReleaseStatus.RELEASED), answered(ReleaseStatus.DECLINED),
                  answered(ReleaseStatus.REQUESTED))
        .select_from(Match).outerjoin(TimeRelease, TimeRelease.match_id == Match.id)
        .where(Match.round_id == programme_round.id, Match.status == MatchStatus.ACCEPTED)
    ).one()
    asks = programme_round.ask_line_manager_release
    return ReleaseCounts(asks=asks, released=released, declined=declined, waiting=waiting,
                         not_asked=(2 * booked - asked) if asks else 0)


def round_releases(session: Session, round_id: int, now: datetime) -> ReleaseCounts:
    """The counts, and the releases a coordinator follows up (waiting or not released), with
    the leaders' names: for the changes page."""
    programme_round = session.get(ProgrammeRound, round_id)
    if programme_round is None:
        return ReleaseCounts(asks=False)
    leader = aliased(LeaderProfile)
    partner = aliased(LeaderProfile)
    partner_id = sa.case((Match.mentor_id == TimeRelease.leader_id, Match.mentee_id),
                         else_=Match.mentor_id)
    found = session.exec(
        select(TimeRelease, leader.name, partner.name)
        .join(Match, Match.id == TimeRelease.match_id)
        .join(leader, leader.id == TimeRelease.leader_id)
        .join(partner, partner.id == partner_id)
        .where(Match.round_id == round_id, Match.status == MatchStatus.ACCEPTED,
               TimeRelease.status != ReleaseStatus.RELEASED)
        .order_by(TimeRelease.requested_at, TimeRelease.id)
    ).all()
    counts = release_counts(session, programme_round)
    return replace(counts, rows=[
        ReleaseRow(release, leader_name, partner_name,
                   expired=release.status == ReleaseStatus.REQUESTED
                   and release.expires_at <= now)
        for release, leader_name, partner_name in found])


@dataclass(frozen=True)
class OpenDecline:
    """A declined release whose exchanges are still to come as they were asked about: a change
    for the coordinators, like a request to move."""

    release: TimeRelease
    match: Match
    exchange_ids: list[int]
    lines: list[ExchangeLine]


def open_declines(session: Session, round_id: int, now: datetime,
                  since: datetime | None = None) -> list[OpenDecline]:
    query = (
        select(TimeRelease, Match).join(Match, Match.id == TimeRelease.match_id)
        .where(Match.round_id == round_id, Match.status == MatchStatus.ACCEPTED,
               TimeRelease.status == ReleaseStatus.DECLINED)
        .order_by(TimeRelease.decided_at, TimeRelease.id)
    )
    if since is not None:
        query = query.where(TimeRelease.decided_at > since)
    found = []
    for release, match in session.exec(query).all():
        exchanges = _asked_exchanges(session, release)
        still = _still_as_asked(release, exchanges, now)
        if still:
            leader = session.get(LeaderProfile, release.leader_id)
            found.append(OpenDecline(release, match, still, [
                line for line, x in zip(_lines(exchanges, leader), exchanges, strict=True)
                if x.id in still]))
    return found
