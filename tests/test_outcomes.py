"""Issue 20: a pair's agreement, check-ins, concerns raised privately, quiet pairs, and what
"you said, we did" draws on. Who sees what is the point of most of these tests."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from mentoring.exchanges.services import LeaderError, NotFound
from mentoring.insights import you_said
from mentoring.models import CheckIn, Concern, LeaderProfile, Notification, PairAgreement
from mentoring.mydata.services import export_data
from mentoring.outcomes import agreements, check_ins
from mentoring.outcomes.check_ins import RoundDates, plan_check_ins
from mentoring.outcomes.progress import pair_progress

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
AGREEMENT = {"mentor_learning": "How a GP practice plans its week",
             "mentee_learning": "How a trust board decides",
             "shared_work": "One discharge pathway we map together",
             "keep_in_touch": "A call every other Friday",
             "confidential": "Anything about patients we meet"}
CONCERN = "They cancelled twice and I feel pushed aside"


@pytest.fixture
def pair(factory, leader):
    """Ben mentors Ada (leader A) in a booked match; one exchange to come, one past."""
    return factory.matched(leader, factory.mentor(name="Ben Mentor",
                                                  email="ben.mentor@example.org"))


@pytest.fixture
def quiet_pair(factory, leader):
    """Booked, with no exchange taken place: the past one was cancelled."""
    matched = factory.matched(leader, factory.mentor(name="Quinn Quiet", email="quinn@example.org"),
                              upcoming_at=datetime(2030, 4, 2, 9, 0, tzinfo=UTC))
    matched.past.status = "cancelled"
    factory.session.add(matched.past)
    factory.session.flush()
    return matched


def emails(db, kind):
    return db.exec(select(Notification).where(Notification.kind == kind)
                   .order_by(Notification.id)).all()


# --- the agreement -----------------------------------------------------------------------


def test_either_leader_drafts_and_both_confirm_the_agreement(db, pair):
    ada, ben, match = pair.mentee, pair.mentor, pair.match
    saved = agreements.save(db, ada, ada.user, match.id, AGREEMENT, "", NOW)
    assert saved.changed and not saved.cleared_other
    agreement = agreements.agreement_of(db, match.id)
    assert (agreement.version, agreement.confirmed) == (1, False)
    drafted = emails(db, "agreement-changed")
    assert [n.recipient_email for n in drafted] == [ben.user.email]
    assert "has drafted" in drafted[0].subject
    assert f"/matches/{match.id}/agreement" in drafted[0].body_text

    view = agreements.confirm(db, ben, ben.user, match.id, "1", NOW)
    assert view.i_confirmed and not view.other_confirmed
    agreements.confirm(db, ada, ada.user, match.id, "1", NOW)
    assert agreements.agreement_of(db, match.id).confirmed


def test_a_change_after_a_confirmation_clears_it_and_says_so(db, pair):
    ada, ben, match = pair.mentee, pair.mentor, pair.match
    agreements.save(db, ada, ada.user, match.id, AGREEMENT, "", NOW, confirm=True)
    agreements.confirm(db, ben, ben.user, match.id, "1", NOW)
    assert agreements.agreement_of(db, match.id).confirmed

    changed = AGREEMENT | {"keep_in_touch": "A walk once a month"}
    saved = agreements.save(db, ada, ada.user, match.id, changed, "1", NOW, confirm=True)
    assert saved.cleared_other
    agreement = agreements.agreement_of(db, match.id)
    assert agreement.version == 2
    assert agreement.mentee_confirmed_at is not None and agreement.mentor_confirmed_at is None
    told = emails(db, "agreement-changed")
    assert [n.subject for n in told][-1].startswith("Ada Leader changed your pair agreement")
    # The same words again are not a change: nothing is cleared or sent.
    again = agreements.save(db, ada, ada.user, match.id, changed, "2", NOW)
    assert not again.changed and len(emails(db, "agreement-changed")) == len(told)


def test_a_stale_version_is_refused_and_nothing_is_saved(db, pair):
    ada, ben, match = pair.mentee, pair.mentor, pair.match
    agreements.save(db, ada, ada.user, match.id, AGREEMENT, "", NOW)
    agreements.save(db, ben, ben.user, match.id, AGREEMENT | {"shared_work": "Two pathways"},
                    "1", NOW)
    with pytest.raises(LeaderError, match="Ben Mentor changed the agreement"):
        agreements.save(db, ada, ada.user, match.id, AGREEMENT | {"confidential": "x"}, "1", NOW)
    with pytest.raises(LeaderError):
        agreements.confirm(db, ada, ada.user, match.id, "1", NOW)
    assert agreements.agreement_of(db, match.id).shared_work == "Two pathways"


def test_the_agreement_needs_a_booked_match_shared_work_and_short_answers(db, factory, leader,
                                                                          pair):
    offered = factory.matched(factory.leader(), status="offered")
    with pytest.raises(LeaderError, match="once you have both accepted"):
        agreements.save(db, offered.mentee, offered.mentee.user, offered.match.id, AGREEMENT,
                        "", NOW)
    with pytest.raises(LeaderError) as error:
        agreements.save(db, leader, leader.user, pair.match.id,
                        AGREEMENT | {"shared_work": " ", "confidential": "x" * 1001}, "", NOW)
    assert set(error.value.errors) == {"shared_work", "confidential"}
    with pytest.raises(NotFound):  # a stranger's match does not exist for them
        agreements.get_agreement(db, offered.mentee, pair.match.id)
    assert db.exec(select(PairAgreement)).all() == []


def test_coordinators_see_that_a_pair_has_an_agreement_but_not_its_words(
        db, pair, leader_client, coordinator_client):
    ben, match = pair.mentor, pair.match
    progress_url = f"/rounds/{pair.round.id}/pair-progress"
    shared_url = f"{progress_url}/{match.id}/agreement"
    response = leader_client.post_form(f"/matches/{match.id}/agreement",
                                       AGREEMENT | {"action": "confirm",
                                                    "share_with_coordinators": "yes"})
    assert response.status_code == 302
    html = coordinator_client.get(progress_url).get_data(as_text=True)
    assert "Draft: not confirmed by both" in html
    assert AGREEMENT["shared_work"] not in html
    assert coordinator_client.get(shared_url).status_code == 404  # one confirmation only
    agreements.confirm(db, ben, ben.user, match.id, "1", NOW)
    html = coordinator_client.get(progress_url).get_data(as_text=True)
    assert "Confirmed by both" in html and AGREEMENT["shared_work"] not in html
    assert AGREEMENT["shared_work"] in coordinator_client.get(shared_url).get_data(as_text=True)
    # Ben unticks sharing: a new version, not confirmed by both, not shared.
    agreements.save(db, ben, ben.user, match.id, AGREEMENT, "1", NOW, confirm=True)
    assert coordinator_client.get(shared_url).status_code == 404
    assert leader_client.get(shared_url).status_code == 403
    assert AGREEMENT["confidential"] in leader_client.get(
        f"/matches/{match.id}/agreement").get_data(as_text=True)


def test_the_agreement_form_keeps_what_was_written_beside_the_error(leader_client, pair):
    url = f"/matches/{pair.match.id}/agreement"
    response = leader_client.post_form(url, AGREEMENT | {"shared_work": "", "action": "save"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter the question or piece of work you will take on together" in html
    assert AGREEMENT["mentee_learning"] in html


def test_my_data_export_includes_the_agreement_and_only_my_check_ins_and_concerns(db, pair):
    ada, ben, match = pair.mentee, pair.mentor, pair.match
    agreements.save(db, ada, ada.user, match.id, AGREEMENT, "", NOW)
    check_ins.give_check_in(db, ada, ada.user, match.id, "midpoint",
                            {"have_met": "yes", "going_well": "well"}, NOW)
    check_ins.raise_concern(db, ada, ada.user, match.id, CONCERN, NOW)
    mine = json.dumps(export_data(db, ada.user, NOW))
    theirs = export_data(db, ben.user, NOW)
    assert AGREEMENT["shared_work"] in mine and CONCERN in mine
    assert json.loads(mine)["check_ins"][0]["going_well"] == "well"
    assert theirs["agreements"][0]["shared_work"] == AGREEMENT["shared_work"]
    assert theirs["check_ins"] == [] and theirs["concerns"] == []
    assert CONCERN not in json.dumps(theirs)


# --- check-ins ---------------------------------------------------------------------------


def test_a_check_in_is_given_once_and_the_end_one_opens_a_week_before_the_end(db, pair):
    ada, match = pair.mentee, pair.match
    with pytest.raises(LeaderError) as error:
        check_ins.give_check_in(db, ada, ada.user, match.id, "midpoint",
                                {"have_met": "maybe", "anything_else": "x" * 2001}, NOW)
    assert set(error.value.errors) == {"have_met", "going_well", "anything_else"}
    check_ins.give_check_in(db, ada, ada.user, match.id, "midpoint",
                            {"have_met": "not_yet", "going_well": "partly",
                             "anything_else": "Our diaries clash"}, NOW)
    with pytest.raises(LeaderError, match="already answered"):
        check_ins.give_check_in(db, ada, ada.user, match.id, "midpoint",
                                {"have_met": "yes", "going_well": "well"}, NOW)
    end = RoundDates.of(pair.round).end
    with pytest.raises(LeaderError, match="opens on Sunday 21 March 2027"):
        check_ins.give_check_in(db, ada, ada.user, match.id, "end",
                                {"have_met": "yes", "going_well": "well"}, NOW)
    check_ins.give_check_in(db, ada, ada.user, match.id, "end",
                            {"have_met": "yes", "going_well": "well"}, end - timedelta(days=7))
    assert len(db.exec(select(CheckIn)).all()) == 2


def test_the_other_leader_never_sees_my_check_in(pair, app, leader_client):
    from conftest import SignedIn

    match = pair.match
    url = f"/matches/{match.id}/check-in/midpoint"
    response = leader_client.post_form(url, {"have_met": "yes", "going_well": "not_well",
                                             "anything_else": "I do not feel listened to"})
    assert response.status_code == 302
    ben = SignedIn(app, pair.mentor.user)
    for page in (f"/matches/{match.id}", url):
        assert "I do not feel listened to" not in ben.get(page).get_data(as_text=True)
    assert "Send my answers" in ben.get(url).get_data(as_text=True)  # Ben's own is unanswered


def test_check_ins_are_asked_at_the_mid_point_and_the_end_each_once(db, pair):
    dates = RoundDates.of(pair.round)
    assert dates.midpoint == datetime(2027, 2, 14, 9, 0, tzinfo=UTC)
    assert dates.end == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)  # 9am British Summer Time
    assert plan_check_ins(db, dates.midpoint - timedelta(minutes=1)) == 0
    assert plan_check_ins(db, dates.midpoint) == 2
    assert plan_check_ins(db, dates.midpoint + timedelta(days=3)) == 0
    asked = emails(db, "check-in-request")
    assert sorted(n.recipient_email for n in asked) == sorted(
        [pair.mentor.user.email, pair.mentee.user.email])
    assert all(f"/matches/{pair.match.id}/check-in/midpoint" in n.body_text for n in asked)
    # Ada answers the end one early: only Ben is asked at the end.
    check_ins.give_check_in(db, pair.mentee, pair.mentee.user, pair.match.id, "end",
                            {"have_met": "yes", "going_well": "well"},
                            dates.end - timedelta(days=1))
    assert plan_check_ins(db, dates.end) == 1
    assert plan_check_ins(db, dates.end + timedelta(days=1)) == 0
    assert [n.recipient_email for n in emails(db, "check-in-request")][-1] == \
        pair.mentor.user.email


# --- quiet pairs -------------------------------------------------------------------------


def test_a_quiet_pair_is_nudged_once_then_flagged(db, pair, quiet_pair):
    dates = RoundDates.of(quiet_pair.round)
    plan_check_ins(db, dates.midpoint)  # the check-in requests, out of the way
    assert plan_check_ins(db, dates.quiet_from - timedelta(minutes=1)) == 0
    assert plan_check_ins(db, dates.quiet_from) == 2
    for later in (timedelta(hours=1), timedelta(days=5), FLAG := timedelta(days=7)):
        assert plan_check_ins(db, dates.quiet_from + later) == 0
    nudged = emails(db, "quiet-pair-nudge")
    assert sorted(n.recipient_email for n in nudged) == ["leader.a@example.org",
                                                         "quinn@example.org"]
    assert "no exchange" in nudged[0].body_text
    # The busy pair (an exchange has taken place) is in another round, never nudged.
    assert pair.mentor.user.email not in {n.recipient_email for n in nudged}
    before = pair_progress(db, quiet_pair.round, dates.flagged_from - timedelta(minutes=1))
    after = pair_progress(db, quiet_pair.round, dates.quiet_from + FLAG)
    assert [(row.quiet, row.flagged) for row in before.pairs] == [(True, False)]
    assert [(row.quiet, row.flagged) for row in after.pairs] == [(True, True)]


def test_a_check_in_or_an_exchange_keeps_a_pair_from_being_quiet(db, factory, quiet_pair):
    dates = RoundDates.of(quiet_pair.round)
    check_ins.give_check_in(db, quiet_pair.mentor, quiet_pair.mentor.user,
                            quiet_pair.match.id, "midpoint",
                            {"have_met": "not_yet", "going_well": "partly"}, dates.midpoint)
    assert plan_check_ins(db, dates.flagged_from) == 1  # only Ada's mid-point request
    assert emails(db, "quiet-pair-nudge") == []
    assert not pair_progress(db, quiet_pair.round, dates.flagged_from).pairs[0].flagged


def test_a_quiet_pair_is_flagged_on_the_dashboard(db, factory, leader, coordinator_client):
    today = date.today()
    programme_round = factory.programme_round(starts_on=today - timedelta(days=80),
                                              ends_on=today + timedelta(days=20))
    mentor = factory.mentor(name="Quinn Quiet")
    for person in (mentor, leader):
        factory.participant(programme_round, person)
    factory.match(programme_round, mentor, leader, status="accepted")
    html = coordinator_client.get(f"/rounds/{programme_round.id}/dashboard").get_data(
        as_text=True)
    assert "How pairs are getting on" in html
    assert "Quinn Quiet mentoring Ada Leader" in html and "nhsuk-tag--red" in html


# --- concerns ----------------------------------------------------------------------------


def test_a_concern_reaches_the_coordinators_only(db, app, factory, pair, leader_client,
                                                 coordinator, coordinator_client):
    from conftest import SignedIn

    other_coordinator = factory.user(email="second.coordinator@example.org", role="coordinator")
    match = pair.match
    url = f"/matches/{match.id}/concern"
    assert "Raise a concern privately" in leader_client.get(
        f"/exchanges/{pair.upcoming.id}").get_data(as_text=True)
    response = leader_client.post_form(url, {"text": ""})
    assert response.status_code == 400 and "Enter your concern" in response.get_data(
        as_text=True)
    response = leader_client.post_form(url, {"text": CONCERN})
    assert response.status_code == 302
    assert db.exec(select(Concern)).one().raised_by_id == pair.mentee.id
    told = emails(db, "concern-raised")
    assert sorted(n.recipient_email for n in told) == sorted(
        [coordinator.email, other_coordinator.email])
    assert all(CONCERN not in n.body_text for n in told)  # a link, not the words
    assert all("pair-progress#concerns" in n.body_text for n in told)
    assert not db.exec(select(Notification).where(
        Notification.recipient_email == pair.mentor.user.email,
        Notification.kind == "concern-raised")).all()
    # The coordinators read it; Ben never does.
    progress_page = coordinator_client.get(f"/rounds/{pair.round.id}/pair-progress")
    assert CONCERN in progress_page.get_data(as_text=True)
    dashboard = coordinator_client.get(f"/rounds/{pair.round.id}/dashboard")
    assert "1 concern has been raised" in dashboard.get_data(as_text=True)
    ben = SignedIn(app, pair.mentor.user)
    for page in (f"/matches/{match.id}", f"/exchanges/{pair.upcoming.id}", "/matches",
                 "/my-data/export.json"):
        body = ben.get(page).get_data(as_text=True)
        assert CONCERN not in body and "raised a concern" not in body
    assert ben.get(f"/rounds/{pair.round.id}/pair-progress").status_code == 403


def test_a_concern_is_on_the_changes_list(db, factory, coordinator_client, pair):
    pair.match.offered_at = NOW - timedelta(days=3)
    factory.session.add(pair.match)
    check_ins.raise_concern(db, pair.mentee, pair.mentee.user, pair.match.id, CONCERN, NOW)
    html = coordinator_client.get(f"/rounds/{pair.round.id}/changes").get_data(as_text=True)
    assert "Concern raised" in html
    assert "Ada Leader raised a concern about their match with Ben Mentor" in html
    assert CONCERN not in html


# --- you said, we did --------------------------------------------------------------------


def test_you_said_we_did_counts_check_ins_and_concerns_without_naming_anyone(
        db, pair, leader_client, coordinator_client):
    ada, ben, match = pair.mentee, pair.mentor, pair.match
    check_ins.give_check_in(db, ada, ada.user, match.id, "midpoint",
                            {"have_met": "yes", "going_well": "well",
                             "anything_else": "The discharge pathway work is going well"}, NOW)
    check_ins.give_check_in(db, ben, ben.user, match.id, "midpoint",
                            {"have_met": "yes", "going_well": "not_well"}, NOW)
    check_ins.raise_concern(db, ada, ada.user, match.id, "Too much workload and stress", NOW)
    found = you_said.listening(db, pair.round.id)
    assert (found.check_ins, found.midpoint, found.end, found.met) == (2, 2, 0, 2)
    assert found.going == {"well": 1, "partly": 0, "not_well": 1}
    assert (found.told_us, found.concerns) == (1, 1)
    assert dict(found.themes) == {"Integrated care and pathways": 1,
                                  "Wellbeing and resilience": 1}
    html = coordinator_client.get(f"/rounds/{pair.round.id}/you-said-we-did").get_data(
        as_text=True)
    assert "2 check-ins were answered" in html and "1 concern was raised" in html
    assert "Too much workload" not in html and "Ada Leader" not in html
    pair.round.you_said_we_did = "You said diaries clash. We now offer evening calls."
    pair.round.you_said_we_did_published_at = NOW
    db.add(pair.round)
    db.flush()
    read = leader_client.get(f"/rounds/{pair.round.id}/you-said-we-did/read")
    body = read.get_data(as_text=True)
    assert read.status_code == 200 and "evening calls" in body
    assert "Too much workload" not in body and "check-in" not in body.lower()


# --- retention ---------------------------------------------------------------------------


def test_retention_removes_agreements_and_concerns_and_keeps_check_in_answers(db, pair):
    from mentoring.retention import remove_round_personal_data

    ada, match = pair.mentee, pair.match
    agreements.save(db, ada, ada.user, match.id, AGREEMENT, "", NOW)
    check_ins.give_check_in(db, ada, ada.user, match.id, "midpoint",
                            {"have_met": "yes", "going_well": "well", "anything_else": "Fine"},
                            NOW)
    check_ins.raise_concern(db, ada, ada.user, match.id, CONCERN, NOW)
    remove_round_personal_data(db, pair.round, NOW)
    db.expire_all()
    assert db.exec(select(PairAgreement)).all() == [] and db.exec(select(Concern)).all() == []
    kept = db.exec(select(CheckIn)).one()
    assert (kept.leader_id, kept.anything_else, kept.going_well) == (None, "", "well")


def test_the_pages_say_when_a_check_in_opens_and_who_changed_the_agreement(
        db, pair, leader_client):
    ben, match = pair.mentor, pair.match
    html = leader_client.get(f"/matches/{match.id}/check-in/end").get_data(as_text=True)
    assert "<p>This check-in opens on 21 March 2027." in html
    agreements.save(db, pair.mentee, pair.mentee.user, match.id, AGREEMENT, "", NOW,
                    confirm=True)
    agreements.save(db, ben, ben.user, match.id, AGREEMENT | {"shared_work": "Two pathways"},
                    "1", NOW)
    html = leader_client.get(f"/matches/{match.id}/agreement").get_data(as_text=True)
    assert "<p>Ben Mentor changed the agreement on" in html
    assert "Any confirmation you gave an earlier version has been cleared" in html


def test_the_pair_progress_counts_match_a_hand_count(db, factory):
    """Four booked pairs in one round: confirmed, draft, none and none; one check-in; two
    quiet (no exchange, no check-in); one concern; and an offer that is not counted."""
    programme_round = factory.programme_round()
    pairs = [factory.match(programme_round, factory.mentor(), factory.leader(), status="accepted")
             for _ in range(4)]
    factory.match(programme_round, factory.mentor(), factory.leader(), status="offered")
    first, second, third, _ = pairs
    leader_of = {m.id: db.get(LeaderProfile, m.mentee_id) for m in pairs}
    mentor_of = {m.id: db.get(LeaderProfile, m.mentor_id) for m in pairs}
    agreements.save(db, leader_of[first.id], leader_of[first.id].user, first.id, AGREEMENT, "",
                    NOW, confirm=True)
    agreements.confirm(db, mentor_of[first.id], mentor_of[first.id].user, first.id, "1", NOW)
    agreements.save(db, leader_of[second.id], leader_of[second.id].user, second.id, AGREEMENT,
                    "", NOW)
    check_ins.give_check_in(db, leader_of[first.id], leader_of[first.id].user, first.id,
                            "midpoint", {"have_met": "yes", "going_well": "well"}, NOW)
    factory.exchange(second, datetime(2027, 1, 20, 9, 0, tzinfo=UTC))  # taken place by then
    check_ins.raise_concern(db, leader_of[third.id], leader_of[third.id].user, third.id,
                            CONCERN, NOW)
    found = pair_progress(db, programme_round, RoundDates.of(programme_round).flagged_from)
    assert dict(found.counts) == {"pairs": 4, "concerns": 1, "agreement_confirmed": 1,
                                  "agreement_draft": 1, "agreement_none": 2, "flagged": 2,
                                  "quiet": 2, "checked_in": 1}
    assert [row.concerns for row in found.pairs] == [0, 0, 1, 0]
