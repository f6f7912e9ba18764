"""The coordinator's journey end to end, through the web pages and the worker: create a round,
open it, bring leaders in from a CSV, run the optimiser, pin a pair and run again, approve in
one step, and check what the leaders see and which emails are queued."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from sqlmodel import select

from mentoring.matching.runs import run_queued_optimisations
from mentoring.models import LeaderProfile, Match, Notification, OptimiserRun, ProgrammeRound

from conftest import SignedIn
from matching_world import MONDAY, worker


def create_round(coordinator_client) -> int:
    end = MONDAY + timedelta(weeks=6) - timedelta(days=3)
    response = coordinator_client.post_form("/rounds/new", {
        "name": "Journey round", "description": "End to end",
        "starts_on[day]": MONDAY.day, "starts_on[month]": MONDAY.month,
        "starts_on[year]": MONDAY.year,
        "ends_on[day]": end.day, "ends_on[month]": end.month, "ends_on[year]": end.year,
        "exchanges_per_pair": "2", "min_days_between_exchanges": "7", "reciprocal": "required",
        "allow_same_organisation": "no",
        "weight_goals": "4", "weight_cross_profession": "2.5", "weight_cross_sector": "2",
        "weight_cross_organisation": "0.5", "weight_same_borough": "1",
        "priority_professions": ["nurse", "social_worker"],
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/rounds/(\d+)", response.headers["Location"]).group(1))


def leaders(factory):
    """Leaders with complete profiles: two experienced, three emerging."""
    mentors = [factory.mentor(email=f"mentor{n}@example.org", name=f"Mentor {n}",
                              profession="acute_clinical_director", sector="acute",
                              strengths=["system_leadership"], mentor_capacity=1,
                              max_hosted_per_week=2) for n in (1, 2)]
    mentees = [factory.leader(email=f"mentee{n}@example.org", name=f"Mentee {n}",
                              profession="nurse", sector="community_health",
                              goals=["system_leadership"], can_host=True,
                              max_hosted_per_week=2) for n in (1, 2, 3)]
    return mentors, mentees


def test_create_import_run_pin_rerun_approve_and_the_leaders_see_it(app, db, factory,
                                                                     coordinator_client):
    mentors, mentees = leaders(factory)
    round_id = create_round(coordinator_client)
    overview = f"/rounds/{round_id}"
    opened = coordinator_client.post_form(f"{overview}/status", {"action": "open"},
                                          form_page=overview)
    assert opened.status_code == 302
    programme_round = db.get(ProgrammeRound, round_id)
    db.refresh(programme_round)
    assert programme_round.status == "open"

    csv = "email,name\r\n" + "".join(f"{p.user.email},{p.name}\r\n" for p in mentors + mentees)
    imported = coordinator_client.post_form(
        f"{overview}/participants/import",
        {"file": (io.BytesIO(csv.encode()), "leaders.csv")},
        form_page=f"{overview}/participants/import", content_type="multipart/form-data")
    assert imported.status_code == 200, imported.get_data(as_text=True)
    preview = imported.get_data(as_text=True)
    assert "Check the leaders to invite" in preview  # nothing is imported before a look
    imported = coordinator_client.post_form(
        f"{overview}/participants/import/confirm",
        {"upload": re.search(r'name="upload" value="([^"]+)"', preview).group(1),
         "filename": "leaders.csv"}, form_page=f"{overview}/participants/import")
    assert "Leaders imported" in imported.get_data(as_text=True)
    # The leaders set when they are free (the availability pages are tested on their own).
    for leader in mentors + mentees:
        for offset in (1, 8, 15, 22):
            factory.availability(programme_round, leader, MONDAY + timedelta(days=offset), "am")

    runs_page = f"{overview}/runs"
    started = coordinator_client.post_form(f"{runs_page}/new", {"time_limit": "30"},
                                           form_page=runs_page)
    assert started.status_code == 302
    assert run_queued_optimisations(worker(app)) == 1
    first = db.exec(select(OptimiserRun)).one()
    db.refresh(first)
    assert first.status == "succeeded" and len(first.solution["pairs"]) == 2

    # Pin the mentee the first run left out with the first mentor, then run again.
    left_out = next(u["id"] for u in first.solution["unmatched"])
    review = f"{runs_page}/{first.id}"
    pinned = coordinator_client.post_form(f"{overview}/pairs", {
        "rule": "pin", "mentor_id": str(mentors[0].id), "mentee_id": left_out,
        "run_id": str(first.id)}, form_page=review)
    assert pinned.status_code == 302
    coordinator_client.post_form(f"{runs_page}/new", {"time_limit": "30"}, form_page=runs_page)
    run_queued_optimisations(worker(app))
    second = db.exec(select(OptimiserRun).order_by(OptimiserRun.id.desc())).first()
    db.refresh(second)
    assert (str(mentors[0].id), left_out) in {(p["mentor"], p["mentee"])
                                              for p in second.solution["pairs"]}
    compare = coordinator_client.get(f"{runs_page}/compare?a={first.id}&b={second.id}")
    assert compare.status_code == 200

    approve = f"{runs_page}/{second.id}/approve"
    approved = coordinator_client.post_form(approve, {"reason": "Pinned as agreed"})
    assert approved.status_code == 302
    matches = db.exec(select(Match).where(Match.round_id == round_id)).all()
    assert sorted(m.status for m in matches) == ["offered", "offered"]
    db.refresh(programme_round)
    assert programme_round.status == "published"

    # The pinned mentee sees their offer; introductions are queued, no calendar invitation yet.
    mentee = next(p for p in mentees if str(p.id) == left_out)
    mentee_client = SignedIn(app, mentee.user)
    page = mentee_client.get("/matches").get_data(as_text=True)
    assert "Mentor 1" in page and "Waiting for your answer" in page
    offers = db.exec(select(Notification).where(
        Notification.kind == "match-offer", Notification.round_id == round_id)).all()
    assert len(offers) == 2 * 2 and not any(n.ics for n in offers)  # 2 pairs, 2 leaders
    # Both leaders of the pinned pair accept: only then are their exchanges booked.
    match = next(m for m in matches if str(m.mentee_id) == left_out)
    mentor_client = SignedIn(app, db.get(LeaderProfile, match.mentor_id).user)
    for client in (mentee_client, mentor_client):
        url = f"/matches/{match.id}"
        assert client.post_form(f"{url}/accept", form_page=url).status_code == 302
    confirmations = db.exec(select(Notification).where(
        Notification.kind == "exchange-confirmed", Notification.round_id == round_id)).all()
    assert len(confirmations) == 2 * 2  # 2 exchanges, 2 leaders
    assert all(n.ics for n in confirmations)
    assert "Booked" in mentee_client.get(f"/matches/{match.id}").get_data(as_text=True)
    # The exports carry the approved matches.
    export = coordinator_client.get(f"{overview}/export/matches.csv")
    assert export.status_code == 200 and mentee.name in export.get_data(as_text=True)
