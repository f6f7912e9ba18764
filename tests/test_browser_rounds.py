"""A coordinator in a real browser, with axe on every page: create a round (previewing the
weights), open it, invite leaders from a CSV with one bad line, import the good lines, and see
the participants and who is not ready."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from mentoring.models import Invitation, ProgrammeRound

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory

pytestmark = pytest.mark.browser
COORDINATOR = "coordinator.browser@example.org"
CSV = (
    "email,name,profession,organisation,borough\r\n"
    "amara.okafor@nhs.net,Amara Okafor,Community pharmacist,Peckham Pharmacy,Southwark\r\n"
    "not-an-email,Broken Line,,,\r\n"
    "kim.known@nhs.net,,,,\r\n"
)


@pytest.fixture(scope="module")
def accounts(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email=COORDINATOR, role="coordinator")
        factory.leader(email="kim.known@nhs.net", name="Kim Known")
        session.commit()


def sign_in(page, base: str, email: str) -> None:
    browser_sign_in(page, base, email)


def test_a_coordinator_sets_up_a_round_and_invites_leaders_from_a_csv(page, live_server,
                                                                     accounts):
    base = live_server.url
    sign_in(page, base, COORDINATOR)
    page.get_by_role("link", name="Rounds", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Programme rounds")
    assert_accessible(page)

    page.get_by_role("button", name="Create a round").click()
    expect(page.locator("h1")).to_have_text("Create a round")
    assert_accessible(page)
    page.get_by_label("Name of the round").fill("Browser spring exchange")
    starts = page.get_by_role("group", name="First day of the window")
    starts.get_by_label("Day").fill("4")
    starts.get_by_label("Month").fill("1")
    starts.get_by_label("Year").fill("2027")
    ends = page.get_by_role("group", name="Last day of the window")
    ends.get_by_label("Day").fill("26")
    ends.get_by_label("Month").fill("3")
    ends.get_by_label("Year").fill("2027")
    page.get_by_label("Different sectors").fill("9")
    page.get_by_role("button", name="Preview the effect").click()
    expect(page.locator("#weights-preview")).to_contain_text(
        "Crossing sectors outweighs all the other factors together")
    expect(page.get_by_label("Name of the round")).to_have_value("Browser spring exchange")
    assert_accessible(page)
    page.get_by_role("button", name="Create round").click()
    expect(page.locator("h1")).to_have_text("Browser spring exchange")
    expect(page.get_by_text("is created as a draft")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Open the round").click()
    expect(page.get_by_text("The round is now open.")).to_be_visible()
    page.get_by_role("link", name="Participants and invitations").click()
    assert_accessible(page)
    page.get_by_role("button", name="Invite leaders from a CSV file").click()
    expect(page.locator("h1")).to_have_text("Invite leaders from a CSV file")
    assert_accessible(page)

    with page.expect_file_chooser() as chooser:  # the NHS.UK file upload's own button
        page.get_by_role("button", name="CSV file").click()
    chooser.value.set_files(
        files=[{"name": "leaders.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "1 line of leaders.csv cannot be used. Nothing has been imported yet.")
    problem = page.locator("#problems tbody tr")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("3")
    expect(problem).to_contain_text("'not-an-email' is not a valid email address")
    expect(page.locator("#people tbody tr")).to_have_count(2)  # who would be invited
    assert_accessible(page)
    with live_server.session() as session:
        assert not session.exec(select(Invitation)).all()

    page.get_by_role("button", name="Import the 2 good lines and skip the 1 bad one").click()
    expect(page.locator("h1")).to_have_text("Leaders imported")
    assert_accessible(page)
    page.get_by_role("button", name="See the participants").click()
    taking_part = page.get_by_role("table", name="Taking part (1)", exact=True)
    expect(taking_part).to_contain_text("Kim Known")
    invited = page.get_by_role("table", name="Invited, not yet taking part (1)")
    expect(invited).to_contain_text("amara.okafor@nhs.net")
    expect(invited).to_contain_text("Amara Okafor")
    assert_accessible(page)

    page.get_by_role("link", name="See who is not ready for matching").click()
    expect(page.get_by_role("button", name="Send a reminder to all 2")).to_be_visible()
    assert_accessible(page)
    with live_server.session() as session:
        programme_round = session.exec(select(ProgrammeRound).where(
            ProgrammeRound.name == "Browser spring exchange")).one()
        assert programme_round.status == "open"
        assert programme_round.weights["cross_sector"] == 9
