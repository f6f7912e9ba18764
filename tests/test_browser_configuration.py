"""The configuration pages in a real browser, with axe on every page: an admin adds a borough,
relabels a profession and retires a topic, changes the programme text, checks and imports a
file; a leader then sees the new choices without a deploy; the privacy notice has every
heading."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_browser_host_checks import check
from test_crawl import browser_sign_in

from conftest import TEST_PASSWORD
from factories import Factory

pytestmark = pytest.mark.browser
NORTH_EAST = Path(__file__).parent / "configs" / "north-east-london.json"


@pytest.fixture(scope="module")
def people(live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        factory.user(email="admin@example.org", role="admin")
        factory.leader(email="leader@example.org", name="Ada Leader")
        session.commit()


def test_an_admin_changes_the_vocabularies_and_a_leader_sees_it(page, live_server, people):
    base = live_server.url
    browser_sign_in(page, base, "admin@example.org")
    page.get_by_role("link", name="Configuration").first.click()
    check(page, "configuration-index")

    page.get_by_role("link", name="Places").click()
    check(page, "configuration-places")
    page.get_by_role("button", name="Add a borough").click()
    page.get_by_role("button", name="Add borough").click()  # nothing typed: an error
    assert page.locator("#label-error").inner_text().endswith("Enter a label")
    check(page, "configuration-add-error")
    page.get_by_label("Label").fill("Tower Hamlets")
    page.get_by_role("button", name="Add borough").click()
    assert "Added Tower Hamlets" in page.inner_text("main")

    page.goto(f"{base}/admin/configuration/profession")
    page.get_by_role("link", name="Nurse", exact=True).click()
    page.get_by_label("Label").fill("Registered nurse")
    check(page, "configuration-term")
    page.get_by_role("button", name="Save").click()
    assert "Registered nurse" in page.inner_text("main")

    page.goto(f"{base}/admin/configuration/topic")
    page.get_by_role("link", name="Coaching and developing others").click()
    page.get_by_role("button", name="Retire Coaching and developing others").click()
    assert "Retired Coaching and developing others" in page.inner_text("main")
    check(page, "configuration-topics-after-retiring")

    page.goto(f"{base}/admin/configuration/programme")
    check(page, "configuration-programme")
    page.goto(f"{base}/admin/configuration/import")
    check(page, "configuration-import")
    page.locator("input[type=file][name=file]").set_input_files(str(NORTH_EAST))
    page.get_by_role("button", name="Check the file").click()
    assert "Nothing has changed yet" in page.inner_text("main")
    check(page, "configuration-import-preview")

    page.context.clear_cookies()
    browser_sign_in(page, base, "leader@example.org")
    page.goto(f"{base}/profile/organisation")
    assert page.get_by_label("Tower Hamlets").count() == 1
    check(page, "leader-sees-new-borough")
    page.goto(f"{base}/profile/profession")
    assert page.get_by_label("Registered nurse").count() == 1
    page.goto(f"{base}/profile/strengths")
    assert page.get_by_label("Coaching and developing others").count() == 0


def test_the_privacy_notice_has_every_heading(page, live_server):
    from mentoring.configuration.programme import PRIVACY_SECTIONS

    page.goto(f"{live_server.url}/privacy")
    headings = page.locator("h2").all_inner_texts()
    assert [section.label for section in PRIVACY_SECTIONS] == headings[:len(PRIVACY_SECTIONS)]
    check(page, "privacy-notice")
