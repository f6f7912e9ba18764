"""Did it work (issue 20, item 3): the self-assessment, its paired change with small groups
suppressed (checked against hand counts), who sees what, and the end-of-round email sent once.

The hand-made round: 14 leaders answered both times, and a few only once.
- Acute (6, nurses): three answered 2 and three 3 to every statement on joining; at the end 4,
  except 3 to "whom to call". Change per statement (3*2 + 3*1) / 6 = +1.5, and "whom to call"
  (3*1 + 3*0) / 6 = +0.5; overall (7 * 1.5 + 0.5) / 8 = +1.375.
- Mental health (5: four social workers, one pharmacist): 3 on joining and 3 at the end: 0.
- VCSE (3, pharmacists): 1 on joining, 5 at the end: +4.
All 14: per statement (9 + 0 + 12) / 14 = +1.5, "whom to call" (3 + 0 + 12) / 14 = 15/14;
overall (7 * 21/14 + 15/14) / 8 = 162/112. On joining the mean is 33/14 for every statement;
at the end 54/14, and 48/14 for "whom to call".
By sector: VCSE (3) is fewer than 5; hidden alone, the total minus the groups shown would give
it away, so the smallest shown group, mental health (5), is hidden too. Acute is shown.
By profession: nurses 6 are shown; pharmacists 4 and social workers 4 are both fewer than 5,
and together 8, so no other group needs hiding.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from mentoring.confidence import services
from mentoring.confidence.services import STATEMENT_KEYS, ask_at_round_end, save
from mentoring.insights import confidence
from mentoring.insights.confidence import COMPLEMENT, FEWER, hidden_groups
from mentoring.models import AuditEvent, Notification, SelfAssessment

from confidence_world import TODAY_AFTER, TODAY_IN_WINDOW, answer, answers, build_evidence_round
from conftest import SignedIn

WHOM = STATEMENT_KEYS.index("whom_to_call")


@pytest.fixture
def hand_made(factory):
    return build_evidence_round(factory)


def test_groups_under_five_are_hidden_and_so_is_their_complement():
    order = ["a", "b", "c", "d"]
    assert hidden_groups({"a": 6, "b": 5, "c": 3}, order) == {"c": FEWER, "b": COMPLEMENT}
    # Two small groups that add up to five or more hide each other.
    assert hidden_groups({"a": 6, "b": 4, "c": 4}, order) == {"b": FEWER, "c": FEWER}
    # Two small groups adding up to fewer than five: the smallest shown group goes too
    # (ties go to the first in the vocabulary's order).
    assert hidden_groups({"a": 9, "b": 7, "c": 2, "d": 1}, order) == {
        "c": FEWER, "d": FEWER, "b": COMPLEMENT}
    assert hidden_groups({"a": 7, "b": 7, "c": 1}, order) == {"c": FEWER, "a": COMPLEMENT}
    assert hidden_groups({"a": 5, "b": 12}, order) == {}
    assert hidden_groups({"a": 4}, order) == {"a": FEWER}
    assert hidden_groups({}, order) == {}


def test_the_paired_change_matches_the_hand_count(db, hand_made):
    found = confidence.change(db, hand_made.id)
    assert (found.answered_joining, found.answered_end) == (15, 15)
    overall = found.overall
    assert overall.leaders == 14 and not overall.hidden
    for index, moved in enumerate(overall.change):
        assert moved == pytest.approx(15 / 14 if index == WHOM else 1.5)
        assert overall.before[index] == pytest.approx(33 / 14)
        assert overall.after[index] == pytest.approx(48 / 14 if index == WHOM else 54 / 14)
    assert overall.overall_change == pytest.approx(162 / 112)

    sectors = {row.key: row for row in found.by_sector}
    assert sectors["acute"].leaders == 6
    assert sectors["acute"].overall_change == pytest.approx(1.375)
    assert sectors["acute"].change[WHOM] == pytest.approx(0.5)
    assert sectors["vcse"].hidden == FEWER
    assert sectors["mental_health"].hidden == COMPLEMENT
    for key in ("vcse", "mental_health"):  # hidden rows carry no numbers to print
        row = sectors[key]
        assert (row.leaders, row.before, row.after, row.overall_change) == (None, (), (), None)

    professions = {row.key: row for row in found.by_profession}
    assert professions["nurse"].leaders == 6
    assert professions["nurse"].overall_change == pytest.approx(1.375)
    assert professions["community_pharmacist"].hidden == FEWER
    assert professions["social_worker"].hidden == FEWER
    assert "gp" not in professions  # the gps answered once: not paired


def test_fewer_than_five_paired_leaders_show_nothing(db, factory):
    programme_round = factory.programme_round()
    for _ in range(4):
        leader = factory.leader()
        factory.participant(programme_round, leader)
        answer(db, programme_round, leader, answers(2), answers(4))
    found = confidence.change(db, programme_round.id)
    assert found.overall.hidden == FEWER and found.overall.leaders is None
    assert all(row.hidden for row in found.by_sector + found.by_profession)


def test_the_dashboard_report_and_csv_show_the_change_and_hide_small_groups(
        coordinator_client, hand_made):
    for page in ("dashboard", "report"):
        html = coordinator_client.get(f"/rounds/{hand_made.id}/{page}").get_data(as_text=True)
        assert "Did it work: confidence across organisations" in html
        assert "14 paired leaders: overall +1.4 (from 2.4 to 3.8 out of 5)" in html
        assert "Fewer than 5" in html and COMPLEMENT.capitalize() in html
    rows = list(csv.reader(io.StringIO(coordinator_client.get(
        f"/rounds/{hand_made.id}/report.csv").get_data(as_text=True).lstrip("\ufeff"))))
    mine = {(figure, label): value for section, figure, label, value in rows
            if section == "confidence"}
    assert mine[("paired leaders", "All paired leaders")] == "14"
    assert float(mine[("mean change, overall", "All paired leaders")]) == pytest.approx(
        162 / 112, abs=1e-4)
    assert mine[("paired leaders", "sector: Acute")] == "6"
    assert mine[("mean change: Whom to call", "sector: Acute")] == "0.5"
    vcse = "sector: Voluntary, community and social enterprise (VCSE)"
    assert mine[("paired leaders", vcse)] == FEWER
    assert mine[("paired leaders", "sector: Mental health")] == COMPLEMENT
    # Nothing else is said about a hidden group.
    assert not [key for key in mine if key[1] in (vcse, "sector: Mental health")
                and key[0] != "paired leaders"]


def test_the_evaluator_export_is_anonymous_random_and_audited(db, coordinator_client,
                                                              coordinator, hand_made):
    url = f"/rounds/{hand_made.id}/self-assessment/export.csv"
    first = coordinator_client.get(url)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    text = first.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 16  # 14 paired, 2 who answered once; not the other round's leader
    assert set(rows[0]) == set(confidence.EXPORT_HEADER)
    assert len({row["respondent"] for row in rows}) == 16
    leaders = db.exec(select(SelfAssessment.leader_id).where(
        SelfAssessment.round_id == hand_made.id)).all()
    for leader_id in leaders:
        profile = db.get(services.LeaderProfile, leader_id)
        assert profile.name not in text and profile.user.email not in text
    assert "Organisation" not in text
    assert all(row["respondent"].startswith("R") and len(row["respondent"]) == 8 for row in rows)
    vcse_end_only = [row for row in rows if row["joining_speak_up"] == ""]
    assert len(vcse_end_only) == 1 and vcse_end_only[0]["end_speak_up"] == "5"
    assert sorted(row["end_whom_to_call"] for row in rows if row["sector"] == "Acute") == [
        "", "3", "3", "3", "3", "3", "3"]
    # A new download: new ids, so two downloads cannot be joined on them.
    again = csv.DictReader(io.StringIO(coordinator_client.get(url).get_data(
        as_text=True).lstrip("\ufeff")))
    assert not {row["respondent"] for row in again} & {row["respondent"] for row in rows}
    events = db.exec(select(AuditEvent).where(
        AuditEvent.action == "self_assessment.exported")).all()
    assert len(events) == 2 and events[0].actor_id == coordinator.id
    assert events[0].detail == {"rows": 16}

    dictionary = coordinator_client.get(
        f"/rounds/{hand_made.id}/self-assessment/data-dictionary.csv").get_data(as_text=True)
    columns = [row[0] for row in csv.reader(io.StringIO(dictionary.lstrip("\ufeff")))][1:]
    assert columns == list(confidence.EXPORT_HEADER)


def test_a_leader_reads_and_changes_only_their_own_answers(app, db, factory, hand_made):
    mine, other = factory.leader(name="Mine"), factory.leader(name="Other")
    for leader in (mine, other):
        factory.participant(hand_made, leader)
    answer(db, hand_made, other, answers(1, speak_up=2), None)
    url = f"/rounds/{hand_made.id}/self-assessment"
    client = SignedIn(app, mine.user)
    html = client.get(url).get_data(as_text=True)
    assert "checked" not in html  # another leader's answers are never shown
    response = client.post_form(url, answers(4, speak_up=5))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rounds/{hand_made.id}/availability")
    html = client.get(url).get_data(as_text=True)
    assert html.count("checked") == 8 and 'id="speak_up-5" name="speak_up" type="radio" ' \
        'value="5" checked' in html
    assert db.exec(select(SelfAssessment).where(SelfAssessment.leader_id == other.id)).one(
        ).answers["speak_up"] == 2
    # Leaders see no figures and no export.
    for path in ("dashboard", "report", "report.csv", "self-assessment/export.csv",
                 "self-assessment/data-dictionary.csv"):
        assert client.get(f"/rounds/{hand_made.id}/{path}").status_code == 403, path
    # A leader not in the round: as if it did not exist.
    stranger = SignedIn(app, factory.leader().user)
    assert stranger.get(url).status_code == 404


def test_an_unanswered_statement_is_named_beside_it_and_nothing_is_saved(app, db, factory):
    programme_round = factory.programme_round()
    leader = factory.leader()
    factory.participant(programme_round, leader)
    client = SignedIn(app, leader.user)
    partial = answers(3)
    partial.pop("lead_change")
    partial["influence"] = "7"
    response = client.post_form(f"/rounds/{programme_round.id}/self-assessment", partial)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'href="#lead_change"' in html and 'href="#influence"' in html
    assert "Choose how far you agree: I can lead change across organisational boundaries." in html
    assert 'value="3" checked' in html  # what they did answer is kept
    assert db.exec(select(SelfAssessment).where(SelfAssessment.leader_id == leader.id)).all() == []


def test_joining_a_round_leads_to_the_statements_then_to_availability(app, db, factory):
    programme_round = factory.programme_round(starts_on=date(2030, 6, 3))
    leader = factory.leader()
    client = SignedIn(app, leader.user)
    response = client.post_form(f"/rounds/{programme_round.id}/join", form_page="/availability")
    assert response.headers["Location"].endswith(f"/rounds/{programme_round.id}/self-assessment")
    html = client.get("/availability").get_data(as_text=True)
    assert "Tell us how confident you feel working across organisations" in html
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Skip this for now" in page
    client.post_form(f"/rounds/{programme_round.id}/self-assessment", answers(3))
    assert "Tell us how confident" not in client.get("/availability").get_data(as_text=True)
    saved = db.exec(select(SelfAssessment).where(SelfAssessment.leader_id == leader.id)).one()
    assert saved.moment == "joining"


def test_after_the_window_the_same_page_takes_the_end_answers(app, db, factory):
    ended = factory.programme_round(starts_on=date(2026, 6, 1), status="closed")
    leader = factory.leader()
    factory.participant(ended, leader)
    client = SignedIn(app, leader.user)
    html = client.get(f"/rounds/{ended.id}/self-assessment").get_data(as_text=True)
    assert "Now the round has ended" in html and "Skip this for now" not in html
    response = client.post_form(f"/rounds/{ended.id}/self-assessment", answers(5))
    assert response.headers["Location"].endswith("/home")
    assert db.exec(select(SelfAssessment.moment).where(
        SelfAssessment.leader_id == leader.id)).all() == ["end"]


def test_the_end_of_round_email_goes_once_to_each_leader_still_in_the_round(db, factory):
    programme_round = factory.programme_round(name="Winter exchange",
                                              contact_email="team@example.org")
    ends = programme_round.ends_on
    baseline, no_baseline, done, left = (factory.leader(name=name) for name in (
        "Bea Baseline", "Nico None", "Dee Done", "Lee Left"))
    for leader in (baseline, no_baseline, done):
        factory.participant(programme_round, leader)
    factory.participant(programme_round, left, status="withdrawn")
    save(db, programme_round, baseline, answers(2), TODAY_IN_WINDOW)
    save(db, programme_round, done, answers(2), TODAY_AFTER)  # answered the end already
    draft = factory.programme_round(status="draft")
    factory.participant(draft, factory.leader())

    assert ask_at_round_end(db, ends) == 0  # the last day of the window: not yet
    day_after = date.fromordinal(ends.toordinal() + 1)
    assert ask_at_round_end(db, day_after) == 2
    assert ask_at_round_end(db, day_after) == 0  # never twice
    assert ask_at_round_end(db, date.fromordinal(ends.toordinal() + 5)) == 0
    emails = db.exec(select(Notification).where(
        Notification.kind == services.KIND_END)).all()
    assert sorted(email.recipient_email for email in emails) == sorted(
        [baseline.user.email, no_baseline.user.email])
    to_bea = next(email for email in emails if email.recipient_email == baseline.user.email)
    assert to_bea.subject == "Winter exchange has ended: how confident do you feel now?"
    assert "Dear Bea Baseline" in to_bea.body_text
    assert "When you joined, you told us how confident you felt" in to_bea.body_text
    assert f"http://localhost/rounds/{programme_round.id}/self-assessment" in to_bea.body_text \
        or f"/rounds/{programme_round.id}/self-assessment" in to_bea.body_text
    assert "team@example.org" in to_bea.body_text
    to_nico = next(email for email in emails if email.recipient_email != baseline.user.email)
    assert "When you joined" not in to_nico.body_text


def test_rounds_that_ended_long_ago_are_not_asked(db, factory):
    old = factory.programme_round(starts_on=date(2025, 1, 6))
    factory.participant(old, factory.leader())
    assert ask_at_round_end(db, datetime(2027, 1, 1, tzinfo=UTC).date()) == 0


def test_a_leader_downloads_their_own_answers_and_deleting_the_account_deletes_them(db, factory):
    from mentoring.mydata.services import delete_account, export_data

    from conftest import TEST_PASSWORD

    programme_round = factory.programme_round()
    leader = factory.leader()
    factory.participant(programme_round, leader)
    save(db, programme_round, leader, answers(2, speak_up=4), TODAY_IN_WINDOW)
    [mine] = export_data(db, leader.user, datetime(2027, 1, 11, tzinfo=UTC))["self_assessments"]
    assert mine["round_id"] == programme_round.id and mine["moment"] == "joining"
    assert mine["answers"]["speak_up"] == 4
    delete_account(db, leader.user, TEST_PASSWORD, datetime(2027, 1, 11, tzinfo=UTC))
    assert db.exec(select(SelfAssessment)).all() == []
