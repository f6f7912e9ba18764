"""Every dashboard figure on a small hand-made round, against values worked out by hand.

The round (window Monday 4 January to Sunday 28 March 2027, twelve weeks; "now" is Monday
25 January, noon):

    leader  role    profession                sector         borough    organisation   hours/month
    M1      mentor  acute clinical director   acute          southwark  Big (large)    8
    M2      mentor  PCN clinical director     primary care   lewisham   Practice (sm)  4
    E1      mentee  nurse (priority)          mental health  lambeth    Trust (medium) 8
    E2      mentee  VCSE rep (priority)       VCSE           lewisham   Charity (sm)   no limit
    E3      mentee  social worker (priority)  social care    greenwich  none           6
    plus an invited and a withdrawn leader (GPs), who are not participants.

    matches: M1-E1 accepted; M2-E2 approved (E2 accepted, M2 not yet); M1-E3 declined by E3;
             M2-E3 proposed (not shown to leaders).
    exchanges (UTC): X1 M1-E1 Tue 5 Jan 09-13 completed, hosted by M1
                     X2 M1-E1 Tue 2 Feb 09-13 scheduled, hosted by E1
                     X3 M1-E1 Tue 19 Jan 09-13 cancelled
                     X4 M2-E2 Mon 11 Jan 09-12:30 completed, hosted by E2
                     X5 M2-E2 Wed 20 Jan 09-13 scheduled (has taken place), hosted by M2
    feedback: X1 by M1 (5, named), X1 by E1 (4, not named), X4 by E2 (2, not named).

A second round with its own pair, exchange and feedback must not leak into any figure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mentoring.insights import figures
from mentoring.insights.figures import find_gaps

from insights_world import at, build_hand_made

NOW = datetime(2027, 1, 25, 12, 0, tzinfo=UTC)
MONTHS = 84 * 12 / 365.25  # 84 days in the window, in average months


@pytest.fixture
def hand_made(factory):
    return build_hand_made(factory)


@pytest.fixture
def dashboard(db, hand_made):
    return figures.dashboard(db, hand_made.round.id, NOW)


def by_key(rows):
    return {row.key: row for row in rows}


def test_participation_counts_joined_leaders_and_who_is_matched(dashboard):
    participation = dashboard.participation
    assert (participation.joined, participation.invited, participation.withdrawn) == (5, 1, 1)
    assert participation.matched == 4  # M1, M2, E1, E2 (E3's only match was declined)
    assert participation.matched_share == 4 / 5
    professions = {row.key: (row.participants, row.matched, row.priority)
                   for row in participation.by_profession}
    assert professions == {
        "acute_clinical_director": (1, 1, False),
        "pcn_clinical_director": (1, 1, False),
        "community_pharmacist": (0, 0, True),
        "pcn_pharmacy_lead": (0, 0, True),
        "nurse": (1, 1, True),
        "mental_health_nurse": (0, 0, True),
        "social_worker": (1, 0, True),
        "vcse_representative": (1, 1, True),
        "patient_representative": (0, 0, True),
    }
    assert "gp" not in professions  # the invited and withdrawn GPs are not participants
    assert (participation.priority_participants, participation.priority_matched) == (3, 2)
    assert participation.priority_share == 3 / 5
    sectors = {row.key: (row.participants, row.matched) for row in participation.by_sector}
    assert sectors == {"primary_care": (1, 1), "acute": (1, 1), "mental_health": (1, 1),
                       "social_care": (1, 0), "vcse": (1, 1)}
    boroughs = {row.key: (row.participants, row.matched) for row in participation.by_borough}
    assert boroughs == {"bexley": (0, 0), "bromley": (0, 0), "greenwich": (1, 0),
                        "lambeth": (1, 1), "lewisham": (2, 2), "southwark": (1, 1)}


def test_the_matrix_pairs_the_mentors_sector_with_the_mentees(dashboard):
    matrix = dashboard.matrix
    assert matrix.sectors == ("primary_care", "acute", "mental_health", "vcse")
    assert set(matrix.cells()) == {("acute", "mental_health", 1), ("primary_care", "vcse", 1)}
    assert (matrix.total, matrix.within_sector, matrix.cross_sector) == (2, 0, 2)
    assert matrix.cross_sector_share == 1


def test_exchanges_by_week_of_the_window(dashboard):
    timeline = dashboard.timeline
    assert len(timeline.weeks) == 12
    assert timeline.weeks[0].starts_on == date(2027, 1, 4)
    assert timeline.weeks[-1].starts_on == date(2027, 3, 22)
    rows = [(w.completed, w.scheduled, w.cancelled, w.pairs_met) for w in timeline.weeks]
    assert rows[:5] == [(1, 0, 0, 1), (1, 0, 0, 2), (0, 1, 1, 2), (0, 0, 0, 2), (0, 1, 0, 2)]
    assert rows[5:] == [(0, 0, 0, 2)] * 7
    assert (timeline.completed, timeline.scheduled, timeline.cancelled) == (2, 2, 1)
    assert timeline.not_marked_done == 1  # X5
    assert (timeline.before_window, timeline.after_window) == (0, 0)
    assert (timeline.live_pairs, timeline.pairs_met, timeline.pairs_met_share) == (2, 2, 1)


def test_weeks_follow_london_time(db, factory, hand_made):
    """00:30 on Monday 29 March 2027 in London (after the clocks change) is 23:30 UTC on the
    Sunday: it belongs to the week after the window, not the window's last week."""
    match = factory.match(hand_made.round, hand_made.m2, hand_made.e1, status="cancelled")
    factory.exchange(match, datetime(2027, 3, 28, 23, 30, tzinfo=UTC), status="cancelled")
    factory.exchange(match, datetime(2027, 1, 3, 23, 59, tzinfo=UTC), status="cancelled")
    timeline = figures.dashboard(db, hand_made.round.id, NOW).timeline
    assert (timeline.before_window, timeline.after_window) == (1, 1)
    assert timeline.weeks[-1].cancelled == 0


def test_protected_hours_used_booked_and_budget(dashboard):
    hours = dashboard.hours
    assert hours.months == pytest.approx(MONTHS)
    sectors = {row.key: (row.budget, row.used, row.booked, row.without_limit)
               for row in hours.by_sector}
    expected = {
        # X1: 4 h for M1 (acute) and E1 (mental health); X4: 3.5 h for E2 (VCSE) and M2
        # (primary care). Booked: X2 4 h for E1 and M1; X5 4 h for M2 and E2. X3 is cancelled.
        "primary_care": (4 * MONTHS, 3.5, 4, 0),
        "acute": (8 * MONTHS, 4, 4, 0),
        "mental_health": (8 * MONTHS, 4, 4, 0),
        "social_care": (6 * MONTHS, 0, 0, 0),
        "vcse": (0, 3.5, 4, 1),
    }
    assert sectors.keys() == expected.keys()
    for key, values in expected.items():
        assert sectors[key] == pytest.approx(values), key
    overall = hours.overall
    assert (overall.budget, overall.used, overall.booked, overall.without_limit) == (
        pytest.approx(26 * MONTHS), pytest.approx(15), pytest.approx(16), 1)
    assert overall.committed_share == pytest.approx(31 / (26 * MONTHS))


def test_balance_between_large_organisations_and_small_units(dashboard):
    balance = dashboard.balance
    rows = {row.key: (row.participants, row.pairs, row.exchanges, row.hosted)
            for row in balance.rows}
    assert rows == {
        "large": (1, 1, 2, 1),  # M1: pair M1-E1; X1 (hosted) and X2
        "medium": (1, 1, 2, 1),  # E1: pair M1-E1; X1 and X2 (hosted)
        "small": (2, 1, 2, 2),  # M2 and E2: one pair; X4 and X5, each hosted by one of them
        "unknown": (1, 0, 0, 0),  # E3, with no organisation and no live pair
    }
    assert (balance.participants, balance.pairs, balance.exchanges) == (5, 2, 4)


def test_answers_and_feedback_rates(dashboard):
    rates = dashboard.rates
    assert dict(rates.match_statuses) == {"proposed": 1, "offered": 1, "rejected": 0,
                                          "accepted": 1, "declined": 1, "lapsed": 0,
                                          "cancelled": 0}
    # Shown: M1-E1, M2-E2, M1-E3 (6 sides). Answered: M1 and E1 (accepted, each once although
    # also in the audit log), E2 (audit log), E3 (declined).
    assert (rates.answers_expected, rates.answered, rates.declined) == (6, 4, 1)
    assert rates.answer_rate == 4 / 6
    # Taken place: X1, X4 (completed) and X5 (scheduled, started before now): 6 expected.
    assert (rates.exchanges_taken_place, rates.feedback_expected, rates.feedback_given) == (
        3, 6, 3)
    assert rates.feedback_rate == 0.5


def test_ratings_of_the_round_only(dashboard):
    ratings = dashboard.ratings
    assert ratings.count == 3
    assert ratings.average == pytest.approx(11 / 3)
    assert ratings.distribution == ((1, 0), (2, 1), (3, 0), (4, 1), (5, 1))


def test_gaps_name_who_is_missing_and_what_is_not_marked_done(dashboard):
    assert find_gaps(dashboard) == [
        "No one from these priority groups has joined: PCN pharmacy lead, Community "
        "pharmacist, Mental-health nurse, Patient representative.",
        "Priority-group participants not yet matched: Social worker (1 of 1).",
        "No participants from Bexley, Bromley.",
        "1 exchange has taken place but is not marked done.",
    ]


def test_an_empty_round_has_no_figures_to_divide(db, factory):
    programme_round = factory.programme_round(starts_on=date(2027, 1, 6))  # a Wednesday
    empty = figures.dashboard(db, programme_round.id, NOW)
    assert empty.participation.joined == 0 and empty.participation.matched_share is None
    assert empty.matrix.total == 0 and empty.matrix.cross_sector_share is None
    assert empty.timeline.weeks[0].starts_on == date(2027, 1, 4)  # the Monday of that week
    assert len(empty.timeline.weeks) == 13  # 6 Jan + 12 weeks - 1 day ends on Tue 30 Mar
    assert empty.hours.overall.committed_share is None
    assert empty.rates.answer_rate is None and empty.rates.feedback_rate is None
    assert empty.ratings.average is None
    assert [row.key for row in empty.balance.rows] == ["large", "medium", "small"]
    assert figures.dashboard(db, programme_round.id + 1000, NOW) is None


def test_the_dashboard_is_a_fixed_number_of_queries(db, factory, hand_made):
    """Aggregate queries: adding leaders, pairs and exchanges adds no queries."""
    import sqlalchemy as sa

    def count_queries() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        engine = db.get_bind().engine
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            figures.dashboard(db, hand_made.round.id, NOW)
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    before = count_queries()
    for _ in range(5):
        mentor, mentee = factory.mentor(), factory.leader()
        for leader in (mentor, mentee):
            factory.participant(hand_made.round, leader)
        match = factory.match(hand_made.round, mentor, mentee, status="accepted")
        for week in range(3):
            factory.exchange(match, at(5) + timedelta(weeks=week), status="completed")
    # Ten, two for the confidence change, one invited, one the mentees.
    assert count_queries() == before <= 14
