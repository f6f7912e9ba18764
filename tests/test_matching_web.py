"""The coordinator's matching pages: start a run, follow it, review, pin/forbid/remove, approve
(with a recent sign-in), compare runs, handle changes after approval. Leaders are kept out."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from authenticator import totp_code
from markupsafe import escape
from sqlmodel import select

from mentoring.access import SIGNED_IN_AT
from mentoring.matching.runs import run_queued_optimisations
from mentoring.models import Match, Notification, OptimiserRun, ProposalRemoval, utcnow

from conftest import TEST_PASSWORD, csrf_token
from matching_world import make_round, worker


@pytest.fixture
def small(factory):
    return make_round(factory, mentors=2, mentees=3)


def start_run(client, small, **data):
    url = f"/rounds/{small.round.id}/runs/new"
    return client.post_form(url, {"time_limit": "30", **data},
                            form_page=f"/rounds/{small.round.id}/runs")


def finished_run(app, db, client, small) -> OptimiserRun:
    response = start_run(client, small)
    assert response.status_code == 302
    run_queued_optimisations(worker(app))
    run = db.exec(select(OptimiserRun).order_by(OptimiserRun.id.desc())).first()
    db.refresh(run)
    assert run.status == "succeeded", run.error
    return run


def test_leaders_cannot_see_or_use_matching(leader_client, small):
    base = f"/rounds/{small.round.id}"
    for url in (f"{base}/runs", f"{base}/changes"):
        assert leader_client.get(url).status_code == 403
    # With a valid CSRF token, so it is the role that keeps them out.
    for url in (f"{base}/runs/new", f"{base}/pairs", f"{base}/changes/reoptimise"):
        response = leader_client.post_form(url, {"time_limit": "30"}, form_page="/home")
        assert response.status_code == 403
    assert leader_client.post_form(f"{base}/runs/new", {}, form_page="/home").status_code == 403


def test_a_coordinator_starts_a_run_and_sees_it_queued(coordinator_client, small, db):
    response = start_run(coordinator_client, small, note="First look")
    assert response.status_code == 302
    run = db.exec(select(OptimiserRun)).one()
    assert response.headers["Location"].endswith(f"/runs/{run.id}")
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Waiting for the worker" in page and "Cancel this run" in page
    progress = coordinator_client.get(f"/rounds/{small.round.id}/runs/{run.id}/progress")
    assert progress.json == {"status": "queued", "stage": "queued", "progress": 0.0,
                             "cancel_requested": False,
                             "text": "Waiting for the worker to start the run…"}
    # A second run is refused while the first waits, with the reason beside the field.
    again = start_run(coordinator_client, small)
    assert again.status_code == 302 or again.status_code == 400
    assert len(db.exec(select(OptimiserRun)).all()) == 1


def test_an_unfinished_run_page_updates_itself_and_a_finished_one_does_not(
        app, db, coordinator_client, small):
    start_run(coordinator_client, small)
    run = db.exec(select(OptimiserRun)).one()
    url = f"/rounds/{small.round.id}/runs/{run.id}"
    page = coordinator_client.get(url).get_data(as_text=True)
    # The app's own script polls the progress and reloads the page when the status changes;
    # without JavaScript the link refreshes it (no <meta> refresh, which takes the page away
    # from whoever is reading it).
    assert re.search(r'<script src="/static/progress.js" nonce="[^"]+" defer></script>', page)
    assert f'data-progress-url="{url}/progress"' in page and 'data-status="queued"' in page
    assert "This page updates itself" in page
    assert f'<a href="{url}">Refresh this page</a>' in page
    assert 'http-equiv="refresh"' not in page
    script = coordinator_client.get("/static/progress.js")
    assert script.status_code == 200 and "data-progress-url" in script.get_data(as_text=True)
    script.close()
    run_queued_optimisations(worker(app))
    finished = coordinator_client.get(url).get_data(as_text=True)
    assert "progress.js" not in finished and "This page updates itself" not in finished


def test_the_time_limit_hint_promises_no_seconds(coordinator_client, small):
    page = coordinator_client.get(f"/rounds/{small.round.id}/runs").get_data(as_text=True)
    assert "a few seconds" not in page
    # The demo round (182 leaders) takes 15 to 20 seconds from the worker's start, its
    # proposal proven the best well inside the shortest limit; a national round takes all of it.
    assert ("or sooner if it has found the best proposal. A round of a few hundred leaders "
            "usually finishes in under a minute; a round of thousands can use the whole "
            "limit.") in page


def test_a_failed_run_says_what_failed_and_what_to_do_next(app, db, coordinator_client,
                                                           small):
    finished_run(app, db, coordinator_client, small)
    # One mentee pinned to both mentors: no proposal can keep both pins.
    mentee = small.mentees[0]
    for mentor in small.mentors:
        response = coordinator_client.post_form(
            f"/rounds/{small.round.id}/pairs",
            {"mentor_id": mentor.id, "mentee_id": mentee.id, "rule": "pin"},
            form_page=f"/rounds/{small.round.id}/runs")
        assert response.status_code == 302
    start_run(coordinator_client, small)
    run_queued_optimisations(worker(app))
    run = db.exec(select(OptimiserRun).order_by(OptimiserRun.id.desc())).first()
    db.refresh(run)
    assert (run.status, run.solution_status) == ("failed", "infeasible")
    page = coordinator_client.get(f"/rounds/{small.round.id}/runs/{run.id}").get_data(
        as_text=True)
    assert "This run failed" in page
    assert "could not find any proposal that keeps all of the round" in page
    assert ("Clear the pins that the details name, in <a href=\"/rounds/"
            f"{small.round.id}/runs#pinned-pairs\">Pinned and forbidden pairs</a>") in page
    assert "pinned to 2 mentors" in page  # the optimiser's own words, under "Details"
    # Nothing of a proposal: there is none.
    for proposal_only in ("Changed since", "Not matched", "Summary", "Review and approve",
                          'id="pairs-heading"', "Mentees matched"):
        assert proposal_only not in page, proposal_only
    # The problem it was given can still be downloaded, to look into.
    assert f"/runs/{run.id}/problem.json" in page
    # On the list of runs it has no figures, and it is not offered for comparing.
    runs_page = coordinator_client.get(f"/rounds/{small.round.id}/runs").get_data(as_text=True)
    row = re.search(rf'/runs/{run.id}">Run {run.id}</a>.*?</tr>', runs_page, re.S).group(0)
    assert "Failed" in row and "of 3" not in row and "\u2013" in row  # a dash: no figure
    assert "Compare two runs" not in runs_page  # one run with a proposal: nothing to compare


def test_a_bad_time_limit_is_explained_and_the_note_kept(coordinator_client, small, db):
    response = start_run(coordinator_client, small, time_limit="999999", note="keep me")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose one of the time limits offered" in page and "keep me" in page
    assert db.exec(select(OptimiserRun)).all() == []


def test_the_review_page_shows_pairs_reasons_dates_and_unmatched(app, db, coordinator_client,
                                                                 small):
    run = finished_run(app, db, coordinator_client, small)
    page = coordinator_client.get(f"/rounds/{small.round.id}/runs/{run.id}").get_data(
        as_text=True)
    assert "Mentees matched" in page and "2 of 3 (67%)" in page
    for pair in run.solution["pairs"]:
        assert f'name="mentee_id" value="{pair["mentee"]}"' in page
    assert "out of 10" in page and "visits" in page
    assert "Not matched" in page and "Review and approve" in page
    filtered = coordinator_client.get(
        f"/rounds/{small.round.id}/runs/{run.id}?borough=bromley").get_data(as_text=True)
    assert "0 of 2 pairs (filtered)" in filtered


def test_problem_and_solution_download_as_the_optimiser_format(app, db, coordinator_client,
                                                               small):
    run = finished_run(app, db, coordinator_client, small)
    response = coordinator_client.get(f"/rounds/{small.round.id}/runs/{run.id}/problem.json")
    assert response.status_code == 200 and "attachment" in response.headers[
        "Content-Disposition"]
    document = json.loads(response.data)
    assert document["format"] == "mentoring-problem/1" and "mentoring_context" not in document
    solution = coordinator_client.get(f"/rounds/{small.round.id}/runs/{run.id}/solution.json")
    assert json.loads(solution.data)["pairs"] == run.solution["pairs"]


def test_a_run_of_another_round_is_not_found(app, db, factory, coordinator_client, small):
    run = finished_run(app, db, coordinator_client, small)
    other = factory.programme_round()
    assert coordinator_client.get(f"/rounds/{other.id}/runs/{run.id}").status_code == 404
    assert coordinator_client.get(f"/rounds/{small.round.id + 999}/runs").status_code == 404


def test_pin_forbid_and_remove_from_the_review_page(app, db, coordinator_client, small):
    run = finished_run(app, db, coordinator_client, small)
    stored = json.dumps(run.solution, sort_keys=True)
    review = f"/rounds/{small.round.id}/runs/{run.id}"
    first, second = run.solution["pairs"]
    ids = lambda pair: {"mentor_id": pair["mentor"], "mentee_id": pair["mentee"],  # noqa: E731
                        "run_id": str(run.id)}
    anchor = lambda pair: f"#pair-{pair['mentor']}-{pair['mentee']}"  # noqa: E731
    response = coordinator_client.post_form(f"/rounds/{small.round.id}/pairs",
                                            {**ids(first), "rule": "pin"}, form_page=review)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(review + anchor(first))
    assert db.exec(select(Match.pinned)).all() == [True]
    coordinator_client.post_form(f"/rounds/{small.round.id}/pairs",
                                 {**ids(second), "rule": "forbid"}, form_page=review)
    page = coordinator_client.get(review).get_data(as_text=True)
    # Forbidding keeps the pair out of what approving this proposal does, and marks its row.
    assert "Pinned" in page and "Forbidden" in page and "Allow again" in page
    assert "Their pair in this proposal was forbidden by a coordinator" in page
    # Remove the pinned pair too: nothing left to approve, and nothing in the run changed.
    coordinator_client.post_form(f"{review}/remove", ids(first), form_page=review)
    page = coordinator_client.get(review).get_data(as_text=True)
    assert "Removed from this proposal" in page and "Put back" in page
    assert "This proposal changes nothing that is approved now" in page
    db.refresh(run)
    assert json.dumps(run.solution, sort_keys=True) == stored


def test_decisions_need_the_csrf_token(app, db, coordinator_client, small):
    run = finished_run(app, db, coordinator_client, small)
    pair = run.solution["pairs"][0]
    response = coordinator_client.client.post(
        f"/rounds/{small.round.id}/runs/{run.id}/remove",
        data={"mentor_id": pair["mentor"], "mentee_id": pair["mentee"]})
    assert response.status_code == 400
    assert db.exec(select(ProposalRemoval)).all() == []


def test_approval_shows_what_will_change_then_publishes(app, db, coordinator_client, small):
    run = finished_run(app, db, coordinator_client, small)
    url = f"/rounds/{small.round.id}/runs/{run.id}/approve"
    page = coordinator_client.get(url).get_data(as_text=True)
    assert "2 matches offered" in page and "4 exchanges held until both leaders accept" in page
    response = coordinator_client.post_form(url, {"reason": "Balanced across sectors"})
    assert response.status_code == 302
    assert "Approved: 2 matches offered, 4 exchanges held" in \
        coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert {m.status for m in db.exec(select(Match)).all()} == {"offered"}
    assert len(db.exec(select(Notification).where(Notification.kind == "match-offer")).all()) == 4
    assert not db.exec(select(Notification).where(Notification.ics.is_not(None))).all()
    again = coordinator_client.post_form(url, {"reason": ""}, form_page=url)
    assert again.status_code == 200 or again.status_code == 400
    assert len(db.exec(select(Match)).all()) == 2


def test_approval_needs_a_recent_sign_in(app, db, coordinator_client, small):
    run = finished_run(app, db, coordinator_client, small)
    url = f"/rounds/{small.round.id}/runs/{run.id}/approve"
    with coordinator_client.client.session_transaction() as session:
        session[SIGNED_IN_AT] = int(time.time()) - 3600
    response = coordinator_client.get(url)
    assert response.status_code == 302 and "/sign-in/confirm" in response.headers["Location"]
    confirm = coordinator_client.client.get(response.headers["Location"])
    token = csrf_token(confirm.get_data(as_text=True))
    wrong = coordinator_client.client.post(response.headers["Location"],
                                           data={"csrf_token": token, "password": "nope"})
    assert wrong.status_code == 400 and "Your password is not right" in wrong.get_data(
        as_text=True)
    # The password alone is not enough: the second factor too (issue 15).
    no_code = coordinator_client.client.post(response.headers["Location"],
                                             data={"csrf_token": token, "password": TEST_PASSWORD})
    assert no_code.status_code == 400 and "Enter the code" in no_code.get_data(as_text=True)
    right = coordinator_client.client.post(response.headers["Location"], data={
        "csrf_token": token, "password": TEST_PASSWORD,
        "code": totp_code(coordinator_client.user.email)})
    assert right.status_code == 302 and right.headers["Location"].endswith(url)
    assert coordinator_client.get(url).status_code == 200
    assert db.exec(select(Match)).all() == []  # nothing approved on the way


def test_a_stale_approval_post_is_not_carried_out(app, db, coordinator_client, small):
    run = finished_run(app, db, coordinator_client, small)
    url = f"/rounds/{small.round.id}/runs/{run.id}/approve"
    page = coordinator_client.get(url)
    token = csrf_token(page.get_data(as_text=True))
    with coordinator_client.client.session_transaction() as session:
        session[SIGNED_IN_AT] = int(time.time()) - 3600
    response = coordinator_client.client.post(url, data={"csrf_token": token},
                                              headers={"Referer": f"http://localhost{url}"})
    assert response.status_code == 302 and "/sign-in/confirm" in response.headers["Location"]
    assert db.exec(select(Match)).all() == []


def test_compare_two_runs(app, db, coordinator_client, small):
    first = finished_run(app, db, coordinator_client, small)
    second = finished_run(app, db, coordinator_client, small)
    page = coordinator_client.get(
        f"/rounds/{small.round.id}/runs/compare?a={first.id}&b={second.id}")
    assert page.status_code == 200
    assert "have the same mentor in both runs" in page.get_data(as_text=True)
    assert coordinator_client.get(
        f"/rounds/{small.round.id}/runs/compare?a={first.id}&b=x").status_code == 404


def test_a_decline_shows_on_the_changes_page_and_is_re_optimised_locally(
        app, db, coordinator_client, small):

    run = finished_run(app, db, coordinator_client, small)
    url = f"/rounds/{small.round.id}/runs/{run.id}/approve"
    coordinator_client.post_form(url, {"reason": ""})
    match = db.exec(select(Match)).first()
    mentee = next(p for p in small.mentees if p.id == match.mentee_id)
    from mentoring.offers.services import decline_offer

    decline_offer(db, mentee, mentee.user, match.id, choice="know_already",
                  reason="I know them already", wants_different_match=True,
                  now=utcnow() + timedelta(seconds=1))
    db.commit()
    changes = f"/rounds/{small.round.id}/changes"
    page = coordinator_client.get(changes).get_data(as_text=True)
    assert "I know them already" in page and "Re-optimise these leaders" in page
    assert "Asked for a different match" in page  # the request is visible
    assert "Tell them no other match is possible" in page
    response = coordinator_client.post_form(f"{changes}/reoptimise",
                                            {"leader": [str(match.mentee_id),
                                                        str(match.mentor_id)]})
    assert response.status_code == 302
    local = db.exec(select(OptimiserRun).where(OptimiserRun.kind == "local")).one()
    assert sorted(local.scope) == sorted([match.mentee_id, match.mentor_id])
    nothing = coordinator_client.post_form(f"{changes}/reoptimise", {}, form_page=changes)
    assert nothing.status_code == 400


def test_a_big_proposal_is_shown_a_page_at_a_time(app, db, factory, coordinator_client,
                                                  monkeypatch):
    from mentoring.matching import views

    monkeypatch.setattr(views, "PAIRS_PER_PAGE", 1)
    people = make_round(factory, mentors=2, mentees=2)
    run = finished_run(app, db, coordinator_client, people)
    url = f"/rounds/{people.round.id}/runs/{run.id}?sort=mentee"
    first = coordinator_client.get(url).get_data(as_text=True)
    assert "1 to 1 shown, page 1 of 2" in first
    assert "Mentee 1" in first and ">Mentee 2<" not in first
    second = coordinator_client.get(f"{url}&page=2").get_data(as_text=True)
    assert "page 2 of 2" in second and "Mentee 2" in second
    beyond = coordinator_client.get(f"{url}&page=99").get_data(as_text=True)
    assert "page 2 of 2" in beyond  # out-of-range pages show the last one


@pytest.mark.parametrize(("solution_status", "error", "said", "next_step"), [
    ("no-solution-in-time", "The time limit passed before any proposal was found: run again "
     "with a longer time limit.", "ran out of time before it found any proposal",
     "Run the optimiser again with a longer time limit"),
    (None, "The round cannot be optimised: leader '99999' has no free half-day",
     "could not be given to the optimiser", "Correct what the details name"),
    (None, "The worker stopped while this run was in progress: run it again",
     "stopped while this run was in progress", "Run the optimiser again."),
    (None, "The solver failed: MemoryError: out of memory", "failed before it finished",
     "If it fails again, tell an administrator of this service"),
])
def test_each_kind_of_failure_says_what_to_do(db, coordinator, coordinator_client, small,
                                              solution_status, error, said, next_step):
    # As the worker leaves a failed run (runs.execute_run, runs.fail_abandoned_runs).
    run = OptimiserRun(round_id=small.round.id, requested_by_id=coordinator.id,
                       time_limit_seconds=30, status="failed", stage="failed",
                       solution_status=solution_status, error=error, finished_at=utcnow())
    db.add(run)
    db.commit()
    page = coordinator_client.get(f"/rounds/{small.round.id}/runs/{run.id}").get_data(
        as_text=True)
    assert "This run failed" in page and said in page and next_step in page
    assert escape(error) in page  # the details, in the worker's words
    assert "Not matched" not in page and "problem.json" not in page  # no problem was stored
