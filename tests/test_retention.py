"""Retention that happens (issue 19, item 3): what is past its period is removed by the worker,
aggregate figures stay true, and the audit log says what was done."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from mentoring import audit
from mentoring.config import ConfigError, load_settings
from mentoring.insights import figures
from mentoring.models import (
    AuditEvent,
    Availability,
    Exchange,
    Feedback,
    IdentityLink,
    Invitation,
    LeaderProfile,
    Match,
    Notification,
    OptimiserRun,
    ProposalRemoval,
    Reflection,
    TimeRelease,
    User,
    UserSession,
)
from mentoring.notifications.outbox import enqueue
from mentoring.retention import (
    FORMER_PARTICIPANT,
    RetentionPeriods,
    apply_retention,
    months_before,
)
from mentoring.worker import JOBS

from conftest import SignedIn

NOW = datetime(2031, 6, 15, 3, 0, tzinfo=UTC)
PERIODS = RetentionPeriods()  # 24 months, 24 months, 72 months, 180 days


def _events(db, action):
    return db.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def _email(db, user, key, *, sent_at, round_id=None):
    enqueue(db, key=key, kind="test", recipient_email=user.email, recipient_user_id=user.id,
            subject="Hello", template="account_exists",
            context={"email": user.email, "sign_in_url": "/s", "reset_url": "/r"},
            round_id=round_id)
    row = db.exec(select(Notification).where(Notification.idempotency_key == key)).one()
    row.status, row.sent_at = "sent", sent_at
    db.add(row)
    db.flush()
    return row


def test_months_are_calendar_months():
    assert months_before(datetime(2031, 6, 15, tzinfo=UTC), 24) == datetime(2029, 6, 15,
                                                                            tzinfo=UTC)
    assert months_before(datetime(2031, 3, 31, tzinfo=UTC), 1) == datetime(2031, 2, 28,
                                                                           tzinfo=UTC)
    assert months_before(datetime(2031, 1, 10, tzinfo=UTC), 13) == datetime(2029, 12, 10,
                                                                            tzinfo=UTC)


def test_periods_come_from_the_environment_and_nonsense_is_refused(tmp_path):
    settings = load_settings({"MENTORING_ENV": "development", "RETENTION_AUDIT_MONTHS": "84",
                              "RETENTION_SENT_EMAIL_DAYS": "30"}, instance_path=tmp_path)
    periods = RetentionPeriods.from_settings(settings)
    assert (periods.audit_months, periods.sent_email_days) == (84, 30)
    assert periods.closed_round_months == periods.inactive_account_months == 24
    with pytest.raises(ConfigError, match="RETENTION_CLOSED_ROUND_MONTHS"):
        load_settings({"MENTORING_ENV": "development", "RETENTION_CLOSED_ROUND_MONTHS": "0"},
                      instance_path=tmp_path)


def test_the_worker_applies_retention_daily():
    [job] = [job for job in JOBS if job.name == "apply-retention"]
    assert job.seconds == 24 * 3600


def test_the_privacy_notice_states_the_configured_periods(tmp_path, engine, connection):
    from mentoring import create_app

    from conftest import _session_on, make_settings

    app = create_app({"SETTINGS": make_settings(tmp_path, retention_audit_months=84,
                                                retention_sent_email_days=30),
                      "ENGINE": engine})
    app.extensions["mentoring.session_factory"] = lambda: _session_on(connection)
    html = app.test_client().get("/privacy").get_data(as_text=True)
    section = html[html.index('id="retention"'):html.index('id="rights"')]
    assert "The audit log of who did what: 7 years" in section
    assert "Copies of the emails we send you: 30 days" in section
    assert "2 years after the round ends" in section


# --- closed rounds -----------------------------------------------------------------------------


@pytest.fixture
def old_round(db, factory):
    """A round that ended in 2028 and was closed, with everything a round gathers."""
    mentee = factory.leader(name="Ada Mentee")
    pair = factory.matched(mentee, status="accepted", upcoming_at=datetime(2028, 2, 1, 9,
                                                                             tzinfo=UTC))
    programme_round = pair.round
    programme_round.starts_on, programme_round.ends_on = date(2028, 1, 3), date(2028, 3, 31)
    programme_round.status = "closed"
    db.add(programme_round)
    pair.upcoming.status = "completed"
    pair.upcoming.note, pair.upcoming.phone = "Meet at the blue door", "020 7946 0000"
    db.add(pair.upcoming)
    declined = factory.match(programme_round, factory.mentor(), factory.leader(),
                             status="declined", decline_reason="My manager said no",
                             decline_choice="timing")
    factory.availability(programme_round, mentee, date(2028, 2, 1))
    db.add(Invitation(round_id=programme_round.id, email="invited@example.org",
                      prefill={"name": "Invited Person"}))
    db.add(TimeRelease(match_id=pair.match.id, leader_id=mentee.id, manager_name="Mo Manager",
                       manager_email="mo@example.org", nonce="n",
                       expires_at=datetime(2028, 3, 1, tzinfo=UTC)))
    run = OptimiserRun(round_id=programme_round.id, status="succeeded",
                       problem={"leaders": [{"name": "Ada Mentee"}]}, solution={"pairs": []},
                       note="first try")
    db.add(run)
    db.flush()
    db.add(ProposalRemoval(run_id=run.id, mentor_id=declined.mentor_id,
                           mentee_id=declined.mentee_id))
    factory.feedback(pair.upcoming, mentee, rating=5, learned="How a ward runs",
                     agree_to_be_named=True)
    _email(db, mentee.user, "round-email", sent_at=datetime(2028, 2, 1, tzinfo=UTC),
           round_id=programme_round.id)
    db.flush()
    return pair, declined


def test_a_closed_round_past_its_period_loses_personal_data_but_keeps_its_figures(
    db, old_round
):
    pair, declined = old_round
    round_id = pair.round.id
    before = figures.dashboard(db, round_id, NOW)

    done = apply_retention(db, PERIODS, NOW)

    assert done["rounds_tidied"] == 1
    assert db.exec(select(Availability).where(Availability.round_id == round_id)).all() == []
    # The invitation never taken up stays counted, without its address or what it prefilled.
    [kept] = db.exec(select(Invitation).where(Invitation.round_id == round_id)).all()
    assert kept.email.endswith("@invalid") and "invited" not in kept.email
    assert kept.prefill == {}
    [release] = db.exec(select(TimeRelease)).all()
    assert (release.manager_name, release.manager_email, release.nonce) == ("", "", "")
    exchange = db.get(Exchange, pair.upcoming.id)
    assert (exchange.note, exchange.phone, exchange.location, exchange.preparation) == ("",) * 4
    assert exchange.status == "completed" and exchange.starts_at == pair.upcoming.starts_at
    declined = db.get(Match, declined.id)
    assert declined.decline_reason == "" and declined.decline_choice == "timing"
    run = db.exec(select(OptimiserRun).where(OptimiserRun.round_id == round_id)).one()
    assert run.problem is None and run.solution is None and run.note == ""
    assert db.exec(select(ProposalRemoval)).all() == []
    [feedback] = db.exec(select(Feedback).where(Feedback.round_id == round_id)).all()
    assert feedback.leader_id is None and not feedback.agree_to_be_named
    assert feedback.rating == 5 and feedback.learned == "How a ward runs"
    assert db.exec(select(Notification).where(Notification.round_id == round_id)).all() == []
    assert pair.round.personal_data_removed_at == NOW
    # Every figure on the dashboard is what it was.
    assert figures.dashboard(db, round_id, NOW) == before
    [event] = _events(db, "retention.applied")
    assert event.detail["rounds_tidied"] == 1 and event.detail["periods"]["closed_round_months"]


ROUND_PAGES = ("", "/participants", "/readiness", "/export/participants.csv",
               "/export/matches.csv", "/export/exchanges.csv", "/runs", "/runs/{run}",
               "/changes", "/dashboard", "/feedback", "/report", "/report.csv",
               "/you-said-we-did", "/outbox")


def test_the_round_pages_still_open_after_the_round_is_tidied(app, db, old_round, coordinator):
    pair, _ = old_round
    apply_retention(db, PERIODS, NOW)
    db.flush()
    run = db.exec(select(OptimiserRun).where(OptimiserRun.round_id == pair.round.id)).one()
    coordinator_client = SignedIn(app, coordinator)
    for path in ROUND_PAGES:
        url = f"/rounds/{pair.round.id}{path.format(run=run.id)}"
        assert coordinator_client.get(url).status_code == 200, url


def test_a_round_still_within_its_period_or_not_closed_is_left_alone(db, factory, old_round):
    pair, _ = old_round
    recent = factory.programme_round(starts_on=date(2030, 1, 6), status="closed")
    running = factory.programme_round(starts_on=date(2028, 1, 3), status="published")
    for programme_round in (recent, running):
        factory.availability(programme_round, pair.mentee, programme_round.starts_on)
    apply_retention(db, PERIODS, NOW)
    for programme_round in (recent, running):
        assert programme_round.personal_data_removed_at is None
        assert db.exec(select(Availability).where(
            Availability.round_id == programme_round.id)).all()


def test_a_tidied_round_is_not_tidied_again(db, old_round):
    apply_retention(db, PERIODS, NOW)
    assert apply_retention(db, PERIODS, NOW + timedelta(days=1))["rounds_tidied"] == 0


# --- unused accounts ---------------------------------------------------------------------------


def _unused(factory, db, **fields):
    profile = factory.leader(name="Uma Unused", job_title="Practice manager",
                             phone="07700 900123", line_manager_name="Lee",
                             line_manager_email="lee@example.org")
    profile.user.last_sign_in_at = datetime(2029, 1, 1, tzinfo=UTC)
    for name, value in fields.items():
        setattr(profile.user, name, value)
    db.add(profile.user)
    db.flush()
    return profile


def test_an_unused_account_is_warned_then_anonymised_thirty_days_later(db, factory):
    profile = _unused(factory, db)
    user = profile.user
    email = user.email
    db.add(Reflection(leader_id=profile.id, text="What I learned"))
    db.add(IdentityLink(user_id=user.id, provider="nhsmail", issuer="https://login.example/t/v2.0",
                        subject="abc", email=email))
    # A session the worker has not pruned yet: it names their browser and address.
    db.add(UserSession(id_hash="0" * 64, user_id=user.id, user_agent="Firefox", ip="192.0.2.1"))
    db.flush()

    done = apply_retention(db, PERIODS, NOW)
    assert done["accounts_warned"] == 1 and done["accounts_anonymised"] == 0
    [warning] = db.exec(select(Notification).where(Notification.kind == "retention_warning")).all()
    assert warning.recipient_email == email
    assert "Monday 1 January 2029" in warning.body_text  # when they last signed in
    assert "Tuesday 15 July 2031" in warning.body_text  # the day it goes
    assert "/sign-in" in warning.body_text
    # The next days: no second warning, nothing removed yet.
    assert apply_retention(db, PERIODS, NOW + timedelta(days=29))["accounts_warned"] == 0
    assert user.anonymised_at is None

    done = apply_retention(db, PERIODS, NOW + timedelta(days=30))
    assert done["accounts_anonymised"] == 1
    db.refresh(user)
    db.refresh(profile)
    assert user.email == f"former-{user.id}@anonymised.invalid" and not user.is_active
    assert user.password_hash is None and user.anonymised_at is not None
    assert profile.name == FORMER_PARTICIPANT
    assert (profile.job_title, profile.phone, profile.line_manager_email) == ("", "", "")
    assert profile.sector == "primary_care"  # a dimension of the figures, kept
    assert db.exec(select(Reflection).where(Reflection.leader_id == profile.id)).all() == []
    assert db.exec(select(IdentityLink).where(IdentityLink.user_id == user.id)).all() == []
    assert db.exec(select(UserSession).where(UserSession.user_id == user.id)).all() == []
    assert db.exec(select(Notification).where(Notification.recipient_email == email)).all() == []
    assert email not in str([(e.actor_email, e.detail) for e in db.exec(select(AuditEvent))])


def test_signing_in_after_the_warning_keeps_the_account(db, factory):
    profile = _unused(factory, db)
    apply_retention(db, PERIODS, NOW)
    profile.user.last_sign_in_at = NOW + timedelta(days=3)
    db.add(profile.user)
    done = apply_retention(db, PERIODS, NOW + timedelta(days=31))
    assert done["accounts_anonymised"] == 0
    assert profile.user.anonymised_at is None and profile.name == "Uma Unused"


def test_an_anonymised_leaders_matches_still_count_and_show_as_a_former_participant(
    app, db, factory
):
    mentee = _unused(factory, db)
    pair = factory.matched(mentee, status="accepted")
    pair.round.status, pair.round.ends_on = "closed", date(2029, 3, 1)
    pair.round.starts_on = date(2028, 12, 3)
    db.add(pair.round)
    pair.mentor.user.last_sign_in_at = NOW  # the partner still uses the service
    db.add(pair.mentor.user)
    db.flush()
    before = figures.dashboard(db, pair.round.id, NOW)
    apply_retention(db, PERIODS, NOW)
    apply_retention(db, PERIODS, NOW + timedelta(days=30))
    assert db.get(Match, pair.match.id) is not None
    assert figures.dashboard(db, pair.round.id, NOW) == before
    mentor_page = SignedIn(app, pair.mentor.user).get("/matches")
    assert mentor_page.status_code == 200


def test_people_still_taking_part_and_admins_are_never_anonymised(db, factory):
    running = factory.programme_round(status="open")
    in_round = _unused(factory, db)
    factory.participant(running, in_round)
    admin = factory.user(role="admin", last_sign_in_at=datetime(2020, 1, 1, tzinfo=UTC))
    recent = _unused(factory, db, last_sign_in_at=NOW - timedelta(days=40))
    done = apply_retention(db, PERIODS, NOW)
    assert done["accounts_warned"] == 0
    for user in (in_round.user, admin, recent.user):
        assert user.inactivity_warned_at is None


def test_an_anonymised_account_cannot_sign_in(app, db, factory):
    profile = _unused(factory, db)
    email = profile.user.email
    apply_retention(db, PERIODS, NOW)
    apply_retention(db, PERIODS, NOW + timedelta(days=30))
    db.flush()
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    from conftest import TEST_PASSWORD, csrf_token

    response = client.post("/sign-in", data={"email": email, "password": TEST_PASSWORD,
                                             "csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert db.exec(select(User).where(User.email == email)).first() is None


# --- sent emails and the audit log -------------------------------------------------------------


def test_sent_emails_past_their_period_go_and_pending_ones_stay(db, factory, leader):
    old = _email(db, leader.user, "old", sent_at=NOW - timedelta(days=181))
    recent = _email(db, leader.user, "recent", sent_at=NOW - timedelta(days=179))
    enqueue(db, key="pending", kind="test", recipient_email=leader.user.email, subject="Later",
            template="account_exists",
            context={"email": leader.user.email, "sign_in_url": "/s", "reset_url": "/r"},
            due_at=NOW - timedelta(days=400))
    done = apply_retention(db, PERIODS, NOW)
    assert done["sent_emails_deleted"] == 1
    keys = {row.idempotency_key for row in db.exec(select(Notification))}
    assert old.idempotency_key not in keys and {"recent", "pending"} <= keys
    assert recent is not None


def test_audit_events_past_their_period_go_and_the_removal_is_itself_audited(db, factory):
    audit.record(db, "old.event")
    db.flush()
    old = _events(db, "old.event")[0]
    old.at = months_before(NOW, 72) - timedelta(days=1)
    db.add(old)
    audit.record(db, "recent.event")
    db.flush()
    done = apply_retention(db, PERIODS, NOW)
    assert done["audit_events_deleted"] == 1
    assert _events(db, "old.event") == [] and _events(db, "recent.event")
    [event] = _events(db, "retention.applied")
    assert event.detail["audit_events_deleted"] == 1


def test_nothing_to_remove_writes_no_audit_event(db, factory, leader):
    leader.user.last_sign_in_at = NOW - timedelta(days=1)
    db.add(leader.user)
    assert not any(apply_retention(db, PERIODS, NOW).values())
    assert _events(db, "retention.applied") == []
    assert db.exec(select(LeaderProfile)).first().name == leader.name
