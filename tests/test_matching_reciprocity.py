"""Reciprocal hosting as a round setting: "where possible" matches leaders who cannot host; the
review warns when a rule leaves out members of a priority group (issue 18)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import OptimiserRun

from matching_world import make_round, worker


def _finished(app, db, programme_round, coordinator) -> OptimiserRun:
    request_run(db, programme_round, coordinator)
    db.commit()
    run_queued_optimisations(worker(app))
    run = db.exec(select(OptimiserRun).order_by(OptimiserRun.id.desc())).first()
    db.refresh(run)
    assert run.status == "succeeded", run.error
    return run


@pytest.fixture
def round_with_a_mentee_who_cannot_host(factory):
    def make(reciprocal: str):
        people = make_round(factory, mentors=2, mentees=2, reciprocal=reciprocal,
                            priority_professions=["nurse"])
        cannot_host = people.mentees[0]
        cannot_host.can_host = False
        factory.session.add(cannot_host)
        factory.session.commit()
        return people, cannot_host
    return make


def test_required_leaves_out_who_cannot_host_and_the_review_warns(
        app, db, coordinator, coordinator_client, round_with_a_mentee_who_cannot_host):
    people, cannot_host = round_with_a_mentee_who_cannot_host("required")
    run = _finished(app, db, people.round, coordinator)
    assert run.problem["rules"]["reciprocal"] == "required"
    assert str(cannot_host.id) not in {p["mentee"] for p in run.solution["pairs"]}
    assert [u["rule"] for u in run.solution["unmatched"]] == ["reciprocal"]
    page = coordinator_client.get(f"/rounds/{people.round.id}/runs/{run.id}").get_data(
        as_text=True)
    assert "The round&#39;s rules leave out leaders in priority groups" in page
    assert ("Cannot host, and exchanges are reciprocal: 1 leader not matched, 1 of them in a "
            "priority group.") in page
    assert "change the rules" in page


def test_where_possible_matches_who_cannot_host_at_the_other_workplace(
        app, db, coordinator, coordinator_client, round_with_a_mentee_who_cannot_host):
    people, cannot_host = round_with_a_mentee_who_cannot_host("where_possible")
    run = _finished(app, db, people.round, coordinator)
    mine = [p for p in run.solution["pairs"] if p["mentee"] == str(cannot_host.id)]
    assert len(mine) == 1
    hosts = [x["host"] for x in run.solution["exchanges"]
             if str(cannot_host.id) in (x["host"], x["visitor"])]
    assert hosts == [mine[0]["mentor"]] * 2
    others = [x["host"] for x in run.solution["exchanges"]
              if str(cannot_host.id) not in (x["host"], x["visitor"])]
    assert len(set(others)) == 2  # both can host: each hosts once
    page = coordinator_client.get(f"/rounds/{people.round.id}/runs/{run.id}").get_data(
        as_text=True)
    assert "leave out leaders in priority groups" not in page


def test_new_rounds_default_to_where_possible_and_the_overview_says_so(
        factory, coordinator_client):
    programme_round = factory.programme_round()
    assert programme_round.reciprocal == "where_possible"
    page = coordinator_client.get(f"/rounds/{programme_round.id}").get_data(as_text=True)
    assert "Yes, when both can host" in page
    form = coordinator_client.get(f"/rounds/{programme_round.id}/edit").get_data(as_text=True)
    assert 'value="where_possible" checked' in form
