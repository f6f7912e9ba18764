"""Feedback after an exchange, and the leader's private reflection log."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mentoring.exchanges import reflections, services
from mentoring.exchanges.services import LeaderError, NotFound
from mentoring.models import Feedback, Reflection

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
GOOD = {"rating": "5", "learned": "Pharmacy triage", "will_do_differently": "Refer earlier",
        "for_coordinators": "", "agree_to_be_named": True}


@pytest.fixture
def pair(factory, leader):
    return factory.matched(leader, factory.mentor(name="Ben Mentor"))


def test_feedback_is_kept_with_the_round_and_the_author_profession(db, leader, pair):
    feedback = services.give_feedback(db, leader, leader.user, pair.past.id, GOOD, NOW)
    assert (feedback.rating, feedback.agree_to_be_named) == (5, True)
    assert feedback.round_id == pair.round.id and feedback.leader_id == leader.id
    assert (feedback.author_profession, feedback.author_sector) == ("gp", "primary_care")
    assert services.get_exchange(db, leader, pair.past.id).my_feedback.id == feedback.id


def test_feedback_only_once_per_leader_and_exchange(db, leader, pair):
    services.give_feedback(db, leader, leader.user, pair.past.id, GOOD, NOW)
    with pytest.raises(LeaderError, match="already given"):
        services.give_feedback(db, leader, leader.user, pair.past.id, GOOD, NOW)
    # The other leader gives their own.
    services.give_feedback(db, pair.mentor, pair.mentor.user, pair.past.id, GOOD, NOW)
    assert len(db.exec(select(Feedback)).all()) == 2


def test_no_feedback_before_the_exchange_or_on_a_cancelled_one(db, leader, pair):
    with pytest.raises(LeaderError, match="once the exchange has taken place"):
        services.give_feedback(db, leader, leader.user, pair.upcoming.id, GOOD, NOW)
    pair.past.status = "cancelled"
    db.add(pair.past)
    with pytest.raises(LeaderError):
        services.give_feedback(db, leader, leader.user, pair.past.id, GOOD, NOW)


@pytest.mark.parametrize("rating", [None, "0", "6", "great"])
def test_a_rating_from_1_to_5_is_required(db, leader, pair, rating):
    data = dict(GOOD, rating=rating) if rating is not None else {"learned": "x"}
    with pytest.raises(LeaderError) as error:
        services.give_feedback(db, leader, leader.user, pair.past.id, data, NOW)
    assert error.value.errors["rating"] == "Choose a rating from 1 to 5"


def test_long_answers_are_refused(db, leader, pair):
    with pytest.raises(LeaderError) as error:
        services.give_feedback(db, leader, leader.user, pair.past.id,
                               dict(GOOD, learned="x" * 4001), NOW)
    assert error.value.errors == {"learned": "Enter no more than 4000 characters"}


def test_feedback_form_error_keeps_input_then_succeeds(db, leader_client, leader, pair):
    url = f"/exchanges/{pair.past.id}/feedback"
    response = leader_client.post_form(url, {"learned": "Team huddles", "agree_to_be_named": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose a rating from 1 to 5" in html and 'href="#rating"' in html
    assert ">Team huddles</textarea>" in html
    response = leader_client.post_form(url, {"rating": "4", "learned": "Team huddles"})
    assert response.status_code == 302
    (feedback,) = db.exec(select(Feedback)).all()
    assert (feedback.rating, feedback.learned, feedback.agree_to_be_named) == (
        4, "Team huddles", False)
    assert leader_client.get(url).status_code == 302  # given already: back to the exchange
    html = leader_client.get(f"/exchanges/{pair.past.id}").get_data(as_text=True)
    assert "You gave feedback on" in html


def test_the_feedback_page_is_closed_before_the_exchange(leader_client, pair):
    assert leader_client.get(f"/exchanges/{pair.upcoming.id}/feedback").status_code == 302


# --- reflections ---------------------------------------------------------------------------


def test_reflections_are_private_and_export_as_markdown(db, factory, leader, pair):
    reflections.add_reflection(db, leader, "First thoughts", None, datetime(2027, 1, 2, tzinfo=UTC))
    reflections.add_reflection(db, leader, "About the visit", pair.past.id, NOW)
    reflections.add_reflection(db, pair.mentor, "Ben's own", None, NOW)
    assert [r.text for r in reflections.my_reflections(db, leader)] == [
        "About the visit", "First thoughts"]
    text = reflections.log_as_markdown(db, leader, NOW, "https://exchange.example.nhs.uk/")
    assert text.startswith("# Leadership exchange: reflection log")
    assert text.index("First thoughts") < text.index("About the visit")
    assert ("*Exchange: [Ben Mentor visits Ada Leader, Tuesday 5 March 2024, 1:00pm to 5:00pm]"
            f"(https://exchange.example.nhs.uk/exchanges/{pair.past.id})*") in text
    assert "Ben's own" not in text


def test_a_reflection_needs_text(db, leader):
    with pytest.raises(LeaderError) as error:
        reflections.add_reflection(db, leader, "   ", None, NOW)
    assert error.value.errors == {"text": "Enter your reflection"}


def test_a_reflection_cannot_point_at_someone_elses_exchange(db, factory, leader):
    other = factory.matched(factory.leader(), factory.mentor())
    with pytest.raises(NotFound):
        reflections.add_reflection(db, leader, "Sneaky", other.past.id, NOW)


def test_reflection_form_error_and_success_and_download(db, leader_client, pair):
    response = leader_client.post_form("/reflections",
                                       {"text": "", "exchange_id": str(pair.past.id)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your reflection" in html
    assert f'value="{pair.past.id}" selected' in html
    response = leader_client.post_form("/reflections", {"text": "Listening first",
                                                        "exchange_id": str(pair.past.id)})
    assert response.status_code == 302
    assert db.exec(select(Reflection)).one().exchange_id == pair.past.id
    assert "Listening first" in leader_client.get("/reflections").get_data(as_text=True)
    download = leader_client.get("/reflections/export.md")
    assert download.mimetype == "text/markdown"
    assert "attachment" in download.headers["Content-Disposition"]
    assert "Listening first" in download.get_data(as_text=True)


def test_the_database_refuses_a_second_feedback_from_the_same_leader(db, leader, pair):
    import sqlalchemy as sa

    services.give_feedback(db, leader, leader.user, pair.past.id, GOOD, NOW)
    with pytest.raises(sa.exc.IntegrityError), db.begin_nested():
        db.add(Feedback(exchange_id=pair.past.id, leader_id=leader.id, rating=3))
        db.flush()


def test_a_reflection_is_edited_and_deleted_by_its_writer_only(db, factory, leader, pair):
    mine = reflections.add_reflection(db, leader, "First draft", None, NOW)
    theirs = reflections.add_reflection(db, pair.mentor, "Ben's own", None, NOW)
    edited = reflections.edit_reflection(db, leader, mine.id, "  Second draft ", pair.past.id)
    assert (edited.text, edited.exchange_id, edited.created_at) == ("Second draft",
                                                                    pair.past.id, NOW)
    with pytest.raises(NotFound):
        reflections.edit_reflection(db, leader, theirs.id, "Mine now", None)
    with pytest.raises(NotFound):
        reflections.delete_reflection(db, leader, theirs.id)
    with pytest.raises(LeaderError):
        reflections.edit_reflection(db, leader, mine.id, " ", None)
    reflections.delete_reflection(db, leader, mine.id)
    assert reflections.my_reflections(db, leader) == []
    assert [r.text for r in reflections.my_reflections(db, pair.mentor)] == ["Ben's own"]


def test_the_log_downloads_as_a_word_document_that_opens(db, leader_client, leader, pair):
    import io

    from docx import Document

    reflections.add_reflection(db, leader, "Huddles work.\n\nTry one on Monday.", pair.past.id,
                               datetime(2024, 3, 6, 9, 0, tzinfo=UTC))
    reflections.add_reflection(db, leader, "Ask before telling", None, NOW)
    db.commit()
    download = leader_client.get("/reflections/export.docx")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="reflection-log.docx"')
    document = Document(io.BytesIO(download.get_data()))
    assert document.core_properties.title == "Leadership exchange: reflection log"
    texts = [(p.style.name, p.text) for p in document.paragraphs]
    assert texts[0] == ("Title", "Leadership exchange: reflection log")
    headings = [text for style, text in texts if style == "Heading 1"]
    assert headings == ["6 March 2024, 09:00", "10 January 2027, 12:00"]  # UK time
    body = [text for style, text in texts if style == "Normal"]
    assert "Exchange: Ben Mentor visits Ada Leader, Tuesday 5 March 2024, 1:00pm to 5:00pm" in body
    assert body.index("Huddles work.") + 1 == body.index("Try one on Monday.")
    # The exchange is a link to its page.
    [link] = [r for r in document.part.rels.values() if "hyperlink" in r.reltype]
    assert link.target_ref.endswith(f"/exchanges/{pair.past.id}")


def test_the_edit_page_saves_keeps_input_on_error_and_deletes(db, leader_client, leader, pair):
    entry = reflections.add_reflection(db, leader, "Listening first", pair.past.id, NOW)
    db.commit()
    url = f"/reflections/{entry.id}"
    page = leader_client.get(url).get_data(as_text=True)
    assert "Listening first" in page and f'value="{pair.past.id}" selected' in page
    refused = leader_client.post_form(url, {"text": "", "exchange_id": str(pair.past.id)})
    assert refused.status_code == 400 and "Enter your reflection" in refused.get_data(as_text=True)
    saved = leader_client.post_form(url, {"text": "Listening, then asking", "exchange_id": ""})
    assert saved.status_code == 302
    db.refresh(entry)
    assert (entry.text, entry.exchange_id) == ("Listening, then asking", None)
    assert leader_client.post_form(f"{url}/delete", {}, form_page=url).status_code == 302
    assert db.exec(select(Reflection)).all() == []
    assert leader_client.get(url).status_code == 404


def test_the_log_downloads_as_a_pdf_in_any_script(db, leader_client, leader, pair, app,
                                                  tmp_path):
    """Read back with poppler's pdftotext: every letter is there (the font has them), the
    pages are numbered, and the exchange links to its page."""
    import shutil
    import subprocess

    if app.extensions["mentoring.settings"].pdf_font is None or not shutil.which("pdftotext"):
        message = "needs DejaVu Sans (fonts-dejavu-core) and pdftotext (poppler-utils)"
        pytest.fail(message) if os.environ.get("REQUIRE_BROWSER") else pytest.skip(message)
    reflections.add_reflection(db, leader, "Zoë from Łódź and Олена from Київ: Ελλάδα too.",
                               pair.past.id, NOW)
    db.commit()
    download = leader_client.get("/reflections/export.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    pdf = tmp_path / "log.pdf"
    pdf.write_bytes(download.get_data())
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "Leadership exchange: reflection log" in text
    assert "Zoë from Łódź and Олена from Київ: Ελλάδα too." in " ".join(text.split())
    assert "Page 1 of 1" in text
    assert f"/exchanges/{pair.past.id}".encode() in download.get_data()  # the link's target
    assert "PDF" in leader_client.get("/reflections").get_data(as_text=True)


def test_without_a_font_no_pdf_is_offered(app, leader_client):
    import dataclasses

    settings = app.extensions["mentoring.settings"]
    app.extensions["mentoring.settings"] = dataclasses.replace(settings, pdf_font=None)
    assert leader_client.get("/reflections/export.pdf").status_code == 404
    page = leader_client.get("/reflections").get_data(as_text=True)
    assert "Word document" in page or "not written any reflections" in page
    assert "export.pdf" not in page
