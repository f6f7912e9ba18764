"""Every figure on a round's dashboard, computed by aggregate SQL queries. No Flask here.

This module is the one definition of the round's headline figures: the dashboard, the printable
report, the figures CSV, the round's page and list, and an optimiser run's summary all read them
from here, so no two pages can disagree (tests/test_one_set_of_numbers.py renders one round on
every page and export and compares).

Each query groups in the database and returns grouped rows (one per combination of vocabulary
keys, organisation sizes, weeks or statuses: at most a few thousand), however many leaders and
exchanges a round has; Python only adds those groups up. The results are frozen dataclasses
that the charts, the pages, the printable report and the CSV all read, so every view of a
figure shows the same number.

Definitions (the pages repeat them where they matter):
- a *participant* has joined the round (invited and withdrawn leaders are counted apart);
- *invited, not yet joined*: people with an invitation to the round who are not participants,
  and participants still marked invited, each person once (`invited_counts`);
- a participant is *in a match* when they are in a live match of the round (offered, booked,
  or lapsed and awaiting the coordinator), as mentor or mentee;
- the *matched share* is about mentees: its denominator is the participants who asked for a
  mentor (whether or not their profile is finished or they have set free time), its numerator
  those of them with a mentor in a live match. The *priority-group* matched share is the same
  for the mentees whose profession is one of the round's priority groups (`MenteeIds`). A run's
  summary counts the whole round the same way, with the run's proposal added (`RoundNow`);
- an exchange *has taken place* once it has started (the moment feedback opens), unless it
  was cancelled; one that has taken place but is still `scheduled` is "not marked done";
- *hours*: each exchange takes `ends_at - starts_at` out of the protected time of each of its
  two leaders; *used* counts completed exchanges, *booked* scheduled ones (both leaders
  accepted), *held* the exchanges of offers not yet accepted (their time is reserved);
  *committed* is all three. The *budget* is each participant's protected hours a month times
  the months in the round's window (`window_months`); participants who set no limit are not in
  it;
- *answers*: each side of a match shown to leaders (approved, accepted, declined) is asked to
  answer; a side has answered when it accepted (recorded in the audit log) or declined;
- *feedback rate*: feedback given on exchanges that have taken place, over two per exchange;
- *time released*: each booked leader's line manager's answer (released, declined, or waiting),
  where the round asks; leaders who named no manager are "not asked".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from mentoring.configuration import vocabularies
from mentoring.exchanges.services import MATCH_ACCEPTED
from mentoring.insights.confidence import ConfidenceChange
from mentoring.insights.confidence import change as confidence_change
from mentoring.models import (
    AuditEvent,
    Exchange,
    Feedback,
    Invitation,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.releases.services import ReleaseCounts, release_counts
from mentoring.vocab import (
    LIVE_MATCH_STATUSES,
    ExchangeStatus,
    MatchStatus,
    OrganisationSize,
    ParticipantStatus,
)

LONDON = ZoneInfo("Europe/London")


def _words():
    """The vocabularies of the running request (figures are read on pages and in exports)."""
    return vocabularies.current()


def label(vocabulary: dict[str, str], key: str | None) -> str:
    return "" if key is None else vocabulary.get(key, key)
DAYS_PER_MONTH = 365.25 / 12
NO_ORGANISATION = "unknown"
SIZE_LABELS = {
    OrganisationSize.LARGE: "Large organisations",
    OrganisationSize.MEDIUM: "Medium organisations",
    OrganisationSize.SMALL: "Small units",
    NO_ORGANISATION: "No organisation given",
}
# Where space is short (chart labels, attributions), the two long sector names by their initials.
SHORT_SECTOR_LABELS = {"vcse": "VCSE", "icb": "ICB"}
# Matches a leader has been shown, and so is asked to answer.
SHOWN_MATCH_STATUSES = (MatchStatus.OFFERED, MatchStatus.ACCEPTED, MatchStatus.DECLINED)


def sector_label(key: str) -> str:
    return SHORT_SECTOR_LABELS.get(key, label(_words().sectors, key))


def share(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide by (shown as "no data")."""
    return part / whole if whole else None


# --- the figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    """Participants of one profession, sector or borough, and how many of them are matched."""

    key: str
    label: str
    participants: int
    matched: int
    priority: bool = False

    @property
    def unmatched(self) -> int:
        return self.participants - self.matched

    @property
    def matched_share(self) -> float | None:
        return share(self.matched, self.participants)


@dataclass(frozen=True)
class Participation:
    joined: int
    invited: int
    withdrawn: int
    matched: int
    by_profession: tuple[GroupRow, ...]
    by_sector: tuple[GroupRow, ...]
    by_borough: tuple[GroupRow, ...]
    priority_professions: tuple[str, ...]  # keys, in the round's order
    mentees: MatchedShare  # the matched share, overall and for the priority groups

    @property
    def matched_share(self) -> float | None:
        """Participants in a match (mentors or mentees) over those who joined: the group tables'
        figure. The headline matched share is `mentees.share`."""
        return share(self.matched, self.joined)

    @property
    def priority_participants(self) -> int:
        return sum(row.participants for row in self.by_profession if row.priority)

    @property
    def priority_matched(self) -> int:
        return sum(row.matched for row in self.by_profession if row.priority)

    @property
    def priority_share(self) -> float | None:
        return share(self.priority_participants, self.joined)


@dataclass(frozen=True)
class SectorMatrix:
    """Live pairs by the mentor's sector (rows) and the mentee's sector (columns)."""

    sectors: tuple[str, ...]  # keys of the sectors shown, in vocabulary order
    counts: tuple[tuple[int, ...], ...]  # counts[mentor sector][mentee sector]

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.counts)

    @property
    def within_sector(self) -> int:
        return sum(self.counts[i][i] for i in range(len(self.sectors)))

    @property
    def cross_sector(self) -> int:
        return self.total - self.within_sector

    @property
    def cross_sector_share(self) -> float | None:
        return share(self.cross_sector, self.total)

    def cells(self):
        """(mentor sector, mentee sector, count) for every non-empty cell."""
        for i, mentor in enumerate(self.sectors):
            for j, mentee in enumerate(self.sectors):
                if self.counts[i][j]:
                    yield mentor, mentee, self.counts[i][j]


@dataclass(frozen=True)
class Week:
    starts_on: date  # a Monday
    scheduled: int
    completed: int
    cancelled: int
    pairs_met: int  # pairs whose first completed exchange is in this week or before

    @property
    def total(self) -> int:
        return self.scheduled + self.completed + self.cancelled


@dataclass(frozen=True)
class Timeline:
    weeks: tuple[Week, ...]
    before_window: int  # exchanges (any status) starting before the first week
    after_window: int
    scheduled: int
    completed: int
    cancelled: int
    not_marked_done: int  # scheduled, but it has taken place
    live_pairs: int

    @property
    def total(self) -> int:
        return self.scheduled + self.completed + self.cancelled

    @property
    def pairs_met(self) -> int:
        return self.weeks[-1].pairs_met if self.weeks else 0

    @property
    def pairs_met_share(self) -> float | None:
        return share(self.pairs_met, self.live_pairs)


@dataclass(frozen=True)
class HoursRow:
    key: str
    label: str
    budget: float
    used: float  # completed exchanges
    booked: float  # scheduled: both leaders accepted
    held: float = 0.0  # reserved for offers not yet accepted
    without_limit: int = 0  # participants who set no protected hours (not in the budget)

    @property
    def committed(self) -> float:
        return self.used + self.booked + self.held

    @property
    def used_share(self) -> float | None:
        return share(self.used, self.budget)

    @property
    def committed_share(self) -> float | None:
        return share(self.committed, self.budget)


@dataclass(frozen=True)
class Hours:
    months: float
    overall: HoursRow
    by_sector: tuple[HoursRow, ...]


@dataclass(frozen=True)
class BalanceRow:
    key: str
    label: str
    participants: int
    pairs: int  # live pairs with at least one leader from an organisation of this size
    exchanges: int  # exchanges (not cancelled) with at least one such leader
    hosted: int  # exchanges (not cancelled) hosted by such a leader


@dataclass(frozen=True)
class Balance:
    rows: tuple[BalanceRow, ...]
    participants: int
    pairs: int
    exchanges: int

    def row(self, key: str) -> BalanceRow:
        return next(row for row in self.rows if row.key == key)


@dataclass(frozen=True)
class Rates:
    match_statuses: tuple[tuple[str, int], ...]  # every MatchStatus, in vocabulary order
    answers_expected: int
    answered: int
    declined: int
    exchanges_taken_place: int
    feedback_expected: int
    feedback_given: int

    @property
    def answer_rate(self) -> float | None:
        return share(self.answered, self.answers_expected)

    @property
    def feedback_rate(self) -> float | None:
        return share(self.feedback_given, self.feedback_expected)


@dataclass(frozen=True)
class Ratings:
    count: int
    average: float | None
    distribution: tuple[tuple[int, int], ...]  # (rating 1..5, how many)


@dataclass(frozen=True)
class Dashboard:
    round_id: int
    round_name: str
    starts_on: date
    ends_on: date
    status: str
    computed_at: datetime
    participation: Participation
    matrix: SectorMatrix
    timeline: Timeline
    hours: Hours
    balance: Balance
    rates: Rates
    ratings: Ratings
    releases: ReleaseCounts | None = None
    # Did it work: the paired change in leaders' confidence (mentoring.insights.confidence).
    confidence: ConfidenceChange | None = None

    @property
    def gaps(self) -> list[str]:
        """Plain sentences: who is missing or left out, for the top of the dashboard."""
        return find_gaps(self)


# --- the headline figures: one definition each ---------------------------------------------


@dataclass(frozen=True)
class MatchedShare:
    """Mentees matched, overall and in the round's priority groups (see the module docstring)."""

    mentees: int
    matched: int
    priority_mentees: int
    priority_matched: int

    @property
    def unmatched(self) -> int:
        return self.mentees - self.matched

    @property
    def share(self) -> float | None:
        return share(self.matched, self.mentees)

    @property
    def priority_share(self) -> float | None:
        return share(self.priority_matched, self.priority_mentees)


@dataclass(frozen=True)
class MenteeIds:
    """The round's mentees by leader id: the sets the matched share counts. Ids (a few thousand
    at most) rather than counts, so that a run's summary can add its proposal to them."""

    mentees: frozenset[int]  # joined participants who asked for a mentor
    priority: frozenset[int]  # of them, those whose profession is a priority group of the round
    matched: frozenset[int]  # of them, those with a mentor in a live match


def mentee_ids(session: Session, programme_round: ProgrammeRound) -> MenteeIds:
    has_mentor = sa.exists().where(
        Match.mentee_id == LeaderProfile.id, _live(programme_round.id))
    rows = session.execute(
        sa.select(LeaderProfile.id, LeaderProfile.profession, has_mentor)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == programme_round.id,
               RoundParticipant.status == ParticipantStatus.JOINED,
               LeaderProfile.wants_mentor)
    ).all()
    priority = set(programme_round.priority_professions or ())
    return MenteeIds(
        mentees=frozenset(leader_id for leader_id, _, _ in rows),
        priority=frozenset(leader_id for leader_id, profession, _ in rows
                           if profession in priority),
        matched=frozenset(leader_id for leader_id, _, matched in rows if matched),
    )


def matched_share(ids: MenteeIds, also_matched: frozenset[int] = frozenset()) -> MatchedShare:
    """The matched share of these mentees; `also_matched`: mentees a proposal would match."""
    matched = (ids.matched | also_matched) & ids.mentees
    return MatchedShare(mentees=len(ids.mentees), matched=len(matched),
                        priority_mentees=len(ids.priority),
                        priority_matched=len(matched & ids.priority))


def invited_counts(session: Session, round_ids: list[int]) -> dict[int, int]:
    """Invited and not joined, by round: people with an invitation to the round who are not
    participants, and participants still marked invited, each person once. Rounds with none are
    left out."""
    if not round_ids:
        return {}
    settled = (
        sa.select(RoundParticipant.round_id, User.email)
        .join(LeaderProfile, LeaderProfile.id == RoundParticipant.leader_id)
        .join(User, User.id == LeaderProfile.user_id)
        .where(RoundParticipant.status != ParticipantStatus.INVITED)
        .subquery("settled")
    )
    not_settled = ~sa.exists().where(settled.c.round_id == Invitation.round_id,
                                     settled.c.email == Invitation.email)
    invited = sa.union(
        sa.select(Invitation.round_id.label("round_id"), Invitation.email.label("email"))
        .where(Invitation.round_id.in_(round_ids), not_settled),  # type: ignore[union-attr]
        sa.select(RoundParticipant.round_id, User.email)
        .join(LeaderProfile, LeaderProfile.id == RoundParticipant.leader_id)
        .join(User, User.id == LeaderProfile.user_id)
        .where(RoundParticipant.round_id.in_(round_ids),  # type: ignore[attr-defined]
               RoundParticipant.status == ParticipantStatus.INVITED),
    ).subquery("invited")
    return dict(session.execute(
        sa.select(invited.c.round_id, sa.func.count()).group_by(invited.c.round_id)
    ).all())


@dataclass(frozen=True)
class RoundNow:
    """The round as it is now, as a run's summary counts it (the whole round, whatever the
    run's scope): the mentees, the protected-hours figures, and each live pair's committed
    hours (which a proposal that keeps or reschedules the pair replaces with its own)."""

    mentees: MenteeIds
    hours: HoursRow  # the whole round's, as on the dashboard
    committed_by_pair: dict[tuple[int, int], float]  # (mentor, mentee) -> hours, both leaders

    def matched_share(self, proposed_mentees: frozenset[int] = frozenset()) -> MatchedShare:
        return matched_share(self.mentees, proposed_mentees)

    def committed_with(self, proposed_pairs: set[tuple[int, int]],
                       proposed_hours: float) -> float:
        """Committed hours if a proposal were approved: what is committed now, less the live
        pairs the proposal plans again, plus the proposal's exchanges (`proposed_hours`, both
        leaders' time)."""
        replaced = sum(hours for pair, hours in self.committed_by_pair.items()
                       if pair in proposed_pairs)
        return self.hours.committed - replaced + proposed_hours


def round_now(session: Session, programme_round: ProgrammeRound) -> RoundNow:
    """Four queries, whatever the round's size: for a run's summary and the runs list."""
    budgets = _budgets(_participant_groups(session, programme_round))
    hours = _hours(programme_round, budgets, _exchange_groups(session, programme_round.id))
    spent = 2 * _exchange_hours(session.get_bind().dialect.name)  # host's and visitor's time
    by_pair = session.execute(
        sa.select(Match.mentor_id, Match.mentee_id, sa.func.coalesce(sa.func.sum(spent), 0))
        .join(Exchange, Exchange.match_id == Match.id)
        .where(_live(programme_round.id), Exchange.status != ExchangeStatus.CANCELLED)
        .group_by(Match.mentor_id, Match.mentee_id)
    ).all()
    return RoundNow(
        mentees=mentee_ids(session, programme_round), hours=hours.overall,
        committed_by_pair={(mentor, mentee): _hours_of(total)
                           for mentor, mentee, total in by_pair},
    )


# --- the queries ---------------------------------------------------------------------------


def dashboard(session: Session, round_id: int, now: datetime) -> Dashboard | None:
    """Every figure of the round, in twelve SQL statements however big the round is."""
    programme_round = session.get(ProgrammeRound, round_id)
    if programme_round is None:
        return None
    participation, budgets = _participation(session, programme_round)
    pairs = _pair_groups(session, round_id)
    legs = _exchange_groups(session, round_id)
    matrix = _matrix(pairs)
    timeline = _timeline(session, programme_round, now, live_pairs=matrix.total)
    round_ratings, feedback_given = _feedback(session, round_id, now)
    return Dashboard(
        round_id=round_id,
        round_name=programme_round.name,
        starts_on=programme_round.starts_on,
        ends_on=programme_round.ends_on,
        status=programme_round.status,
        computed_at=now,
        participation=participation,
        matrix=matrix,
        timeline=timeline,
        hours=_hours(programme_round, budgets, legs),
        balance=_balance(budgets.by_size, pairs, legs, timeline),
        rates=_rates(session, round_id, timeline, feedback_given),
        ratings=round_ratings,
        releases=release_counts(session, programme_round),
        confidence=confidence_change(session, round_id),
    )


def _in_round(round_id: int):
    return Match.round_id == round_id


def _live(round_id: int):
    return sa.and_(Match.round_id == round_id, Match.status.in_(LIVE_MATCH_STATUSES))  # type: ignore[attr-defined]


def _matched_leaders(round_id: int):
    """Leader ids in a live match of the round, each once."""
    return sa.union(
        sa.select(Match.mentor_id.label("leader_id")).where(_live(round_id)),
        sa.select(Match.mentee_id.label("leader_id")).where(_live(round_id)),
    ).subquery("matched")


def _size(organisation) -> sa.ColumnElement:
    return sa.func.coalesce(organisation.size, NO_ORGANISATION)


@dataclass(frozen=True)
class _Budgets:
    """By-products of the participation query that the hours and balance figures need."""

    hours_by_sector: dict[str, float]
    without_limit_by_sector: dict[str, int]
    by_size: dict[str, int]


def _participant_groups(session: Session, programme_round: ProgrammeRound) -> list:
    """Joined participants counted (and their protected hours summed) by profession, sector,
    borough, organisation size and whether they are in a match."""
    matched = _matched_leaders(programme_round.id)
    is_matched = sa.case((matched.c.leader_id.is_(None), 0), else_=1).label("is_matched")
    size = _size(Organisation).label("size")
    return list(session.execute(
        sa.select(
            LeaderProfile.profession,
            LeaderProfile.sector,
            LeaderProfile.borough,
            size,
            is_matched,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(LeaderProfile.protected_hours_per_month), 0),
            sa.func.count(LeaderProfile.protected_hours_per_month),
        )
        .select_from(RoundParticipant)
        .join(LeaderProfile, LeaderProfile.id == RoundParticipant.leader_id)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .outerjoin(matched, matched.c.leader_id == LeaderProfile.id)
        .where(
            RoundParticipant.round_id == programme_round.id,
            RoundParticipant.status == ParticipantStatus.JOINED,
        )
        .group_by(LeaderProfile.profession, LeaderProfile.sector, LeaderProfile.borough, size,
                  is_matched)
    ).all())


def _budgets(groups: list) -> _Budgets:
    hours_by_sector: dict[str, float] = defaultdict(float)
    without_limit: dict[str, int] = defaultdict(int)
    by_size: dict[str, int] = defaultdict(int)
    for _, sector, _, size_key, _, count, hours, with_limit in groups:
        hours_by_sector[sector] += float(hours)
        without_limit[sector] += count - with_limit
        by_size[size_key] += count
    return _Budgets(dict(hours_by_sector), dict(without_limit), dict(by_size))


def _participation(
    session: Session, programme_round: ProgrammeRound
) -> tuple[Participation, _Budgets]:
    round_id = programme_round.id
    statuses = dict(
        session.execute(
            sa.select(RoundParticipant.status, sa.func.count())
            .where(RoundParticipant.round_id == round_id)
            .group_by(RoundParticipant.status)
        ).all()
    )
    groups = _participant_groups(session, programme_round)
    totals = {name: defaultdict(lambda: [0, 0]) for name in ("profession", "sector", "borough")}
    for profession, sector, borough, _, matched_flag, count, _, _ in groups:
        for name, key in (("profession", profession), ("sector", sector), ("borough", borough)):
            totals[name][key][0] += count
            totals[name][key][1] += count if matched_flag else 0

    priority = tuple(programme_round.priority_professions or ())

    def rows(name: str, vocabulary: dict[str, str], keep_empty) -> tuple[GroupRow, ...]:
        found = totals[name]
        keys = [key for key in vocabulary if key in found or keep_empty(key)]
        keys += sorted(key for key in found if key not in vocabulary)  # old keys, if any
        return tuple(
            GroupRow(key, label(vocabulary, key), found[key][0], found[key][1],
                     priority=name == "profession" and key in priority)
            for key in keys
        )

    participation = Participation(
        joined=statuses.get(ParticipantStatus.JOINED, 0),
        invited=invited_counts(session, [round_id]).get(round_id, 0),
        withdrawn=statuses.get(ParticipantStatus.WITHDRAWN, 0),
        matched=sum(matched for _, matched in totals["sector"].values()),
        # Priority professions stay on the list with no one in them: that is the gap to see.
        by_profession=rows("profession", _words().professions, lambda key: key in priority),
        by_sector=rows("sector", _words().sectors, lambda key: False),
        by_borough=rows("borough", _words().places, lambda key: True),
        priority_professions=priority,
        mentees=matched_share(mentee_ids(session, programme_round)),
    )
    return participation, _budgets(groups)


@dataclass(frozen=True)
class _PairGroup:
    mentor_sector: str
    mentee_sector: str
    mentor_size: str
    mentee_size: str
    pairs: int


def _pair_groups(session: Session, round_id: int) -> list[_PairGroup]:
    """Live pairs counted by both leaders' sectors and organisation sizes: the sector matrix and
    the balance of pairs both come from this one grouping."""
    mentor, mentee = aliased(LeaderProfile), aliased(LeaderProfile)
    mentor_org, mentee_org = aliased(Organisation), aliased(Organisation)
    columns = (mentor.sector, mentee.sector, _size(mentor_org), _size(mentee_org))
    found = session.execute(
        sa.select(*columns, sa.func.count())
        .select_from(Match)
        .join(mentor, mentor.id == Match.mentor_id)
        .join(mentee, mentee.id == Match.mentee_id)
        .outerjoin(mentor_org, mentor_org.id == mentor.organisation_id)
        .outerjoin(mentee_org, mentee_org.id == mentee.organisation_id)
        .where(_live(round_id))
        .group_by(*columns)
    ).all()
    return [_PairGroup(*row) for row in found]


@dataclass(frozen=True)
class _ExchangeGroup:
    host_sector: str
    visitor_sector: str
    host_size: str
    visitor_size: str
    status: str
    exchanges: int
    hours: float  # the exchanges' total length (each of the two leaders spends it)


def _hours_of(total) -> float:
    """SQLite counts in fractions of a day: 4 hours come back as 3.9999999925."""
    return round(float(total), 6)


def _exchange_hours(dialect: str):
    """SQL: the length of an exchange in hours."""
    if dialect == "postgresql":
        return sa.extract("epoch", Exchange.ends_at - Exchange.starts_at) / 3600.0
    return (sa.func.julianday(Exchange.ends_at) - sa.func.julianday(Exchange.starts_at)) * 24.0


def _exchange_groups(session: Session, round_id: int) -> list[_ExchangeGroup]:
    """Exchanges that are not cancelled, counted (and their hours summed) by both leaders'
    sectors and organisation sizes and by status: the hours and the balance of exchanges."""
    host, visitor = aliased(LeaderProfile), aliased(LeaderProfile)
    host_org, visitor_org = aliased(Organisation), aliased(Organisation)
    columns = (host.sector, visitor.sector, _size(host_org), _size(visitor_org), Exchange.status)
    hours = _exchange_hours(session.get_bind().dialect.name)
    found = session.execute(
        sa.select(*columns, sa.func.count(), sa.func.coalesce(sa.func.sum(hours), 0))
        .select_from(Exchange)
        .join(Match, Match.id == Exchange.match_id)
        .join(host, host.id == Exchange.host_id)
        .join(visitor, visitor.id == Exchange.visitor_id)
        .outerjoin(host_org, host_org.id == host.organisation_id)
        .outerjoin(visitor_org, visitor_org.id == visitor.organisation_id)
        .where(_in_round(round_id), Exchange.status != ExchangeStatus.CANCELLED)
        .group_by(*columns)
    ).all()
    return [_ExchangeGroup(*row[:6], _hours_of(row[6])) for row in found]


def _matrix(pairs: list[_PairGroup]) -> SectorMatrix:
    present = {group.mentor_sector for group in pairs} | {group.mentee_sector for group in pairs}
    sector_labels = _words().sectors
    sectors = tuple(key for key in sector_labels if key in present) + tuple(
        sorted(present - set(sector_labels)))
    index = {key: i for i, key in enumerate(sectors)}
    counts = [[0] * len(sectors) for _ in sectors]
    for group in pairs:
        counts[index[group.mentor_sector]][index[group.mentee_sector]] += group.pairs
    return SectorMatrix(sectors, tuple(tuple(row) for row in counts))


def window_weeks(programme_round: ProgrammeRound) -> list[date]:
    """The Mondays of the weeks the round's window touches."""
    first = programme_round.starts_on - timedelta(days=programme_round.starts_on.weekday())
    weeks = []
    monday = first
    while monday <= programme_round.ends_on:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return weeks


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=LONDON).astimezone(UTC)


def _week_index(column, mondays: list[date]):
    """SQL: -1 before the first week, 0..n-1 for each week (London time), n after the last."""
    bounds = [_london_midnight(monday) for monday in mondays]
    bounds.append(_london_midnight(mondays[-1] + timedelta(weeks=1)))
    whens = [(column < bounds[0], -1)]
    whens += [(column < bounds[i + 1], i) for i in range(len(mondays))]
    return sa.case(*whens, else_=len(mondays))


def _taken_place(now: datetime):
    """SQL: the exchange has taken place (completed, or scheduled and started by now)."""
    return sa.or_(
        Exchange.status == ExchangeStatus.COMPLETED,
        sa.and_(Exchange.status == ExchangeStatus.SCHEDULED, Exchange.starts_at <= now),
    )


def _timeline(session: Session, programme_round: ProgrammeRound, now: datetime,
              live_pairs: int) -> Timeline:
    round_id = programme_round.id
    mondays = window_weeks(programme_round)
    week = _week_index(Exchange.starts_at, mondays).label("week")
    taken_place = sa.case((Exchange.starts_at <= now, 1), else_=0).label("taken_place")
    found = session.execute(
        sa.select(week, Exchange.status, taken_place, sa.func.count())
        .select_from(Exchange)
        .join(Match, Match.id == Exchange.match_id)
        .where(_in_round(round_id))
        .group_by(week, Exchange.status, taken_place)
    ).all()
    first_completed = (
        sa.select(sa.func.min(Exchange.starts_at).label("first"))
        .select_from(Exchange)
        .join(Match, Match.id == Exchange.match_id)
        .where(_live(round_id), Exchange.status == ExchangeStatus.COMPLETED)
        .group_by(Exchange.match_id)
        .subquery()
    )
    met_week = _week_index(first_completed.c.first, mondays).label("week")
    met = dict(session.execute(
        sa.select(met_week, sa.func.count()).select_from(first_completed).group_by(met_week)
    ).all())

    per_week: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    not_marked_done = 0
    for index, status, has_taken_place, count in found:
        per_week[index][status] += count
        totals[status] += count
        if status == ExchangeStatus.SCHEDULED and has_taken_place:
            not_marked_done += count
    weeks = []
    pairs_met = met.get(-1, 0)
    for index, monday in enumerate(mondays):
        pairs_met += met.get(index, 0)
        counts = per_week[index]
        weeks.append(Week(
            starts_on=monday,
            scheduled=counts[ExchangeStatus.SCHEDULED],
            completed=counts[ExchangeStatus.COMPLETED],
            cancelled=counts[ExchangeStatus.CANCELLED],
            pairs_met=pairs_met,
        ))
    return Timeline(
        weeks=tuple(weeks),
        before_window=sum(per_week[-1].values()),
        after_window=sum(per_week[len(mondays)].values()),
        scheduled=totals[ExchangeStatus.SCHEDULED],
        completed=totals[ExchangeStatus.COMPLETED],
        cancelled=totals[ExchangeStatus.CANCELLED],
        not_marked_done=not_marked_done,
        live_pairs=live_pairs,
    )


def window_months(starts_on: date, ends_on: date) -> float:
    """The round's window in months, as every protected-hours budget counts it (the dashboard,
    the report, the CSV and a run's summary): its days, both ends included, over an average
    month's 30.44 days."""
    return ((ends_on - starts_on).days + 1) / DAYS_PER_MONTH


def _hours(programme_round: ProgrammeRound, budgets: _Budgets,
           legs: list[_ExchangeGroup]) -> Hours:
    spent: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for group in legs:
        # Host and visitor each spend the exchange's hours (twice in one sector if both are).
        spent[group.host_sector][group.status] += group.hours
        spent[group.visitor_sector][group.status] += group.hours
    months = window_months(programme_round.starts_on, programme_round.ends_on)
    present = set(budgets.hours_by_sector) | set(spent)
    sector_labels = _words().sectors
    keys = [key for key in sector_labels if key in present] + sorted(present - set(sector_labels))
    rows = tuple(
        HoursRow(
            key=key,
            label=label(_words().sectors, key),
            budget=budgets.hours_by_sector.get(key, 0.0) * months,
            used=spent[key][ExchangeStatus.COMPLETED],
            booked=spent[key][ExchangeStatus.SCHEDULED],
            held=spent[key][ExchangeStatus.HELD],
            without_limit=budgets.without_limit_by_sector.get(key, 0),
        )
        for key in keys
    )
    overall = HoursRow(
        key="all",
        label="All sectors",
        budget=sum(row.budget for row in rows),
        used=sum(row.used for row in rows),
        booked=sum(row.booked for row in rows),
        held=sum(row.held for row in rows),
        without_limit=sum(row.without_limit for row in rows),
    )
    return Hours(months=months, overall=overall, by_sector=rows)


def _balance(participation_by_size: dict[str, int], pairs: list[_PairGroup],
             legs: list[_ExchangeGroup], timeline: Timeline) -> Balance:
    involved_pairs: dict[str, int] = defaultdict(int)
    for group in pairs:
        for size in {group.mentor_size, group.mentee_size}:  # a pair counts once per size
            involved_pairs[size] += group.pairs
    involved_exchanges: dict[str, int] = defaultdict(int)
    hosted: dict[str, int] = defaultdict(int)
    for group in legs:
        for size in {group.host_size, group.visitor_size}:
            involved_exchanges[size] += group.exchanges
        hosted[group.host_size] += group.exchanges
    keys = [key for key in SIZE_LABELS if key != NO_ORGANISATION]
    if any(found.get(NO_ORGANISATION) for found in (participation_by_size, involved_pairs,
                                                    involved_exchanges)):
        keys.append(NO_ORGANISATION)
    rows = tuple(
        BalanceRow(
            key=key,
            label=SIZE_LABELS[key],
            participants=participation_by_size.get(key, 0),
            pairs=involved_pairs.get(key, 0),
            exchanges=involved_exchanges.get(key, 0),
            hosted=hosted.get(key, 0),
        )
        for key in keys
    )
    return Balance(rows=rows, participants=sum(participation_by_size.values()),
                   pairs=timeline.live_pairs, exchanges=timeline.scheduled + timeline.completed)


def _rates(session: Session, round_id: int, timeline: Timeline, feedback_given: int) -> Rates:
    statuses = dict(session.execute(
        sa.select(Match.status, sa.func.count()).where(_in_round(round_id))
        .group_by(Match.status)
    ).all())
    mentor = aliased(LeaderProfile)
    mentee = aliased(LeaderProfile)
    accepted = sa.and_(_in_round(round_id), Match.status == MatchStatus.ACCEPTED)
    declined = sa.and_(_in_round(round_id), Match.status == MatchStatus.DECLINED)
    shown = sa.and_(_in_round(round_id), Match.status.in_(SHOWN_MATCH_STATUSES))  # type: ignore[attr-defined]
    # (match, user) pairs that have answered; UNION counts a leader who accepted and then
    # declined once.
    answered = sa.union(
        sa.select(Match.id.label("match_id"), mentor.user_id.label("user_id"))
        .join(mentor, mentor.id == Match.mentor_id).where(accepted),
        sa.select(Match.id, mentee.user_id).join(mentee, mentee.id == Match.mentee_id)
        .where(accepted),
        sa.select(Match.id, Match.decided_by_id)
        .where(declined, Match.decided_by_id.is_not(None)),  # type: ignore[union-attr]
        sa.select(Match.id, AuditEvent.actor_id)
        .join(AuditEvent, sa.and_(
            AuditEvent.action == MATCH_ACCEPTED,
            AuditEvent.object_type == "Match",
            AuditEvent.object_id == sa.cast(Match.id, sa.String),
        ))
        .where(shown, AuditEvent.actor_id.is_not(None)),  # type: ignore[union-attr]
    ).subquery("answered")
    answered_count = session.execute(
        sa.select(sa.func.count()).select_from(answered)
    ).scalar_one()
    shown_count = sum(statuses.get(status, 0) for status in SHOWN_MATCH_STATUSES)
    exchanges_taken_place = timeline.completed + timeline.not_marked_done
    return Rates(
        match_statuses=tuple((status.value, statuses.get(status, 0)) for status in MatchStatus),
        answers_expected=2 * shown_count,
        answered=answered_count,
        declined=statuses.get(MatchStatus.DECLINED, 0),
        exchanges_taken_place=exchanges_taken_place,
        feedback_expected=2 * exchanges_taken_place,
        feedback_given=feedback_given,
    )


def _ratings(counts: dict[int, int]) -> Ratings:
    count = sum(counts.values())
    total = sum(rating * n for rating, n in counts.items())
    return Ratings(
        count=count,
        average=share(total, count),
        distribution=tuple((rating, counts.get(rating, 0)) for rating in range(1, 6)),
    )


def ratings(session: Session, round_id: int) -> Ratings:
    return _ratings(dict(session.execute(
        sa.select(Feedback.rating, sa.func.count())
        .where(Feedback.round_id == round_id)
        .group_by(Feedback.rating)
    ).all()))


def _feedback(session: Session, round_id: int, now: datetime) -> tuple[Ratings, int]:
    """The round's ratings, and how much of its feedback is on exchanges that have taken place
    (the feedback rate's numerator), in one query."""
    on_taken_place = sa.case((_taken_place(now), 1), else_=0).label("on_taken_place")
    found = session.execute(
        sa.select(Feedback.rating, on_taken_place, sa.func.count())
        .select_from(Feedback)
        .outerjoin(Exchange, Exchange.id == Feedback.exchange_id)
        .where(Feedback.round_id == round_id)
        .group_by(Feedback.rating, on_taken_place)
    ).all()
    counts: dict[int, int] = defaultdict(int)
    for rating, _, count in found:
        counts[rating] += count
    return _ratings(counts), sum(count for _, flag, count in found if flag)


# --- what the coordinator should look at first ---------------------------------------------


def _names(rows) -> str:
    return ", ".join(row.label for row in rows)


def find_gaps(figures: Dashboard) -> list[str]:
    participation = figures.participation
    found = []
    missing = [row for row in participation.by_profession if row.priority and not row.participants]
    if missing:
        found.append(f"No one from these priority groups has joined: {_names(missing)}.")
    left_out = [row for row in participation.by_profession if row.priority and row.unmatched]
    if left_out:
        found.append(
            "Priority-group participants not yet matched: "
            + ", ".join(f"{row.label} ({row.unmatched} of {row.participants})"
                        for row in left_out) + "."
        )
    boroughs = [row for row in participation.by_borough if not row.participants]
    if boroughs:
        found.append(f"No participants from {_names(boroughs)}.")
    timeline = figures.timeline
    if timeline.not_marked_done:
        found.append(
            f"{timeline.not_marked_done} exchange"
            f"{' has' if timeline.not_marked_done == 1 else 's have'} taken place but "
            f"{'is' if timeline.not_marked_done == 1 else 'are'} not marked done."
        )
    balance = figures.balance
    if balance.pairs:
        small = balance.row(OrganisationSize.SMALL)
        large = balance.row(OrganisationSize.LARGE)
        small_share_of_people = share(small.participants, balance.participants) or 0
        small_share_of_pairs = share(small.pairs, balance.pairs) or 0
        if small.participants and small_share_of_pairs < small_share_of_people / 2:
            found.append(
                "Small units are under-represented in pairs: "
                f"{small.participants} of {balance.participants} participants, in "
                f"{small.pairs} of {balance.pairs} pairs."
            )
        if large.pairs == balance.pairs and small.participants:
            found.append("Every pair involves a large organisation.")
    return found
