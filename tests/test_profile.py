"""The profile question pages: every step's rules, errors beside fields, check answers, saving."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mentoring.models import AuditEvent, LeaderProfile, Organisation
from mentoring.profile import services

from conftest import SignedIn

ANSWERS = {
    "about-you": {"name": "Priya Shah", "job_title": "Community pharmacist"},
    "profession": {"profession": "community_pharmacist"},
    "organisation": {"organisation_id": "new", "new_organisation": "Catford Pharmacy",
                     "sector": "community_pharmacy", "borough": "lewisham"},
    "experience": {"career_stage": "emerging"},
    "mentoring": {"mentor_capacity": "0", "wants_mentor": "yes"},
    "hosting": {"can_host": "yes", "max_hosted_per_week": "1"},
    "strengths": {"strengths": ["medicines_optimisation"], "strengths_other": ""},
    "goals": {"goals": ["system_leadership", "influencing"], "goals_other": "Board papers"},
    "time": {"protected_hours_per_month": "8"},
    "preferences": {"profession_preference": "different", "travel_boroughs": ["lewisham",
                                                                                "greenwich"]},
    "consent": {"consent": "yes"},
}


@pytest.fixture
def new_leader(app, factory):
    user = factory.user(email="new.leader@example.org")
    return SignedIn(app, user)


def answer_every_step(signed_in: SignedIn) -> None:
    for slug, data in ANSWERS.items():
        response = signed_in.post_form(f"/profile/{slug}", data)
        assert response.status_code == 302, (slug, response.get_data(as_text=True)[:2000])


def test_a_new_leader_answers_every_question_and_saves_their_profile(new_leader, db):
    answer_every_step(new_leader)
    check = new_leader.get("/profile/check").get_data(as_text=True)
    assert "Catford Pharmacy" in check and "Community pharmacist" in check
    assert "Lewisham, Greenwich" in check and "Yes, up to 1 a week" in check
    response = new_leader.post_form("/profile/check")
    assert response.status_code == 302
    query = select(LeaderProfile).where(LeaderProfile.user_id == new_leader.user.id)
    profile = db.exec(query).one()
    assert profile.name == "Priya Shah"
    assert profile.profession == "community_pharmacist"
    assert profile.organisation.name == "Catford Pharmacy"
    assert profile.organisation.sector == "community_pharmacy"
    assert profile.max_hosted_per_week == 1 and profile.can_host
    assert profile.goals == ["system_leadership", "influencing"]
    assert profile.protected_hours_per_month == 8
    assert profile.travel_boroughs == ["lewisham", "greenwich"]
    assert profile.priority_group  # community pharmacists are an under-heard group
    assert profile.consent_at is not None
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "profile.created")).one()
    overview = new_leader.get("/profile/").get_data(as_text=True)
    assert "100% complete" in overview


def test_each_step_moves_to_the_next(new_leader):
    response = new_leader.post_form("/profile/about-you", ANSWERS["about-you"])
    assert response.headers["Location"] == "/profile/profession"


@pytest.mark.parametrize(
    ("slug", "data", "field", "message"),
    [
        ("about-you", {"name": ""}, "name", "Enter your name"),
        ("about-you", {"name": "x" * 200}, "name", "Enter no more than 120 characters"),
        ("profession", {}, "profession", "Select your profession"),
        ("profession", {"profession": "astronaut"}, "profession", "Choose a profession"),
        ("organisation", {"organisation_id": "new", "sector": "acute", "borough": "lewisham"},
         "new_organisation", "Enter the name of your organisation"),
        ("organisation", {"organisation_id": "", "sector": "acute", "borough": "croydon"},
         "borough", "Choose a borough from the list"),
        ("mentoring", {"mentor_capacity": "0", "wants_mentor": "no"}, "mentor_capacity",
         "Choose to mentor someone, to have a mentor, or both"),
        ("hosting", {"can_host": "yes", "max_hosted_per_week": ""}, "max_hosted_per_week",
         "Enter how many visits you could host in a week"),
        ("hosting", {"can_host": "yes", "max_hosted_per_week": "0"}, "max_hosted_per_week",
         "If you can host visits, host at least one a week"),
        ("time", {"protected_hours_per_month": "lots"}, "protected_hours_per_month",
         "Enter a number"),
        ("time", {"protected_hours_per_month": "-3"}, "protected_hours_per_month",
         "Enter a number of at least 0"),
        ("consent", {}, "consent", "Confirm that you agree to take part"),
    ],
)
def test_errors_are_shown_beside_the_field_with_the_input_kept(new_leader, slug, data, field,
                                                               message):
    response = new_leader.post_form(f"/profile/{slug}", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert message in page
    assert f'href="#{field}' in page  # the summary links to the field
    assert 'nhsuk-error-message' in page
    typed = {"name", "new_organisation", "max_hosted_per_week", "protected_hours_per_month"}
    for key, value in data.items():
        if key in typed and value:
            assert f'value="{value}"' in page  # what they typed is still there


def test_change_links_return_to_check_answers(new_leader):
    answer_every_step(new_leader)
    response = new_leader.post_form("/profile/about-you?change=1",
                                    {"name": "Priya R Shah", "job_title": ""},
                                    form_page="/profile/about-you")
    assert response.headers["Location"] == "/profile/check"
    assert "Priya R Shah" in new_leader.get("/profile/check").get_data(as_text=True)


def test_check_answers_sends_people_to_the_first_unanswered_question(new_leader):
    new_leader.post_form("/profile/about-you", ANSWERS["about-you"])
    response = new_leader.get("/profile/check")
    assert response.headers["Location"] == "/profile/profession"


def test_an_existing_profile_is_edited_not_duplicated(app, leader, db):
    signed_in = SignedIn(app, leader.user)
    overview = signed_in.get("/profile/").get_data(as_text=True)
    assert "100% complete" in overview
    changed = signed_in.post_form("/profile/about-you?change=1", {"name": "Ada Lovelace"},
                                  form_page="/profile/about-you")
    assert changed.headers["Location"] == "/profile/check"
    assert signed_in.post_form("/profile/check").status_code == 302
    db.expire_all()  # the request saved through its own session
    profiles = db.exec(select(LeaderProfile).where(LeaderProfile.user_id == leader.user_id)).all()
    assert [p.name for p in profiles] == ["Ada Lovelace"]


def test_choosing_an_existing_organisation_creates_none(new_leader, db, factory):
    organisation = factory.organisation(name="Lewisham Hospital", sector="acute")
    before = len(db.exec(select(Organisation)).all())
    answers = {**ANSWERS, "organisation": {"organisation_id": str(organisation.id),
                                            "sector": "acute", "borough": "lewisham"}}
    for slug, data in answers.items():
        new_leader.post_form(f"/profile/{slug}", data)
    new_leader.post_form("/profile/check")
    assert len(db.exec(select(Organisation)).all()) == before
    query = select(LeaderProfile).where(LeaderProfile.user_id == new_leader.user.id)
    profile = db.exec(query).one()
    assert profile.organisation_id == organisation.id


def test_completeness_counts_answered_pages():
    assert services.completeness({}) == 0
    draft = services.record_answers({}, services.STEP_BY_SLUG["about-you"], {"name": "A"})
    draft = services.record_answers(draft, services.STEP_BY_SLUG["time"], {})
    assert services.completeness(draft) == round(100 * 2 / len(services.STEPS))
    # a page that was answered but whose answer is no longer valid does not count
    draft["name"] = ""
    assert services.completeness(draft) == round(100 * 1 / len(services.STEPS))


def test_unknown_steps_are_not_found(new_leader):
    assert new_leader.get("/profile/not-a-step").status_code == 404
