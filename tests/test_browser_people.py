"""A coordinator in a real browser, with axe on every page: a participant's page, correcting
their profile and withdrawing them on their behalf; and the round's figures as the dashboard,
the printable report and a local run's summary show them (one set of numbers). With
PEOPLE_SCREENSHOTS=1, screenshots go to the temporary folder (people-*.png) to look at."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory
from matching_world import stored_run

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.people@example.org"
# Screenshots only when asked (as the other browser tests): PEOPLE_SCREENSHOTS=1 writes them to
# the system's temporary folder, to look at.
SHOTS = Path(tempfile.gettempdir()) if os.environ.get("PEOPLE_SCREENSHOTS") else None


def shot(page, name: str) -> None:
    if SHOTS is not None:
        page.screenshot(path=str(SHOTS / f"people-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def people_round(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        programme_round = factory.programme_round(name="People browser round",
                                                  starts_on=date(2030, 1, 7))
        mentor = factory.mentor(name="Bea Mentor", protected_hours_per_month=8)
        spare = factory.mentor(name="Cal Spare", sector="acute",
                               profession="acute_clinical_director")
        ada = factory.leader(name="Ada Okafor", profession="nurse", protected_hours_per_month=8)
        dev = factory.leader(name="Dev Waiting", profession="social_worker")
        for leader in (mentor, spare, ada, dev):
            factory.participant(programme_round, leader)
            factory.availability(programme_round, leader, date(2030, 1, 14), "am")
        match = factory.match(programme_round, mentor, ada, status="accepted", score=7.0)
        factory.exchange(match, datetime(2030, 1, 8, 9, tzinfo=UTC), status="completed")
        factory.exchange(match, datetime(2030, 1, 15, 9, tzinfo=UTC) + timedelta(hours=0),
                         host_id=ada.id, visitor_id=mentor.id)
        run = stored_run(session, programme_round, spare, dev, kind="local", scope=[dev.id])
        session.commit()
        return programme_round.id, ada.id, run.id


def test_a_coordinator_acts_on_a_participants_behalf(page, live_server, people_round):
    round_id, ada_id, _ = people_round
    base = live_server.url
    browser_sign_in(page, base, COORDINATOR)

    page.goto(f"{base}/rounds/{round_id}/participants/{ada_id}")
    expect(page.locator("h1")).to_have_text("Ada Okafor")
    assert_accessible(page)
    shot(page, "person")

    page.get_by_role("link", name="Change their profile").click()
    expect(page.locator("h1")).to_have_text("Change Ada Okafor's profile")
    assert_accessible(page)
    page.get_by_label("Protected hours a month for exchanges").fill("lots")
    page.get_by_role("button", name="Save their profile").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "Enter why you are changing their profile")
    expect(page.get_by_label("Protected hours a month for exchanges")).to_have_value("lots")
    assert_accessible(page)
    shot(page, "edit-errors")
    page.get_by_label("Protected hours a month for exchanges").fill("12")
    page.get_by_label("Borough they mostly work in").select_option(label="Bromley")
    page.get_by_label("Why are you changing their profile?").fill(
        "Asked by phone to correct her borough and hours")
    page.get_by_role("button", name="Save their profile").click()
    expect(page.get_by_text("Ada Okafor's profile is updated (2 answers changed).")
           ).to_be_visible()
    expect(page.get_by_text("12 hours a month")).to_be_visible()

    page.get_by_role("link", name="Withdraw them from this round").click()
    expect(page.locator("h1")).to_have_text("Withdraw Ada Okafor from this round")
    assert_accessible(page)
    page.get_by_role("button", name="Withdraw Ada Okafor").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter why you are withdrawing")
    assert_accessible(page)
    shot(page, "withdraw")
    page.get_by_label("Why are you withdrawing them?").fill("Moved to a post outside London")
    page.get_by_role("button", name="Withdraw Ada Okafor").click()
    expect(page.get_by_text("Ada Okafor is withdrawn from People browser round")).to_be_visible()
    expect(page.get_by_role("link", name="Withdraw them from this round")).to_have_count(0)
    expect(page.get_by_text("round.withdrawn")).to_be_visible()


def test_the_figures_read_the_same_on_every_page(page, live_server, people_round):
    round_id, _, run_id = people_round
    base = live_server.url
    browser_sign_in(page, base, COORDINATOR)
    for path, name in ((f"/rounds/{round_id}/dashboard", "dashboard"),
                       (f"/rounds/{round_id}/report", "report"),
                       (f"/rounds/{round_id}/runs/{run_id}", "run"),
                       (f"/rounds/{round_id}/runs", "runs"), (f"/rounds/{round_id}", "round")):
        page.goto(base + path)
        assert_accessible(page)
        shot(page, name)
    page.goto(f"{base}/rounds/{round_id}/runs/{run_id}")
    # Whole-round figures: every mentee of the round, not only the local run's.
    summary = page.locator(".nhsuk-summary-list").first
    expect(summary).to_contain_text("with this proposal")
    expect(summary).to_contain_text("matched now")
