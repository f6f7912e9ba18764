"""Programme rounds: the form's rules, the weights' preview, status changes, and the pages."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date

import pytest
from sqlmodel import select

from mentoring.models import AuditEvent, Availability, ProgrammeRound
from mentoring.rounds import services
from mentoring.rounds.services import RoundError
from mentoring.vocab import DEFAULT_PRIORITY_PROFESSIONS
from optimiser import ScoreWeights

from conftest import SignedIn


def form(**overrides) -> dict:
    """A good posted form (the shape `read_round_form` returns)."""
    values = services.blank_form() | {
        "name": "Spring 2027 exchange",
        "starts_on": {"day": "4", "month": "1", "year": "2027"},
        "ends_on": {"day": "26", "month": "3", "year": "2027"},
    }
    return values | overrides


def posted(values: dict, action: str = "save") -> dict:
    """The same form as the browser would post it."""
    data = {
        "name": values["name"], "description": values["description"],
        "exchanges_per_pair": values["exchanges_per_pair"],
        "min_days_between_exchanges": values["min_days_between_exchanges"],
        "reciprocal": values["reciprocal"],
        "allow_same_organisation": values["allow_same_organisation"],
        "priority_professions": values["priority_professions"], "action": action,
        "contact_name": values["contact_name"], "contact_email": values["contact_email"],
        "answer_within_days": values["answer_within_days"],
    }
    for prefix in ("starts_on", "ends_on", *services.TIMELINE_FIELDS):
        for part, value in values[prefix].items():
            data[f"{prefix}[{part}]"] = value
    for name, value in values["weights"].items():
        data[f"weight_{name}"] = value
    return data


def audit_actions(db, programme_round) -> list[str]:
    return list(db.exec(
        select(AuditEvent.action).where(AuditEvent.object_type == "ProgrammeRound",
                                        AuditEvent.object_id == str(programme_round.id))
        .order_by(AuditEvent.id)
    ).all())


# --- validation ----------------------------------------------------------------------------


def test_a_good_form_becomes_a_round_with_the_optimisers_weights():
    data = services.validate_round(form())
    assert data.starts_on == date(2027, 1, 4) and data.ends_on == date(2027, 3, 26)
    assert data.weights == {name: float(getattr(ScoreWeights(), name))
                            for name in services.WEIGHT_NAMES}
    assert sorted(data.priority_professions) == sorted(DEFAULT_PRIORITY_PROFESSIONS)
    assert data.reciprocal == "where_possible" and data.allow_same_organisation is False


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": "ab"}, "name", "Enter a name for the round of 3 to 120 characters"),
    ({"starts_on": {"day": "", "month": "", "year": ""}}, "starts_on",
     "Enter the date the window starts"),
    ({"starts_on": {"day": "4", "month": "", "year": "2027"}}, "starts_on",
     "The date the window starts must include a month"),
    ({"ends_on": {"day": "31", "month": "2", "year": "2027"}}, "ends_on",
     "The date the window ends must be a real date, like 27 3 2027"),
    ({"ends_on": {"day": "1", "month": "1", "year": "2027"}}, "ends_on",
     "The window must end on or after the day it starts"),
    ({"ends_on": {"day": "1", "month": "2", "year": "2028"}}, "ends_on",
     "The window must be no longer than a year"),
    ({"starts_on": {"day": "9", "month": "1", "year": "2027"},
      "ends_on": {"day": "10", "month": "1", "year": "2027"}}, "ends_on",
     "The window must include at least one weekday"),
    ({"exchanges_per_pair": "7"}, "exchanges_per_pair",
     "Enter a whole number of exchanges from 0 to 6"),
    ({"exchanges_per_pair": "two"}, "exchanges_per_pair",
     "Enter a whole number of exchanges from 0 to 6"),
    ({"min_days_between_exchanges": "-1"}, "min_days_between_exchanges",
     "Enter a whole number of days from 0 to 60"),
    ({"reciprocal": ""}, "reciprocal",
     "Select when each leader in a pair hosts at least one visit"),
    ({"reciprocal": "yes"}, "reciprocal",
     "Select when each leader in a pair hosts at least one visit"),
    ({"priority_professions": ["nurse", "astronaut"]}, "priority_professions",
     "Choose priority groups from the list"),
])
def test_each_rule_of_the_form_has_its_own_message(overrides, field, message):
    with pytest.raises(RoundError) as caught:
        services.validate_round(form(**overrides))
    assert caught.value.errors[field] == message


@pytest.mark.parametrize("value", ["", "lots", "-1", "10.5", "nan", "inf"])
def test_a_weight_must_be_a_number_from_0_to_10(value):
    weights = services.blank_form()["weights"] | {"cross_sector": value}
    with pytest.raises(RoundError) as caught:
        services.validate_round(form(weights=weights))
    assert "Different sectors" in caught.value.errors["weight_cross_sector"]


def test_every_problem_is_reported_at_once():
    with pytest.raises(RoundError) as caught:
        services.validate_round(form(name="", ends_on={"day": "x", "month": "1", "year": "2027"},
                                     weights=services.blank_form()["weights"] | {"goals": "?"}))
    assert set(caught.value.errors) == {"name", "ends_on", "weight_goals"}


def test_every_optimiser_weight_is_explained_in_plain_language():
    assert tuple(info.name for info in services.WEIGHTS) == services.WEIGHT_NAMES
    for info in services.WEIGHTS:
        assert info.explanation.startswith("Higher values favour")


# --- the weights' preview ------------------------------------------------------------------


def test_the_preview_names_the_factor_that_dominates():
    sentences = services.weights_summary({"goals": 8, "cross_profession": 1, "cross_sector": 1,
                                          "cross_organisation": 0.5, "same_borough": 1})
    assert sentences[0].startswith("Matching mentees' goals to mentors' strengths outweighs "
                                   "all the other factors together (70%")


def test_the_preview_of_the_defaults_ranks_goals_first_then_professions():
    sentences = services.weights_summary(asdict(ScoreWeights()))
    assert sentences[0] == ("Matching mentees' goals to mentors' strengths counts most (40% of "
                            "the points), then crossing professions (25%).")
    assert sentences[1] == "Crossing organisations counts least (5%)."
    assert "forms as many pairs as it can" in sentences[-1]


def test_the_preview_says_which_factors_play_no_part_and_warns_of_the_cap():
    sentences = services.weights_summary({"goals": 6, "cross_profession": 6, "cross_sector": 0,
                                          "cross_organisation": 0, "same_borough": 0})
    assert sentences[0] == ("Matching mentees' goals to mentors' strengths and crossing "
                            "professions count most, equally (50% of the points each).")
    assert sentences[1] == ("Crossing sectors, crossing organisations and working in the same "
                            "borough play no part.")
    assert "capped at 10" in sentences[2]


def test_the_preview_of_all_zero_weights_says_pairs_all_score_the_same():
    sentences = services.weights_summary(dict.fromkeys(services.WEIGHT_NAMES, 0))
    assert sentences[0].startswith("Every weight is 0")


# --- saving and status ---------------------------------------------------------------------


def test_create_saves_a_draft_and_audits_it(db, coordinator):
    programme_round = services.create_round(db, services.validate_round(form()), coordinator)
    assert programme_round.status == "draft"
    assert programme_round.created_by_id == coordinator.id
    assert audit_actions(db, programme_round) == ["round.created"]


def test_rules_can_change_while_open_and_free_days_outside_a_shorter_window_go(
        db, factory, coordinator):
    programme_round = factory.programme_round(starts_on=date(2027, 1, 4))
    leader = factory.leader()
    factory.participant(programme_round, leader)
    factory.availability(programme_round, leader, date(2027, 1, 5))
    factory.availability(programme_round, leader, date(2027, 3, 1))
    values = services.form_from_round(programme_round) | {
        "ends_on": {"day": "26", "month": "2", "year": "2027"}, "exchanges_per_pair": "3",
    }
    result = services.update_round(db, programme_round, services.validate_round(values),
                                   coordinator)
    assert set(result.changed) == {"ends_on", "exchanges_per_pair"}
    assert result.removed_availability == 1
    assert [a.day for a in db.exec(select(Availability)).all()] == [date(2027, 1, 5)]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "round.updated")).one()
    assert event.detail == {"changed": ["ends_on", "exchanges_per_pair"],
                            "removed_availability": 1}


@pytest.mark.parametrize("status", ["matching", "published", "closed", "archived"])
def test_after_publication_only_the_name_and_description_change(db, factory, coordinator,
                                                                 status):
    programme_round = factory.programme_round(status=status)
    renamed = services.form_from_round(programme_round) | {"name": "Renamed round",
                                                            "description": "Now with a story"}
    services.update_round(db, programme_round, services.validate_round(renamed), coordinator)
    assert programme_round.name == "Renamed round"
    changed_rules = renamed | {"exchanges_per_pair": "4"}
    with pytest.raises(RoundError, match="cannot change"):
        services.update_round(db, programme_round, services.validate_round(changed_rules),
                              coordinator)
    assert programme_round.exchanges_per_pair == 2


def test_the_life_of_a_round_is_audited_at_every_step(db, factory, coordinator):
    programme_round = factory.programme_round(status="draft")
    for action, expected in [("open", "open"), ("close", "closed"), ("reopen", "open"),
                             ("close", "closed"), ("archive", "archived")]:
        assert services.change_status(db, programme_round, action, coordinator) == expected
    assert audit_actions(db, programme_round) == [
        "round.opened", "round.closed", "round.reopened", "round.closed", "round.archived"]


def test_a_published_round_reopens_as_published(db, factory, coordinator):
    matched = factory.matched(factory.leader())
    programme_round = matched.round
    programme_round.status = "closed"
    assert services.change_status(db, programme_round, "reopen", coordinator) == "published"


@pytest.mark.parametrize(("status", "action"), [
    ("draft", "close"), ("open", "open"), ("open", "archive"), ("archived", "reopen"),
    ("matching", "close"), ("open", "delete"),
])
def test_status_changes_that_make_no_sense_are_refused(db, factory, coordinator, status,
                                                      action):
    programme_round = factory.programme_round(status=status)
    with pytest.raises(RoundError):
        services.change_status(db, programme_round, action, coordinator)
    assert programme_round.status == status


def test_rounds_are_listed_latest_window_first_with_counts(db, factory):
    older = factory.programme_round(name="Older", starts_on=date(2026, 1, 5))
    newer = factory.programme_round(name="Newer", starts_on=date(2027, 1, 4))
    factory.participant(newer, factory.leader())
    factory.participant(newer, factory.leader(), status="withdrawn")
    rows = [row for row in services.list_rounds(db) if row.programme_round in (older, newer)]
    assert [(row.programme_round.name, row.joined) for row in rows] == [("Newer", 1),
                                                                        ("Older", 0)]


def test_contact_timeline_and_answer_days_are_saved_and_checked(coordinator_client, db):
    values = form(contact_name="Leadership programme team", contact_email="not-an-address",
                  answer_within_days="10", offers_on={"day": "31", "month": "2", "year": "2027"})
    response = coordinator_client.post_form("/rounds/new", posted(values))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter an email address in the right format" in html
    assert "The date match offers go out must be a real date" in html
    assert 'value="Leadership programme team"' in html  # nothing typed is lost
    values |= {"contact_email": "programme@nhs.net",
               "offers_on": {"day": "1", "month": "3", "year": "2027"}}
    assert coordinator_client.post_form("/rounds/new", posted(values)).status_code == 302
    saved = db.exec(select(ProgrammeRound).where(
        ProgrammeRound.name == "Spring 2027 exchange")).one()
    assert (saved.contact_email, saved.answer_within_days, saved.offers_on) == (
        "programme@nhs.net", 10, date(2027, 3, 1))
    assert saved.joining_closes_on is None


# --- the pages -----------------------------------------------------------------------------


def test_create_a_round_through_the_form(coordinator_client, db):
    response = coordinator_client.post_form("/rounds/new", posted(form()))
    assert response.status_code == 302
    programme_round = db.exec(select(ProgrammeRound).where(
        ProgrammeRound.name == "Spring 2027 exchange")).one()
    assert response.headers["Location"] == f"/rounds/{programme_round.id}"
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is created as a draft" in page and "Open the round" in page


def test_a_bad_form_keeps_the_input_and_shows_errors_beside_the_fields(coordinator_client, db):
    values = form(name="Typo round", ends_on={"day": "31", "month": "2", "year": "2027"},
                  weights=services.blank_form()["weights"] | {"same_borough": "12"})
    response = coordinator_client.post_form("/rounds/new", posted(values))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert 'href="#ends_on-day"' in page and 'href="#weight_same_borough"' in page
    assert 'id="ends_on-error"' in page and 'id="weight_same_borough-error"' in page
    assert 'value="Typo round"' in page and 'value="31"' in page and 'value="12"' in page
    assert db.exec(select(ProgrammeRound).where(ProgrammeRound.name == "Typo round")).first() \
        is None


def test_preview_re_renders_the_form_with_the_balance_and_saves_nothing(coordinator_client, db):
    weights = dict.fromkeys(services.WEIGHT_NAMES, "0") | {"cross_sector": "5"}
    response = coordinator_client.post_form(
        "/rounds/new", posted(form(name="Preview only", weights=weights), action="preview"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The effect of these weights" in page
    assert "Crossing sectors outweighs all the other factors together (100% of the points)" \
        in page
    assert 'value="Preview only"' in page
    assert db.exec(select(ProgrammeRound).where(ProgrammeRound.name == "Preview only")).first() \
        is None


def test_edit_shows_the_rules_while_open_and_only_the_name_after_publication(
        coordinator_client, factory, db):
    open_round = factory.programme_round(name="Open round")
    page = coordinator_client.get(f"/rounds/{open_round.id}/edit").get_data(as_text=True)
    assert 'name="weight_goals"' in page and 'name="starts_on[day]"' in page
    published = factory.programme_round(name="Published round", status="published")
    page = coordinator_client.get(f"/rounds/{published.id}/edit").get_data(as_text=True)
    assert 'name="weight_goals"' not in page and 'name="name"' in page
    response = coordinator_client.post_form(f"/rounds/{published.id}/edit", {
        "name": "Published round, renamed", "description": "", "action": "save",
        "weight_goals": "9",  # not on the form: ignored
    })
    assert response.status_code == 302
    db.refresh(published)
    assert published.name == "Published round, renamed"
    assert published.weights["goals"] == ScoreWeights().goals


def test_status_buttons_change_the_round(coordinator_client, factory, db):
    programme_round = factory.programme_round(status="draft")
    url = f"/rounds/{programme_round.id}"
    response = coordinator_client.post_form(f"{url}/status", {"action": "open"}, form_page=url)
    assert response.status_code == 302
    db.refresh(programme_round)
    assert programme_round.status == "open"
    page = coordinator_client.get(url).get_data(as_text=True)
    assert "The round is now open." in page and "Close the round" in page
    refused = coordinator_client.post_form(f"{url}/status", {"action": "archive"},
                                           form_page=url)
    assert refused.status_code == 302
    db.refresh(programme_round)
    assert programme_round.status == "open"


def test_the_overview_links_to_everything_about_the_round(coordinator_client, factory):
    programme_round = factory.programme_round(name="Linked round")
    leader = factory.leader()
    factory.participant(programme_round, leader)
    factory.availability(programme_round, leader, date(2027, 1, 5))
    factory.participant(programme_round, factory.leader(), status="withdrawn")
    page = coordinator_client.get(f"/rounds/{programme_round.id}").get_data(as_text=True)
    rid = programme_round.id
    for path in (f"/rounds/{rid}/participants", f"/rounds/{rid}/readiness",
                 f"/rounds/{rid}/runs", f"/rounds/{rid}/dashboard", f"/rounds/{rid}/outbox",
                 f"/rounds/{rid}/export/participants.csv", f"/rounds/{rid}/export/matches.csv",
                 f"/rounds/{rid}/export/exchanges.csv", f"/rounds/{rid}/edit"):
        assert f'href="{path}"' in page, path
    assert "1 of 1 joined" in page
    for key, value in (("Invited, not yet joined", 0), ("Joined", 1), ("Withdrawn", 1)):
        assert re.search(rf"{key}\s*</dt>\s*<dd[^>]*>\s*{value}\s*</dd>", page), key


def test_the_coordinators_home_and_the_list_link_to_each_round(coordinator_client, factory):
    programme_round = factory.programme_round(name="Home round")
    for url in ("/home", "/rounds"):
        page = coordinator_client.get(url).get_data(as_text=True)
        assert f'href="/rounds/{programme_round.id}">Home round</a>' in page, url
    assert 'href="/rounds/new"' in coordinator_client.get("/rounds").get_data(as_text=True)


def test_leaders_cannot_see_or_change_rounds(leader_client, factory):
    programme_round = factory.programme_round()
    for url in ("/rounds", "/rounds/new", f"/rounds/{programme_round.id}",
                f"/rounds/{programme_round.id}/edit"):
        assert leader_client.get(url).status_code == 403, url
    response = leader_client.client.post(f"/rounds/{programme_round.id}/status",
                                         data={"action": "close"})
    assert response.status_code in (400, 403)
    assert programme_round.status == "open"


def test_posts_without_the_csrf_token_are_refused(coordinator_client, factory, db):
    programme_round = factory.programme_round(status="draft")
    response = coordinator_client.client.post(f"/rounds/{programme_round.id}/status",
                                              data={"action": "open"})
    assert response.status_code == 400
    created = coordinator_client.client.post("/rounds/new", data=posted(form(name="No token")))
    assert created.status_code == 400
    db.refresh(programme_round)
    assert programme_round.status == "draft"
    assert db.exec(select(ProgrammeRound).where(ProgrammeRound.name == "No token")).first() \
        is None


def test_an_unknown_round_is_404(coordinator_client):
    assert coordinator_client.get("/rounds/999999").status_code == 404
    assert coordinator_client.get("/rounds/999999/edit").status_code == 404


def test_admins_manage_rounds_too(app, admin):
    assert SignedIn(app, admin).get("/rounds/new").status_code == 200


def test_the_priority_floor_is_a_rule_of_the_round_off_unless_ticked(coordinator_client, db):
    """The optimiser's `priority_floor` as a round setting: a checkbox, off for new rounds,
    kept when saved, shown on the edit form and the overview, and turned off by unticking."""
    assert services.validate_round(form()).priority_floor is False
    assert services.validate_round(form(priority_floor="yes")).priority_floor is True
    data = posted(form(name="Fair round")) | {"priority_floor": "yes"}
    assert coordinator_client.post_form("/rounds/new", data).status_code == 302
    saved = db.exec(select(ProgrammeRound).where(ProgrammeRound.name == "Fair round")).one()
    assert saved.priority_floor is True
    edit_page = coordinator_client.get(f"/rounds/{saved.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="priority_floor"[^>]*value="yes"[^>]*checked', edit_page)
    overview = coordinator_client.get(f"/rounds/{saved.id}").get_data(as_text=True)
    assert re.search(r"Priority groups matched at least as often as everyone\s*</dt>\s*"
                     r"<dd[^>]*>\s*Yes, whenever possible", overview)
    values = services.form_from_round(saved)
    assert values["priority_floor"] == "yes"
    unticked = posted(values)  # a checkbox left unticked is not sent at all
    assert coordinator_client.post_form(f"/rounds/{saved.id}/edit", unticked).status_code == 302
    db.refresh(saved)
    assert saved.priority_floor is False
