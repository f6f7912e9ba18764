"""The demo data set: realistic, deterministic, idempotent, and ready to sign in to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

import mentoring.models  # noqa: F401  (registers every table on SQLModel.metadata)
from mentoring import passwords
from mentoring.auth.services import authenticate
from mentoring.db import make_engine
from mentoring.demo import DEMO_PASSWORD, MENTEE_EMAIL, MENTOR_EMAIL, DemoSummary, load_demo
from mentoring.models import (
    Availability,
    LeaderProfile,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.vocab import BOROUGHS, PROFESSIONS, TOPICS

TODAY = date(2027, 2, 10)  # a Wednesday: the round opens on Monday 15 February 2027
ROUND_START = date(2027, 2, 15)
ROUND_END = date(2027, 5, 7)


@contextmanager
def fresh_session() -> Iterator[Session]:
    passwords.use_fast_hashing_for_tests()
    engine = make_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


@pytest.fixture
def session() -> Iterator[Session]:
    with fresh_session() as session:
        yield session


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Session, DemoSummary]]:
    """One loaded demo shared by the read-only tests (loading takes a few tenths of a second)."""
    with fresh_session() as session:
        summary = load_demo(session, today=TODAY)
        session.commit()
        yield session, summary


def leaders_of(session: Session) -> list[LeaderProfile]:
    return list(session.exec(select(LeaderProfile).order_by(LeaderProfile.id)).all())


def free_half_days(session: Session) -> Counter[int]:
    return Counter(session.exec(select(Availability.leader_id)).all())


def table_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in SQLModel.metadata.sorted_tables
    }


def snapshot(session: Session) -> tuple[list[tuple], list[tuple]]:
    """What must not change between two loads with the same seed, in a stable order."""
    people = session.exec(
        select(LeaderProfile.name, User.email, LeaderProfile.profession, LeaderProfile.borough)
        .join(User, User.id == LeaderProfile.user_id)
        .order_by(User.email)
    ).all()
    free = session.exec(
        select(User.email, Availability.day, Availability.period)
        .join(LeaderProfile, LeaderProfile.id == Availability.leader_id)
        .join(User, User.id == LeaderProfile.user_id)
        .order_by(User.email, Availability.day, Availability.period)
    ).all()
    return [tuple(row) for row in people], [tuple(row) for row in free]


# --- Who is in it ----------------------------------------------------------------------------


def test_at_least_150_leaders_in_every_borough(demo):
    session, summary = demo
    leaders = leaders_of(session)
    assert summary.created is True
    assert len(leaders) >= 150
    assert summary.leaders == len(leaders)
    assert {leader.borough for leader in leaders} == set(BOROUGHS)
    assert summary.boroughs == 6


def test_every_kind_of_organisation_takes_part(demo):
    session, summary = demo
    sectors = {leader.sector for leader in leaders_of(session)}
    for sector in (
        "acute",
        "mental_health",
        "primary_care",
        "community_pharmacy",
        "social_care",
        "vcse",
    ):
        assert sector in sectors
    organisations = session.exec(select(Organisation)).all()
    assert summary.organisations == len(organisations) >= 30
    assert {org.size for org in organisations} == {"large", "medium", "small"}
    names = {org.name for org in organisations}
    assert "Guy's and St Thomas' NHS Foundation Trust" in names
    assert "NHS South East London ICB" in names
    by_id = {org.id: org for org in organisations}
    for leader in leaders_of(session):
        org = by_id[leader.organisation_id]
        assert leader.sector == org.sector


def test_every_profession_occurs_in_plausible_proportions(demo):
    session, _ = demo
    professions = Counter(leader.profession for leader in leaders_of(session))
    assert set(PROFESSIONS) - {"other"} <= set(professions)
    assert professions["gp"] > professions["patient_representative"]
    assert professions["nurse"] > professions["patient_representative"]
    pharmacists = sum(n for profession, n in professions.items() if "pharmac" in profession)
    assert pharmacists > professions["patient_representative"]


def test_professions_fit_their_sector(demo):
    session, _ = demo
    allowed = {
        "pcn_clinical_director": {"primary_care"},
        "pcn_pharmacy_lead": {"primary_care"},
        "practice_pharmacist": {"primary_care"},
        "community_pharmacist": {"community_pharmacy"},
        "hospital_pharmacist": {"acute"},
        "acute_clinical_director": {"acute"},
        "mental_health_nurse": {"mental_health"},
        "vcse_representative": {"vcse"},
        "social_worker": {"social_care", "mental_health"},
    }
    for leader in leaders_of(session):
        if leader.profession in allowed:
            assert leader.sector in allowed[leader.profession], (leader.name, leader.profession)


def test_mentors_and_mentees_both_plentiful(demo):
    session, summary = demo
    leaders = leaders_of(session)
    mentors = [leader for leader in leaders if leader.mentor_capacity > 0]
    mentees = [leader for leader in leaders if leader.wants_mentor]
    assert 0.3 * len(leaders) <= len(mentors) <= 0.5 * len(leaders)
    assert len(mentees) >= 0.5 * len(leaders)
    assert summary.mentors == len(mentors)
    assert summary.mentees == len(mentees)
    # Enough places to make the optimiser choose, not so many that everyone fits anywhere.
    assert len(mentees) * 0.8 <= sum(m.mentor_capacity for m in mentors) <= len(mentees) * 1.6
    assert all(1 <= mentor.mentor_capacity <= 3 for mentor in mentors)
    assert all(mentor.career_stage == "experienced" for mentor in mentors)
    assert any(mentor.can_host for mentor in mentors)


def test_profiles_are_complete_and_consistent(demo):
    session, _ = demo
    demo_round = session.exec(select(ProgrammeRound).where(ProgrammeRound.status == "open")).one()
    leaders = leaders_of(session)
    for leader in leaders:
        assert leader.name and leader.job_title
        assert leader.consent_at is not None
        assert leader.mentor_capacity > 0 or leader.wants_mentor
        assert set(leader.strengths) <= set(TOPICS)
        assert set(leader.goals) <= set(TOPICS)
        assert leader.strengths
        if leader.wants_mentor:
            assert leader.goals
        assert 4 <= leader.protected_hours_per_month <= 16
        if leader.can_host:
            assert leader.max_hosted_per_week >= 1
        else:
            assert leader.max_hosted_per_week is None
        assert leader.priority_group == (leader.profession in demo_round.priority_professions)
        assert leader.borough in leader.travel_boroughs
    preferences = Counter(leader.profession_preference for leader in leaders)
    assert preferences["any"] > 0.7 * len(leaders)


def test_names_and_emails_are_unique_and_fictional(demo):
    session, _ = demo
    emails = session.exec(select(User.email)).all()
    assert len(emails) == len(set(emails))
    assert all(
        email.endswith(".example") or email.endswith("@demo.example.nhs.uk") for email in emails
    )
    names = [leader.name for leader in leaders_of(session)]
    assert len(names) == len(set(names))


# --- The round and availability --------------------------------------------------------------


def test_one_open_twelve_week_round_everyone_has_joined(demo):
    session, summary = demo
    demo_round = session.exec(select(ProgrammeRound).where(ProgrammeRound.status == "open")).one()
    assert demo_round.status == "open"
    assert (demo_round.starts_on, demo_round.ends_on) == (ROUND_START, ROUND_END)
    assert demo_round.starts_on.weekday() == 0
    assert summary.round_name == demo_round.name == "Winter 2027 leadership exchange"
    participants = session.exec(select(RoundParticipant).where(
        RoundParticipant.round_id == demo_round.id)).all()
    assert {p.leader_id for p in participants} == {leader.id for leader in leaders_of(session)}
    assert {p.status for p in participants} == {"joined"}
    assert {p.round_id for p in participants} == {demo_round.id}


def test_round_opens_the_monday_after_today(session):
    load_demo(session, leaders=5, today=date(2027, 3, 1))  # a Monday: the next one, not today
    demo_round = session.exec(select(ProgrammeRound).where(ProgrammeRound.status == "open")).one()
    assert demo_round.starts_on == date(2027, 3, 8)
    assert demo_round.ends_on == date(2027, 3, 8) + timedelta(weeks=12, days=-3)
    assert demo_round.name == "Spring 2027 leadership exchange"


def test_availability_lies_in_the_window_on_weekdays(demo):
    session, summary = demo
    rows = session.exec(select(Availability)).all()
    assert summary.availability == len(rows)
    for row in rows:
        assert ROUND_START <= row.day <= ROUND_END
        assert row.day.weekday() < 5
        assert row.period in ("am", "pm")


def test_most_leaders_have_15_to_40_free_half_days(demo):
    session, _ = demo
    counts = free_half_days(session)
    leaders = leaders_of(session)
    in_range = [leader for leader in leaders if 15 <= counts[leader.id] <= 40]
    assert len(in_range) >= 0.8 * len(leaders)
    assert all(counts[leader.id] > 0 for leader in leaders)


def test_availability_clusters_on_usual_half_days(demo):
    """Real diaries repeat: most leaders are free on some weekday half-day most weeks."""
    session, _ = demo
    by_leader: dict[int, Counter[tuple[int, str]]] = {}
    for row in session.exec(select(Availability)).all():
        by_leader.setdefault(row.leader_id, Counter())[(row.day.weekday(), row.period)] += 1
    clustered = [slots for slots in by_leader.values() if max(slots.values()) >= 7]
    assert len(clustered) >= 0.9 * len(by_leader)


# --- Sign-in ---------------------------------------------------------------------------------


def test_demo_accounts_sign_in_with_the_demo_password(demo):
    session, summary = demo
    roles = dict(coordinator="coordinator", admin="admin", mentor="leader", mentee="leader")
    assert [role for role, _ in summary.sign_ins] == list(roles)
    for role, email in summary.sign_ins:
        user = authenticate(session, email, DEMO_PASSWORD)
        assert user is not None, email
        assert user.role == roles[role]
        assert user.is_verified
    generated = leaders_of(session)[-1]
    email = session.get(User, generated.user_id).email
    assert authenticate(session, email, DEMO_PASSWORD) is not None
    assert authenticate(session, email, "not-the-demo-password") is None
    assert len(DEMO_PASSWORD) >= 12
    session.rollback()  # keep the shared demo as loaded


def test_password_is_hashed_once_for_everyone(demo):
    session, _ = demo
    hashes = set(session.exec(select(User.password_hash)).all())
    assert len(hashes) == 1
    assert all(session.exec(select(User.verified_at)).all())


def test_named_leaders_have_full_profiles(demo):
    session, _ = demo

    def profile(email: str) -> LeaderProfile:
        return session.exec(
            select(LeaderProfile)
            .join(User, User.id == LeaderProfile.user_id)
            .where(User.email == email)
        ).one()

    mentor = profile("mentor@demo.example.nhs.uk")
    assert mentor.career_stage == "experienced"
    assert mentor.mentor_capacity >= 1 and mentor.can_host and mentor.strengths
    mentee = profile("leader@demo.example.nhs.uk")
    assert mentee.career_stage == "emerging"
    assert mentee.wants_mentor and mentee.mentor_capacity == 0 and mentee.goals
    counts = free_half_days(session)
    assert 15 <= counts[mentor.id] <= 40
    assert 15 <= counts[mentee.id] <= 40
    assert set(mentee.goals) & set(mentor.strengths)  # a pairing the demo can show off


def test_describe_says_what_was_loaded(demo):
    _, summary = demo
    text = summary.describe()
    assert text.startswith("Demo data loaded:")
    assert f"{summary.leaders} leaders" in text
    assert "Winter 2027 leadership exchange" in text


# --- Idempotent and deterministic ------------------------------------------------------------


def test_loading_twice_changes_nothing(session):
    first = load_demo(session, today=TODAY)
    session.commit()
    before = table_counts(session)
    second = load_demo(session, today=TODAY + timedelta(days=30))
    session.flush()
    assert table_counts(session) == before
    assert not session.new and not session.dirty
    assert first.created is True
    assert second.created is False
    assert "nothing changed" in second.describe()
    assert second.leaders == first.leaders
    assert second.mentors == first.mentors
    assert second.availability == first.availability
    assert second.round_name == first.round_name
    assert second.sign_ins == first.sign_ins


def test_same_seed_same_data():
    with fresh_session() as one, fresh_session() as two:
        load_demo(one, seed=7, today=TODAY)
        load_demo(two, seed=7, today=TODAY)
        assert snapshot(one) == snapshot(two)


def test_different_seeds_differ():
    with fresh_session() as one, fresh_session() as two:
        load_demo(one, seed=1, today=TODAY)
        load_demo(two, seed=2, today=TODAY)
        people_one, free_one = snapshot(one)
        people_two, free_two = snapshot(two)
        assert people_one != people_two
        assert free_one != free_two


def test_existing_organisations_are_reused(session):
    session.add(
        Organisation(
            name="Oxleas NHS Foundation Trust",
            sector="mental_health",
            borough="greenwich",
            size="large",
        )
    )
    session.flush()
    load_demo(session, today=TODAY)
    names = session.exec(select(Organisation.name)).all()
    assert names.count("Oxleas NHS Foundation Trust") == 1


def test_a_small_demo_still_works(session):
    summary = load_demo(session, leaders=3, today=TODAY)
    assert summary.leaders == 5  # the two named leaders and three generated ones
    assert len(leaders_of(session)) == 5


def test_the_demo_shows_a_booked_pair_and_an_offer_at_once(demo):
    """The sign-in pair starts booked (both accepted, two reciprocal exchanges, confirmations
    with invitations queued); the mentor also has an offer waiting (exchanges held, only the
    introductions queued), so both states can be seen on `make run`."""
    from mentoring.models import Exchange, Match, Notification
    from mentoring.slots import half_day_of

    session, _ = demo
    booked, offer = session.exec(select(Match).order_by(Match.id)).all()
    mentor, mentee = session.get(LeaderProfile, booked.mentor_id), session.get(
        LeaderProfile, booked.mentee_id)
    assert (mentor.user.email, mentee.user.email) == (MENTOR_EMAIL, MENTEE_EMAIL)
    assert booked.status == "accepted" and booked.reasons
    assert offer.status == "offered" and offer.mentor_id == mentor.id and offer.respond_by
    exchanges = session.exec(select(Exchange).where(Exchange.match_id == booked.id)
                             .order_by(Exchange.starts_at)).all()
    assert len(exchanges) == 2 and {x.status for x in exchanges} == {"scheduled"}
    assert {exchange.host_id for exchange in exchanges} == {mentor.id, mentee.id}
    assert (exchanges[1].starts_at - exchanges[0].starts_at).days >= 14
    free = {(row.day, row.period) for row in session.exec(select(Availability)).all()
            if row.leader_id in {mentor.id, mentee.id}}
    for exchange in exchanges:
        assert half_day_of(exchange.starts_at) in free  # inside both leaders' availability
    held = session.exec(select(Exchange).where(Exchange.match_id == offer.id)).all()
    assert len(held) == 2 and {x.status for x in held} == {"held"}
    assert not {half_day_of(x.starts_at) for x in held} & {half_day_of(x.starts_at)
                                                           for x in exchanges}
    confirmations = session.exec(
        select(Notification).where(Notification.kind == "exchange-confirmed")).all()
    assert len(confirmations) == 4  # two booked exchanges, two leaders
    assert all(notification.ics for notification in confirmations)
    offers = session.exec(select(Notification).where(Notification.kind == "match-offer")).all()
    assert len(offers) == 2 and not any(notification.ics for notification in offers)


def test_demo_hosts_give_visit_details_and_the_booked_exchanges_carry_them(demo):
    """Every demo host has a site with an invented south east London address and a drama-range
    phone number; the sign-in pair's booked exchanges, their emails and calendar events say
    where to go."""
    import re

    from icalendar import Calendar

    from mentoring.models import Exchange, Notification

    session, _ = demo
    hosts = [leader for leader in leaders_of(session) if leader.can_host]
    assert hosts
    postcode = re.compile(r"\n(London|[A-Z][a-z]+) (SE|SW|BR|DA)\d{1,2} \d[A-Z]{2}$")
    for host in hosts:
        assert host.visit_site and postcode.search(host.visit_address), host.visit_address
        assert host.visit_directions and host.visit_meeting and host.visit_accessibility
        assert host.visit_phone.startswith("020 7946 0")  # Ofcom's drama numbers
    phones = [leader.phone for leader in leaders_of(session) if leader.phone]
    assert phones and all(phone.startswith("07700 900") for phone in phones)
    grace = session.exec(select(LeaderProfile).join(User).where(User.email == MENTOR_EMAIL)).one()
    hosted = session.exec(select(Exchange).where(Exchange.host_id == grace.id,
                                                 Exchange.status == "scheduled")).all()
    assert hosted and all(x.location == "Deptford Creek Health Centre" for x in hosted)
    assert all("London SE8 4QX" in x.address and x.phone for x in hosted)
    email = session.exec(select(Notification).where(
        Notification.kind == "exchange-confirmed", Notification.exchange_id == hosted[0].id,
        Notification.recipient_email == MENTEE_EMAIL)).one()
    assert "27 Creekside Walk, Deptford, London SE8 4QX" in email.body_text
    event = Calendar.from_ical(email.ics).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == ("Deptford Creek Health Centre, 27 Creekside Walk, "
                                      "Deptford, London SE8 4QX")
    assert "Jo Adeyemi" in str(event["DESCRIPTION"])


def test_the_demo_programme_mailbox_is_on_the_demo_domain(demo):
    """Invitations' ORGANIZER and Reply-To: one address in the demo's emails, not the seeded
    south east London one beside the demo round's."""
    from mentoring.configuration import programme

    session, _ = demo
    assert programme.load(session)["contact_email"] == "leadership.programme@demo.example.nhs.uk"


def test_a_finished_round_shows_whether_it_worked(demo):
    """Before the open round, a closed one that ended three weeks before today, whose leaders
    answered the self-assessment on joining and (most of them) at the end: the dashboard has a
    paired change to show. The demo leader answered only on joining, so the end-of-round email
    reaches them."""
    from mentoring.confidence.services import ask_at_round_end
    from mentoring.insights.confidence import change
    from mentoring.models import Notification, SelfAssessment

    session, _ = demo
    finished = session.exec(select(ProgrammeRound).where(ProgrammeRound.status == "closed")).one()
    assert finished.ends_on == TODAY - timedelta(days=21)
    figures = change(session, finished.id)
    assert figures.overall.leaders and figures.overall.leaders >= 40
    assert 0 < figures.overall.overall_change < 2
    assert any(row.hidden for row in figures.by_profession)
    answered = session.exec(select(SelfAssessment.moment).join(
        LeaderProfile, LeaderProfile.id == SelfAssessment.leader_id).join(
        User, User.id == LeaderProfile.user_id).where(User.email == MENTEE_EMAIL)).all()
    assert answered == ["joining"]
    assert ask_at_round_end(session, TODAY) >= 1
    assert session.exec(select(Notification).where(
        Notification.kind == "self-assessment-end",
        Notification.recipient_email == MENTEE_EMAIL)).one()
