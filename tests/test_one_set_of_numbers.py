"""One set of numbers (issue 17 item 4): one round rendered on every page and export that
shows its headline figures (the round's page and the rounds list, the dashboard, the printable
report and its CSV, a run's page and the runs list, the matches and participants CSVs), each
figure compared with the one definition in `mentoring.insights.figures`, and that definition
compared with a hand count.

The round: mentors M1, M2, M3 and mentees E1 to E5, all nurses (a priority group) but E4, a GP.
M1 and E1 are booked (one exchange done, one to come); M2 and E2 are an offer (two exchanges
held); E5 has not finished their profile. A local run around E3 proposes M3 for E3 and has not
been approved. M3 and E4 are a forbidden pair. Two people are invited by email, one more is a
participant still marked invited, and one has withdrawn.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from mentoring.insights import figures
from mentoring.insights.charts import number, percent
from mentoring.matching.decisions import approve_run, set_pair_rule
from mentoring.matching.proposal import read_proposal
from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import Invitation
from mentoring.slots import bounds

from matching_world import MONDAY, make_round, worker

NOW = datetime(2029, 12, 1, 12, 0, tzinfo=UTC)  # before the round's window
HOURS_A_MONTH = 16  # every leader of make_round's, and E4's; E5 set no limit


def solved(app, db, programme_round, user, **kwargs):
    run = request_run(db, programme_round, user, time_limit=30, **kwargs)
    db.commit()
    run_queued_optimisations(worker(app))
    db.refresh(run)
    assert run.status == "succeeded", run.error
    return run


@pytest.fixture
def world(app, db, factory, coordinator):
    people = make_round(factory, mentors=3, mentees=3)
    programme_round = people.round
    m1, m2, m3 = people.mentors
    e1, e2, e3 = people.mentees
    e4 = factory.leader(name="Mentee 4", profession="gp", sector="primary_care",
                        protected_hours_per_month=HOURS_A_MONTH)
    e5 = factory.leader(name="Mentee 5", profession="nurse", consent_at=None)
    for leader in (e4, e5):
        factory.participant(programme_round, leader)
        for offset in (1, 8, 15, 22):
            factory.availability(programme_round, leader, MONDAY + timedelta(days=offset), "am")
    factory.participant(programme_round, factory.leader(profession="nurse"), status="invited")
    factory.participant(programme_round, factory.leader(profession="nurse"), status="withdrawn")
    for email in ("first@example.org", "second@example.org"):
        db.add(Invitation(round_id=programme_round.id, email=email))

    def exchange(match, offset, period, host, visitor, status):
        starts_at, ends_at = bounds(MONDAY + timedelta(days=offset), period)
        factory.exchange(match, starts_at, ends_at=ends_at, host_id=host.id,
                         visitor_id=visitor.id, status=status)

    booked = factory.match(programme_round, m1, e1, status="accepted", score=7.0)
    exchange(booked, 1, "am", m1, e1, "completed")
    exchange(booked, 8, "am", e1, m1, "scheduled")
    offered = factory.match(programme_round, m2, e2, status="offered", score=6.0)
    exchange(offered, 1, "pm", m2, e2, "held")
    exchange(offered, 8, "pm", e2, m2, "held")
    set_pair_rule(db, programme_round, coordinator, m3.id, e4.id, "forbid")
    db.flush()
    run = solved(app, db, programme_round, coordinator, scope=[e3.id])
    assert run.kind == "local"
    return programme_round, run, people, e4, e5


def value_of(html: str, key: str) -> str:
    """The value beside `key` in a summary list, as text."""
    found = re.search(r">\s*" + re.escape(key) + r"\s*</dt>\s*<dd[^>]*>(.*?)</dd>", html, re.S)
    assert found, f"no {key!r} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_every_page_and_export_shows_the_same_figures(app, db, coordinator, coordinator_client,
                                                     world):
    programme_round, run, people, e4, _ = world
    rid = programme_round.id
    e3 = people.mentees[2]
    assert {int(p["mentee"]) for p in run.solution["pairs"]} >= {e3.id}

    # The one definition, and a hand count of it.
    found = figures.dashboard(db, rid, NOW)
    mentees, hours = found.participation.mentees, found.hours.overall
    assert (mentees.mentees, mentees.matched) == (5, 2)  # E1..E5; E1 and E2 have a mentor
    assert (mentees.priority_mentees, mentees.priority_matched) == (4, 2)  # all but E4
    assert found.participation.invited == 3  # two invitations and one still marked invited
    months = figures.window_months(programme_round.starts_on, programme_round.ends_on)
    assert hours.budget == pytest.approx(7 * HOURS_A_MONTH * months)  # E5 set no limit
    # Each exchange is 4 hours of each of its two leaders.
    assert (hours.used, hours.booked, hours.held, hours.committed) == (8, 8, 16, 32)
    summary = read_proposal(db, run).summary
    # The local run's own problem held E1, E2 and E3 only: its summary counts the whole round.
    assert (summary.mentees, summary.matched_mentees, summary.matched_now) == (5, 3, 2)
    assert (summary.priority_mentees, summary.matched_priority_mentees,
            summary.priority_matched_now) == (4, 3, 2)
    assert summary.protected_hours_budget == hours.budget
    assert (summary.protected_hours_now, summary.protected_hours_used) == (32, 48)

    budget = number(hours.budget)
    # The round's page and the list of rounds.
    overview = page(coordinator_client, f"/rounds/{rid}")
    assert value_of(overview, "Invited, not yet joined") == "3"
    rounds = page(coordinator_client, "/rounds")
    row = re.search(rf'href="/rounds/{rid}".*?</tr>', rounds, re.S).group(0)
    cells = [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert "8" in cells and "3" in cells  # joined (M1 to M3, E1 to E5); invited

    # The dashboard and the printable report: the same macros, the same figures.
    for path in (f"/rounds/{rid}/dashboard", f"/rounds/{rid}/report"):
        html = page(coordinator_client, path)
        assert value_of(html, "Mentees matched") == f"2 of 5 ({percent(mentees.share)})"
        assert value_of(html, "Priority-group mentees matched") == (
            f"2 of 4 ({percent(mentees.priority_share)})")
        assert value_of(html, "Taking part").startswith(
            f"{found.participation.joined} joined (3 invited, not yet joined")
        assert value_of(html, "Protected hours").startswith(
            f"32 of {budget} hours budgeted ({percent(hours.committed_share)}): 8 used, "
            "8 booked, 16 held for offers")

    # The figures CSV.
    figures_csv = {(row["section"], row["figure"], row["label"]): row["value"]
                   for row in csv_rows(coordinator_client.get(f"/rounds/{rid}/report.csv"))}
    assert figures_csv["participation", "participants", "invited"] == "3"
    assert figures_csv["participation", "mentees", ""] == "5"
    assert figures_csv["participation", "mentees matched", ""] == "2"
    assert figures_csv["participation", "matched share", ""] == "0.4"
    assert figures_csv["participation", "priority-group mentees", ""] == "4"
    assert figures_csv["participation", "priority-group mentees matched", ""] == "2"
    assert figures_csv["participation", "priority-group matched share", ""] == "0.5"
    assert float(figures_csv["protected hours", "budget", "All sectors"]) == pytest.approx(
        hours.budget, abs=1e-4)
    assert [figures_csv["protected hours", what, "All sectors"]
            for what in ("used", "booked", "held", "committed")] == ["8", "8", "16", "32"]

    # The run's page and the list of runs: the whole round, with the proposal added.
    run_page = page(coordinator_client, f"/rounds/{rid}/runs/{run.id}")
    assert value_of(run_page, "Mentees matched") == (
        "3 of 5 (60%) with this proposal; 2 matched now")
    assert value_of(run_page, "Priority-group mentees matched") == (
        "3 of 4 (75%) with this proposal; 2 matched now")
    assert value_of(run_page, "Protected hours committed") == (
        f"48 of {budget} hours budgeted ({percent(48 / hours.budget)}) with this proposal; "
        "32 committed now")
    assert "3 of 5 (60%)" in page(coordinator_client, f"/rounds/{rid}/runs")

    # The matches CSV: the pending local proposal's pair as proposed, no forbidden pair.
    matches = csv_rows(coordinator_client.get(f"/rounds/{rid}/export/matches.csv"))
    by_mentee = {int(row["mentee_id"]): row for row in matches}
    assert e4.id not in by_mentee  # forbidden with M3: not a match
    assert "forbidden" not in matches[0]
    proposed = by_mentee[e3.id]
    assert (proposed["status"], proposed["match_id"], proposed["run_id"]) == (
        "proposed", "", str(run.id))
    matched_in_csv = {mentee for mentee, row in by_mentee.items()
                      if row["status"] in ("offered", "accepted", "lapsed", "proposed")}
    assert len(matched_in_csv) == summary.matched_mentees
    assert len(matched_in_csv - {e3.id}) == mentees.matched

    # The participants CSV: the mentees and the priority groups the figures count.
    participants = [row for row in csv_rows(
        coordinator_client.get(f"/rounds/{rid}/export/participants.csv"))
        if row["status"] == "joined"]
    assert len(participants) == found.participation.joined
    wanting = [row for row in participants if row["wants_mentor"] == "yes"]
    assert len(wanting) == mentees.mentees
    assert sum(row["priority_group"] == "yes" for row in wanting) == mentees.priority_mentees

    # The waiting list: the mentees the figures count as not matched.
    waiting = csv_rows(coordinator_client.get(f"/rounds/{rid}/export/waiting-list.csv"))
    assert len([row for row in waiting if row["waiting_as"] == "mentee"]) == mentees.unmatched

    # Approved, the proposal is the round: the dashboard now says what the summary said.
    approve_run(db, run, coordinator, NOW)
    db.commit()
    after = figures.dashboard(db, rid, NOW)
    assert (after.participation.mentees.matched,
            after.participation.mentees.priority_matched) == (3, 3)
    assert after.hours.overall.committed == summary.protected_hours_used
    again = read_proposal(db, run).summary
    assert (again.matched_mentees, again.matched_now) == (3, 3)
    assert again.protected_hours_used == again.protected_hours_now == 48
    csv_after = csv_rows(coordinator_client.get(f"/rounds/{rid}/export/matches.csv"))
    assert {row["status"] for row in csv_after if int(row["mentee_id"]) == e3.id} == {"offered"}


def test_a_local_run_of_the_old_kind_would_have_counted_only_its_problem(db, world):
    """Before: the summary counted the run's problem, E1 to E3, and said 3 of 3 (100 %)."""
    _, run, *_ = world
    problem_mentees = [leader for leader in run.problem["leaders"] if leader["wants_mentor"]]
    assert len(problem_mentees) == 3
    assert read_proposal(db, run).summary.mentees == 5

