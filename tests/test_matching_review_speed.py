"""The review page of a big run reads the run's documents once per process: what it needs of the
problem is kept per finished run, the solution by its content. These tests check that what is
kept is never stale nor another run's, and that the page's quicker paths (a page of pairs at a
time, the documents left unloaded) show exactly what reading everything shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from mentoring.matching import proposal
from mentoring.matching.decisions import approve_run, plan_changes, remove_pair
from mentoring.matching.problem import slot_id
from mentoring.matching.proposal import SORTS, read_proposal, review, run_documents
from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import OptimiserRun, RoundParticipant

from matching_world import MONDAY, make_round, stored_run, worker

NOW = datetime(2029, 12, 1, 12, 0, tzinfo=UTC)  # before the round's window
DAYS = [MONDAY + timedelta(days=offset) for offset in (1, 8, 15, 22)]


def at_nine(day) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)  # London is UTC in January


@pytest.fixture
def world(factory, db):
    """Five mentors and six mentees in several boroughs; one pair approved before the run with
    two exchanges (one the run moves), another with two (one the run cancels); a run that keeps
    those and proposes three more pairs (tied scores, names that sort differently in lower
    case, one pinned), and leaves a mentee unmatched who then leaves the round (shown as an
    account deleted)."""
    people = make_round(factory, mentors=5, mentees=6)
    names = ["anna Mentee", "Bea Mentee", "Cai Mentee", "Ann Mentee", "Dee Mentee", "Eve Mentee"]
    for mentee, name, borough in zip(people.mentees, names,
                                     ["bromley", "lewisham", "bexley", "bromley", "lambeth",
                                      "lewisham"], strict=True):
        mentee.name, mentee.borough = name, borough
        db.add(mentee)
    people.mentors[1].name = "zed Mentor"
    db.add(people.mentors[1])
    mentors, mentees = people.mentors, people.mentees
    for n in (0, 1):
        match = factory.match(people.round, mentors[n], mentees[n], status="offered", score=6.0)
        factory.exchange(match, at_nine(DAYS[0]))
        factory.exchange(match, at_nine(DAYS[1]), host_id=mentees[n].id,
                         visitor_id=mentors[n].id)
    factory.match(people.round, mentors[2], mentees[2], pinned=True)
    run = stored_run(db, people.round, mentors[0], mentees[0])
    ids = lambda leader: str(leader.id)  # noqa: E731

    def pair(mentor, mentee, score):
        return {"mentor": ids(mentor), "mentee": ids(mentee), "score": score,
                "reasons": ["crosses sectors: acute and community_health +2"]}

    def exchange(host, visitor, day):
        return {"host": ids(host), "visitor": ids(visitor), "slot": slot_id(day, "am")}

    run.solution = {
        **run.solution,
        "pairs": [pair(mentors[0], mentees[0], 6.0), pair(mentors[1], mentees[1], 6.0),
                  pair(mentors[2], mentees[2], 7.5), pair(mentors[3], mentees[3], 6.0),
                  pair(mentors[1], mentees[4], None)],
        "exchanges": [
            exchange(mentors[0], mentees[0], DAYS[0]),  # kept
            exchange(mentees[0], mentors[0], DAYS[2]),  # moved
            exchange(mentors[1], mentees[1], DAYS[0]),  # kept; the other one is cancelled
            exchange(mentors[2], mentees[2], DAYS[2]), exchange(mentees[2], mentors[2], DAYS[3]),
            exchange(mentors[3], mentees[3], DAYS[3]),
        ],
        "unmatched": [{"id": ids(mentees[5]), "reason": "no mentor free on the same days"}],
    }
    db.add(run)
    db.flush()
    db.delete(db.exec(select(RoundParticipant).where(
        RoundParticipant.leader_id == mentees[5].id)).one())
    db.flush()
    return people, run


def unloaded(connection, run: OptimiserRun) -> tuple[Session, OptimiserRun]:
    """The run as the review page loads it (its documents left in the database), in a session
    of its own."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    return session, session.get(OptimiserRun, run.id, options=[
        defer(OptimiserRun.problem), defer(OptimiserRun.solution)])


@pytest.mark.parametrize("filters", [{}, {"borough": "bromley"}, {"sector": "acute"},
                                     {"borough": "bromley", "profession": "nurse"},
                                     {"borough": "nowhere"}, {"colour": "red"}])
def test_the_page_of_pairs_is_what_reading_the_whole_proposal_shows(db, connection, world,
                                                                     filters):
    _, run = world
    session, quick = unloaded(connection, run)
    for sort in [*SORTS, "bogus"]:
        whole = read_proposal(db, run, filters, sort)
        page = review(session, quick, filters, sort)
        assert page.pair_count == len(whole.pairs) == 5
        assert page.shown_count == len(whole.shown)
        assert page.page(0, 100) == whole.shown
        assert page.page(1, 2) == whole.shown[1:3]
        assert page.page(99, 100) == []
        assert (page.summary, page.unmatched, page.filters, page.options) == (
            whole.summary, whole.unmatched, whole.filters, whole.options)
    assert [pair.mentee.name for pair in read_proposal(db, run, sort="mentee").shown] == [
        "Ann Mentee", "anna Mentee", "Bea Mentee", "Cai Mentee", "Dee Mentee"]
    shown = read_proposal(db, run).shown
    assert [pair.pinned for pair in shown] == [True, False, False, False, False]
    assert [pair.approved for pair in shown] == [False, False, True, True, False]
    assert read_proposal(db, run).unmatched[0].person.name.endswith("(account deleted)")


def test_the_plan_is_the_same_whether_the_documents_are_loaded_or_not(db, connection, world):
    _, run = world
    session, quick = unloaded(connection, run)
    loaded, unloaded_plan = plan_changes(db, run), plan_changes(session, quick)
    for plan in (loaded, unloaded_plan):
        assert (len(plan.new_pairs), len(plan.new_exchanges), len(plan.moved_exchanges),
                len(plan.cancelled_exchanges), plan.kept_pairs, plan.kept_exchanges) == (
            3, 3, 1, 1, 2, 2)
    assert loaded.new_pairs == unloaded_plan.new_pairs
    assert loaded.new_exchanges == unloaded_plan.new_exchanges
    assert [(m.exchange.id, m.slot) for m in loaded.moved_exchanges] == [
        (m.exchange.id, m.slot) for m in unloaded_plan.moved_exchanges]
    assert [x.id for x in loaded.cancelled_exchanges] == [
        x.id for x in unloaded_plan.cancelled_exchanges]
    assert loaded.conflicts == unloaded_plan.conflicts == []


def url(run: OptimiserRun) -> str:
    return f"/rounds/{run.round_id}/runs/{run.id}"


def test_a_pair_removed_after_the_page_was_seen_shows_as_removed(db, world, coordinator,
                                                                 coordinator_client):
    people, run = world
    assert "5 of 5 pairs" in coordinator_client.get(url(run)).get_data(as_text=True)
    remove_pair(db, run, coordinator, people.mentors[3].id, people.mentees[3].id)
    db.commit()
    page = coordinator_client.get(url(run)).get_data(as_text=True)
    assert "5 of 5 pairs; 1 taken out of the proposal" in page
    assert "Removed from this proposal by coordinator@" in page


def test_a_run_made_again_with_the_same_id_shows_its_own_problem(db, world,
                                                                 coordinator_client):
    people, run = world
    assert "Lambeth" in coordinator_client.get(url(run)).get_data(as_text=True)
    # As when a test database is made again, or a run deleted and its id given out again.
    run_id, solution = run.id, run.solution
    db.delete(run)
    db.flush()
    people.mentees[4].borough = "greenwich"
    db.add(people.mentees[4])
    db.flush()
    again = stored_run(db, people.round, people.mentors[0], people.mentees[0], id=run_id)
    again.solution = solution
    db.add(again)
    db.commit()
    page = coordinator_client.get(url(again)).get_data(as_text=True)
    assert "Greenwich" in page and "Lambeth" not in page


def test_a_run_seen_while_queued_shows_its_proposal_once_finished(app, db, factory, coordinator,
                                                                  coordinator_client):
    people = make_round(factory, mentors=2, mentees=2)
    run = request_run(db, people.round, coordinator, time_limit=30)
    db.commit()
    assert "Waiting for the worker" in coordinator_client.get(url(run)).get_data(as_text=True)
    run_queued_optimisations(worker(app))
    page = coordinator_client.get(url(run)).get_data(as_text=True)
    assert "2 of 2 pairs" in page and "Mentees matched" in page


def statements_of(engine, request) -> list[str]:
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return statements


def test_the_problem_is_read_once_and_an_approved_run_plans_nothing(engine, db, world,
                                                                   coordinator,
                                                                   coordinator_client):
    _, run = world
    reads_problem = lambda statement: "optimiser_run.problem" in statement  # noqa: E731
    first = statements_of(engine, lambda: coordinator_client.get(url(run)))
    assert sum(map(reads_problem, first)) == 1
    # What approval changes: the approved exchanges' ids and sequence numbers.
    plans = lambda statement: "exchange.sequence" in statement  # noqa: E731
    assert any(map(plans, first))
    again = statements_of(engine, lambda: coordinator_client.get(url(run)))
    assert not any(map(reads_problem, again))
    approve_run(db, run, coordinator, NOW)
    db.commit()
    approved = statements_of(engine, lambda: coordinator_client.get(url(run)))
    assert not any(map(plans, approved))  # (the summary still reads the round's hours)
    assert "Approved earlier" in coordinator_client.get(url(run)).get_data(as_text=True)


def test_documents_read_through_the_cache_are_the_stored_ones(db, connection, world):
    _, run = world
    session, quick = unloaded(connection, run)
    documents = run_documents(session, quick)
    assert documents.solution == run.solution
    assert documents.problem == proposal.digest_problem(run.problem)
    assert run_documents(session, quick).problem is documents.problem  # kept


def test_only_a_few_runs_are_kept():
    kept = proposal._Recent(2)
    made = []

    def make(key):
        made.append(key)
        return key

    for key in ("a", "b", "a", "c", "b", "a"):
        assert kept.get(key, lambda key=key: make(key)) == key
    assert made == ["a", "b", "c", "b", "a"]  # "b" then "a" were the least recently used
