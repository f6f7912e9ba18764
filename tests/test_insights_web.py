"""The coordinator's dashboard, feedback page, report and CSV through the web, who may see them,
and leaders' anonymity in each."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from insights_world import build_hand_made

NAMED = "Mina One"  # agreed to be named
UNNAMED = ("Eve Named-Not", "Ezra Quiet")  # gave feedback without agreeing to be named


@pytest.fixture
def hand_made(factory):
    return build_hand_made(factory)


def coordinator_urls(round_id: int) -> list[str]:
    return [f"/rounds/{round_id}/{page}" for page in (
        "dashboard", "feedback", "report", "report.csv", "you-said-we-did")]


def test_leaders_cannot_see_coordinator_pages(leader_client, client, hand_made):
    for url in coordinator_urls(hand_made.round.id):
        assert leader_client.get(url).status_code == 403, url
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], url
    for url in (f"/rounds/{hand_made.round.id}/you-said-we-did",
                f"/rounds/{hand_made.round.id}/you-said-we-did/unpublish"):
        assert leader_client.post_form(url, {"text": "x", "action": "publish"},
                                       form_page="/matches").status_code == 403


def test_an_unknown_round_is_not_found(coordinator_client, hand_made):
    for url in coordinator_urls(hand_made.round.id + 1000):
        assert coordinator_client.get(url).status_code == 404, url


def test_the_dashboard_shows_each_chart_with_a_table_of_the_same_numbers(
        admin_client, hand_made):
    response = admin_client.get(f"/rounds/{hand_made.round.id}/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1
    svgs = re.findall(r"<svg[^>]*app-chart.*?</svg>", html, re.DOTALL)
    assert len(svgs) == 9
    for svg in svgs:
        root = ElementTree.fromstring(svg)  # noqa: S314 (our own markup)
        assert root.get("role") == "img"
    captions = re.findall(r'<caption class="nhsuk-table__caption[^"]*"[^>]*>([^<]+)</caption>',
                          html)
    assert len(captions) == 10  # one table a chart, and the matches by status
    # The hand-computed headline figures.
    assert "4 of 5 participants (80%), mentors and mentees, in 2 pairs" in html
    # The matched share counts mentees: E1 and E2 of E1, E2, E3, all in priority groups.
    assert html.count("2 of 3 (67%)") == 2
    assert "2 of 2 pairs (100%)" in html  # across sectors
    assert "4 of 6 (67%)" in html  # match offers answered
    assert "3 ratings" in html and "3.7 out of 5" in html
    assert "No participants from Bexley, Bromley." in html
    # A profession row: a row header, then joined, matched and the share, as numbers.
    assert re.search(r"Social worker <strong[^>]*>Priority</strong></th>\s*"
                     r"<td[^>]*>1</td><td[^>]*>0</td><td[^>]*>0%</td>", html)
    for name in (NAMED, *UNNAMED):
        assert name not in html  # the dashboard quotes no one


def test_the_feedback_page_names_only_those_who_agreed(coordinator_client, hand_made):
    html = coordinator_client.get(f"/rounds/{hand_made.round.id}/feedback").get_data(as_text=True)
    assert f"{NAMED} (Acute-trust clinical director, Acute)" in html
    assert "Nurse, Mental health. What did you learn?" in html
    for name in UNNAMED:
        assert name not in html
    # Grouped by topic (equal groups in vocabulary order): prescribing is medicines, discharge
    # pathways are integrated care.
    medicines = html.index("<h3>Medicines optimisation (1)</h3>")
    integrated = html.index("<h3>Integrated care and pathways (1)</h3>")
    assert medicines < html.index("Prescribing decisions in acute care") < integrated
    assert integrated < html.index("How the discharge pathway works")
    assert "Travel took too long" in html  # said to the coordinators


def test_the_report_is_printable_and_keeps_anonymity(coordinator_client, hand_made):
    html = coordinator_client.get(f"/rounds/{hand_made.round.id}/report").get_data(as_text=True)
    assert '<div class="app-report">' in html  # the print stylesheet's hook
    assert html.count("<h1") == 1 and html.count('role="img" viewBox') == 9
    assert "How the discharge pathway works" in html and NAMED in html
    assert "Travel took too long" not in html  # for the coordinators only
    for name in UNNAMED:
        assert name not in html


def test_the_csv_has_every_figure_and_no_names(coordinator_client, db, hand_made):
    hand_made.round.name = "=HYPERLINK(evil)"
    db.add(hand_made.round)
    db.flush()
    response = coordinator_client.get(f"/rounds/{hand_made.round.id}/report.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    text = body.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "figure", "label", "value"]
    assert all(len(row) == 4 for row in rows)
    found = {tuple(row[:3]): row[3] for row in rows[1:]}
    assert found["round", "name", ""] == "'=HYPERLINK(evil)"  # never run as a formula
    assert found["participation", "participants", "joined"] == "5"
    assert found["participation", "matched share", ""] == "0.6667"  # E1, E2 of 3 mentees
    assert found["participation", "priority-group matched share", ""] == "0.6667"
    assert found["participation", "participants in a match", ""] == "4"
    assert found["participation", "participants by profession", "Social worker"] == "1"
    assert found["participation", "priority group", "Social worker"] == "yes"
    assert found["pairs", "pairs by sector (mentor to mentee)", "Acute to Mental health"] == "1"
    assert found["exchanges", "completed in week beginning", "2027-01-11"] == "1"
    assert found["protected hours", "used", "All sectors"] == "15"
    assert found["protected hours", "booked", "All sectors"] == "16"
    assert found["balance", "exchanges hosted by", "Small units"] == "2"
    assert found["responses", "answer rate", ""] == "0.6667"
    assert found["ratings", "ratings of", "5"] == "1"
    for name in (NAMED, *UNNAMED):
        assert name not in text


@pytest.mark.parametrize("page", ["feedback", "report"])
def test_comments_are_escaped(coordinator_client, factory, hand_made, page):
    mentee = factory.leader()
    match = factory.match(hand_made.round, factory.mentor(), mentee, status="accepted")
    exchange = factory.exchange(match, datetime(2027, 1, 6, 9, 0, tzinfo=UTC))
    factory.feedback(exchange, mentee, learned="<script>alert('team')</script>")
    html = coordinator_client.get(f"/rounds/{hand_made.round.id}/{page}").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;team&#39;)&lt;/script&gt;" in html
