"""SQL statements per page: the same whether a leader has 2 matches or 20, and whether a run
proposes 2 pairs or 20. A count that grows with the rows is an N+1 query, and it is what makes a
page slow with a real round (benchmarks/web.py measures those pages with 5,000 leaders).

Each page is requested once with a small world and once with a large one, in the same database;
the counts must be equal, and stay within a cap (today's count plus two) that catches new
per-request work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mentoring import audit
from mentoring.matching.problem import slot_id
from mentoring.models import ExchangeBooking, ProgrammeRound

from conftest import SignedIn, csrf_token
from matching_world import MONDAY, make_round, stored_run

SMALL, LARGE = 2, 20
# Savepoints are how the test's transaction wraps the app's commits: not the app's queries.
# Nor is the session's idle clock, moved at most once a minute by whichever request comes then
# (on a busy machine, one of the two being compared).
BOOKKEEPING = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT"
                         r"|UPDATE user_session SET last_seen_at)", re.I)


@contextmanager
def counted(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if not BOOKKEEPING.match(statement):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


def statements_for(engine, request) -> tuple[int, object]:
    with counted(engine) as statements:
        response = request()
    return len(statements), response


def assert_constant(counts: dict[int, int], cap: int, page: str) -> None:
    assert counts[SMALL] == counts[LARGE], (
        f"{page}: {counts[SMALL]} statements with {SMALL} rows but {counts[LARGE]} with "
        f"{LARGE}: a query per row (N+1)")
    assert counts[LARGE] <= cap, f"{page}: {counts[LARGE]} statements, more than {cap}"


# --- a leader's pages ----------------------------------------------------------------------

FUTURE = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday morning, London = UTC in March


def mentor_with(factory, mentees: int, programme_round):
    """A mentor of `mentees` leaders in the round, each pair with an exchange to come (booked)
    and one in the past (with feedback), some matches accepted by one side, one exchange with a
    request to move it; the mentor free on three half-days per mentee."""
    mentor = factory.mentor(mentor_capacity=mentees, name=f"Mentor of {mentees}")
    factory.participant(programme_round, mentor)
    for n in range(mentees):
        mentee = factory.leader(name=f"Mentee {n} of {mentees}")
        factory.participant(programme_round, mentee)
        match = factory.match(programme_round, mentor, mentee,
                              status="accepted" if n % 2 else "offered", score=7.0,
                              reasons=["Crosses sectors"])
        upcoming = factory.exchange(match, FUTURE + timedelta(days=n), location="Ward 3")
        for person in (mentor, mentee):
            factory.session.add(ExchangeBooking(exchange_id=upcoming.id, leader_id=person.id,
                                                starts_at=upcoming.starts_at))
        past = factory.exchange(match, datetime(2024, 3, 4, 13, 0, tzinfo=UTC)
                                + timedelta(days=n), host_id=mentee.id, visitor_id=mentor.id)
        factory.feedback(past, mentor)
        audit.record(factory.session, "match.accepted", actor=mentee.user, obj=match,
                     detail={"leader_id": mentee.id, "side": "mentee"})
        audit.record(factory.session, "exchange.reschedule_requested", actor=mentee.user,
                     obj=upcoming, detail={"leader_id": mentee.id, "sequence": 0})
        for day in range(1, 4):  # Tuesday to Thursday: no bank holiday then in this window
            factory.availability(programme_round, mentor,
                                 programme_round.starts_on + timedelta(days=7 * n + day), "pm")
    factory.session.flush()
    return mentor


@pytest.fixture
def leaders(app, factory):
    """Two mentors in one round, with SMALL and LARGE mentees, each signed in."""
    programme_round = factory.programme_round(starts_on=datetime(2030, 1, 7).date(),
                                              status="published")
    programme_round.ends_on = programme_round.starts_on + timedelta(weeks=24)
    factory.session.add(programme_round)
    mentors = {size: mentor_with(factory, size, programme_round) for size in (SMALL, LARGE)}
    return programme_round, {size: SignedIn(app, mentor.user) for size, mentor in mentors.items()}


# The home page reads the next action and the timeline too: matches, their other leaders,
# booked exchanges, rounds taken part in, free half-days and the programme contact.
@pytest.mark.parametrize(("path", "cap"), [("/home", 11), ("/matches", 7)])
def test_leader_pages_need_the_same_queries_for_2_or_20_matches(engine, leaders, path, cap):
    _, clients = leaders
    counts = {}
    for size, client in clients.items():
        counts[size], response = statements_for(engine, lambda c=client: c.get(path))
        assert response.status_code == 200
    html = clients[LARGE].get(path).get_data(as_text=True)
    assert "Mentee 19 of 20" in html or "10 booked" in html  # the rows are there
    assert_constant(counts, cap, path)


def test_the_availability_page_and_its_save_need_the_same_queries(engine, leaders):
    programme_round, clients = leaders
    path = f"/rounds/{programme_round.id}/availability"
    pages, saves = {}, {}
    for size, client in clients.items():
        pages[size], response = statements_for(engine, lambda c=client: c.get(path))
        assert response.status_code == 200
        token = csrf_token(response.get_data(as_text=True))
        free = re.findall(r'name="free" type="checkbox" value="([^"]+)" checked',
                          response.get_data(as_text=True))
        assert len(free) == 3 * size
        # Keep every half-day but the first, add a new one: a change both ways.
        chosen = [*free[1:], f"{programme_round.starts_on.isoformat()}:am"]
        form = {"csrf_token": token, "action": "dates", "free": chosen}
        saves[size], saved = statements_for(
            engine, lambda c=client, form=form: c.client.post(path, data=form))
        assert saved.status_code == 302 and saved.headers["Location"].endswith(path)
    # The page: one more than before issue 14, the round's blackout dates (closed days).
    assert_constant(pages, 7, "availability page")
    # The save: one more since sessions live on the server (issue 15): its "saved" message is
    # written to the session's row.
    assert_constant(saves, 12, "availability save")


# --- the coordinator's pages ----------------------------------------------------------------


def round_with_run(factory, db, pairs: int):
    """A round of `pairs` mentors and mentees; half the pairs approved already (with their two
    exchanges), and a finished run proposing all of them with two exchanges each."""
    world = make_round(factory, mentors=pairs, mentees=pairs)
    days = [MONDAY + timedelta(days=offset) for offset in (1, 8, 15, 22)]
    for n, (mentor, mentee) in enumerate(zip(world.mentors, world.mentees, strict=True)):
        if n % 2 == 0:
            match = factory.match(world.round, mentor, mentee, status="offered", score=6.0)
            for k, day in enumerate(days[:2]):
                host, visitor = (mentor, mentee) if k == 0 else (mentee, mentor)
                factory.exchange(match, datetime(day.year, day.month, day.day, 9,
                                                 tzinfo=UTC), host_id=host.id,
                                 visitor_id=visitor.id)
    run = stored_run(db, world.round, world.mentors[0], world.mentees[0])
    run.solution = {
        **run.solution,
        "pairs": [{"mentor": str(m.id), "mentee": str(e.id), "score": 6.0,
                   "reasons": ["crosses sectors: acute and community_health +2"]}
                  for m, e in zip(world.mentors, world.mentees, strict=True)],
        "exchanges": [{"host": str(host.id), "visitor": str(visitor.id),
                       "slot": slot_id(day, "am")}
                      for m, e in zip(world.mentors, world.mentees, strict=True)
                      for day, (host, visitor) in zip(days[2:], ((m, e), (e, m)), strict=True)],
    }
    db.add(run)
    db.flush()
    return world.round, run


def test_the_review_page_needs_the_same_queries_for_2_or_20_pairs(engine, db, factory,
                                                                  coordinator_client):
    counts = {}
    for size in (SMALL, LARGE):
        programme_round, run = round_with_run(factory, db, size)
        url = f"/rounds/{programme_round.id}/runs/{run.id}"
        # The summary's sector labels: the process reads the vocabulary terms once, at the
        # first page that needs them; that page is not the one counted.
        coordinator_client.get(url)
        counts[size], response = statements_for(engine, lambda url=url:
                                                coordinator_client.get(url))
        assert response.status_code == 200
        assert f"{size} of {size} pairs" in response.get_data(as_text=True)
    # 18: approval's checks run on the review page too: no proposed exchange on a day closed
    # since the run (the round's blackout dates), and the notice each new host needs; the
    # pairs taken out of the proposal (removed from it, or forbidden since) are read once; and
    # 4 for the summary's whole-round figures (budget, hours, hours by pair, mentees).
    assert_constant(counts, 18, "review page")


def test_the_rounds_list_needs_the_same_queries_for_2_or_20_rounds(engine, factory,
                                                                   coordinator_client):
    counts = {}
    for size in (SMALL, LARGE):
        while len(factory.session.exec(sa.select(ProgrammeRound.id)).all()) < size:
            programme_round = factory.programme_round()
            factory.participant(programme_round, factory.leader())
        counts[size], response = statements_for(engine, lambda: coordinator_client.get("/rounds"))
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("/rounds/") >= size
    assert_constant(counts, 4, "rounds list")


def test_the_changes_page_needs_the_same_queries_for_2_or_20_changed_pairs(
        engine, db, factory, coordinator_client):
    """Issue 17: in a round of 5,000 leaders the page read every leader's free half-day under
    every exchange to come; it must not grow with the round (benchmarks/changes.py)."""
    from mentoring.models import Availability

    counts = {}
    for size in (SMALL, LARGE):
        programme_round, run = round_with_run(factory, db, size)
        run.approved_at = datetime(2029, 12, 1, tzinfo=UTC)
        db.add(run)
        # Every approved pair's mentor gives up the first exchange's morning; one pair also
        # loses the second (its mentee's): an exchange each no longer fits.
        first_day = MONDAY + timedelta(days=1)
        mentors = db.exec(sa.select(Availability).where(
            Availability.round_id == programme_round.id, Availability.day == first_day,
            Availability.period == "am")).scalars().all()
        for free in mentors:
            db.delete(free)
        db.flush()
        url = f"/rounds/{programme_round.id}/changes"
        coordinator_client.get(url)  # once first: the first request reads what it caches
        counts[size], response = statements_for(engine, lambda url=url:
                                                coordinator_client.get(url))
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        # (counted in the Who cells' values: each row's "Move this exchange" link repeats it
        # for screen readers)
        unfit = html.count("no longer fits</div>")
        assert unfit == size // 2, unfit
    assert_constant(counts, 22, "changes page")
