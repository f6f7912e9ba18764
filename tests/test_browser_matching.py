"""A coordinator in a real browser, with axe on every page: run the optimiser for a round (the
worker does the work), review the proposal, pin a pair, run again, compare, approve in one step;
then a leader declines and a local re-optimisation changes nothing else. And a re-run after one
forbidden pair: the review marks what changed, and decisions come back to the pair's row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.matching.runs import run_queued_optimisations
from mentoring.models import LeaderProfile, Match, OptimiserRun, ProgrammeRound, utcnow
from mentoring.offers.services import decline_offer
from mentoring.worker_context import WorkerContext

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory
from matching_world import make_round

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.matching@example.org"


@pytest.fixture(scope="module")
def world(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        people = make_round(factory, mentors=2, mentees=3, name="Browser matching round")
        session.commit()
        return people.round.id, [m.id for m in people.mentors], [m.id for m in people.mentees]


def run_worker(live_server) -> None:
    run_queued_optimisations(WorkerContext(live_server.session, live_server.app.extensions[
        "mentoring.settings"]))


def sign_in(page, base: str) -> None:
    browser_sign_in(page, base, COORDINATOR)


def start_a_run(page, live_server) -> None:
    page.get_by_label("30 seconds").check()
    page.get_by_role("button", name="Run the optimiser").click()
    expect(page.get_by_text("The run is queued")).to_be_visible()
    run_worker(live_server)
    # The page notices the end of the run by itself and shows the proposal.
    expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=15_000)


def test_run_review_pin_rerun_approve_and_handle_a_decline(page, live_server, world):
    round_id, _mentor_ids, _mentee_ids = world
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/rounds/{round_id}")
    page.get_by_role("link", name="Optimisation runs and matches").click()
    expect(page.locator("h1")).to_have_text("Matching")
    assert_accessible(page)

    start_a_run(page, live_server)
    expect(page.get_by_text("2 of 3 (67%)").first).to_be_visible()
    assert_accessible(page)

    # Filter the table, then pin the first proposed pair.
    page.get_by_label("Sort by").select_option("mentee")
    page.get_by_role("button", name="Show pairs").click()
    expect(page.get_by_text("2 of 2 pairs")).to_be_visible()
    page.get_by_role("button", name="Pin").first.click()
    expect(page.get_by_text("the pair stays in every later run")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="All runs").click()
    start_a_run(page, live_server)
    page.get_by_role("link", name="All runs").click()
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("h1")).to_contain_text("Compare")
    assert_accessible(page)
    page.go_back()

    with live_server.session() as session:
        latest = session.exec(select(OptimiserRun).order_by(OptimiserRun.id.desc())).first()
    page.goto(f"{base}/rounds/{round_id}/runs/{latest.id}")
    page.get_by_role("button", name="Review and approve").click()
    expect(page.locator("h1")).to_contain_text("Approve")
    expect(page.get_by_text("2 matches offered")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Reason or comment (optional)").fill("Balanced and pinned as agreed")
    page.get_by_role("button", name="Approve and publish").click()
    expect(page.get_by_text("Approved: 2 matches offered, 4 exchanges held")
           ).to_be_visible()
    assert_accessible(page)

    # A leader declines; the coordinator re-optimises just the two leaders affected.
    with live_server.session() as session:
        match = session.exec(select(Match).where(Match.round_id == round_id)).first()
        kept = session.exec(select(Match).where(Match.round_id == round_id,
                                                Match.id != match.id)).one()
        profile = session.get(LeaderProfile, match.mentee_id)
        decline_offer(session, profile, profile.user, match.id, choice="other",
                      reason="We work together already", wants_different_match=True,
                      now=utcnow() + timedelta(seconds=1))
        session.commit()
    page.goto(f"{base}/rounds/{round_id}/changes")
    expect(page.get_by_role("cell", name="We work together already")).to_be_visible()
    expect(page.get_by_role("heading", name="Asked for a different match")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Re-optimise these leaders").click()
    expect(page.get_by_text("A local re-optimisation is queued")).to_be_visible()
    run_worker(live_server)
    expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=15_000)
    assert_accessible(page)
    with live_server.session() as session:
        assert session.get(Match, kept.id).status == "offered"


def test_a_re_run_after_a_forbid_marks_what_changed(page, live_server, world,
                                                   tmp_path_factory):
    with live_server.session() as session:
        people = make_round(Factory(session, TEST_PASSWORD), mentors=3, mentees=3,
                            name="Browser re-run round")
        session.commit()
        round_id = people.round.id
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/rounds/{round_id}/runs")
    start_a_run(page, live_server)
    # Forbid the second pair shown: back at its row, which has the focus, with the news.
    row = page.locator("tr.app-pair-row").nth(1)
    row_id = row.get_attribute("id")
    row.get_by_role("button", name="Forbid").click()
    expect(page.get_by_text("the pair will not be proposed again")).to_be_visible()
    assert page.url.endswith(f"#{row_id}")
    expect(page.locator(f"#{row_id}")).to_be_focused()
    expect(page.locator(f"#{row_id}")).to_contain_text("Forbidden")
    assert_accessible(page)

    page.get_by_role("link", name="All runs").click()
    start_a_run(page, live_server)
    expect(page.get_by_role("heading", name="Changed since run")).to_be_visible()
    expect(page.get_by_text("2 mentees with a new mentor")).to_be_visible()
    expect(page.locator("tr.app-pair-row", has_text="New mentor")).to_have_count(2)
    assert_accessible(page)
    page.screenshot(path=str(tmp_path_factory.getbasetemp() / "rerun-review-marks.png"),
                    full_page=True)

    page.get_by_role("checkbox", name="Changed since run").check()
    page.get_by_role("button", name="Show pairs").click()
    expect(page.get_by_text("2 of 3 pairs (filtered)")).to_be_visible()
    page.get_by_role("button", name="Keep every pair shown (2 pairs)").click()
    expect(page.get_by_text("Pinned 2 pairs")).to_be_visible()
    expect(page.get_by_text("2 of 3 pairs (filtered)")).to_be_visible()  # the same view
    assert_accessible(page)
    with live_server.session() as session:
        programme_round = session.get(ProgrammeRound, round_id)
        assert len(session.exec(select(Match).where(
            Match.round_id == programme_round.id, Match.pinned)).all()) == 2
