"""The profile question pages: every step's rules, errors beside fields, check answers, saving,
and the draft kept on the server until the profile is saved."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mentoring.auth import joining
from mentoring.models import AuditEvent, LeaderProfile, Organisation, ProfileDraft
from mentoring.profile import services

from conftest import TEST_PASSWORD, SignedIn, age_session_row, csrf_token, session_row

ANSWERS = {
    "about-you": {"name": "Priya Shah", "job_title": "Community pharmacist"},
    "profession": {"profession": "community_pharmacist"},
    "organisation": {"organisation_id": "new", "new_organisation": "Catford Pharmacy",
                     "sector": "community_pharmacy", "borough": "lewisham"},
    "experience": {"career_stage": "emerging"},
    "mentoring": {"mentor_capacity": "0", "wants_mentor": "yes"},
    "hosting": {"can_host": "yes", "max_hosted_per_week": "1"},
    "visit-details": {"visit_site": "Catford Pharmacy",
                      "visit_address": "12 Rushey Green\nLondon SE6 4AS",
                      "visit_directions": "Catford station, 5 minutes", "visit_meeting": "",
                      "visit_bring": "", "visit_accessibility": "", "visit_phone": ""},
    "strengths": {"strengths": ["medicines_optimisation"], "strengths_other": ""},
    "goals": {"goals": ["system_leadership", "influencing"], "goals_other": "Board papers"},
    "time": {"protected_hours_per_month": "8"},
    "line-manager": {"line_manager_name": "Helen Okafor", "line_manager_email": "h.okafor@nhs.net"},
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
    asked = len(services.STEPS) - 1  # the visit details are asked of hosts only
    assert services.completeness(draft) == round(100 * 2 / asked)
    # a page that was answered but whose answer is no longer valid does not count
    draft["name"] = ""
    assert services.completeness(draft) == round(100 * 1 / asked)
    # a host is asked one more page
    draft = services.record_answers(draft, services.STEP_BY_SLUG["hosting"],
                                    {"can_host": True, "max_hosted_per_week": 1})
    assert services.completeness(draft) == round(100 * 2 / len(services.STEPS))


def test_unknown_steps_are_not_found(new_leader):
    assert new_leader.get("/profile/not-a-step").status_code == 404


# --- the draft: kept on the server, not in the cookie (issue 13: nothing typed is lost) ------


def draft_answers(db, user) -> dict | None:
    db.expire_all()  # the requests wrote through their own sessions
    row = db.exec(select(ProfileDraft).where(ProfileDraft.user_id == user.id)).first()
    return None if row is None else row.answers


def sign_in_again(client, user) -> None:
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD,
                                             "csrf_token": token})
    assert response.status_code == 302, "signing in again failed"


def held_in_session(client, db) -> tuple[str, dict]:
    """The session cookie as sent, and what the session holds on the server (decoded with the
    app's own serializer): the answers belong in the draft, not in the session."""
    app = client.application
    cookie = client.get_cookie("session")
    assert cookie is not None
    row = session_row(db, client)
    return cookie.value, app.session_interface.serializer.loads(row.data)


def some_answers(signed_in: SignedIn) -> None:
    for slug in ("about-you", "profession", "organisation"):
        assert signed_in.post_form(f"/profile/{slug}", ANSWERS[slug]).status_code == 302


def assert_draft_shown(client) -> None:
    assert 'value="Priya Shah"' in client.get("/profile/about-you").get_data(as_text=True)
    assert 'value="Catford Pharmacy"' in client.get("/profile/organisation").get_data(
        as_text=True)
    overview = client.get("/profile/").get_data(as_text=True)
    assert f"{round(100 * 3 / (len(services.STEPS) - 1))}% complete" in overview
    assert "Continue your profile" in overview
    # Check answers sends them on to the first question they have not answered yet.
    assert client.get("/profile/check").headers["Location"] == "/profile/experience"


def test_each_answered_page_is_saved_to_the_draft_in_the_database(new_leader, db):
    assert draft_answers(db, new_leader.user) is None  # opening the pages writes nothing
    new_leader.get("/profile/about-you")
    assert draft_answers(db, new_leader.user) is None
    some_answers(new_leader)
    answers = draft_answers(db, new_leader.user)
    assert answers["name"] == "Priya Shah" and answers["new_organisation"] == "Catford Pharmacy"
    assert answers[services.ANSWERED] == ["about-you", "organisation", "profession"]
    # A refused page changes nothing in the draft.
    assert new_leader.post_form("/profile/about-you", {"name": ""}).status_code == 400
    assert draft_answers(db, new_leader.user) == answers


def test_a_draft_survives_signing_out_and_in_again(new_leader, db):
    some_answers(new_leader)
    response = new_leader.post_form("/sign-out", form_page="/profile/")
    assert response.headers["Location"] == "/sign-in"
    assert new_leader.get("/profile/").status_code == 302  # signed out
    sign_in_again(new_leader.client, new_leader.user)
    assert_draft_shown(new_leader.client)


def test_a_draft_survives_the_idle_timeout(new_leader, settings, db):
    some_answers(new_leader)
    age_session_row(db, new_leader.client, last_seen=(settings.session_idle_minutes + 1) * 60)
    response = new_leader.get("/profile/experience")
    assert response.headers["Location"].startswith("/sign-in")  # signed out: idle too long
    sign_in_again(new_leader.client, new_leader.user)
    assert_draft_shown(new_leader.client)


def test_a_draft_follows_the_leader_to_another_device(app, new_leader, db):
    some_answers(new_leader)
    other_device = SignedIn(app, new_leader.user)  # a second browser, signed in as the same
    assert_draft_shown(other_device.client)
    # They finish on the other device; the first sees the same draft, and can save it.
    for slug, data in list(ANSWERS.items())[3:]:
        assert other_device.post_form(f"/profile/{slug}", data).status_code == 302
    assert "Catford Pharmacy" in new_leader.get("/profile/check").get_data(as_text=True)
    assert new_leader.post_form("/profile/check").status_code == 302
    assert draft_answers(db, new_leader.user) is None  # saved: the draft is gone
    assert db.exec(select(LeaderProfile).where(
        LeaderProfile.user_id == new_leader.user.id)).one().name == "Priya Shah"
    overview = other_device.get("/profile/").get_data(as_text=True)
    assert "100% complete" in overview


def test_two_first_answers_at_once_make_one_draft_with_both(db, factory, monkeypatch):
    user = factory.user(email="two.tabs@example.org")
    assert services.answer_step(db, user, services.STEP_BY_SLUG["about-you"],
                                {"name": "Tab One"}) == {}
    # The second tab looked for a draft before the first tab's was committed: it finds none,
    # and its insert meets the first one's (the unique user_id), so it adds to that draft.
    found, calls = services._draft_row, []

    def not_yet_the_first_time(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else found(*args, **kwargs)

    monkeypatch.setattr(services, "_draft_row", not_yet_the_first_time)
    assert services.answer_step(db, user, services.STEP_BY_SLUG["profession"],
                                {"profession": "nurse"}) == {}
    (draft,) = db.exec(select(ProfileDraft).where(ProfileDraft.user_id == user.id)).all()
    assert draft.answers == {"name": "Tab One", "profession": "nurse",
                             services.ANSWERED: ["about-you", "profession"]}
    assert len(calls) == 2  # looked again after the insert failed


def test_saving_the_profile_deletes_the_draft(new_leader, db):
    answer_every_step(new_leader)
    assert draft_answers(db, new_leader.user) is not None
    assert new_leader.post_form("/profile/check").status_code == 302
    assert draft_answers(db, new_leader.user) is None


def test_the_session_holds_no_answers(new_leader, db):
    long_text = "नमस्ते " * 70  # Devanagari, 490 characters
    answers = {**ANSWERS, "strengths": {**ANSWERS["strengths"], "strengths_other": long_text},
               "goals": {**ANSWERS["goals"], "goals_other": long_text[::-1]}}
    before, _ = held_in_session(new_leader.client, db)
    for slug, data in answers.items():
        assert new_leader.post_form(f"/profile/{slug}", data).status_code == 302
    assert "Priya Shah" in new_leader.get("/profile/check").get_data(as_text=True)
    assert long_text.strip() in new_leader.get("/profile/strengths").get_data(as_text=True)
    value, held = held_in_session(new_leader.client, db)
    assert "profile_draft" not in held
    assert not any(text in repr(held) for text in ("Priya", "Catford", "न"))
    assert value == before  # the cookie is the session's id, and nothing more


def test_an_unsaved_change_to_a_saved_profile_is_kept_until_it_is_saved(app, leader, db):
    signed_in = SignedIn(app, leader.user)
    changed = signed_in.post_form("/profile/about-you?change=1", {"name": "Ada Lovelace"},
                                  form_page="/profile/about-you")
    assert changed.headers["Location"] == "/profile/check"
    elsewhere = SignedIn(app, leader.user)
    assert "Ada Lovelace" in elsewhere.get("/profile/check").get_data(as_text=True)
    db.expire_all()
    assert db.get(LeaderProfile, leader.id).name == "Ada Leader"  # not saved yet
    assert elsewhere.post_form("/profile/check").status_code == 302
    db.expire_all()
    assert db.get(LeaderProfile, leader.id).name == "Ada Lovelace"
    assert draft_answers(db, leader.user) is None


def test_an_invitations_answers_start_the_draft_on_any_device(app, db, factory, coordinator):
    settings = app.extensions["mentoring.settings"]
    links = joining.Links(secret=settings.secret_key, base_url=settings.base_url)
    invitation = joining.invite(db, links, "ines@example.org", invited_by=coordinator,
                                prefill={"name": "Ines Invited", "profession": "social_worker",
                                         joining.INVITED_ROLE: "admin"})
    user = joining.accept_invitation(db, invitation, TEST_PASSWORD)
    db.flush()
    signed_in = SignedIn(app, user)  # not the browser that accepted the invitation
    assert 'value="Ines Invited"' in signed_in.get("/profile/about-you").get_data(as_text=True)
    assert services.current_draft(db, user) == {"name": "Ines Invited",
                                                "profession": "social_worker"}
    assert draft_answers(db, user) is None  # written only when they answer a page
    assert signed_in.post_form("/profile/about-you", {"name": "Ines I"}).status_code == 302
    assert draft_answers(db, user) == {"name": "Ines I", "profession": "social_worker",
                                       services.ANSWERED: ["about-you"]}


def test_joining_leaves_no_answers_in_the_cookie_once_the_profile_is_open(app, db, coordinator):
    settings = app.extensions["mentoring.settings"]
    links = joining.Links(secret=settings.secret_key, base_url="")
    joining.invite(db, links, "nia@example.org", invited_by=coordinator,
                   prefill={"name": "Nia Person"})
    db.flush()
    from mentoring.models import Notification

    body = db.exec(select(Notification.body_text)).all()[-1]
    path = next(word for word in body.split() if word.startswith("/join/"))
    client = app.test_client()
    token = csrf_token(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, "password": "a-brand-new-passphrase",
                                       "confirm": "a-brand-new-passphrase"})
    assert response.headers["Location"] == "/profile/"
    page = client.get("/profile/about-you").get_data(as_text=True)
    assert 'value="Nia Person"' in page
    _, held = held_in_session(client, db)
    assert "profile_draft" not in held
