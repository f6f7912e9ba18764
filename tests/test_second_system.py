"""A second integrated care system: north east London's configuration, loaded from its JSON file
(other places, organisations, a new sector and profession), runs the coordinator's journey end
to end: a round, leaders brought in from a CSV in its own words, a run, an approval, and the
leaders reading their offers in the new system's words."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

from sqlmodel import select
from test_coordinator_journey import create_round

from mentoring.configuration import transfer, vocabularies
from mentoring.configuration.views import CACHE
from mentoring.matching.runs import run_queued_optimisations
from mentoring.models import Match, Notification, OptimiserRun, Organisation, ProgrammeRound
from mentoring.rounds import imports

from conftest import SignedIn
from matching_world import MONDAY, worker

NORTH_EAST = Path(__file__).parent / "configs" / "north-east-london.json"


def load_north_east_london(db) -> None:
    plan = transfer.plan_import(db, NORTH_EAST.read_bytes())
    assert plan.ok, plan.problems
    transfer.apply_import(db, plan, None)
    db.flush()


def test_north_east_londons_file_runs_a_round_end_to_end(app, db, factory, coordinator_client):
    load_north_east_london(db)
    # Loaded as `mentoring config import` would, from another process: the web process shows
    # it once its copy is CACHE_SECONDS old; here, at once.
    app.extensions[CACHE].clear()
    organisations = {org.name: org for org in db.exec(select(Organisation))}
    barts = organisations["Barts Health NHS Trust"]
    ambulance = organisations["London Ambulance Service NHS Trust"]
    bromley_by_bow = organisations["Bromley by Bow Centre"]
    assert (ambulance.sector, ambulance.borough) == ("ambulance", "city_and_hackney")

    mentors = [
        factory.mentor(email="mentor1@example.org", name="Mentor One", organisation=barts,
                       profession="acute_clinical_director", sector="acute",
                       borough="tower_hamlets", strengths=["anchor_institutions"],
                       mentor_capacity=1, max_hosted_per_week=2),
        factory.mentor(email="mentor2@example.org", name="Mentor Two", organisation=ambulance,
                       profession="paramedic", sector="ambulance", borough="city_and_hackney",
                       strengths=["anchor_institutions"], mentor_capacity=1,
                       max_hosted_per_week=2),
    ]
    mentees = [factory.leader(email=f"mentee{n}@example.org", name=f"Mentee {n}",
                              organisation=bromley_by_bow, profession="vcse_representative",
                              sector="vcse", borough="tower_hamlets",
                              goals=["anchor_institutions"], can_host=True,
                              max_hosted_per_week=2) for n in (1, 2)]

    # The coordinator works in the new system's words: its service name and priority groups.
    home = coordinator_client.get("/home").get_data(as_text=True)
    assert "East London leadership exchange" in home
    round_id = create_round(coordinator_client)
    overview = f"/rounds/{round_id}"
    assert coordinator_client.post_form(f"{overview}/status", {"action": "open"},
                                        form_page=overview).status_code == 302
    programme_round = db.get(ProgrammeRound, round_id)
    db.refresh(programme_round)

    # The CSV names professions and boroughs by the new system's labels.
    csv = "email,name,profession,borough\r\n" + "".join(
        f"{p.user.email},{p.name},{'Paramedic' if p.profession == 'paramedic' else ''},"
        f"{'Tower Hamlets' if p.borough == 'tower_hamlets' else 'City and Hackney'}\r\n"
        for p in mentors + mentees) + "new.person@example.org,New Person,,\r\n"
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
    # The invitation speaks of this system, not south east London.
    [invitation] = db.exec(select(Notification).where(
        Notification.recipient_email == "new.person@example.org")).all()
    assert "north east London's health and care system" in " ".join(
        invitation.body_text.split())
    assert "south east London" not in invitation.body_text + invitation.body_html
    with vocabularies.bound(db):  # south east London's boroughs are not this system's
        _, errors = imports.check_person(2, {"email": "x@example.org", "borough": "Lewisham"})
    assert "Unknown borough 'Lewisham'" in errors["borough"] and "Tower Hamlets" in (
        errors["borough"])

    for leader in mentors + mentees:
        for offset in (1, 8, 15, 22):
            factory.availability(programme_round, leader, MONDAY + timedelta(days=offset), "am")
    runs_page = f"{overview}/runs"
    assert coordinator_client.post_form(f"{runs_page}/new", {"time_limit": "30"},
                                        form_page=runs_page).status_code == 302
    assert run_queued_optimisations(worker(app)) == 1
    run = db.exec(select(OptimiserRun)).one()
    db.refresh(run)
    assert run.status == "succeeded" and len(run.solution["pairs"]) == 2
    review = coordinator_client.get(f"{runs_page}/{run.id}").get_data(as_text=True)
    assert "Tower Hamlets" in review and "Paramedic" in review

    approved = coordinator_client.post_form(f"{runs_page}/{run.id}/approve",
                                            {"reason": "North east London's first round"})
    assert approved.status_code == 302
    matches = db.exec(select(Match).where(Match.round_id == round_id)).all()
    assert sorted(m.status for m in matches) == ["offered", "offered"]

    # A mentee reads their offer in the new system's words.
    match = next(m for m in matches if m.mentor_id == mentors[1].id)
    mentee = next(p for p in mentees if p.id == match.mentee_id)
    page = SignedIn(app, mentee.user).get(f"/matches/{match.id}").get_data(as_text=True)
    assert "Mentor works in ambulance service at London Ambulance Service NHS Trust" in page
    assert "Anchor institutions and social value" in page or "anchor institutions" in page
    assert "East London leadership exchange" in page
    assert "NHS North East London leadership programme" in page  # the footer
