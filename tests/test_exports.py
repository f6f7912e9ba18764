"""CSV exports of a round: Excel-friendly encoding, a fixed column order, formula injection
neutralised, only the round's own rows, and an audit event for each download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from mentoring.models import AuditEvent
from mentoring.rounds import exports


def rows_of(response) -> list[dict[str, str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


@pytest.fixture
def two_rounds(factory):
    """A matched pair in one round (one past exchange, one to come), and a second round with
    its own participant, match and exchange that must never leak into the first's files."""
    organisation = factory.organisation(name="=HYPERLINK(\"http://evil\")", sector="acute",
                                        borough="southwark", size="large")
    mentee = factory.leader(email="mentee@nhs.net", name="+Mentee Minus", profession="nurse",
                            organisation_id=organisation.id)
    mentor = factory.mentor(email="mentor@nhs.net", name="Mo Mentor", sector="community_pharmacy",
                            profession="community_pharmacist", borough="lewisham")
    matched = factory.matched(mentee, mentor, decline_reason="=1+1")
    matched.match.reasons = ["-crosses professions", "@cmd"]
    matched.round.name = "Export round"
    factory.availability(matched.round, mentee, date(2027, 1, 5))
    proposed = factory.match(matched.round, mentor, factory.leader(name="Pinned Mentee"),
                             status="proposed", pinned=True, score=6.25)
    forbidden = factory.match(matched.round, mentor, factory.leader(name="Forbidden Mentee"),
                              status="proposed", forbidden=True)
    other = factory.matched(factory.leader(email="elsewhere@nhs.net"))
    return matched, other, proposed, forbidden


def export(client, programme_round, what):
    response = client.get(f"/rounds/{programme_round.id}/export/{what}.csv")
    assert response.status_code == 200
    return response


def test_files_are_utf8_with_a_bom_crlf_and_downloaded_as_attachments(coordinator_client,
                                                                     two_rounds):
    matched = two_rounds[0]
    for what in ("participants", "matches", "exchanges"):
        response = export(coordinator_client, matched.round, what)
        body = response.get_data()
        assert body.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="round-{matched.round.id}-{what}.csv"')


def test_columns_come_in_the_documented_order(coordinator_client, two_rounds):
    matched = two_rounds[0]
    expected = {"participants": exports.PARTICIPANT_COLUMNS, "matches": exports.MATCH_COLUMNS,
                "exchanges": exports.EXCHANGE_COLUMNS}
    for what, columns in expected.items():
        text = export(coordinator_client, matched.round, what).get_data().decode("utf-8")
        assert text[1:].split("\r\n", 1)[0] == ",".join(columns)
    assert exports.PARTICIPANT_COLUMNS[:3] == ("leader_id", "name", "email")
    assert exports.MATCH_COLUMNS[:3] == ("match_id", "status", "pinned")


def test_the_readme_documents_every_column_in_order():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## CSV exports", 1)[1].split("\n## ", 1)[0]
    for name, columns in (("participants", exports.PARTICIPANT_COLUMNS),
                          ("matches", exports.MATCH_COLUMNS),
                          ("exchanges", exports.EXCHANGE_COLUMNS)):
        table = section.split(f"**`{name}.csv`**", 1)[1].split("\n\n**", 1)[0]
        documented = [line.split("`")[1] for line in table.splitlines()
                      if line.startswith("| `")]
        assert documented == list(columns), name


def test_participants_have_labels_local_times_and_only_this_round(coordinator_client,
                                                                 two_rounds):
    matched = two_rounds[0]
    rows = {row["email"]: row for row in rows_of(export(coordinator_client, matched.round,
                                                        "participants"))}
    assert set(rows) == {"mentee@nhs.net", "mentor@nhs.net"}
    mentee = rows["mentee@nhs.net"]
    assert mentee["name"] == "'+Mentee Minus"
    assert mentee["organisation"] == "'=HYPERLINK(\"http://evil\")"
    assert mentee["profession"] == "Nurse" and mentee["sector"] == "Primary care"
    assert mentee["borough"] == "Lewisham" and mentee["organisation_size"] == "large"
    assert mentee["priority_group"] == "yes" and mentee["status"] == "joined"
    assert mentee["email_confirmed"] == "yes" and mentee["profile_complete"] == "yes"
    assert mentee["free_half_days"] == "1"
    assert rows["mentor@nhs.net"]["profession"] == "Community pharmacist"
    assert rows["mentor@nhs.net"]["priority_group"] == "yes"


def test_matches_include_pinned_proposals_and_no_forbidden_pairs(coordinator_client,
                                                                 two_rounds):
    """A forbidden pair is a rule for the optimiser, not a match (issue 17 item 4)."""
    matched, other, proposed, forbidden = two_rounds
    rows = {int(row["match_id"]): row for row in rows_of(export(coordinator_client,
                                                                matched.round, "matches"))}
    assert set(rows) == {matched.match.id, proposed.id}
    assert other.match.id not in rows and forbidden.id not in rows
    approved = rows[matched.match.id]
    assert (approved["status"], approved["pinned"]) == ("accepted", "no")
    assert approved["mentor_name"] == "Mo Mentor" and approved["mentee_email"] == "mentee@nhs.net"
    assert approved["mentor_sector"] == "Community pharmacy"
    assert approved["mentee_priority_group"] == "yes"
    assert approved["score"] == "7.5"
    assert approved["reasons"] == "'-crosses professions; @cmd"
    assert approved["decline_reason"] == "'=1+1"
    assert (rows[proposed.id]["status"], rows[proposed.id]["pinned"]) == ("proposed", "yes")
    assert rows[proposed.id]["score"] == "6.25"


def test_exchanges_are_in_time_order_in_london_time(coordinator_client, factory, two_rounds):
    matched = two_rounds[0]
    summer = factory.exchange(matched.match, datetime(2030, 7, 2, 8, 0, tzinfo=UTC),
                              location="@Lewisham")
    rows = rows_of(export(coordinator_client, matched.round, "exchanges"))
    assert [int(row["exchange_id"]) for row in rows] == [matched.past.id, matched.upcoming.id,
                                                         summer.id]
    upcoming = rows[1]
    assert upcoming["starts_at"] == "2030-03-05 09:00"  # GMT: as stored
    assert rows[2]["starts_at"] == "2030-07-02 09:00"  # BST: an hour ahead of UTC
    assert rows[2]["ends_at"] == "2030-07-02 13:00"
    assert rows[2]["location"] == "'@Lewisham"
    assert upcoming["host_name"] == "Mo Mentor" and upcoming["visitor_email"] == "mentee@nhs.net"
    assert upcoming["visitor_organisation"] == "'=HYPERLINK(\"http://evil\")"
    assert upcoming["match_status"] == "accepted" and upcoming["status"] == "scheduled"


@pytest.mark.parametrize(("value", "cell"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+44 20", "'+44 20"), ("-2", "'-2"), ("@here", "'@here"),
    ("\tindent", "'\tindent"), ("\rreturn", "'\rreturn"), ("plain", "plain"), ("a=b", "a=b"),
    (None, ""), (True, "yes"), (False, "no"), (2.50, "2.5"), (3, "3"),
    (date(2027, 1, 4), "2027-01-04"),
])
def test_cells_that_spreadsheets_would_run_are_neutralised(value, cell):
    assert exports.neutralise(value) == cell


def test_each_export_is_audited(coordinator_client, two_rounds, db):
    matched = two_rounds[0]
    for what in ("participants", "matches", "exchanges"):
        export(coordinator_client, matched.round, what)
    events = db.exec(select(AuditEvent).where(AuditEvent.action.startswith("export."))
                     .order_by(AuditEvent.id)).all()
    assert [(e.action, e.object_id, e.detail) for e in events] == [
        ("export.participants", str(matched.round.id), {"rows": 2}),
        ("export.matches", str(matched.round.id), {"rows": 2}),
        ("export.exchanges", str(matched.round.id), {"rows": 2}),
    ]


def test_an_empty_round_exports_just_the_header(coordinator_client, factory):
    programme_round = factory.programme_round()
    for what in ("participants", "matches", "exchanges"):
        assert rows_of(export(coordinator_client, programme_round, what)) == []


def test_leaders_cannot_export(leader_client, two_rounds, db):
    matched = two_rounds[0]
    for what in ("participants", "matches", "exchanges"):
        assert leader_client.get(
            f"/rounds/{matched.round.id}/export/{what}.csv").status_code == 403
    assert not db.exec(select(AuditEvent).where(AuditEvent.action.startswith("export."))).all()
