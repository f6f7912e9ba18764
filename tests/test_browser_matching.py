"""A coordinator in a real browser, with axe on every page: run the optimiser for a round (the
worker does the work), review the proposal, pin a pair, run again, compare, approve in one step;
then a leader declines and a local re-optimisation changes nothing else. And a re-run after one
forbidden pair: the review marks what changed, and decisions come back to the pair's row."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import (
    LeaderProfile,
    Match,
    OptimiserRun,
    Organisation,
    ProgrammeRound,
    User,
    utcnow,
)
from mentoring.offers.services import decline_offer
from mentoring.releases.services import request_releases
from mentoring.worker_context import WorkerContext

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory
from matching_world import make_round

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.matching@example.org"
# Where the pages are saved to look at (SCREENSHOTS=folder to choose another).
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", tempfile.gettempdir()))
PHONE = {"width": 320, "height": 640}


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
    # The app's script follows the run: the page says so, and needs no refreshing by hand.
    expect(page.get_by_text("This page updates itself")).to_be_visible()
    expect(page.get_by_role("link", name="Refresh this page")).to_be_hidden()
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
    page.set_viewport_size(PHONE)  # the table of changes reflows on a phone
    fits_the_window(page)
    page.screenshot(path=SCREENSHOTS / "changes-decline-320.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})
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


def fits_the_window(page) -> None:
    """Nothing scrolls sideways: at 320 CSS pixels wide (a phone, or 1280 at 400 % zoom) the
    page reflows (WCAG 1.4.10)."""
    scroll_width, width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= width, f"{page.url} is {scroll_width - width} px wider than the window"


def test_an_unfinished_run_without_javascript_says_how_to_refresh(page, browser, live_server,
                                                                   world):
    round_id = world[0]
    with live_server.session() as session:
        user = session.exec(select(User).where(User.email == COORDINATOR)).one()
        run = request_run(session, session.get(ProgrammeRound, round_id), user, time_limit=30)
        session.commit()
        run_id = run.id
    sign_in(page, live_server.url)
    no_script = browser.new_context(java_script_enabled=False,
                                    storage_state=page.context.storage_state())
    try:
        plain = no_script.new_page()
        plain.goto(f"{live_server.url}/rounds/{round_id}/runs/{run_id}")
        expect(plain.get_by_text("Waiting for the worker to start the run")).to_be_visible()
        expect(plain.get_by_text("This page updates itself")).to_be_hidden()
        plain.get_by_role("link", name="Refresh this page").click()
        run_worker(live_server)
        plain.get_by_role("link", name="Refresh this page").click()
        expect(plain.get_by_role("heading", name="Summary")).to_be_visible()
    finally:
        no_script.close()


def test_the_review_and_the_changes_page_fit_a_phone(page, live_server, world):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        people = make_round(factory, mentors=2, mentees=3, name="Phone round")
        # Names and organisations as long as real ones: they wrap, never widen the page.
        for number, leader in enumerate(people.mentors + people.mentees):
            leader.name = f"Oluwaseun Adebayo-Richardson-Featherstonehaugh {number}"
            organisation = session.get(Organisation, leader.organisation_id)
            organisation.name = ("Guy's and St Thomas' NHS Foundation Trust Community "
                                 f"Pharmacy and Medicines Optimisation Directorate {number}")
            session.add_all([leader, organisation])
        # A booked pair in a round that asks line managers, with long email addresses.
        booked = factory.matched(
            factory.leader(name="Ravi Sivakumar-Venkataraman",
                           line_manager_name="Dr Kwame Asante-Boateng",
                           line_manager_email="kwame.asante-boateng.deputy-director@"
                                              "southlondonandmaudsley.nhs.uk"),
            factory.mentor(name="Grace Mensah", line_manager_name="Helen Okafor",
                           line_manager_email="helen.okafor@example.nhs.uk"),
            upcoming_at=utcnow() + timedelta(days=30))
        booked.round.ask_line_manager_release = True
        session.add(booked.round)
        session.flush()
        assert request_releases(session, booked.match, utcnow()) == 2
        user = session.exec(select(User).where(User.email == COORDINATOR)).one()
        run = request_run(session, people.round, user, time_limit=30)
        session.commit()
        round_id, run_id, booked_round_id = people.round.id, run.id, booked.round.id
    run_worker(live_server)
    base = live_server.url
    sign_in(page, base)
    review = f"{base}/rounds/{round_id}/runs/{run_id}"
    page.goto(review)
    page.get_by_role("button", name="Pin").first.click()  # a row with a tag and two buttons
    expect(page.get_by_text("the pair stays in every later run")).to_be_visible()

    page.set_viewport_size(PHONE)
    page.goto(review)
    fits_the_window(page)
    # Each cell says which column it is, now that the table's own headings are out of sight.
    first_row = page.locator("tr.app-pair-row").first
    for heading in ("Mentee", "Mentor", "Score and reasons", "Exchanges", "Decisions"):
        expect(first_row.locator(".nhsuk-table__heading", has_text=heading)).to_be_visible()
    expect(first_row.get_by_role("button", name="Unpin")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "run-review-320.png", full_page=True)

    page.goto(f"{base}/rounds/{round_id}/runs")
    fits_the_window(page)
    page.goto(f"{base}/rounds/{booked_round_id}/changes")
    fits_the_window(page)
    expect(page.get_by_role("link", name="kwame.asante-boateng.deputy-director@"
                            "southlondonandmaudsley.nhs.uk")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "changes-line-managers-320.png", full_page=True)
