"""The dashboard, feedback page and report in a real browser: axe (WCAG 2.2 AA) with data in
every chart, charts that switch to system colours in forced-colours (high contrast) mode, and a
report that prints without the service's header and footer."""

from __future__ import annotations

import os

import pytest

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory
from insights_world import build_hand_made

SCREENSHOTS = os.environ.get("INSIGHTS_SCREENSHOTS")  # a folder, to look at the pages by eye


@pytest.fixture(scope="module")
def seeded(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        coordinator = factory.user(email="insights.coord@example.org", role="coordinator")
        made = build_hand_made(factory)
        made.round.you_said_we_did = "You asked for more notice. We now book four weeks ahead."
        made.round.you_said_we_did_published_at = made.round.created_at
        session.add(made.round)
        session.commit()
        return coordinator.email, made.round.id, made.e1.user.email


def sign_in(page, live_server, email: str) -> None:
    browser_sign_in(page, live_server.url, email)


def snap(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_coordinator_pages_are_accessible_with_data(page, live_server, seeded):
    email, round_id, _ = seeded
    sign_in(page, live_server, email)
    for path, charts in (("dashboard", 9), ("feedback", 1), ("report", 9),
                         ("you-said-we-did", 0)):
        response = page.goto(f"{live_server.url}/rounds/{round_id}/{path}")
        assert response.status == 200, path
        assert page.locator("h1").count() == 1, path
        assert page.locator("svg.app-chart[role=img]").count() == charts, path
        assert_accessible(page)
        snap(page, path)
    # Each chart has its accessible name from its title (what a screen reader announces).
    page.goto(f"{live_server.url}/rounds/{round_id}/dashboard")
    assert page.get_by_role("img", name="Participants by profession").count() == 1
    assert page.get_by_role("img", name="Exchanges each week of the window").count() == 1


@pytest.mark.browser
def test_charts_use_system_colours_in_forced_colours_mode(page, live_server, seeded):
    email, round_id, _ = seeded
    sign_in(page, live_server, email)
    page.goto(f"{live_server.url}/rounds/{round_id}/dashboard")

    def colours() -> dict[str, str]:
        return page.evaluate("""() => {
            const probe = document.createElement("div");
            document.body.append(probe);
            const system = name => { probe.style.color = name;
                                     return getComputedStyle(probe).color; };
            const fill = selector => getComputedStyle(document.querySelector(selector)).fill;
            const result = {
                ink: fill("#chart-profession .app-chart__ink"),
                text: fill("#chart-profession text"),
                paper: fill("#chart-timeline pattern .app-chart__paper"),
                canvasText: system("CanvasText"), canvas: system("Canvas"),
            };
            probe.remove();
            return result;
        }""")

    normal = colours()
    assert normal["ink"] == "rgb(0, 94, 184)"  # NHS blue
    page.emulate_media(forced_colors="active")
    forced = colours()
    assert forced["ink"] == forced["text"] == forced["canvasText"]
    assert forced["paper"] == forced["canvas"]
    assert_accessible(page)
    snap(page, "dashboard-forced-colours")


@pytest.mark.browser
def test_the_report_prints_as_a_document(page, live_server, seeded):
    email, round_id, _ = seeded
    sign_in(page, live_server, email)
    page.goto(f"{live_server.url}/rounds/{round_id}/report")
    assert page.locator("header.nhsuk-header").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("header.nhsuk-header").is_visible()
    assert not page.locator("footer").is_visible()
    assert not page.get_by_text("use your browser's Print command").is_visible()
    assert page.locator("svg.app-chart").first.is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


@pytest.mark.browser
def test_a_leader_reads_you_said_we_did_from_home(page, live_server, seeded):
    _, round_id, leader_email = seeded
    sign_in(page, live_server, leader_email)
    page.get_by_role("link", name="Hand-made round: you said, we did").click()
    page.wait_for_url(f"{live_server.url}/rounds/{round_id}/you-said-we-did/read")
    assert page.get_by_text("We now book four weeks ahead.").count() == 1
    assert_accessible(page)
