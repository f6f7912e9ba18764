"""Big rounds (issue 17 item 7): an import of thousands of people and an approval of thousands of
pairs are carried out by the worker, with a progress page, and end as the small ones do.

The thresholds are lowered here so that a handful of rows stands in for thousands.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from mentoring import jobs
from mentoring.auth.joining import Links
from mentoring.db import session_scope
from mentoring.matching import approval_jobs
from mentoring.matching.decisions import approve_run
from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import AuditEvent, BackgroundJob, Exchange, Invitation, Match, utcnow
from mentoring.rounds import import_jobs
from mentoring.rounds.imports import parse_participants_csv

from conftest import csrf_token
from matching_world import make_round, worker

CSV = ("email,name,profession,organisation,borough\r\n"
       + "".join(f"leader{n}@nhs.net,Leader {n},GP,Peckham Pharmacy,Southwark\r\n"
                 for n in range(5))
       + "not-an-email,Bad,,,\r\n")


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setattr(import_jobs, "IMPORT_IN_REQUEST_UP_TO", 2)
    monkeypatch.setattr(import_jobs, "CHUNK", 2)
    monkeypatch.setattr(approval_jobs, "APPROVE_IN_REQUEST_UP_TO", 0)


def upload(client, programme_round, text: str = CSV):
    """Upload, then confirm on the preview page; the answer to the confirm."""
    import io

    url = f"/rounds/{programme_round.id}/participants/import"
    token = csrf_token(client.get(url).get_data(as_text=True))
    preview = client.client.post(url, data={"csrf_token": token, "file": (
        io.BytesIO(text.encode()), "leaders.csv")}, content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    packed = re.search(r'name="upload" value="([^"]*)"', page).group(1)
    return client.client.post(f"{url}/confirm", data={
        "csrf_token": csrf_token(page), "upload": packed, "filename": "leaders.csv"})


def main_of(html: str, programme_round) -> str:
    body = html[html.index("<main"):html.index("</main>")]
    return body.replace(programme_round.name, "ROUND").replace(
        f"/rounds/{programme_round.id}/", "/rounds/ID/")


def test_a_big_import_runs_in_the_worker_and_ends_on_the_same_page_as_a_small_one(
        app, db, factory, coordinator_client, monkeypatch):
    in_request = factory.programme_round(name="Spring")
    answer = upload(coordinator_client, in_request)
    assert answer.status_code == 200  # 5 people: imported in the request, as before
    expected = main_of(answer.get_data(as_text=True), in_request)

    monkeypatch.setattr(import_jobs, "IMPORT_IN_REQUEST_UP_TO", 2)
    monkeypatch.setattr(import_jobs, "CHUNK", 2)
    in_worker = factory.programme_round(name="Spring")
    answer = upload(coordinator_client, in_worker)
    assert answer.status_code == 302
    job_url = answer.headers["Location"]
    waiting = coordinator_client.get(job_url).get_data(as_text=True)
    assert "Importing leaders" in waiting and 'aria-live="polite"' in waiting
    assert "5 people to go" in waiting
    assert db.exec(select(func.count()).select_from(Invitation).where(
        Invitation.round_id == in_worker.id)).one() == 0  # nothing yet: the worker does it

    assert jobs.run_queued_jobs(worker(app)) == 1
    done = coordinator_client.get(job_url).get_data(as_text=True)
    assert main_of(done, in_worker) == expected
    assert "Leaders imported" in done
    emails = db.exec(select(Invitation.email).where(Invitation.round_id == in_worker.id)).all()
    assert sorted(emails) == [f"leader{n}@nhs.net" for n in range(5)]
    actions = db.exec(select(AuditEvent.action).where(
        AuditEvent.action.in_(["job.import_queued", "round.participants_imported"]))).all()
    assert actions.count("job.import_queued") == 1
    assert actions.count("round.participants_imported") == 2  # the small and the big import


def test_the_progress_page_shows_how_far_the_job_has_got(app, db, factory,
                                                         coordinator_client, small_thresholds):
    programme_round = factory.programme_round()
    job_url = upload(coordinator_client, programme_round).headers["Location"]
    job = db.exec(select(BackgroundJob)).one()
    job.status, job.done, job.stage = "running", 2, "Added 2 of 5 people"
    db.add(job)
    db.commit()
    page = coordinator_client.get(job_url).get_data(as_text=True)
    assert 'value="0.4"' in page and "Added 2 of 5 people (40%)." in page
    polled = coordinator_client.get(f"/rounds/{programme_round.id}/jobs/{job.id}/progress")
    # What the page says comes with the numbers: the page's script shows it as it is.
    assert polled.json == {"status": "running", "stage": "Added 2 of 5 people", "done": 2,
                           "total": 5, "progress": 0.4, "text": "Added 2 of 5 people (40%)."}
    # Another round's address does not show it.
    other = factory.programme_round()
    assert coordinator_client.get(f"/rounds/{other.id}/jobs/{job.id}/progress").status_code \
        == 404
    assert coordinator_client.get(
        f"/rounds/{other.id}/participants/import/{job.id}").status_code == 404


def test_a_second_confirm_while_an_import_is_under_way_finds_the_first(
        app, db, factory, coordinator_client, small_thresholds):
    programme_round = factory.programme_round()
    first = upload(coordinator_client, programme_round).headers["Location"]
    second = upload(coordinator_client, programme_round).headers["Location"]
    assert first == second
    assert db.exec(select(func.count()).select_from(BackgroundJob)).one() == 1


def queued_import(app, db, factory, coordinator, people: int = 5) -> BackgroundJob:
    programme_round = factory.programme_round()
    parsed = parse_participants_csv(CSV.encode(), "leaders.csv")
    job = import_jobs.request_import(db, programme_round, parsed.people[:people],
                                     parsed.problems, "leaders.csv", coordinator)
    db.commit()
    return job


def test_an_import_whose_worker_stopped_half_way_resumes_after_the_last_chunk(
        app, db, factory, coordinator, small_thresholds):
    job = queued_import(app, db, factory, coordinator)
    context = worker(app)
    # A worker claims it, commits one chunk of two people, then is killed.
    assert jobs._claim_next(context) == job.id
    with session_scope(context.session_factory) as session:
        assert import_jobs._next_chunk(
            session, Links(secret="s" * 40, base_url="http://localhost"), job.id) is False
    db.refresh(job)
    assert (job.status, job.done) == ("running", 2)
    job.heartbeat_at = utcnow() - jobs.ABANDONED_AFTER - timedelta(seconds=1)
    db.add(job)
    db.commit()

    assert jobs.run_queued_jobs(context) == 1  # queued again, claimed again, finished
    db.refresh(job)
    assert (job.status, job.done, job.attempts) == ("succeeded", 5, 2)
    invited = db.exec(select(Invitation.email).where(
        Invitation.round_id == job.round_id)).all()
    assert sorted(invited) == [f"leader{n}@nhs.net" for n in range(5)]  # each once
    assert sorted(import_jobs.outcome_of(job).invited) == sorted(invited)
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "job.import_abandoned")).all()


def test_a_job_whose_worker_keeps_stopping_fails_with_a_message(
        app, db, factory, coordinator, coordinator_client):
    job = queued_import(app, db, factory, coordinator)
    job.status, job.attempts, job.done = "running", jobs.MAX_ATTEMPTS, 2
    job.heartbeat_at = utcnow() - jobs.ABANDONED_AFTER - timedelta(seconds=1)
    db.add(job)
    db.commit()
    assert jobs.run_queued_jobs(worker(app)) == 0
    db.refresh(job)
    assert job.status == "failed" and "The worker stopped 3 times" in job.error
    page = coordinator_client.get(
        f"/rounds/{job.round_id}/participants/import/{job.id}").get_data(as_text=True)
    assert "This could not be finished" in page and "2 of 5 people were done" in page
    assert "Upload the file again" in page


def test_a_running_job_with_a_recent_heartbeat_is_left_alone(app, db, factory, coordinator):
    job = queued_import(app, db, factory, coordinator)
    job.status, job.heartbeat_at, job.attempts = "running", utcnow(), 1
    db.add(job)
    db.commit()
    assert jobs.run_queued_jobs(worker(app)) == 0
    db.refresh(job)
    assert job.status == "running"


# --- approval -------------------------------------------------------------------------------


def solved_round(app, db, factory, coordinator):
    world = make_round(factory)
    run = request_run(db, world.round, coordinator, time_limit=30)
    db.commit()
    run_queued_optimisations(worker(app))
    db.refresh(run)
    assert run.status == "succeeded", run.error
    return world, run


def test_a_big_approval_runs_in_the_worker_and_ends_as_a_small_one(
        app, db, factory, coordinator, coordinator_client, small_thresholds):
    world, run = solved_round(app, db, factory, coordinator)
    url = f"/rounds/{world.round.id}/runs/{run.id}/approve"
    answer = coordinator_client.post_form(url, {"reason": "Balanced"})
    assert answer.status_code == 302 and "/approval/" in answer.headers["Location"]
    job_url = answer.headers["Location"]
    waiting = coordinator_client.get(job_url).get_data(as_text=True)
    assert f"Approving run {run.id}" in waiting and 'aria-live="polite"' in waiting
    assert db.exec(select(func.count()).select_from(Match)).one() == 0  # not yet

    assert jobs.run_queued_jobs(worker(app)) == 1
    done = coordinator_client.get(job_url)
    assert done.status_code == 302 and done.headers["Location"].endswith(
        f"/rounds/{world.round.id}/runs/{run.id}")
    page = coordinator_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Approved: 2 matches offered, 4 exchanges held." in page
    matches = db.exec(select(Match)).all()
    assert len(matches) == 2 and {m.status for m in matches} == {"offered"}
    assert {x.status for x in db.exec(select(Exchange)).all()} == {"held"}
    db.refresh(run)
    assert run.approved_by_id == coordinator.id
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "optimiser.run_approved")).one()
    assert event.detail["reason"] == "Balanced" and event.detail["new_pairs"] == 2
    job = db.exec(select(BackgroundJob)).one()
    assert job.status == "succeeded" and job.result == {"pairs": 2, "exchanges": 4,
                                                        "moved": 0, "cancelled": 0}


def test_an_approval_the_worker_must_refuse_changes_nothing_and_says_why(
        app, db, factory, coordinator, coordinator_client, small_thresholds):
    world, run = solved_round(app, db, factory, coordinator)
    answer = coordinator_client.post_form(f"/rounds/{world.round.id}/runs/{run.id}/approve",
                                          {"reason": ""})
    job_url = answer.headers["Location"]
    approve_run(db, run, coordinator, utcnow())  # another coordinator, in the meantime
    db.commit()
    jobs.run_queued_jobs(worker(app))
    job = db.exec(select(BackgroundJob)).one()
    assert job.status == "failed" and job.error == "This proposal has already been approved"
    assert db.exec(select(func.count()).select_from(Match)).one() == 2  # not twice
    page = coordinator_client.get(job_url).get_data(as_text=True)
    assert "This proposal has already been approved" in page
    assert "Nothing was changed" in page
