"""A re-run keeps close to the round's latest run: after one forbidden pair only what must
change changes (issue 18 item 3)."""

from __future__ import annotations

from sqlmodel import select

from mentoring.matching.decisions import set_pair_rule
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


def pairs_of(run) -> set[tuple[str, str]]:
    return {(p["mentor"], p["mentee"]) for p in run.solution["pairs"]}


def exchanges_of(run, pair) -> set[tuple[str, str, str]]:
    return {(x["host"], x["visitor"], x["slot"]) for x in run.solution["exchanges"]
            if {x["host"], x["visitor"]} == set(pair)}


def test_a_re_run_after_one_forbid_changes_only_what_it_must(
        app, db, factory, coordinator, coordinator_client):
    # three mentors with room for one mentee each, three mentees, every pair scoring the same
    people = make_round(factory, mentors=3, mentees=3)
    first = _finished(app, db, people.round, coordinator)
    assert len(pairs_of(first)) == 3
    assert first.problem["mentoring_context"]["previous_run_id"] is None
    forbidden = sorted(pairs_of(first))[0]
    set_pair_rule(db, people.round, coordinator, int(forbidden[0]), int(forbidden[1]),
                  "forbid")
    db.commit()
    second = _finished(app, db, people.round, coordinator)
    assert second.problem["mentoring_context"]["previous_run_id"] == first.id
    assert forbidden not in pairs_of(second)
    # the forbidden pair's mentee takes another mentor, whose mentee takes the freed one:
    # two pairs change; the third stays, with its exchanges
    kept = pairs_of(first) & pairs_of(second)
    assert len(kept) == 1
    (pair,) = kept
    assert exchanges_of(first, pair) == exchanges_of(second, pair)
    assert second.solution["stats"]["moved_pairs"] == 2
    page = coordinator_client.get(f"/rounds/{people.round.id}/runs/{second.id}").get_data(
        as_text=True)
    assert f"kept as close as it could to <a href=\"/rounds/{people.round.id}/runs/" \
           f"{first.id}\">run {first.id}</a> giving up at most 0.1 % of the best score: " \
           "2 of its pairs " \
           "changed" in page
