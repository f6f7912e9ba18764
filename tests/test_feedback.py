"""Feedback after an exchange, and the leader's private reflection log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mentoring.exchanges import services
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
    services.add_reflection(db, leader, "First thoughts", None, datetime(2027, 1, 2, tzinfo=UTC))
    services.add_reflection(db, leader, "About the visit", pair.past.id, NOW)
    services.add_reflection(db, pair.mentor, "Ben's own", None, NOW)
    assert [r.text for r in services.my_reflections(db, leader)] == [
        "About the visit", "First thoughts"]
    text = services.reflections_markdown(db, leader, NOW)
    assert text.startswith("# Leadership exchange: reflection log")
    assert text.index("First thoughts") < text.index("About the visit")
    assert "*Exchange: Ben Mentor visits Ada Leader, Tuesday 5 March 2024" in text
    assert "Ben's own" not in text


def test_a_reflection_needs_text(db, leader):
    with pytest.raises(LeaderError) as error:
        services.add_reflection(db, leader, "   ", None, NOW)
    assert error.value.errors == {"text": "Enter your reflection"}


def test_a_reflection_cannot_point_at_someone_elses_exchange(db, factory, leader):
    other = factory.matched(factory.leader(), factory.mentor())
    with pytest.raises(NotFound):
        services.add_reflection(db, leader, "Sneaky", other.past.id, NOW)


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
