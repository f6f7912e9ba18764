"""The dashboard, feedback page and report in a real browser: axe (WCAG 2.2 AA) with data in
every chart, charts that switch to system colours in forced-colours (high contrast) mode, and a
report that prints without the service's header and footer."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from mentoring.configuration import vocabularies

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


@pytest.fixture(scope="module")
def every_sector_paired(live_server):
    """A round whose pairs join every sector with every other: the widest tables a report has
    (the sector matrix has a column for each sector)."""
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        coordinator = factory.user(email="wide.coord@example.org", role="coordinator")
        programme_round = factory.programme_round(name="Every sector round")
        sectors = list(vocabularies.current().offered("sector"))
        for mentor_sector in sectors:
            mentor = factory.mentor(sector=mentor_sector, mentor_capacity=5)
            factory.participant(programme_round, mentor)
            for mentee_sector in sectors:  # one mentee a pair: a mentee has one mentor a round
                mentee = factory.leader(sector=mentee_sector)
                factory.participant(programme_round, mentee)
                factory.match(programme_round, mentor, mentee, status="accepted")
        session.commit()
        return coordinator.email, programme_round.id, len(sectors)


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


def squeezed(text: str) -> str:
    """Text without any white space: a cell that wraps onto two lines in the PDF still counts."""
    return "".join(text.split())


@pytest.mark.browser
def test_the_printed_report_has_every_table_cell_on_numbered_a4_pages(
        page, live_server, every_sector_paired, tmp_path):
    """Printed to PDF as a coordinator would ("Save as PDF"), read back by poppler's pdftotext:
    no table column is cut off at the page edge, and every page says which of how many it is."""
    if shutil.which("pdftotext") is None:
        message = "poppler's pdftotext is needed: apt-get install poppler-utils"
        pytest.fail(message) if os.environ.get("REQUIRE_BROWSER") else pytest.skip(message)
    email, round_id, sectors = every_sector_paired
    sign_in(page, live_server, email)
    page.goto(f"{live_server.url}/rounds/{round_id}/report")
    matrix = page.get_by_role("table", name="Pairs by the mentor's sector")
    assert matrix.locator("thead th").count() == sectors + 1
    cells = page.eval_on_selector_all(
        ".app-report table th, .app-report table td",
        "cells => cells.map(cell => cell.textContent)")
    assert len(cells) > 100
    page.emulate_media(media="print")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(page.pdf(prefer_css_page_size=True))
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    assert "(A4)" in info
    pages = int(next(line.split()[-1] for line in info.splitlines()
                     if line.startswith("Pages:")))
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    # A heading over two lines comes out interleaved with its neighbours' words: a cell counts
    # as printed when it is there whole, or each of its words is.
    printed, words = squeezed(text), set(text.split())
    missing = [cell for cell in cells if squeezed(cell) not in printed
               and not set(cell.split()) <= words]
    assert not missing, f"cut off when printed: {missing[:10]}"
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in text

    # And by geometry: at the printed width of A4 (210 mm less 12 mm margins each side, at
    # 96 px an inch) no table reaches past the edge of the paper.
    page.set_viewport_size({"width": round((210 - 24) / 25.4 * 96), "height": 1000})
    too_wide = page.eval_on_selector_all(".app-report table", """tables => tables
        .filter(table => table.getBoundingClientRect().right
                         > document.documentElement.clientWidth + 0.5)
        .map(table => table.caption ? table.caption.textContent.trim() : "?")""")
    assert not too_wide


@pytest.mark.browser
def test_a_leader_reads_you_said_we_did_from_home(page, live_server, seeded):
    _, round_id, leader_email = seeded
    sign_in(page, live_server, leader_email)
    page.get_by_role("link", name="Hand-made round: you said, we did").click()
    page.wait_for_url(f"{live_server.url}/rounds/{round_id}/you-said-we-did/read")
    assert page.get_by_text("We now book four weeks ahead.").count() == 1
    assert_accessible(page)
