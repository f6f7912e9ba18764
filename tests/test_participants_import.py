"""Importing leaders from a CSV: every kind of bad line and bad file, good-rows-only imports,
re-imports without duplicates, and the upload pages."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlmodel import select

from mentoring.auth.joining import Links
from mentoring.models import AuditEvent, Invitation, Notification, RoundParticipant
from mentoring.rounds import imports, participants
from mentoring.rounds.imports import parse_participants_csv

HEADER = "email,name,profession,organisation,borough\r\n"
LINKS = Links(secret="s" * 40, base_url="http://localhost")


def parse(text: str, **kwargs) -> imports.ParsedFile:
    return parse_participants_csv(text.encode("utf-8"), "leaders.csv", **kwargs)


def problems(parsed) -> list[tuple[int, str]]:
    return [(problem.line, problem.reason) for problem in parsed.problems]


# --- parsing -------------------------------------------------------------------------------


def test_a_good_file_gives_people_with_vocabulary_keys():
    parsed = parse(HEADER
                   + "Amara.Okafor@NHS.net,Amara Okafor,Community pharmacist,Peckham Pharmacy,"
                     "Southwark\r\n"
                   + "j.smith@nhs.net,,mental_health_nurse,,LAMBETH\r\n"
                   + "k.jones@nhs.net,Kay Jones,mental-health NURSE,,\r\n")
    assert parsed.ok and parsed.usable
    assert [(p.line, p.email, p.profession, p.borough) for p in parsed.people] == [
        (2, "amara.okafor@nhs.net", "community_pharmacist", "southwark"),
        (3, "j.smith@nhs.net", "mental_health_nurse", "lambeth"),
        (4, "k.jones@nhs.net", "mental_health_nurse", ""),
    ]
    assert parsed.people[0].organisation == "Peckham Pharmacy"


def test_every_bad_line_is_reported_with_its_excel_line_number_and_every_reason():
    parsed = parse(HEADER
                   + "good@nhs.net,Good,GP,,Lewisham\r\n"
                   + "not-an-email,Bad Email,,,\r\n"
                   + "\"quoted@nhs.net\",\"A name with\na line break\",Astronaut,,Narnia\r\n"
                   + ",No Email,,,\r\n"
                   + "GOOD@nhs.net,Again,,,\r\n"
                   + "fine@nhs.net,Fine,,,\r\n")
    assert [p.email for p in parsed.people] == ["good@nhs.net", "fine@nhs.net"]
    assert problems(parsed) == [
        (3, "'not-an-email' is not a valid email address"),
        # one line in Excel, though the name spans two lines of the file
        (4, "Unknown profession 'Astronaut': use one from the list; Unknown borough 'Narnia': "
            "use one of Bexley, Bromley, Greenwich, Lambeth, Lewisham, Southwark"),
        (5, "Enter an email address"),
        (6, "The email address is already on line 2"),
    ]
    assert not parsed.ok and parsed.usable


def test_a_missing_email_column_is_reported_once_for_the_file():
    parsed = parse("name,profession\r\nAmara,GP\r\nBen,Nurse\r\n")
    assert parsed.file_error.startswith("The first line must name the columns, and there is no "
                                        "'email' column.")
    assert not parsed.people and not parsed.problems and not parsed.usable


@pytest.mark.parametrize(("delimiter", "name"), [(",", "commas"), (";", "semicolons"),
                                                 ("\t", "tabs")])
def test_the_separator_is_read_from_the_header(delimiter, name):
    """European Excel saves "CSV" with semicolons; a sheet pasted into a file has tabs."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([["Email", "Name", "Organisation"],
                                                    ["a@nhs.net", "Okafor, Amara",
                                                     "Guy's; St Thomas'"]])
    parsed = parse(out.getvalue())
    assert parsed.ok and parsed.delimiter == delimiter and parsed.delimiter_name == name
    [person] = parsed.people
    assert (person.email, person.name, person.organisation) == (
        "a@nhs.net", "Okafor, Amara", "Guy's; St Thomas'")


def test_a_one_column_file_of_emails_is_read_with_commas():
    parsed = parse("email\r\na@nhs.net\r\nb@nhs.net\r\n")
    assert parsed.ok and parsed.delimiter == "," and len(parsed.people) == 2


def test_career_stage_and_mentoring_columns_are_read_and_checked():
    parsed = parse("email,career_stage,mentoring\r\n"
                   "a@nhs.net,Experienced leader,Mentor\r\n"
                   "b@nhs.net,emerging,mentee\r\n"
                   "c@nhs.net,,BOTH\r\n"
                   "d@nhs.net,senior,teacher\r\n")
    assert [(p.email, p.career_stage, p.mentoring) for p in parsed.people] == [
        ("a@nhs.net", "experienced", "mentor"), ("b@nhs.net", "emerging", "mentee"),
        ("c@nhs.net", "", "both")]
    assert problems(parsed) == [(5, "Unknown career stage 'senior': use experienced or "
                                    "emerging; Unknown mentoring 'teacher': use mentor, mentee "
                                    "or both")]


def test_career_stage_and_mentoring_prefill_the_profile_questions(db, factory, coordinator):
    programme_round = factory.programme_round()
    import_text(db, programme_round, coordinator,
                "email,career_stage,mentoring\r\na@nhs.net,experienced,both\r\n"
                "b@nhs.net,emerging,mentee\r\n")
    prefills = {i.email: i.prefill for i in db.exec(select(Invitation)).all()}
    assert prefills == {
        "a@nhs.net": {"career_stage": "experienced", "mentor_capacity": "1",
                      "wants_mentor": True},
        "b@nhs.net": {"career_stage": "emerging", "mentor_capacity": "0",
                      "wants_mentor": True},
    }


def test_the_rejected_lines_come_back_as_written_with_their_reasons():
    parsed = parse("Email;Name;Borough;Notes\r\n"
                   "good@nhs.net;Good;Lewisham;x\r\n"
                   "not-an-email;Bad; Narnia ;keep me\r\n"
                   ";=1+2;;\r\n")
    text = imports.rejected_lines_csv(parsed)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows == [
        ["Email", "Name", "Borough", "Notes", "problem"],
        ["not-an-email", "Bad", " Narnia ", "keep me",
         "'not-an-email' is not a valid email address; Unknown borough 'Narnia': use one of "
         "Bexley, Bromley, Greenwich, Lambeth, Lewisham, Southwark"],
        ["", "'=1+2", "", "", "Enter an email address"],  # never run as a formula
    ]
    # Fixed and uploaded again, the reasons column is ignored, not an unknown column.
    fixed = parse(text.replace("not-an-email", "fixed@nhs.net").replace(" Narnia ", "Bexley")
                  .removeprefix("\ufeff"))
    assert [p.email for p in fixed.people] == ["fixed@nhs.net"]
    assert fixed.ignored_columns == ["notes"]
    again = imports.rejected_lines_csv(fixed)
    assert again.splitlines()[0] == "\ufeffEmail;Name;Borough;Notes;problem"


def test_a_latin1_file_is_refused_with_save_as_csv_utf8():
    data = (HEADER + "rene@nhs.net,René Dupont,,,\r\n").encode("cp1252")
    parsed = parse_participants_csv(data, "leaders.csv")
    assert parsed.file_error.startswith("The file is not saved as UTF-8 (line 2 has a character")
    assert "CSV UTF-8" in parsed.file_error
    assert not parsed.people


def test_utf8_with_or_without_a_byte_order_mark_is_read():
    text = HEADER + "rene@nhs.net,René Dupont,,,\r\n"
    for data in (text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        parsed = parse_participants_csv(data, "leaders.csv")
        assert parsed.ok and parsed.people[0].name == "René Dupont"


def test_utf16_files_are_refused_with_save_as_csv_utf8():
    parsed = parse_participants_csv(HEADER.encode("utf-16"), "leaders.csv")
    assert "UTF-16" in parsed.file_error and "CSV UTF-8" in parsed.file_error


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"  \r\n"])
def test_an_empty_file_is_refused(data):
    assert parse_participants_csv(data, "leaders.csv").file_error == "The file is empty"


def test_a_header_with_no_leaders_is_refused():
    assert parse(HEADER + ",,,,\r\n").file_error == "The file has a header line but no leaders"


def test_more_than_the_limit_of_lines_is_refused():
    body = "".join(f"person{n}@nhs.net,,,,\r\n" for n in range(imports.MAX_ROWS + 1))
    parsed = parse(HEADER + body)
    assert parsed.file_error == ("The file has 5,001 leaders; the limit is 5,000. Split it into "
                                 "smaller files.")


@pytest.mark.parametrize(("data", "filename"), [
    (b"PK\x03\x04 an excel workbook", "leaders.csv"),
    (b"%PDF-1.7", "leaders.csv"),
    (HEADER.encode(), "leaders.xlsx"),
])
def test_files_that_are_not_csv_are_refused(data, filename):
    parsed = parse_participants_csv(data, filename)
    assert "CSV" in parsed.file_error and not parsed.people


def test_blank_lines_are_skipped_but_still_counted_like_excel_rows():
    parsed = parse(HEADER + ",,,,\r\n" + "bad\r\n")
    assert problems(parsed) == [(3, "'bad' is not a valid email address")]


def test_unknown_columns_are_ignored_and_named():
    parsed = parse("Email, Name ,Job title\r\na@nhs.net,A,Director\r\n")
    assert parsed.ok and parsed.ignored_columns == ["job_title"]
    assert parsed.people[0].name == "A"


def test_the_template_is_a_good_file():
    parsed = parse_participants_csv(imports.template_csv().encode("utf-8"), "template.csv")
    assert parsed.ok and len(parsed.people) == 2


# --- importing -----------------------------------------------------------------------------


def import_text(db, programme_round, actor, text: str):
    parsed = parse(text)
    return participants.import_people(db, LINKS, programme_round, parsed.people, actor,
                                      skipped=len(parsed.problems))


def test_good_rows_only_are_imported_and_the_import_is_audited(db, factory, coordinator):
    programme_round = factory.programme_round()
    outcome = import_text(db, programme_round, coordinator,
                          HEADER + "a@nhs.net,Amy,GP,,\r\nnot-an-email,,,,\r\nb@nhs.net,,,,\r\n")
    assert outcome.invited == ["a@nhs.net", "b@nhs.net"]
    invitations = db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)
                          .order_by(Invitation.email)).all()
    assert [(i.email, i.prefill) for i in invitations] == [
        ("a@nhs.net", {"name": "Amy", "profession": "gp"}), ("b@nhs.net", {})]
    event = db.exec(select(AuditEvent).where(
        AuditEvent.action == "round.participants_imported")).one()
    assert event.detail == {"invited": 2, "updated": 0, "added": 0, "already": 0, "refused": 0,
                            "skipped": 1}


def test_importing_the_same_people_again_updates_them_and_creates_no_duplicates(
        db, factory, coordinator):
    programme_round = factory.programme_round()
    import_text(db, programme_round, coordinator, HEADER + "a@nhs.net,Amy,,,\r\n")
    again = import_text(db, programme_round, coordinator,
                        HEADER + "A@NHS.net,Amy Adams,,Guy's Hospital,Bexley\r\nc@nhs.net,,,,\r\n")
    assert again.updated == ["a@nhs.net"] and again.invited == ["c@nhs.net"]
    invitations = db.exec(select(Invitation).where(Invitation.email == "a@nhs.net")).all()
    assert len(invitations) == 1
    assert invitations[0].prefill == {"name": "Amy Adams", "borough": "bexley",
                                      "new_organisation": "Guy's Hospital"}
    emails = db.exec(select(Notification).where(Notification.recipient_email == "a@nhs.net")).all()
    assert len(emails) == 1  # the update sends nothing new


def test_leaders_with_a_profile_join_at_once_or_are_already_taking_part(
        db, factory, coordinator):
    programme_round = factory.programme_round(name="Autumn exchange")
    newcomer = factory.leader(email="has.profile@nhs.net", name="Hana Profile")
    member = factory.leader(email="member@nhs.net")
    factory.participant(programme_round, member)
    staff = factory.user(email="coord2@nhs.net", role="coordinator")
    outcome = import_text(db, programme_round, coordinator,
                          HEADER + "has.profile@nhs.net,,,,\r\nmember@nhs.net,,,,\r\n"
                                   f"{staff.email},,,,\r\n")
    assert outcome.added == ["has.profile@nhs.net"]
    assert outcome.already == [("member@nhs.net", "joined")]
    assert outcome.refused == [(staff.email, "This email belongs to a coordinator or "
                                             "administrator account")]
    assert db.exec(select(RoundParticipant).where(
        RoundParticipant.leader_id == newcomer.id)).one().status == "joined"
    [email] = db.exec(select(Notification).where(
        Notification.recipient_email == "has.profile@nhs.net")).all()
    assert email.subject == "You have been added to Autumn exchange"
    assert f"/rounds/{programme_round.id}/availability" in email.body_text
    assert not db.exec(select(Invitation).where(Invitation.email.in_(
        ["has.profile@nhs.net", "member@nhs.net", staff.email]))).all()
    again = import_text(db, programme_round, coordinator, HEADER + "has.profile@nhs.net,,,,\r\n")
    assert again.already == [("has.profile@nhs.net", "joined")]


def test_a_known_organisation_is_prefilled_by_its_id(db, factory, coordinator):
    programme_round = factory.programme_round()
    organisation = factory.organisation(name="Lewisham Hospital", sector="acute")
    import_text(db, programme_round, coordinator, HEADER + "a@nhs.net,,,lewisham hospital,\r\n")
    invitation = db.exec(select(Invitation).where(Invitation.email == "a@nhs.net")).one()
    assert invitation.prefill == {"organisation_id": str(organisation.id), "sector": "acute"}


def test_closed_rounds_take_nobody_new(db, factory, coordinator):
    programme_round = factory.programme_round(status="closed")
    with pytest.raises(participants.ParticipantError):
        import_text(db, programme_round, coordinator, HEADER + "a@nhs.net,,,,\r\n")


# --- the pages -----------------------------------------------------------------------------


def upload(client, programme_round, data: bytes, filename: str = "leaders.csv"):
    url = f"/rounds/{programme_round.id}/participants/import"
    return client.post_form(url, {"file": (io.BytesIO(data), filename)},
                            content_type="multipart/form-data")


def confirm(client, programme_round, page: str):
    packed = re.search(r'name="upload" value="([^"]+)"', page).group(1)
    return client.post_form(f"/rounds/{programme_round.id}/participants/import/confirm",
                            {"upload": packed, "filename": "leaders.csv"},
                            form_page=f"/rounds/{programme_round.id}/participants/import")


def test_a_clean_file_is_previewed_then_imported(coordinator_client, factory, db):
    programme_round = factory.programme_round()
    response = upload(coordinator_client, programme_round,
                      b"email;name;profession;career_stage;mentoring\r\n"
                      b"a@nhs.net;Amy;GP;experienced;mentor\r\nb@nhs.net;;;;\r\n")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Check the leaders to invite" in page
    assert "2 leaders to invite" in page and "separated by semicolons" in page
    people = page[page.index('id="people"'):page.index("</table>", page.index('id="people"'))]
    cells = [re.sub(r"\s+", " ", cell).strip()
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", people, re.S)]
    assert cells[8:] == ["2", "a@nhs.net", "Amy", "GP", "", "", "Experienced", "Mentor",
                         "3", "b@nhs.net", "", "", "", "", "", ""]  # empty, never "None"
    assert "Import 2 leaders" in page
    assert not db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)).all()

    imported = confirm(coordinator_client, programme_round, page)
    assert imported.status_code == 200 and "Leaders imported" in imported.get_data(as_text=True)
    assert len(db.exec(select(Invitation).where(
        Invitation.round_id == programme_round.id)).all()) == 2


def test_the_preview_shows_the_first_hundred_and_counts_the_rest(coordinator_client, factory):
    programme_round = factory.programme_round()
    text = "email\r\n" + "".join(f"p{n}@nhs.net\r\n" for n in range(150))
    page = upload(coordinator_client, programme_round, text.encode()).get_data(as_text=True)
    assert "Leaders to invite (the first 100 of 150)" in page
    assert "p99@nhs.net" in page and "p100@nhs.net" not in page


def test_the_bad_lines_download_from_the_preview(coordinator_client, factory, db):
    programme_round = factory.programme_round()
    data = (HEADER + "a@nhs.net,Amy,,,\r\nnot-an-email,Ben,,,\r\n").encode()
    page = upload(coordinator_client, programme_round, data).get_data(as_text=True)
    assert "Download the lines with problems" in page
    packed = re.search(r'name="upload" value="([^"]+)"', page).group(1)
    response = coordinator_client.post_form(
        f"/rounds/{programme_round.id}/participants/import/rejected",
        {"upload": packed, "filename": "leaders.csv"},
        form_page=f"/rounds/{programme_round.id}/participants/import")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="leaders-to-fix.csv"'
    assert response.get_data(as_text=True).splitlines() == [
        "\ufeffemail,name,profession,organisation,borough,problem",
        "not-an-email,Ben,,,,'not-an-email' is not a valid email address"]
    assert not db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)).all()


def test_a_file_with_bad_lines_imports_nothing_until_the_coordinator_chooses(
        coordinator_client, factory, db):
    programme_round = factory.programme_round()
    data = (HEADER + "a@nhs.net,Amy,,,\r\nnot-an-email,,,,\r\nb@nhs.net,,,Narnia,Narnia\r\n"
            "c@nhs.net,,,,\r\n").encode()
    response = upload(coordinator_client, programme_round, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "2 lines of leaders.csv cannot be used. Nothing has been imported yet." in page
    assert "&#39;not-an-email&#39; is not a valid email address" in page
    assert "Unknown borough &#39;Narnia&#39;" in page
    assert not db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)).all()
    assert "Import the 2 good lines and skip the 2 bad ones" in page

    packed = re.search(r'name="upload" value="([^"]+)"', page).group(1)
    url = f"/rounds/{programme_round.id}/participants/import/confirm"
    confirmed = coordinator_client.post_form(
        url, {"upload": packed, "filename": "leaders.csv"},
        form_page=f"/rounds/{programme_round.id}/participants/import")
    result = confirmed.get_data(as_text=True)
    assert confirmed.status_code == 200 and "Leaders imported" in result
    assert re.search(r"Invited\s*</dt>\s*<dd[^>]*>\s*2\s*</dd>", result)
    assert re.search(r"Skipped\s*</dt>\s*<dd[^>]*>\s*2\s*</dd>", result)
    assert sorted(db.exec(select(Invitation.email).where(
        Invitation.round_id == programme_round.id)).all()) == ["a@nhs.net", "c@nhs.net"]


def test_the_confirm_step_trusts_nothing_from_the_browser(coordinator_client, factory, db):
    programme_round = factory.programme_round()
    url = f"/rounds/{programme_round.id}/participants/import/confirm"
    form_page = f"/rounds/{programme_round.id}/participants/import"
    for packed in ("not base64!", "aGVsbG8=", ""):
        response = coordinator_client.post_form(url, {"upload": packed}, form_page=form_page)
        assert response.status_code == 400
        assert "Upload it once more" in response.get_data(as_text=True)
    assert not db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)).all()


def test_a_file_error_is_shown_beside_the_upload(coordinator_client, factory):
    programme_round = factory.programme_round()
    response = upload(coordinator_client, programme_round,
                      (HEADER + "rene@nhs.net,René,,,\r\n").encode("latin-1"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="file-error"' in page and "CSV UTF-8" in page
    missing = coordinator_client.post_form(
        f"/rounds/{programme_round.id}/participants/import", {},
        content_type="multipart/form-data")
    assert missing.status_code == 400
    assert "Choose a CSV file to upload" in missing.get_data(as_text=True)


def test_the_template_downloads_as_a_csv(coordinator_client, factory):
    programme_round = factory.programme_round()
    response = coordinator_client.get(f"/rounds/{programme_round.id}/participants/template.csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.get_data(as_text=True).startswith("\ufeffemail,name,profession")


def test_uploads_need_a_coordinator_and_a_csrf_token(leader_client, coordinator_client,
                                                     factory, db):
    programme_round = factory.programme_round()
    url = f"/rounds/{programme_round.id}/participants/import"
    data = {"file": (io.BytesIO((HEADER + "a@nhs.net,,,,\r\n").encode()), "leaders.csv")}
    assert leader_client.get(url).status_code == 403
    assert coordinator_client.client.post(url, data=data,
                                          content_type="multipart/form-data").status_code == 400
    assert not db.exec(select(Invitation).where(Invitation.round_id == programme_round.id)).all()


def test_a_csv_cannot_smuggle_other_profile_answers_or_a_role(db, factory, coordinator):
    programme_round = factory.programme_round()
    import_text(db, programme_round, coordinator,
                "email,name,account_role,consent\r\na@nhs.net,Amy,admin,yes\r\n")
    invitation = db.exec(select(Invitation).where(Invitation.email == "a@nhs.net")).one()
    assert invitation.prefill == {"name": "Amy"}
