"""Decisions by hand: a pair the coordinator makes, an exchange date they choose or move.

Every hand decision is checked by the optimiser's own independent checker
(`optimiser.check_solution`) against the round's approved state, exactly as a proposal would
be: free half-days, closed days (bank holidays and blackouts, which are not slots of the round's
problem at all), protected time per month, hosting per week, the notice a host's organisation
needs, spacing between a pair's exchanges, reciprocal hosting, one exchange per leader per
half-day, and the pairing rules (roles, capacity, one mentor per mentee, forbidden pairs, one
organisation). Only what the decision adds is refused: a rule the approved state already breaks
(an exchange on a day that closed since) is the changes page's business, not this one's.

After the check a hand-made pair follows the lifecycle of an approved one (an offer to both
leaders, its exchanges held, booked when both accept: mentoring.offers), and a date chosen or
moved by hand is held or booked, and moved, the way approval does it (same calendar UID,
SEQUENCE + 1, the update through the outbox: mentoring.notifications.plan).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mentoring import audit
from mentoring.calendar_days import ClosedDays, closed_days
from mentoring.configuration import vocabularies
from mentoring.exchanges.services import RESCHEDULE_REQUESTED
from mentoring.exchanges.visits import copy_from_host
from mentoring.matching.half_day_filter import HalfDayFilter, read_wish
from mentoring.matching.problem import (
    build_problem,
    exchange_slot,
    live_exchanges,
    live_matches,
    parse_slot,
    readable_reason,
    slot_id,
)
from mentoring.matching.runs import RUNNABLE_ROUND_STATUSES
from mentoring.models import (
    AuditEvent,
    Exchange,
    ExchangeBooking,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.notifications.plan import plan_exchange, reschedule_exchange
from mentoring.offers.services import make_offer, send_offer
from mentoring.slots import bounds, describe
from mentoring.visits.checks import open_checklist
from mentoring.visits.notice import london_date
from mentoring.vocab import (
    ACTIVE_EXCHANGE_STATUSES,
    LIVE_MATCH_STATUSES,
    ExchangeStatus,
    MatchStatus,
    ParticipantStatus,
    RoundStatus,
)
from optimiser import (
    ExchangeResult,
    Fixed,
    PairResult,
    Problem,
    Solution,
    check_solution,
    load_problem,
    score_pair,
)

# How far ahead the half-day lists look when the coordinator gives no dates.
DEFAULT_WEEKS_AHEAD = 12
PREPARATION = "Read each other's profiles and agree one question to explore."


class HandError(Exception):
    """A hand decision that cannot be taken: messages by form field ("" for the page)."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


# --- the checker's findings, in a coordinator's words ------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One rule a decision would break: what the checker said, and what a coordinator reads.
    `rule` names the rule; `slot`, `leader`, `month`, `week` and `dates` say where, so that
    the message can stand beside the field that chose it."""

    rule: str
    text: str
    leader: str = ""
    slot: str = ""
    month: tuple[int, int] | None = None  # (year, month)
    week: tuple[int, int] | None = None  # ISO (year, week)
    dates: tuple[date, ...] = ()


# (Findings are compared without their position in the solution: "exchanges[3] " is optional.)
_EXCHANGE = (r"^(?:exchanges\[\d+\] )?\('(?P<host>[^']*)' hosts '(?P<visitor>[^']*)' "
             r"in '(?P<slot>[^']*)'\): ")
_PAIR = r"^(?:pairs\[\d+\] )?\('(?P<mentor>[^']*)', '(?P<mentee>[^']*)'\): "
# The checker's messages (optimiser/check.py), one pattern per rule. A message no pattern reads
# is shown as the checker wrote it, so that a new rule is never silently let through.
_PATTERNS: list[tuple[str, re.Pattern]] = [(rule, re.compile(pattern)) for rule, pattern in [
    ("closed", _EXCHANGE + r"unknown slot or leader"),
    ("no_exchanges", _EXCHANGE + r"exchange although"),
    ("not_a_pair", _EXCHANGE + r"the two leaders are not a formed pair"),
    ("notice", _EXCHANGE + r"'(?P<leader>[^']*)' cannot host before (?P<when>\S+)"),
    ("availability", _EXCHANGE + r"'(?P<leader>[^']*)' is not available in that slot"),
    ("double_booked", r"^'(?P<leader>[^']*)' is in (?P<count>\d+) exchanges in slot "
                      r"'(?P<slot>[^']*)'"),
    ("protected_time", r"^'(?P<leader>[^']*)' has (?P<hours>[\d.]+) exchange hours in "
                       r"(?P<year>\d{4})-(?P<month>\d{2}), protected (?P<cap>[\d.]+)"),
    ("hosting_limit", r"^'(?P<leader>[^']*)' hosts (?P<count>\d+) exchanges in ISO week "
                      r"(?P<year>\d{4})-W(?P<week>\d{2}), at most (?P<cap>\d+)"),
    ("count", r"^pair \('(?P<mentor>[^']*)', '(?P<mentee>[^']*)'\): (?P<count>\d+) exchanges, "
              r"(?P<wanted>\d+) required"),
    ("spacing", r"^pair \('(?P<mentor>[^']*)', '(?P<mentee>[^']*)'\): exchanges on "
                r"(?P<a>[\d-]+) and (?P<b>[\d-]+) are less than (?P<days>\d+) days apart"),
    ("reciprocity", r"^pair \('(?P<mentor>[^']*)', '(?P<mentee>[^']*)'\): hosting is not "
                    r"reciprocal"),
    ("not_mentor", _PAIR + r"'(?P<leader>[^']*)' is not a mentor"),
    ("not_mentee", _PAIR + r"'(?P<leader>[^']*)' does not want a mentor"),
    ("excluded", _PAIR + r"the pair is excluded"),
    # repr() quotes a name with an apostrophe ("King's College Hospital") in double quotes
    ("same_organisation", _PAIR + r"both in organisation (?P<quote>['\"])(?P<organisation>.*)"
                                  r"(?P=quote)$"),
    ("has_mentor", _PAIR + r"mentee '(?P<leader>[^']*)' already has mentor "
                           r"'(?P<other>[^']*)'"),
    ("self", _PAIR + r"a leader paired with themselves"),
    ("mutual", r"^'(?P<mentor>[^']*)' and '(?P<mentee>[^']*)' are each other's mentor"),
    ("capacity", r"^mentor '(?P<leader>[^']*)' has (?P<count>\d+) mentees, capacity "
                 r"(?P<cap>\d+)"),
]]


def _without_position(message: str) -> str:
    """The same finding whatever the position of its pair or exchange in the solution."""
    return re.sub(r"^(exchanges|pairs)\[\d+\] ", "", message)


@dataclass
class Names:
    leaders: dict[str, str]
    closed: ClosedDays
    window: tuple[date, date]

    def __call__(self, leader_id: str) -> str:
        return self.leaders.get(leader_id, f"leader {leader_id}")


def read_finding(message: str, names: Names) -> Finding:
    """One message of the checker as a `Finding` a coordinator understands."""
    for rule, pattern in _PATTERNS:
        found = pattern.match(message)
        if found:
            return _READERS[rule](found.groupdict(), names)
    return Finding("other", f"The optimiser's checker refuses this: {message}")


def _half_day(slot: str) -> str:
    return describe(*parse_slot(slot))


def _closed(g, names) -> Finding:
    day, _ = parse_slot(g["slot"])
    label = names.closed.label(day)
    first, last = names.window
    if label:
        text = f"{_half_day(g['slot'])} is closed ({label}): no exchange can take place then"
    elif not first <= day <= last:
        text = (f"{_half_day(g['slot'])} is outside the round's window "
                f"({first.day} {first:%B %Y} to {last.day} {last:%B %Y})")
    else:
        text = f"{_half_day(g['slot'])} is not a half-day of this round"
    return Finding("closed", text, slot=g["slot"])


def _notice(g, names) -> Finding:
    first = datetime.fromisoformat(g["when"]).date()
    return Finding("notice", f"{names(g['leader'])} cannot host before {first:%A} {first.day} "
                             f"{first:%B %Y}: their organisation needs that much notice",
                   leader=g["leader"], slot=g["slot"])


def _hours(value: str) -> str:
    number = float(value)
    return f"{number:g} hour{'s' if number != 1 else ''}"


def _protected(g, names) -> Finding:
    month = date(int(g["year"]), int(g["month"]), 1)
    return Finding(
        "protected_time",
        f"{names(g['leader'])} would have {_hours(g['hours'])} of exchanges in "
        f"{month:%B %Y}: their protected time is {_hours(g['cap'])} a month",
        leader=g["leader"], month=(month.year, month.month))


def _hosting(g, names) -> Finding:
    monday = date.fromisocalendar(int(g["year"]), int(g["week"]), 1)
    cap = int(g["cap"])
    return Finding(
        "hosting_limit",
        f"{names(g['leader'])} would host {g['count']} exchanges in the week of "
        f"{monday:%A} {monday.day} {monday:%B}: they host at most {cap} a week",
        leader=g["leader"], week=(int(g["year"]), int(g["week"])))


def _spacing(g, names) -> Finding:
    a, b = date.fromisoformat(g["a"]), date.fromisoformat(g["b"])
    return Finding(
        "spacing",
        f"The pair's exchanges on {a:%A} {a.day} {a:%B} and {b:%A} {b.day} {b:%B} would be "
        f"less than {g['days']} days apart, the round's spacing between exchanges",
        dates=(a, b))


_READERS = {
    "closed": _closed,
    "notice": _notice,
    "protected_time": _protected,
    "hosting_limit": _hosting,
    "spacing": _spacing,
    "no_exchanges": lambda g, names: Finding(
        "no_exchanges", "This round has no exchanges: pairs are made without dates",
        slot=g["slot"]),
    "not_a_pair": lambda g, names: Finding(
        "not_a_pair", f"{names(g['host'])} and {names(g['visitor'])} are not a pair",
        slot=g["slot"]),
    "availability": lambda g, names: Finding(
        "availability", f"{names(g['leader'])} is not free on {_half_day(g['slot'])}",
        leader=g["leader"], slot=g["slot"]),
    "double_booked": lambda g, names: Finding(
        "double_booked",
        f"{names(g['leader'])} already has an exchange on {_half_day(g['slot'])}",
        leader=g["leader"], slot=g["slot"]),
    "count": lambda g, names: Finding(
        "count", f"The pair needs {g['wanted']} exchanges; {g['count']} chosen"),
    "reciprocity": lambda g, names: Finding(
        "reciprocity", "Each of the two must host at least one exchange: the round's rule is "
                       "that hosting is reciprocal"),
    "not_mentor": lambda g, names: Finding(
        "not_mentor", f"{names(g['leader'])} does not offer to mentor", leader=g["leader"]),
    "not_mentee": lambda g, names: Finding(
        "not_mentee", f"{names(g['leader'])} has not asked for a mentor", leader=g["leader"]),
    "excluded": lambda g, names: Finding(
        "excluded", "This pair is forbidden, or was declined or cancelled earlier in this "
                    "round"),
    "same_organisation": lambda g, names: Finding(
        "same_organisation", f"Both work for {g['organisation']}: this round does not pair "
                             "leaders of one organisation"),
    "has_mentor": lambda g, names: Finding(
        "has_mentor", f"{names(g['leader'])} already has a mentor in this round: "
                      f"{names(g['other'])}", leader=g["leader"]),
    "self": lambda g, names: Finding("self", "Choose two different leaders"),
    "mutual": lambda g, names: Finding(
        "mutual", f"{names(g['mentor'])} and {names(g['mentee'])} are already paired the "
                  "other way round"),
    "capacity": lambda g, names: Finding(
        "capacity", f"{names(g['leader'])} can mentor {g['cap']} "
                    f"mentee{'s' if g['cap'] != '1' else ''} and already has "
                    f"{int(g['count']) - 1}", leader=g["leader"]),
}


# --- the round as the checker sees it, around two leaders ---------------------------------------


@dataclass(frozen=True)
class Pair:
    mentor_id: int
    mentee_id: int

    @property
    def ids(self) -> tuple[str, str]:
        return str(self.mentor_id), str(self.mentee_id)


@dataclass(frozen=True)
class Planned:
    """An exchange as the checker sees it: who hosts whom, in which half-day."""

    host_id: int
    visitor_id: int
    slot: str

    def result(self) -> ExchangeResult:
        return ExchangeResult(str(self.host_id), str(self.visitor_id), self.slot)


class RoundCheck:
    """The round's problem (built as a run's would be, with today's notice), cut down to the
    two leaders of a pair and the partners of their approved matches, and that approved state
    as a solution. `findings` says what a change to it would break that it did not already."""

    def __init__(self, session: Session, programme_round: ProgrammeRound, pair: Pair,
                 now: datetime) -> None:
        self.programme_round = programme_round
        self.pair = pair
        two = (pair.mentor_id, pair.mentee_id)
        matches = list(session.exec(
            select(Match).where(Match.round_id == programme_round.id,
                                Match.status.in_(LIVE_MATCH_STATUSES),  # type: ignore[attr-defined]
                                sa.or_(Match.mentor_id.in_(two), Match.mentee_id.in_(two)))
            .order_by(Match.id)).all())
        kept = set(two) | {leader for m in matches for leader in (m.mentor_id, m.mentee_id)}
        document = build_problem(session, programme_round, london_date(now), only=kept)
        in_problem = {int(leader["id"]) for leader in document["leaders"]}
        missing = [leader for leader in two if leader not in in_problem]
        if missing:
            raise HandError({"mentor" if missing[0] == pair.mentor_id else "mentee":
                             "Choose a leader who has joined the round and agreed to take part"})
        # A partner who left the round is no longer in the problem: their pair no longer counts.
        self.matches = [m for m in matches if {m.mentor_id, m.mentee_id} <= in_problem]
        document = {**document, "pinned": []}  # pins bind runs, not the coordinator's own hand
        self.problem: Problem = load_problem(document)
        self.exchanges = live_exchanges(session, self.matches)
        self.approved = [Planned(x.host_id, x.visitor_id, exchange_slot(x))
                         for x in self.exchanges]
        self._leaders = {leader.id: leader for leader in self.problem.leaders}
        self.names = Names(
            {str(leader_id): name for leader_id, name in session.exec(
                select(LeaderProfile.id, LeaderProfile.name)
                .where(LeaderProfile.id.in_(kept))).all()},  # type: ignore[union-attr]
            closed_days(session, programme_round),
            (programme_round.starts_on, programme_round.ends_on))
        self.free = {leader.id: set(leader.available) for leader in self.problem.leaders}
        # Approved exchanges are exempt from the notice rule (they were approved in time).
        self.fixed = Fixed(exchanges=tuple(p.result() for p in self.approved))
        self._baseline = self._violations(self._pairs(with_new_pair=False), self.approved)

    # The pairs of the solution: the approved ones, and the new one if it is not yet.
    def _pairs(self, with_new_pair: bool) -> list[Pair]:
        pairs = [Pair(m.mentor_id, m.mentee_id) for m in self.matches]
        if with_new_pair and self.pair not in pairs:
            pairs.append(self.pair)
        return pairs

    @property
    def is_new_pair(self) -> bool:
        return self.pair not in self._pairs(with_new_pair=False)

    def _violations(self, pairs: list[Pair], exchanges: list[Planned]) -> set[str]:
        rules = self.problem.rules
        results, objective = [], 0.0
        for pair in pairs:
            mentor, mentee = (self._leaders.get(i) for i in pair.ids)
            score = score_pair(mentor, mentee, rules.weights)[0] if mentor and mentee else 0.0
            results.append(PairResult(*pair.ids, score=score))
            objective += rules.match_bonus + score + (
                rules.priority_bonus if mentee is not None and mentee.priority else 0)
        solution = Solution(status="feasible", objective=objective, bound=None,
                            pairs=tuple(results),
                            exchanges=tuple(planned.result() for planned in exchanges))
        return {_without_position(message)
                for message in check_solution(self.problem, solution, fixed=self.fixed)}

    def findings(self, exchanges: list[Planned], *, complete: bool = True) -> list[Finding]:
        """What the round's rules refuse in the approved state with the new pair (if it is new)
        and `exchanges` in place of the pair's approved ones. With `complete` False the pair's
        exchanges are not all chosen yet, and their number is not held against it."""
        own = set(self.pair.ids)
        others = [p for p in self.approved if {str(p.host_id), str(p.visitor_id)} != own]
        found = self._violations(self._pairs(with_new_pair=True), others + exchanges)
        findings = [read_finding(message, self.names)
                    for message in sorted(found - self._baseline)]
        # The checker does not count an exchange on a closed day (no such half-day): the pair
        # then seems one short, which says nothing the closed day does not.
        closed = any(f.rule == "closed" for f in findings)
        return [f for f in findings if f.rule != "count" or (complete and not closed)]

    def score(self, pair: Pair) -> tuple[float, list[str]]:
        """The pair's score and its reasons, as the optimiser scores a proposal."""
        mentor, mentee = (self._leaders[leader] for leader in pair.ids)
        score, reasons = score_pair(mentor, mentee, self.problem.rules.weights)
        return float(score), list(reasons)

    def common_free(self) -> list[tuple[date, str]]:
        """The half-days both are free (closed days are not half-days of the problem)."""
        mentor, mentee = self.pair.ids
        return sorted(parse_slot(slot) for slot in self.free.get(mentor, set())
                      & self.free.get(mentee, set()))

    def name(self, leader_id: int) -> str:
        return self.names(str(leader_id))


def pair_problems(check: RoundCheck) -> list[str]:
    """What the pairing rules say of the pair itself, before any date is chosen: a mentee who
    has a mentor, a mentor with no room, one organisation, a forbidden pair."""
    if not check.is_new_pair:
        return ["These two are already a pair in this round: choose or move their dates from "
                "the list of pairs"]
    return [finding.text for finding in check.findings([], complete=False)]


# --- half-days, each marked whether it fits -----------------------------------------------------


@dataclass(frozen=True)
class HalfDay:
    day: date
    period: str
    # who may host it without breaking a rule (the exchange's own host, when moving one)
    fitting_hosts: tuple[int, ...]
    reasons: tuple[str, ...]  # why not, when it does not fit (the closest host's reasons)

    @property
    def slot(self) -> str:
        return slot_id(self.day, self.period)

    @property
    def label(self) -> str:
        return describe(self.day, self.period)

    @property
    def fits(self) -> bool:
        return bool(self.fitting_hosts)


@dataclass
class Week:
    monday: date
    half_days: list[HalfDay] = field(default_factory=list)

    @property
    def fitting(self) -> int:
        return sum(1 for half_day in self.half_days if half_day.fits)


def default_window(programme_round: ProgrammeRound, now: datetime) -> tuple[date, date]:
    """From today (or the round's start) for the next weeks, inside the round's window."""
    first = max(programme_round.starts_on, london_date(now))
    return first, min(programme_round.ends_on,
                      first + timedelta(weeks=DEFAULT_WEEKS_AHEAD) - timedelta(days=1))


def half_days_for(check: RoundCheck, wanted: HalfDayFilter, now: datetime, *,
                  moving: Exchange | None = None, hosts: tuple[int, ...] = ()) -> list[Week]:
    """The pair's common free half-days the filter admits (the next weeks unless it gives
    dates), still to come, grouped by week, each checked: as the new date of `moving`, or as
    one more exchange hosted by one of `hosts`."""
    first, last = default_window(check.programme_round, now)
    if wanted.first or wanted.last:
        first = max(wanted.first or first, check.programme_round.starts_on)
        last = min(wanted.last or check.programme_round.ends_on, check.programme_round.ends_on)
    kept = [x for x in check.approved if moving is None or x != _planned(moving)]
    where_now = exchange_slot(moving) if moving is not None else None  # not a move at all
    weeks: dict[date, Week] = {}
    for day, period in check.common_free():
        if not (first <= day <= last and wanted.admits(day, period)):
            continue
        if slot_id(day, period) == where_now:
            continue
        if bounds(day, period)[0] <= now:
            continue
        slot = slot_id(day, period)
        fitting, refusals = [], []
        options = ((moving.host_id, moving.visitor_id),) if moving is not None else tuple(
            (host, _other(check.pair, host)) for host in hosts)
        for host, visitor in options:
            findings = check.findings(
                [p for p in kept if {p.host_id, p.visitor_id} == {host, visitor}]
                + [Planned(host, visitor, slot)], complete=False)
            if findings:
                refusals.append((len(findings), host, tuple(f.text for f in findings)))
            else:
                fitting.append(host)
        reasons: tuple[str, ...] = ()
        if refusals and not fitting:
            # The host that comes closest to fitting says why (whose hosting, when it matters).
            _, host, reasons = min(refusals)
            if len(options) > 1:
                reasons = (f"If {check.name(host)} hosts: {reasons[0]}", *reasons[1:])
        monday = day - timedelta(days=day.weekday())
        weeks.setdefault(monday, Week(monday)).half_days.append(
            HalfDay(day, period, tuple(fitting), reasons))
    return [weeks[monday] for monday in sorted(weeks)]


def _planned(exchange: Exchange) -> Planned:
    return Planned(exchange.host_id, exchange.visitor_id, exchange_slot(exchange))


def _other(pair: Pair, leader_id: int) -> int:
    return pair.mentee_id if leader_id == pair.mentor_id else pair.mentor_id


# --- who can be paired --------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    organisation: str
    note: str  # "mentors 1 of 2", "has a mentor"


def candidates(session: Session, programme_round: ProgrammeRound
               ) -> tuple[list[Candidate], list[Candidate]]:
    """Mentors and mentees of the round (joined, consent given), by name, each with where they
    stand: how many mentees a mentor has, whether a mentee has a mentor already."""
    rows = session.exec(
        select(LeaderProfile, Organisation.name)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .where(RoundParticipant.round_id == programme_round.id,
               RoundParticipant.status == ParticipantStatus.JOINED,
               LeaderProfile.consent_at.is_not(None))  # type: ignore[union-attr]
        .order_by(LeaderProfile.name, LeaderProfile.id)
    ).all()
    mentees_of: dict[int, int] = defaultdict(int)
    has_mentor: set[int] = set()
    for match in live_matches(session, programme_round):
        mentees_of[match.mentor_id] += 1
        has_mentor.add(match.mentee_id)
    mentors = [Candidate(profile.id, profile.name, organisation or "",
                         f"mentors {mentees_of[profile.id]} of {profile.mentor_capacity}")
               for profile, organisation in rows if profile.mentor_capacity > 0]
    mentees = [Candidate(profile.id, profile.name, organisation or "",
                         "has a mentor" if profile.id in has_mentor else "no mentor yet")
               for profile, organisation in rows if profile.wants_mentor]
    return mentors, mentees


# --- making a pair by hand ----------------------------------------------------------------------


def _require_open(programme_round: ProgrammeRound) -> None:
    if programme_round.status not in RUNNABLE_ROUND_STATUSES:
        raise HandError(f"A {programme_round.status} round cannot take new matches or dates")


def _field_of(finding: Finding, chosen: list[Planned], pair: Pair) -> str:
    """The form field a finding belongs beside: the date that breaks the rule, or the leader."""
    if finding.rule in ("not_mentor", "capacity", "self", "mutual"):
        return "mentor"
    if finding.rule in ("not_mentee", "has_mentor", "excluded", "same_organisation"):
        return "mentee"
    if finding.rule == "reciprocity":
        return f"host-{len(chosen)}"
    for number, planned in enumerate(chosen, start=1):
        day, _period = parse_slot(planned.slot)
        iso = day.isocalendar()
        if (planned.slot == finding.slot
                or (finding.month == (day.year, day.month)
                    and finding.leader in (str(planned.host_id), str(planned.visitor_id)))
                or (finding.week == (iso[0], iso[1]) and finding.leader == str(planned.host_id))
                or (finding.dates and day == max(finding.dates))):
            return f"exchange-{number}"
    return ""


def _add_error(errors: dict[str, str], key: str, text: str) -> None:
    errors[key] = f"{errors[key]}. {text}" if key in errors else text


def read_choices(form, exchanges_per_pair: int, pair: Pair) -> tuple[list[Planned], dict]:
    """The half-day and host chosen for each exchange of a new pair (`exchange-N`, `host-N`)."""
    chosen, errors = [], {}
    for number in range(1, exchanges_per_pair + 1):
        slot = (form.get(f"exchange-{number}") or "").strip()
        host = (form.get(f"host-{number}") or "").strip()
        try:
            parse_slot(slot)
        except ValueError:
            errors[f"exchange-{number}"] = f"Choose a half-day for exchange {number}"
            continue
        if host not in pair.ids:
            errors[f"host-{number}"] = f"Choose who hosts exchange {number}"
            continue
        host_id = int(host)
        chosen.append(Planned(host_id, _other(pair, host_id), slot))
    return chosen, errors


def make_pair(session: Session, programme_round: ProgrammeRound, user: User, pair: Pair,
              chosen: list[Planned], now: datetime, note: str = "", *,
              form_errors: dict[str, str] | None = None, ip: str = "") -> Match:
    """Offer a pair the coordinator made, with the dates they chose (HandError: every rule it
    breaks, by field). Like an approved pair: the match is offered to both leaders, its
    exchanges are held (no calendar invitation until both accept) and the introductions are
    queued. The caller commits."""
    programme_round = _locked(session, programme_round)
    _require_open(programme_round)
    if pair.mentor_id == pair.mentee_id:
        raise HandError({"mentee": "Choose two different leaders"})
    check = RoundCheck(session, programme_round, pair, now)
    if not check.is_new_pair:
        raise HandError({"mentee": "These two are already a pair in this round"})
    # Dates not chosen yet (`form_errors`) are reported with what the chosen ones break.
    errors: dict[str, str] = dict(form_errors or {})
    for number, planned in enumerate(chosen, start=1):
        if bounds(*parse_slot(planned.slot))[0] <= now:
            errors[f"exchange-{number}"] = f"{_half_day(planned.slot)} has passed"
    for finding in check.findings(chosen, complete=not form_errors):
        _add_error(errors, _field_of(finding, chosen, pair), finding.text)
    if errors:
        raise HandError(errors)
    with _written_at_once(session):
        match = _write_pair(session, programme_round, user, pair, chosen, check, now)
    send_offer(session, match, now)
    if programme_round.status != RoundStatus.PUBLISHED:
        programme_round.status = RoundStatus.PUBLISHED
        session.add(programme_round)
    audit.record(session, "match.made_by_hand", actor=user, obj=match, ip=ip, detail={
        "round_id": programme_round.id, "mentor_id": pair.mentor_id,
        "mentee_id": pair.mentee_id, "note": (note or "").strip()[:1000],
        "exchanges": [{"host_id": p.host_id, "slot": p.slot} for p in chosen],
    })
    session.flush()
    return match


def _write_pair(session: Session, programme_round: ProgrammeRound, user: User, pair: Pair,
                chosen: list[Planned], check: RoundCheck, now: datetime) -> Match:
    """The offer and its held exchanges (a pinned or forbidden proposal's row is reused)."""
    match = session.exec(
        select(Match).where(Match.round_id == programme_round.id,
                            Match.mentor_id == pair.mentor_id, Match.mentee_id == pair.mentee_id)
    ).first() or Match(round_id=programme_round.id, mentor_id=pair.mentor_id,
                       mentee_id=pair.mentee_id)
    score, reasons = check.score(pair)
    make_offer(session, match, programme_round, now)
    match.run_id = None  # made by hand: no run proposed it
    match.pinned = match.forbidden = False
    match.score = float(score)
    words = vocabularies.of(session)
    match.reasons = [readable_reason(reason, words) for reason in reasons]
    match.decided_at, match.decided_by_id = now, user.id
    session.add(match)
    session.flush()  # the one-live-mentor-per-mentee index speaks here
    for planned in chosen:
        _new_exchange(session, match, planned, now)
    session.flush()  # the no-double-booking constraint speaks here
    return match


@contextmanager
def _written_at_once(session: Session):
    """Everything a decision writes, or nothing: the database's own rules (one live mentor per
    mentee, one exchange per leader per half-day) refuse what someone else did at the same
    moment, and the coordinator is asked to look again."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        raise HandError("One of these leaders is already taken then: someone made a match or "
                        "booked an exchange for them at the same moment, or they have an "
                        "exchange in another round. Reload the page and choose again") from exc


def _locked(session: Session, programme_round: ProgrammeRound) -> ProgrammeRound:
    """Hand decisions and approvals of a round queue behind each other, so that each is
    checked against what the one before it did."""
    return session.exec(select(ProgrammeRound).where(ProgrammeRound.id == programme_round.id)
                        .with_for_update()).one()


def _new_exchange(session: Session, match: Match, planned: Planned, now: datetime) -> Exchange:
    """An exchange of `match`: held while the match is an offer, booked (invitations, reminders,
    the host's checklist) when both leaders have accepted it."""
    starts_at, ends_at = bounds(*parse_slot(planned.slot))
    exchange = Exchange(
        match_id=match.id, host_id=planned.host_id, visitor_id=planned.visitor_id,
        starts_at=starts_at, ends_at=ends_at, uid=f"{uuid.uuid4()}@leadership-exchange",
        preparation=PREPARATION,
        status=(ExchangeStatus.SCHEDULED if match.status == MatchStatus.ACCEPTED
                else ExchangeStatus.HELD),
    )
    copy_from_host(exchange, session.get(LeaderProfile, planned.host_id))
    session.add(exchange)
    session.flush()
    hold_half_days(session, exchange)
    plan_exchange(session, exchange, now)  # nothing for a held exchange
    open_checklist(session, exchange, now)  # nor here
    return exchange


def hold_half_days(session: Session, exchange: Exchange) -> None:
    """One booking row per leader for the exchange's half-day: the database refuses a second
    exchange for either of them then."""
    session.add_all(
        ExchangeBooking(exchange_id=exchange.id, leader_id=leader_id,
                        starts_at=exchange.starts_at)
        for leader_id in (exchange.host_id, exchange.visitor_id)
    )


# --- a pair's exchanges: choose a date, move one ------------------------------------------------


@dataclass
class PairExchanges:
    match: Match
    mentor: LeaderProfile
    mentee: LeaderProfile
    exchanges: list[Exchange]  # held or booked, by time
    missing: int  # how many more the round's rule asks for

    @property
    def pair(self) -> Pair:
        return Pair(self.match.mentor_id, self.match.mentee_id)

    def name(self, leader_id: int) -> str:
        return self.mentor.name if leader_id == self.mentor.id else self.mentee.name


def round_match(session: Session, programme_round: ProgrammeRound, match_id: int) -> Match:
    match = session.get(Match, match_id)
    if match is None or match.round_id != programme_round.id:
        raise LookupError(f"match {match_id}")
    return match


def round_exchange(session: Session, programme_round: ProgrammeRound,
                   exchange_id: int) -> tuple[Exchange, Match]:
    exchange = session.get(Exchange, exchange_id)
    match = session.get(Match, exchange.match_id) if exchange else None
    if match is None or match.round_id != programme_round.id:
        raise LookupError(f"exchange {exchange_id}")
    return exchange, match


def pair_exchanges(session: Session, match: Match) -> PairExchanges:
    exchanges = list(session.exec(
        select(Exchange).where(Exchange.match_id == match.id,
                               Exchange.status.in_(ACTIVE_EXCHANGE_STATUSES))  # type: ignore[attr-defined]
        .order_by(Exchange.starts_at, Exchange.id)
    ).all())
    programme_round = session.get(ProgrammeRound, match.round_id)
    return PairExchanges(match, session.get(LeaderProfile, match.mentor_id),
                         session.get(LeaderProfile, match.mentee_id), exchanges,
                         max(0, programme_round.exchanges_per_pair - len(exchanges)))


def live_pairs(session: Session, programme_round: ProgrammeRound, search: str = ""
               ) -> list[PairExchanges]:
    """The round's offered and booked pairs with their exchanges, by mentor's name; `search`
    keeps those where either leader's name contains it."""
    mentor = sa.orm.aliased(LeaderProfile)
    mentee = sa.orm.aliased(LeaderProfile)
    query = (select(Match, mentor, mentee)
             .join(mentor, mentor.id == Match.mentor_id).join(mentee, mentee.id == Match.mentee_id)
             .where(Match.round_id == programme_round.id,
                    Match.status.in_([MatchStatus.OFFERED, MatchStatus.ACCEPTED,  # type: ignore[attr-defined]
                                      MatchStatus.LAPSED]))
             .order_by(mentor.name, mentee.name, Match.id))
    words = (search or "").strip().lower()
    if words:
        like = f"%{words}%"
        query = query.where(sa.or_(sa.func.lower(mentor.name).like(like),
                                   sa.func.lower(mentee.name).like(like)))
    rows = session.exec(query).all()
    by_match: dict[int, list[Exchange]] = defaultdict(list)
    if rows:
        for exchange in session.exec(
            select(Exchange).where(
                Exchange.match_id.in_([m.id for m, _, _ in rows]),  # type: ignore[attr-defined]
                Exchange.status.in_(ACTIVE_EXCHANGE_STATUSES))  # type: ignore[attr-defined]
            .order_by(Exchange.starts_at, Exchange.id)
        ).all():
            by_match[exchange.match_id].append(exchange)
    k = programme_round.exchanges_per_pair
    return [PairExchanges(m, a, b, by_match[m.id], max(0, k - len(by_match[m.id])))
            for m, a, b in rows]


def _is_slot(slot: str) -> bool:
    try:
        parse_slot(slot)
    except ValueError:
        return False
    return True


def _slot_errors(check: RoundCheck, chosen: Planned, others: list[Planned], now: datetime,
                 *, complete: bool) -> list[str]:
    if not _is_slot(chosen.slot):
        return ["Choose a half-day"]
    day, period = parse_slot(chosen.slot)
    if bounds(day, period)[0] <= now:
        return [f"{describe(day, period)} has passed"]
    return [f.text for f in check.findings([*others, chosen], complete=complete)]


def move_exchange(session: Session, programme_round: ProgrammeRound, user: User,
                  exchange_id: int, slot: str, now: datetime, note: str = "", *,
                  ip: str = "") -> Exchange:
    """Move an exchange to a half-day the coordinator chose (HandError under `slot` with every
    rule it breaks). A booked exchange keeps its calendar entry: SEQUENCE goes up and both
    leaders get the update with the changed invitation; a held one (an offer) just changes."""
    programme_round = _locked(session, programme_round)
    _require_open(programme_round)
    exchange, match = round_exchange(session, programme_round, exchange_id)
    if match.status not in (MatchStatus.OFFERED, MatchStatus.ACCEPTED, MatchStatus.LAPSED) or \
            exchange.status not in ACTIVE_EXCHANGE_STATUSES:
        raise HandError("Only an exchange that is held or booked can be moved")
    if exchange.starts_at <= now:
        raise HandError("This exchange has already taken place")
    check = RoundCheck(session, programme_round, Pair(match.mentor_id, match.mentee_id), now)
    moved = Planned(exchange.host_id, exchange.visitor_id, slot)
    if slot == exchange_slot(exchange):
        raise HandError({"slot": "The exchange is already on that half-day: choose another"})
    others = [p for p in check.approved if {p.host_id, p.visitor_id} == set(
        (match.mentor_id, match.mentee_id)) and p != _planned(exchange)]
    problems = _slot_errors(check, moved, others, now, complete=False)
    if problems:
        raise HandError({"slot": ". ".join(problems)})
    previous = exchange.starts_at
    starts_at, ends_at = bounds(*parse_slot(slot))
    with _written_at_once(session):
        session.execute(sa.delete(ExchangeBooking).where(
            ExchangeBooking.exchange_id == exchange.id))
        reschedule_exchange(session, exchange, starts_at, ends_at, now)
        hold_half_days(session, exchange)
        session.flush()  # the no-double-booking constraint speaks here
    audit.record(session, "exchange.moved_by_hand", actor=user, obj=exchange, ip=ip, detail={
        "round_id": programme_round.id, "from": previous.isoformat(),
        "to": starts_at.isoformat(), "sequence": exchange.sequence,
        "note": (note or "").strip()[:1000]})
    session.flush()
    return exchange


def add_exchange(session: Session, programme_round: ProgrammeRound, user: User, match_id: int,
                 slot: str, host_id: int, now: datetime, note: str = "", *,
                 ip: str = "") -> Exchange:
    """Choose the date of one more exchange of a pair that has fewer than the round asks for
    (one was cancelled, say): held while the match is an offer, booked at once (invitations
    and reminders) once both leaders have accepted it."""
    programme_round = _locked(session, programme_round)
    _require_open(programme_round)
    match = round_match(session, programme_round, match_id)
    if match.status not in (MatchStatus.OFFERED, MatchStatus.ACCEPTED, MatchStatus.LAPSED):
        raise HandError("Only an offered or booked pair can be given a date")
    current = pair_exchanges(session, match)
    if not current.missing:
        raise HandError("This pair already has every exchange the round asks for: move one "
                        "instead")
    pair = current.pair
    errors = {}
    if host_id not in (pair.mentor_id, pair.mentee_id):
        errors["host"] = "Choose who hosts the exchange"
    if not _is_slot(slot):
        errors["slot"] = "Choose the half-day of the exchange"
    if errors:
        raise HandError(errors)
    check = RoundCheck(session, programme_round, pair, now)
    chosen = Planned(host_id, _other(pair, host_id), slot)
    others = [p for p in check.approved if {p.host_id, p.visitor_id} == {pair.mentor_id,
                                                                         pair.mentee_id}]
    problems = _slot_errors(check, chosen, others, now, complete=current.missing == 1)
    if problems:
        raise HandError({"slot": ". ".join(problems)})
    with _written_at_once(session):
        exchange = _new_exchange(session, match, chosen, now)
        session.flush()
    audit.record(session, "exchange.added_by_hand", actor=user, obj=exchange, ip=ip, detail={
        "round_id": programme_round.id, "match_id": match.id, "host_id": host_id,
        "slot": slot, "note": (note or "").strip()[:1000]})
    session.flush()
    return exchange


# --- a leader's request to move -----------------------------------------------------------------


@dataclass(frozen=True)
class MoveRequest:
    at: datetime
    leader_name: str
    reason: str
    preferred: str
    wish: HalfDayFilter  # what `preferred` was read as


def open_move_request(session: Session, programme_round: ProgrammeRound, exchange: Exchange,
                      now: datetime) -> MoveRequest | None:
    """The leaders' latest request to move this exchange, while it is still about the exchange
    as it is (moving it answers the request) and the exchange is still to come."""
    if exchange.status != ExchangeStatus.SCHEDULED or exchange.starts_at <= now:
        return None
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == RESCHEDULE_REQUESTED,
                                 AuditEvent.object_type == "Exchange",
                                 AuditEvent.object_id == str(exchange.id))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[attr-defined]
    ).all()
    for event in events:
        detail = event.detail or {}
        if detail.get("sequence") != exchange.sequence:
            continue
        leader = session.get(LeaderProfile, detail.get("leader_id")) if detail.get(
            "leader_id") else None
        preferred = detail.get("preferred", "")
        return MoveRequest(event.at, leader.name if leader else "A leader",
                           detail.get("reason", ""), preferred,
                           read_wish(preferred, programme_round.starts_on,
                                     programme_round.ends_on))
    return None

