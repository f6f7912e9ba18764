"""Stable re-runs, as a coordinator reviews them (issue 17 item 1): a re-run keeps close to the
run it follows and its review marks what changed; pin, forbid and remove never change what a
run proposed, come back to the same place, and the next run sees them; "keep every pair
shown" pins the filtered pairs at once."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from sqlmodel import select

from mentoring.matching.decisions import approve_run, plan_changes, remove_pair
from mentoring.matching.runs import prepare, request_run, run_queued_optimisations
from mentoring.models import AuditEvent, Match, OptimiserRun, utcnow

from matching_world import make_round, stored_run, worker


def finished(app, db, programme_round, coordinator) -> OptimiserRun:
    request_run(db, programme_round, coordinator, time_limit=30)
    db.commit()
    run_queued_optimisations(worker(app))
    run = db.exec(select(OptimiserRun).order_by(OptimiserRun.id.desc())).first()
    db.refresh(run)
    assert run.status == "succeeded", run.error
    return run


def stored(db, programme_round, pairs) -> OptimiserRun:
    """A finished run proposing these (mentor, mentee) pairs, without exchanges."""
    run = stored_run(db, programme_round, *pairs[0])
    run.solution = {**run.solution, "pairs": [
        {"mentor": str(mentor.id), "mentee": str(mentee.id), "score": 7.5, "reasons": []}
        for mentor, mentee in pairs]}
    db.add(run)
    db.commit()
    return run


def solution_text(db, run) -> str:
    """The run's solution exactly as the database holds it."""
    return db.connection().execute(
        sa.select(sa.cast(OptimiserRun.solution, sa.Text)).where(OptimiserRun.id == run.id)
    ).scalar_one()


def pairs_of(run) -> set[tuple[str, str]]:
    return {(p["mentor"], p["mentee"]) for p in run.solution["pairs"]}


def url(run) -> str:
    return f"/rounds/{run.round_id}/runs/{run.id}"


def rows_of(page: str) -> dict[str, str]:
    """The review's rows of pairs by their id (pair-<mentor>-<mentee>)."""
    return {found.group(1): row for row in page.split("<tr ")[1:]
            if (found := re.search(r'id="(pair-\d+-\d+)"', row.split(">", 1)[0]))}


def ids(mentor, mentee, run, **more) -> dict[str, str]:
    return {"mentor_id": str(mentor), "mentee_id": str(mentee), "run_id": str(run.id), **more}


def test_a_re_run_after_one_forbid_changes_only_the_pairs_it_must_and_marks_them(
        app, db, factory, coordinator, coordinator_client):
    # three mentors with room for one mentee each, three mentees, every pair scoring the same
    people = make_round(factory, mentors=3, mentees=3)
    first = finished(app, db, people.round, coordinator)
    before = solution_text(db, first)
    mentor, mentee = sorted(pairs_of(first))[0]
    response = coordinator_client.post_form(
        f"/rounds/{people.round.id}/pairs",
        ids(mentor, mentee, first, rule="forbid", view="sort=mentee&page=1"),
        form_page=url(first))
    assert response.headers["Location"].endswith(
        f"{url(first)}?sort=mentee&page=1#pair-{mentor}-{mentee}")
    assert solution_text(db, first) == before  # the proposal stays as the optimiser made it
    first_page = coordinator_client.get(url(first)).get_data(as_text=True)
    assert "Forbidden" in rows_of(first_page)[f"pair-{mentor}-{mentee}"]

    second = finished(app, db, people.round, coordinator)
    assert second.problem["mentoring_context"]["previous_run_id"] == first.id
    # The forbidden pair's mentee takes another mentor, whose mentee takes the one freed:
    # two pairs change, the third stays with its dates.
    changed = pairs_of(second) - pairs_of(first)
    assert len(changed) == 2 and (mentor, mentee) not in pairs_of(second)
    page = coordinator_client.get(url(second)).get_data(as_text=True)
    marked = {row_id for row_id, row in rows_of(page).items()
              if f"Changed since run {first.id}" in row}
    assert marked == {f"pair-{m}-{e}" for m, e in changed}
    assert all("New mentor" in rows_of(page)[row_id] for row_id in marked)
    assert "New date" not in page  # the pair kept has its exchanges on the same dates
    assert "2 mentees with a new mentor" in page
    assert "1 pair unchanged, with the same dates" in page
    assert "Show only the 2 changed pairs" in page
    only = coordinator_client.get(f"{url(second)}?changed=1").get_data(as_text=True)
    assert set(rows_of(only)) == marked and "2 of 3 pairs (filtered)" in only
    assert solution_text(db, first) == before


def test_remove_and_forbid_never_change_a_runs_proposal_and_approval_skips_them(
        app, db, factory, coordinator, coordinator_client):
    people = make_round(factory, mentors=3, mentees=3)
    (m1, m2, m3), (e1, e2, e3) = people.mentors, people.mentees
    earlier = stored(db, people.round, [(m1, e1), (m2, e2), (m3, e3)])
    later = stored(db, people.round, [(m1, e1), (m2, e3), (m3, e2)])
    texts = {run.id: solution_text(db, run) for run in (earlier, later)}
    rules = f"/rounds/{people.round.id}/pairs"
    for run in (earlier, later):
        coordinator_client.post_form(rules, ids(m1.id, e1.id, run, rule="pin"),
                                     form_page=url(run))
        coordinator_client.post_form(f"{url(run)}/remove", ids(m1.id, e1.id, run),
                                     form_page=url(run))
    coordinator_client.post_form(rules, ids(m3.id, e3.id, earlier, rule="forbid"),
                                 form_page=url(earlier))
    assert {run.id: solution_text(db, run) for run in (earlier, later)} == texts
    page = coordinator_client.get(url(earlier)).get_data(as_text=True)
    rows = rows_of(page)
    assert "Removed from this proposal" in rows[f"pair-{m1.id}-{e1.id}"]
    assert "by coordinator@example.org" in rows[f"pair-{m1.id}-{e1.id}"]
    assert "Put back" in rows[f"pair-{m1.id}-{e1.id}"]
    assert "Forbidden" in rows[f"pair-{m3.id}-{e3.id}"]
    assert "Allow again" in rows[f"pair-{m3.id}-{e3.id}"]
    assert "3 of 3 pairs; 2 taken out of the proposal" in page
    assert "Mentees matched" in page and "1 of 3 (33%)" in page  # as approval would leave it
    # Approval applies only the pair left in.
    assert [(p["mentor"], p["mentee"]) for p in plan_changes(db, earlier).new_pairs] == [
        (str(m2.id), str(e2.id))]
    approve_run(db, earlier, coordinator, utcnow())
    db.commit()
    assert db.exec(select(Match.mentor_id, Match.mentee_id).where(
        Match.status == "offered")).all() == [(m2.id, e2.id)]
    assert solution_text(db, earlier) == texts[earlier.id]


def test_a_removed_pair_can_be_put_back(db, factory, coordinator, coordinator_client):
    people = make_round(factory, mentors=2, mentees=2)
    (m1, m2), (e1, e2) = people.mentors, people.mentees
    run = stored(db, people.round, [(m1, e1), (m2, e2)])
    coordinator_client.post_form(f"{url(run)}/remove", ids(m1.id, e1.id, run),
                                 form_page=url(run))
    assert len(plan_changes(db, run).new_pairs) == 1
    response = coordinator_client.post_form(f"{url(run)}/restore", ids(m1.id, e1.id, run),
                                            form_page=url(run))
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mentee 1 with Mentor 1 is back in this proposal." in page
    assert len(plan_changes(db, run).new_pairs) == 2
    assert [event.action for event in db.exec(select(AuditEvent).where(
        AuditEvent.action.like("match.%"))).all()] == [  # type: ignore[attr-defined]
        "match.removed_from_proposal", "match.restored_to_proposal"]


def test_decisions_come_back_to_the_same_filters_page_and_row(db, factory, coordinator,
                                                             coordinator_client):
    people = make_round(factory, mentors=2, mentees=2)
    (m1, m2), (e1, e2) = people.mentors, people.mentees
    run = stored(db, people.round, [(m1, e1), (m2, e2)])
    view = "sector=acute&changed=1&sort=mentor&page=1&next=https://evil.example/"
    where = f"{url(run)}?sector=acute&changed=1&sort=mentor&page=1#pair-{m2.id}-{e2.id}"
    for action, data in ((f"/rounds/{people.round.id}/pairs", {"rule": "pin"}),
                         (f"/rounds/{people.round.id}/pairs", {"rule": "clear"}),
                         (f"{url(run)}/remove", {}), (f"{url(run)}/restore", {})):
        response = coordinator_client.post_form(
            action, ids(m2.id, e2.id, run, view=view, **data), form_page=url(run))
        assert response.status_code == 302 and response.headers["Location"].endswith(where)
    response = coordinator_client.post_form(
        f"/rounds/{people.round.id}/pairs", ids(m2.id, e2.id, run, rule="pin", view=view),
        form_page=url(run))
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pinned Mentee 2 with Mentor 2: the pair stays in every later run" in page
    # the row is where the address points, and can take the focus
    assert f'id="pair-{m2.id}-{e2.id}" tabindex="-1"' in page


def test_keep_every_pair_shown_pins_exactly_the_filtered_pairs(db, factory, coordinator,
                                                               coordinator_client):
    people = make_round(factory, mentors=3, mentees=3)
    (m1, m2, m3), (e1, e2, e3) = people.mentors, people.mentees
    for mentee in (e1, e2):
        mentee.borough = "bromley"
        db.add(mentee)
    factory.match(people.round, m2, e2, status="offered")  # approved earlier: left as it is
    run = stored(db, people.round, [(m1, e1), (m2, e2), (m3, e3)])
    page = coordinator_client.get(f"{url(run)}?borough=bromley").get_data(as_text=True)
    assert "Keep every pair shown (1 pair)" in page
    everything = coordinator_client.get(url(run)).get_data(as_text=True)
    assert "Keep every pair shown (2 pairs)" in everything
    response = coordinator_client.post_form(f"{url(run)}/keep-shown",
                                            {"view": "borough=bromley&sort=mentee&page=1"},
                                            form_page=url(run))
    assert response.headers["Location"].endswith(
        f"{url(run)}?borough=bromley&sort=mentee&page=1")
    assert db.exec(select(Match.mentor_id, Match.mentee_id).where(Match.pinned)).all() == [
        (m1.id, e1.id)]
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "match.pinned_shown")).all()
    assert len(events) == 1 and events[0].detail["pinned"] == 1
    assert events[0].detail["filters"] == {"borough": "bromley"}
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pinned 1 pair: they stay in every later run" in page
    assert "Keep every pair shown" not in page  # nothing left to pin among those shown


def test_the_run_followed_is_the_latest_to_finish_or_be_approved(db, factory, coordinator):
    people = make_round(factory, mentors=2, mentees=2)
    (m1, m2), (e1, e2) = people.mentors, people.mentees
    older = stored(db, people.round, [(m1, e1), (m2, e2)])
    newer = stored(db, people.round, [(m1, e2), (m2, e1)])
    remove_pair(db, newer, coordinator, m2.id, e1.id)
    run = request_run(db, people.round, coordinator)
    db.flush()
    prepared = prepare(db, run)
    # The newer run as the coordinator left it: the pair removed from it is not kept.
    assert prepared.previous_run_id == newer.id
    assert [(p["mentor"], p["mentee"]) for p in prepared.previous["pairs"]] == [
        (str(m1.id), str(e2.id))]
    assert prepared.previous_removed == [(str(m2.id), str(e1.id))]
    run.status = "cancelled"
    db.add(run)
    db.flush()
    # Approving the older run makes it what is offered: the next run follows it, and its
    # approved pairs stand as they are.
    approve_run(db, older, coordinator, utcnow())
    db.commit()
    again = request_run(db, people.round, coordinator)
    db.flush()
    prepared = prepare(db, again)
    assert prepared.previous_run_id == older.id
    assert sorted((p["mentor"], p["mentee"]) for p in prepared.previous["pairs"]) == sorted(
        [(str(m1.id), str(e1.id)), (str(m2.id), str(e2.id))])
    assert prepared.fixed["pairs"] == [{"mentor": p["mentor"], "mentee": p["mentee"]}
                                       for p in prepared.previous["pairs"]]
    assert json.dumps(older.solution)  # still readable, never rewritten


def test_the_review_marks_moved_dates_new_hosts_and_pairs_proposed_again(
        db, factory, coordinator, coordinator_client):
    people = make_round(factory, mentors=3, mentees=3)
    (m1, m2, m3), (e1, e2, e3) = people.mentors, people.mentees
    earlier = stored(db, people.round, [(m1, e1), (m2, e2), (m3, e3)])
    later = stored(db, people.round, [(m1, e1), (m2, e2), (m3, e3)])
    a, b, c, d = "2030-01-08-am", "2030-01-15-am", "2030-01-22-am", "2030-01-29-am"
    i = lambda leader: str(leader.id)  # noqa: E731
    later.problem = {**later.problem, "mentoring_context": {
        **later.problem["mentoring_context"], "previous_run_id": earlier.id,
        "previous": {"pairs": [[i(m1), i(e1)], [i(m2), i(e2)]],
                     "exchanges": [[i(m1), i(e1), a], [i(e1), i(m1), b], [i(m2), i(e2), c]],
                     "removed": [[i(m3), i(e3)]]}}}
    later.solution = {**later.solution, "exchanges": [
        {"host": i(m1), "visitor": i(e1), "slot": a}, {"host": i(e1), "visitor": i(m1), "slot": d},
        {"host": i(e2), "visitor": i(m2), "slot": c}]}
    db.add(later)
    db.commit()
    rows = rows_of(coordinator_client.get(url(later)).get_data(as_text=True))
    moved, hosted, again = (rows[f"pair-{m.id}-{e.id}"] for m, e in ((m1, e1), (m2, e2), (m3, e3)))
    assert "Dates moved" in moved and moved.count("New date") == 1
    assert "29 January 2030" in moved.split("New date")[0].rsplit("<li>", 1)[1]
    assert "Dates moved" in hosted and "New host" in hosted
    assert "Proposed again" in again
