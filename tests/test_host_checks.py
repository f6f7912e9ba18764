"""The host's checks (issue 14, item 3): each organisation's access route, notice and checks;
each booked exchange's checklist, ticked by the host or a coordinator and read by the visitor;
reminders that chase open items; exchanges at risk three working days before; and the notice as
a hard scheduling rule, in the problem the optimiser gets and at approval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mentoring.matching.decisions import ChangePlan, NewExchange, _apply, plan_changes
from mentoring.matching.problem import build_problem, fixed_part, slot_id
from mentoring.models import (
    AuditEvent,
    Exchange,
    ExchangeCheck,
    Notification,
    Organisation,
    OrganisationCreate,
    utcnow,
)
from mentoring.offers.services import accept_offer
from mentoring.visits import checks
from mentoring.visits.checks import (
    at_risk,
    at_risk_from,
    chase_host_checks,
    open_checklist,
    remind_hosts,
    working_days_before,
)
from optimiser import check_solution, load_problem, solve

from conftest import SignedIn
from matching_world import MONDAY, make_round, stored_run, worker

VISIT = datetime(2030, 3, 11, 9, 0, tzinfo=UTC)  # Monday 11 March 2030, 9am in London (GMT)


def rows_of(db, exchange) -> dict[str, ExchangeCheck]:
    db.expire_all()  # the app's own session may have changed them
    return {row.item: row for row in db.exec(
        select(ExchangeCheck).where(ExchangeCheck.exchange_id == exchange.id)).all()}


def acute(factory, **fields) -> Organisation:
    """A hospital trust with its sector's usual needs (letter of access, 4 weeks, every check)."""
    created = OrganisationCreate.model_validate(
        {"name": fields.pop("name", "St Elsewhere NHS Trust"), "sector": "acute",
         "borough": "lambeth", **fields})
    organisation = Organisation.model_validate(created)
    factory.session.add(organisation)
    factory.session.flush()
    return organisation


@pytest.fixture
def booked(factory, leader):
    """Ben (at an acute trust) hosts Ada on 11 March 2030: booked, checklist not made yet."""
    trust = acute(factory)
    host = factory.mentor(email="ben.host@example.org", name="Ben Host",
                          organisation_id=trust.id)
    pair = factory.matched(leader, host, status="accepted", upcoming_at=VISIT)
    pair.trust = trust
    return pair


# --- organisations: sector defaults, and the page to change them -----------------------------


def test_a_new_organisation_starts_with_its_sectors_usual_needs():
    def needs(sector):
        made = OrganisationCreate.model_validate({"name": "An organisation", "sector": sector,
                                                  "borough": "bexley"})
        return made.access_route, made.notice_weeks, made.host_checks

    assert needs("acute") == ("letter_of_access", 4, ["confidentiality", "photo_id",
                                                      "infection_control", "patients_told",
                                                      "dbs"])
    assert needs("primary_care") == ("escorted_visitor", 2, ["confidentiality", "photo_id",
                                                             "patients_told"])
    assert needs("social_care") == ("escorted_visitor", 1, ["confidentiality", "photo_id", "dbs"])
    assert needs("vcse") == ("escorted_visitor", 1, ["confidentiality", "photo_id"])


def test_a_coordinator_changes_what_an_organisation_needs_and_it_is_audited(
        db, factory, coordinator_client, coordinator, booked):
    url = f"/admin/organisations/{booked.trust.id}"
    listing = coordinator_client.get("/admin/organisations").get_data(as_text=True)
    assert "St Elsewhere NHS Trust" in listing and "Letter of access" in listing
    open_checklist(db, booked.upcoming, utcnow())
    rows = rows_of(db, booked.upcoming)
    rows["dbs"].confirmed_at = utcnow()  # confirmed before the change: kept as a record
    db.add(rows["dbs"])
    db.flush()

    response = coordinator_client.post_form(url, {
        "access_route": "honorary_contract", "notice_weeks": "6",
        "host_checks": ["confidentiality", "photo_id"]})
    assert response.status_code == 302
    db.refresh(booked.trust)
    assert (booked.trust.access_route, booked.trust.notice_weeks, booked.trust.host_checks) == (
        "honorary_contract", 6, ["confidentiality", "photo_id"])
    # The visit still to come follows: new route in, open items no longer needed out.
    assert set(rows_of(db, booked.upcoming)) == {"honorary_contract", "confidentiality",
                                                 "photo_id", "dbs"}
    event = db.exec(select(AuditEvent).where(
        AuditEvent.action == "organisation.visit_needs_changed")).one()
    assert event.actor_id == coordinator.id
    assert event.detail["before"]["access_route"] == "letter_of_access"
    assert event.detail["after"] == {"access_route": "honorary_contract", "notice_weeks": 6,
                                     "host_checks": ["confidentiality", "photo_id"]}


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"notice_weeks": "two"}, "notice_weeks",
     "Enter the notice as a whole number of weeks, like 2"),
    ({"notice_weeks": ""}, "notice_weeks", "Enter the notice this organisation needs, in weeks"),
    ({"notice_weeks": "27"}, "notice_weeks", "Enter a notice of 26 weeks or fewer"),
    ({"access_route": "walk_in"}, "access_route",
     "Choose how visitors can observe at this organisation"),
    ({"host_checks": ["confidentiality", "blood_test"]}, "host_checks",
     "Choose checks from the list"),
])
def test_the_organisation_page_shows_errors_beside_the_fields_and_keeps_the_input(
        db, coordinator_client, booked, form, field, message):
    sent = {"access_route": "letter_of_access", "notice_weeks": "3",
            "host_checks": ["photo_id"], **form}
    response = coordinator_client.post_form(f"/admin/organisations/{booked.trust.id}", sent)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html
    assert f'id="{field}-error"' in html and message in html
    assert f'href="#{field}"' in html
    if field != "notice_weeks":
        assert 'value="3"' in html  # what was typed is kept
    db.refresh(booked.trust)
    assert booked.trust.notice_weeks == 4  # nothing saved


def test_leaders_cannot_change_organisations(leader_client, booked):
    assert leader_client.get("/admin/organisations").status_code == 403
    assert leader_client.get(f"/admin/organisations/{booked.trust.id}").status_code == 403


# --- the checklist is made when the exchange is booked ----------------------------------------


def test_booking_opens_the_checklist_from_the_host_organisation(db, factory, leader):
    trust = acute(factory)
    host = factory.mentor(name="Ben Host", organisation_id=trust.id)
    pair = factory.matched(leader, host, status="offered", upcoming_at=VISIT)
    assert rows_of(db, pair.upcoming) == {}  # held for the offer: no checklist yet
    now = datetime(2030, 1, 10, 12, tzinfo=UTC)
    accept_offer(db, leader, leader.user, pair.match.id, now)
    assert rows_of(db, pair.upcoming) == {}  # one side only: still held
    accept_offer(db, host, host.user, pair.match.id, now)
    db.refresh(pair.upcoming)
    assert pair.upcoming.status == "scheduled"
    rows = rows_of(db, pair.upcoming)
    assert list(rows) == ["letter_of_access", "confidentiality", "photo_id",
                          "infection_control", "patients_told", "dbs"]
    assert all(row.confirmed_at is None and row.confirmed_by_id is None for row in rows.values())
    assert open_checklist(db, pair.upcoming, now) == 0  # made once


def test_an_exchange_approved_for_a_booked_match_gets_its_checklist(db, factory, leader,
                                                                    coordinator):
    host = factory.mentor(name="Ben Host")
    pair = factory.matched(leader, host, status="accepted", upcoming_at=VISIT)
    run = stored_run(db, pair.round, host, leader)
    plan = ChangePlan(new_exchanges=[NewExchange(host.id, leader.id,
                                                 slot_id(date(2030, 3, 18), "am"))])
    _apply(db, pair.round, run, plan, coordinator, datetime(2030, 1, 10, tzinfo=UTC))
    new = db.exec(select(Exchange).where(Exchange.match_id == pair.match.id,
                                         Exchange.starts_at > VISIT)).one()
    assert new.status == "scheduled"
    assert list(rows_of(db, new)) == ["escorted_visitor", "confidentiality", "photo_id"]


def test_a_leader_without_an_organisation_gets_their_sectors_checklist(db, factory, leader):
    host = factory.mentor(name="Solo Host", sector="social_care", organisation_id=None)
    pair = factory.matched(leader, host, status="accepted", upcoming_at=VISIT)
    open_checklist(db, pair.upcoming, utcnow())
    assert list(rows_of(db, pair.upcoming)) == ["escorted_visitor", "confidentiality",
                                                "photo_id", "dbs"]


# --- ticking: the host yes, the visitor no, a coordinator yes, anyone else 404 --------------------


def test_the_host_ticks_items_and_only_date_and_confirmer_are_kept(app, db, booked):
    host = SignedIn(app, booked.mentor.user)
    url = f"/exchanges/{booked.upcoming.id}"
    page = host.get(url).get_data(as_text=True)
    assert "Before the visit" in page and "Letter of access issued" in page
    assert 'name="confirmed"' in page  # the host's form
    response = host.post_form(f"{url}/checks", {"confirmed": ["letter_of_access", "dbs"]},
                              form_page=url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{url}#before-the-visit")
    rows = rows_of(db, booked.upcoming)
    assert {item for item, row in rows.items() if row.confirmed} == {"letter_of_access", "dbs"}
    assert rows["dbs"].confirmed_by_id == booked.mentor.user.id
    assert set(ExchangeCheck.model_fields) == {"id", "exchange_id", "item", "confirmed_at",
                                               "confirmed_by_id", "created_at"}
    first_confirmed = rows["dbs"].confirmed_at
    # Unticking undoes a mistake; items ticked before keep their date.
    response = host.post_form(f"{url}/checks", {"confirmed": ["dbs", "photo_id"]},
                              form_page=url)
    assert response.status_code == 302, response.get_data(as_text=True)
    rows = rows_of(db, booked.upcoming)
    assert {item for item, row in rows.items() if row.confirmed} == {"dbs", "photo_id"}
    assert rows["dbs"].confirmed_at == first_confirmed
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "exchange.checks_updated")
                     .order_by(AuditEvent.id)).all()
    assert [event.detail for event in events] == [
        {"confirmed": ["letter_of_access", "dbs"], "reopened": []},
        {"confirmed": ["photo_id"], "reopened": ["letter_of_access"]},
    ]


def test_the_visitor_sees_what_is_outstanding_but_cannot_tick(app, db, leader_client, booked):
    url = f"/exchanges/{booked.upcoming.id}"
    page = leader_client.get(url).get_data(as_text=True)
    assert "Before the visit" in page
    assert "Still to confirm: Letter of access issued, Confidentiality agreement signed" in page
    assert 'name="confirmed"' not in page
    response = leader_client.post_form(f"{url}/checks", {"confirmed": ["dbs"]}, form_page=url)
    assert response.status_code == 403
    assert rows_of(db, booked.upcoming) == {}
    # Once the host has confirmed something, the visitor sees when and by whom.
    checks.confirm(db, booked.upcoming, booked.mentor.user, ["dbs"], utcnow())
    page = leader_client.get(url).get_data(as_text=True)
    assert "Confirmed</strong> on " in page and "by Ben Host" in page


def test_another_leader_gets_404(app, factory, db, booked):
    stranger = SignedIn(app, factory.leader(name="Stranger").user)
    url = f"/exchanges/{booked.upcoming.id}/checks"
    response = stranger.post_form(url, {"confirmed": ["dbs"]}, form_page="/matches")
    assert response.status_code == 404
    assert rows_of(db, booked.upcoming) == {}


def test_a_coordinator_ticks_on_the_rounds_page_for_the_exchange(db, coordinator_client,
                                                                 coordinator, booked):
    url = f"/rounds/{booked.round.id}/exchanges/{booked.upcoming.id}/checks"
    page = coordinator_client.get(url).get_data(as_text=True)
    assert "Ada Leader visits Ben Host" in page and "St Elsewhere NHS Trust" in page
    response = coordinator_client.post_form(url, {"confirmed": ["confidentiality"]})
    assert response.status_code == 302
    assert rows_of(db, booked.upcoming)["confidentiality"].confirmed_by_id == coordinator.id
    other_round = f"/rounds/{booked.round.id + 1000}/exchanges/{booked.upcoming.id}/checks"
    assert coordinator_client.get(other_round).status_code == 404


def test_an_item_not_on_the_checklist_is_refused_and_nothing_stored(app, db, booked):
    host = SignedIn(app, booked.mentor.user)
    url = f"/exchanges/{booked.upcoming.id}"
    response = host.post_form(f"{url}/checks", {"confirmed": ["dbs", "certificate_upload"]},
                              form_page=url)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and "Choose items from the checklist" in html
    assert rows_of(db, booked.upcoming) == {}


def test_a_held_exchange_shows_what_will_be_needed_but_cannot_be_ticked(db, factory, leader):
    pair = factory.matched(leader, factory.mentor(name="Ben Host"), status="offered",
                           upcoming_at=VISIT)
    checklist = checks.checklist(db, pair.upcoming, utcnow())
    assert [item.key for item in checklist.items] == ["escorted_visitor", "confidentiality",
                                                      "photo_id"]
    assert not checklist.is_open
    with pytest.raises(checks.ChecklistError):
        checks.confirm(db, pair.upcoming, pair.mentor.user, ["photo_id"], utcnow())


# --- reminders ------------------------------------------------------------------------------


def reminders(db) -> list[Notification]:
    return db.exec(select(Notification).where(Notification.kind == "host-checks-reminder")
                   .order_by(Notification.id)).all()


def test_reminders_chase_open_items_at_14_and_5_days_once_each(db, booked):
    open_checklist(db, booked.upcoming, utcnow())
    assert remind_hosts(db, VISIT - timedelta(days=15)) == 0
    fourteen = VISIT - timedelta(days=14)
    assert remind_hosts(db, fourteen) == 1
    assert remind_hosts(db, fourteen + timedelta(hours=6)) == 0  # once
    assert remind_hosts(db, VISIT - timedelta(days=5)) == 1
    assert remind_hosts(db, VISIT - timedelta(days=2)) == 0
    first, second = reminders(db)
    assert first.recipient_email == "ben.host@example.org"
    assert first.subject == "Before Ada Leader's visit in 14 days: 6 checks to confirm"
    assert "- DBS check confirmed" in first.body_text
    assert f"http://localhost/exchanges/{booked.upcoming.id}" in first.body_text
    assert "in 5 days" in second.subject


def test_no_reminder_once_everything_is_confirmed(db, booked):
    open_checklist(db, booked.upcoming, utcnow())
    checks.confirm(db, booked.upcoming, booked.mentor.user,
                   list(rows_of(db, booked.upcoming)), utcnow())
    assert remind_hosts(db, VISIT - timedelta(days=5)) == 0


def test_a_visit_booked_late_gets_only_the_latest_reminder(db, booked):
    open_checklist(db, booked.upcoming, utcnow())
    assert remind_hosts(db, VISIT - timedelta(days=4)) == 1
    assert remind_hosts(db, VISIT - timedelta(days=3)) == 0
    assert [row.idempotency_key.split(":")[0] for row in reminders(db)] == [
        "host-checks-reminder-5d"]


def test_the_worker_job_opens_missing_checklists(app, db, booked):
    assert chase_host_checks(worker(app)) >= 1
    assert len(rows_of(db, booked.upcoming)) == 6


# --- at risk: three working days before ---------------------------------------------------------


def test_three_working_days_skip_weekends_and_holidays():
    assert working_days_before(date(2030, 3, 13), 3) == date(2030, 3, 8)  # Wed -> Fri
    assert working_days_before(date(2030, 3, 11), 3) == date(2030, 3, 6)  # Mon -> Wed
    assert working_days_before(date(2030, 3, 16), 3) == date(2030, 3, 13)  # Sat -> Wed
    # The bank-holiday hook: Friday 19 April 2030 is Good Friday.
    assert working_days_before(date(2030, 4, 23), 3,
                               is_holiday=lambda day: day == date(2030, 4, 19)) == date(
        2030, 4, 17)
    assert at_risk_from(VISIT) == date(2030, 3, 6)


def test_open_items_three_working_days_before_put_a_visit_at_risk(db, booked):
    open_checklist(db, booked.upcoming, utcnow())
    tuesday = datetime(2030, 3, 5, 17, tzinfo=UTC)
    wednesday = datetime(2030, 3, 6, 0, 30, tzinfo=UTC)
    assert at_risk(db, tuesday, booked.round.id) == []
    found = at_risk(db, wednesday, booked.round.id)
    assert [(x.exchange_id, x.host_name, x.visitor_name) for x in found] == [
        (booked.upcoming.id, "Ben Host", "Ada Leader")]
    assert found[0].open_items[0] == "Letter of access issued"
    assert at_risk(db, datetime(2030, 3, 9, 12, tzinfo=UTC))  # the weekend before: still
    checks.confirm(db, booked.upcoming, booked.mentor.user,
                   list(rows_of(db, booked.upcoming)), wednesday)
    assert at_risk(db, wednesday, booked.round.id) == []
    assert at_risk(db, VISIT + timedelta(hours=1), booked.round.id) == []  # it has started


def test_a_visit_at_risk_is_on_the_dashboard_and_the_changes_list(db, factory, leader,
                                                                  coordinator_client):
    soon = utcnow() + timedelta(hours=3)  # within three working days whatever the day
    host = factory.mentor(name="Ben Host")
    pair = factory.matched(leader, host, status="accepted", upcoming_at=soon,
                           offered_at=utcnow() - timedelta(days=30))
    link = f"/rounds/{pair.round.id}/exchanges/{pair.upcoming.id}/checks"
    dashboard = coordinator_client.get(f"/rounds/{pair.round.id}/dashboard")
    html = dashboard.get_data(as_text=True)
    assert "Exchanges at risk" in html and "1 booked exchange has checks" in html
    assert f'href="{link}"' in html and "Ada Leader visits Ben Host" in html
    changes = coordinator_client.get(f"/rounds/{pair.round.id}/changes").get_data(as_text=True)
    assert "At risk" in changes and "Ada Leader visiting Ben Host: at risk" in changes
    assert f'href="{link}"' in changes


# --- the notice: a hard scheduling rule -------------------------------------------------------


def test_the_problem_says_from_when_each_host_may_host(db, factory):
    world = make_round(factory, mentors=1, mentees=2)
    trust = acute(factory)
    world.mentors[0].organisation_id = trust.id  # 4 weeks' notice
    world.mentees[1].can_host = False
    db.add_all([world.mentors[0], world.mentees[1]])
    db.flush()
    problem = build_problem(db, world.round, approval_date=date(2029, 12, 24))
    by_id = {leader["id"]: leader for leader in problem["leaders"]}
    assert by_id[str(world.mentors[0].id)]["host_from"] == "2030-01-21"  # 4 weeks
    assert by_id[str(world.mentees[0].id)]["host_from"] == "2030-01-07"  # 2 weeks
    assert "host_from" not in by_id[str(world.mentees[1].id)]  # hosts nothing anyway


def test_the_optimiser_hosts_nobody_too_soon_and_the_checker_agrees(db, factory):
    # Free on 8, 15, 22 and 29 January 2030; the mentor's trust needs 4 weeks from 24 December.
    world = make_round(factory, mentors=1, mentees=1)
    world.mentors[0].organisation_id = acute(factory).id
    db.add(world.mentors[0])
    db.flush()
    problem = load_problem(build_problem(db, world.round, approval_date=date(2029, 12, 24)))
    solution = solve(problem, time_limit=30)
    assert len(solution.pairs) == 1
    hosted = {(x.host, x.slot[:10]) for x in solution.exchanges}
    mentor = str(world.mentors[0].id)
    assert all(day >= "2030-01-21" for host, day in hosted if host == mentor)
    assert any(host == mentor for host, _ in hosted)  # the mentee hosts the early one
    assert check_solution(problem, solution, fixed=fixed_part(db, world.round)) == []


def test_approval_refuses_a_visit_sooner_than_the_hosts_notice(app, db, factory, coordinator):
    from mentoring.matching.runs import request_run, run_queued_optimisations

    world = make_round(factory, mentors=1, mentees=1)
    run = request_run(db, world.round, coordinator, time_limit=30)
    db.commit()
    run_queued_optimisations(worker(app))
    db.refresh(run)
    first = min(x["slot"] for x in run.solution["exchanges"])
    assert first.startswith((MONDAY + timedelta(days=1)).isoformat())
    # Approved the day before the first visit: two weeks' notice cannot be met.
    late = datetime.combine(MONDAY, datetime.min.time(), tzinfo=UTC)
    conflicts = plan_changes(db, run, now=late).conflicts
    assert any("needs 2 weeks' notice to host a visit" in problem for problem in conflicts)
    assert plan_changes(db, run, now=late - timedelta(weeks=3)).conflicts == []


# --- the data migration ------------------------------------------------------------------------


def test_the_migration_gives_existing_organisations_their_sectors_needs(engine):
    from mentoring.migrate import downgrade, upgrade

    downgrade(engine, "0004")
    try:
        with engine.begin() as connection:
            for name, sector in (("Trust", "acute"), ("Practice", "primary_care"),
                                 ("Council", "social_care"), ("Else", "other")):
                connection.execute(sa.text(
                    "INSERT INTO organisation (name, sector, borough, size) "
                    "VALUES (:name, :sector, 'bexley', 'small')"), {"name": name,
                                                                     "sector": sector})
    finally:
        upgrade(engine)
    with engine.begin() as connection:
        rows = {row.name: (row.access_route, row.notice_weeks, row.host_checks)
                for row in connection.execute(sa.select(Organisation.__table__).where(
                    Organisation.__table__.c.name.in_(["Trust", "Practice", "Council",
                                                       "Else"])))}
        connection.execute(sa.delete(Organisation.__table__).where(
            Organisation.__table__.c.name.in_(list(rows))))
    assert rows == {
        "Trust": ("letter_of_access", 4, ["confidentiality", "photo_id", "infection_control",
                                          "patients_told", "dbs"]),
        "Practice": ("escorted_visitor", 2, ["confidentiality", "photo_id", "patients_told"]),
        "Council": ("escorted_visitor", 1, ["confidentiality", "photo_id", "dbs"]),
        "Else": ("escorted_visitor", 2, ["confidentiality", "photo_id"]),
    }

