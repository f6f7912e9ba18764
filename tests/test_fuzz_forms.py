"""Property-based tests of representative forms (issue 8, part 5): generated text, numbers and
raw bytes into the profile's first question page, feedback, a new round, declining a match and
the reflection log.

For every generated payload: never a server error; a refused form (400) shows the NHS.UK error
summary and stores nothing; an accepted one stores exactly what was sent after the documented
normalisation (surrounding whitespace stripped where the form strips it, numbers as the data
model reads them), and shows it back escaped. A NUL character is always refused (PostgreSQL
cannot store it), and so is any other control character but tab and line breaks; one-line
answers (names, titles) refuse those too. Each example runs in a savepoint that is rolled
back, with the client's session cookie restored, so one world serves them all.
"""

from __future__ import annotations

from urllib.parse import quote_from_bytes, urlencode

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from test_hostile_input import (  # noqa: F401 (hostile_world is the `world` fixture)
    RAW_MARKUP,
    hostile_world,
    rolled_back,
    snapshot,
)
from werkzeug.wrappers import Request

from mentoring.models import Feedback, LeaderProfile, Match, ProgrammeRound, Reflection
from mentoring.text import LINE_BREAK_OR_CONTROL, has_control_characters

from conftest import csrf_token

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text of any kind but lone surrogates (which no form can carry as UTF-8; the raw-bytes tests
# send invalid UTF-8). Basic Multilingual Plane only on the profile page: long astral text makes
# the session cookie too large, a known bug (see test_hostile_input).
ANY_TEXT = st.characters(exclude_categories=("Cs",))
BMP_TEXT = st.characters(exclude_categories=("Cs",), max_codepoint=0xFFFF)
# Mostly short, sometimes around the limit, sometimes with markup or a NUL in it.
MARKUP = st.sampled_from(["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
                          "\x00", " ", "\r\n", "\u202e", "&amp;", "{{ 7 * 7 }}"])


def texts(limit: int, alphabet=ANY_TEXT) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet, max_size=40),
        st.builds(lambda text, extra: text + extra, st.text(alphabet, max_size=20), MARKUP),
        st.builds(lambda n, pad: "x" * n + pad, st.integers(limit - 3, limit + 3),
                  st.sampled_from(["", " ", "\t\n"])),
    )


INT = TypeAdapter(int)


def as_int(value: str) -> int | None:
    """The number the data model reads from a form value (pydantic's lax parsing), or None."""
    try:
        return INT.validate_python(value)
    except ValidationError:
        return None


class Form:
    """Posts to one form as one role inside a rolled-back savepoint and checks the invariants
    every answer must keep; `accepted` tells the test what to compare."""

    def __init__(self, connection, world, role: str, url: str, page: str | None = None):
        self.connection, self.world = connection, world
        self.client = world.clients[role]
        self.url = url
        self.token = csrf_token(self.client.get(page or url).get_data(as_text=True))
        self.before = snapshot(connection)

    def post(self, data: dict | bytes, check) -> None:
        with rolled_back(self.connection, self.client):
            if isinstance(data, bytes):
                response = self.client.post(self.url, data=data,
                                            content_type="application/x-www-form-urlencoded")
            else:
                response = self.client.post(self.url, data={"csrf_token": self.token, **data})
            html = response.get_data(as_text=True)
            assert response.status_code in (302, 400), (response.status_code, html[:500])
            assert not any(raw in html for raw in RAW_MARKUP)
            if response.status_code == 400:
                assert "nhsuk-error-summary" in html
                assert snapshot(self.connection) == self.before, "refused, but stored"
            check(response.status_code == 302)

    def scalar(self, statement):
        return self.connection.execute(statement).scalar_one_or_none()


def sent_with_control(*values: str) -> bool:
    """A NUL or another control character (but tab and line breaks): refused by every form
    (issue 15), before any field is read."""
    return any(has_control_characters(value) for value in values)


def not_one_line(value: str) -> bool:
    """A one-line answer (a name, a title) with a tab or line break left after stripping."""
    return LINE_BREAK_OR_CONTROL.search(value.strip()) is not None


# --- the profile's first question page, then saving the profile -------------------------------


@FUZZ
@given(name=texts(120, BMP_TEXT), job_title=texts(160, BMP_TEXT))
def test_profile_name_and_job_title(connection, world, name, job_title):
    form = Form(connection, world, "leader", "/profile/about-you")
    leader_id = world.leader_a.id

    def check(accepted: bool) -> None:
        ok = (not sent_with_control(name, job_title) and not not_one_line(name)
              and not not_one_line(job_title) and 1 <= len(name.strip()) <= 120
              and len(job_title.strip()) <= 160)
        assert accepted == ok, (name, job_title)
        if accepted:
            save = form.client.post("/profile/check", data={"csrf_token": form.token})
            assert save.status_code == 302
            stored = connection.execute(sa.select(LeaderProfile.name, LeaderProfile.job_title)
                                        .where(LeaderProfile.id == leader_id)).one()
            assert tuple(stored) == (name.strip(), job_title.strip())
            assert not any(raw in form.client.get("/profile/").get_data(as_text=True)
                           for raw in RAW_MARKUP)

    form.post({"name": name, "job_title": job_title}, check)


# --- feedback after an exchange -----------------------------------------------------------------

RATINGS = st.one_of(st.sampled_from(["1", "3", "5", "0", "6", "", " 4 ", "4.0", "4.5", "+2",
                                     "1_0", "-1", "\u0663", "\uff14"]),
                    st.text(ANY_TEXT, max_size=4))


@FUZZ
@given(rating=RATINGS, learned=texts(4000), for_coordinators=texts(4000),
       named=st.sampled_from(["yes", "no", "", "YES"]))
def test_feedback(connection, world, rating, learned, for_coordinators, named):
    exchange_id = world.past_exchange.id
    form = Form(connection, world, "leader", f"/exchanges/{exchange_id}/feedback")

    def check(accepted: bool) -> None:
        number = as_int(rating) if rating else None
        ok = (not sent_with_control(rating, learned, for_coordinators) and number is not None
              and 1 <= number <= 5 and len(learned) <= 4000 and len(for_coordinators) <= 4000)
        assert accepted == ok, (rating, learned[:50], for_coordinators[:50])
        if accepted:
            stored = connection.execute(
                sa.select(Feedback.rating, Feedback.learned, Feedback.for_coordinators,
                          Feedback.agree_to_be_named)
                .where(Feedback.exchange_id == exchange_id,
                       Feedback.leader_id == world.leader_a.id)).one()
            assert tuple(stored) == (number, learned, for_coordinators, named == "yes")
            summary = world.clients["coordinator"].get(f"/rounds/{world.round.id}/feedback")
            assert summary.status_code == 200
            assert not any(raw in summary.get_data(as_text=True) for raw in RAW_MARKUP)

    form.post({"rating": rating, "learned": learned, "for_coordinators": for_coordinators,
               "agree_to_be_named": named}, check)


# --- a new round ---------------------------------------------------------------------------------

ROUND = {"starts_on[day]": "4", "starts_on[month]": "1", "starts_on[year]": "2027",
         "ends_on[day]": "26", "ends_on[month]": "3", "ends_on[year]": "2027",
         "min_days_between_exchanges": "14", "reciprocal": "required",
         "allow_same_organisation": "no", "weight_goals": "3", "weight_cross_profession": "2",
         "weight_cross_sector": "2", "weight_cross_organisation": "1",
         "weight_same_borough": "1", "action": "save"}
SMALL_NUMBERS = st.one_of(st.integers(-2, 9).map(str),
                          st.sampled_from(["", " 2 ", "2.0", "2.5", "1_0", "\u00b2", "9" * 40]),
                          st.text(ANY_TEXT, max_size=3))


@FUZZ
@given(name=texts(120), description=texts(2000), exchanges=SMALL_NUMBERS)
def test_new_round(connection, world, name, description, exchanges):
    form = Form(connection, world, "coordinator", "/rounds/new")

    def check(accepted: bool) -> None:
        number = as_int(exchanges.strip()) if exchanges.strip() else None
        ok = (not sent_with_control(name, description, exchanges) and not not_one_line(name)
              and 3 <= len(name.strip()) <= 120 and len(description.strip()) <= 2000
              and number is not None and 0 <= number <= 6)
        assert accepted == ok, (name[:50], description[:50], exchanges)
        if accepted:
            stored = connection.execute(
                sa.select(ProgrammeRound.name, ProgrammeRound.description,
                          ProgrammeRound.exchanges_per_pair)
                .order_by(ProgrammeRound.id.desc()).limit(1)).one()
            assert tuple(stored) == (name.strip(), description.strip(), number)
            rounds = world.clients["coordinator"].get("/rounds").get_data(as_text=True)
            assert not any(raw in rounds for raw in RAW_MARKUP)

    form.post({**ROUND, "name": name, "description": description,
               "exchanges_per_pair": exchanges}, check)


# --- declining a match ---------------------------------------------------------------------------


@FUZZ
@given(reason=texts(1000), different=st.sampled_from(["yes", "no", "", "on"]))
def test_declining_a_match(connection, world, reason, different):
    match_id = world.match.id
    form = Form(connection, world, "leader", f"/matches/{match_id}/decline")

    def check(accepted: bool) -> None:
        ok = not sent_with_control(reason) and 1 <= len(reason.strip()) <= 1000
        assert accepted == ok, reason[:50]
        stored = connection.execute(
            sa.select(Match.status, Match.decline_reason, Match.wants_different_match)
            .where(Match.id == match_id)).one()
        if accepted:
            assert tuple(stored) == ("declined", reason.strip(), different == "yes")
            page = form.client.get(f"/matches/{match_id}").get_data(as_text=True)
            assert not any(raw in page for raw in RAW_MARKUP)
        else:
            assert stored.status == "offered"

    # "Another reason" makes the free text required: empty or blank is refused.
    form.post({"choice": "other", "reason": reason, "wants_different_match": different}, check)


# --- the reflection log, from text and from raw bytes --------------------------------------------


def _reflection_check(form: Form, text: str, exchange_value: str):
    def check(accepted: bool) -> None:
        ok = not sent_with_control(text) and 1 <= len(text.strip()) <= 10_000
        assert accepted == ok, text[:50]
        stored = form.connection.execute(
            sa.select(Reflection.text, Reflection.exchange_id)
            .where(Reflection.leader_id == form.world.leader_a.id,
                   Reflection.id != form.world.reflection.id)).all()  # (the world's own)
        if accepted:
            exchange_id = form.world.past_exchange.id if exchange_value else None
            assert [tuple(row) for row in stored] == [(text.strip(), exchange_id)]
            page = form.client.get("/reflections").get_data(as_text=True)
            assert not any(raw in page for raw in RAW_MARKUP)
        else:
            assert stored == []

    return check


EXCHANGE_VALUES = st.sampled_from(["", "PAST", "PAST", "0", "99999", "\u00b2", "9" * 40, "abc",
                                   " "])


@FUZZ
@given(text=texts(10_000), exchange=EXCHANGE_VALUES)
def test_reflection(connection, world, text, exchange):
    exchange_value = str(world.past_exchange.id) if exchange == "PAST" else exchange
    form = Form(connection, world, "leader", "/reflections")
    if exchange_value in ("", str(world.past_exchange.id)):
        form.post({"text": text, "exchange_id": exchange_value},
                  _reflection_check(form, text, exchange_value))
        return
    # A value naming none of this leader's exchanges is a 404, as for someone else's exchange
    # (or a 400, when the text has a NUL in it).
    with rolled_back(connection, form.client):
        response = form.client.post("/reflections", data={
            "csrf_token": form.token, "text": text, "exchange_id": exchange_value})
        assert response.status_code in (400, 404)
        assert snapshot(connection) == form.before


@FUZZ
@given(raw=st.binary(max_size=300))
def test_reflection_from_raw_bytes(connection, world, raw):
    """Any bytes at all in the urlencoded body: invalid UTF-8, NUL, '&' and '=' inside the value.
    What is stored is what the framework decoded (Werkzeug keeps undecodable bytes as %XX text),
    stripped."""
    form = Form(connection, world, "leader", "/reflections")
    body = f"{urlencode({'csrf_token': form.token})}&text={quote_from_bytes(raw)}".encode()
    decoded = Request.from_values(
        data=body, content_type="application/x-www-form-urlencoded", method="POST"
    ).form.get("text")
    form.post(body, _reflection_check(form, decoded, ""))


def test_the_fuzzed_forms_refuse_nul_with_a_message(world):
    """The one rule every form shares, shown plainly: a NUL is refused with a message."""
    client = world.clients["leader"]
    token = csrf_token(client.get("/reflections").get_data(as_text=True))
    response = client.post("/reflections", data={"csrf_token": token, "text": "a\x00b"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "nhsuk-error-summary" in html and "NUL character" in html

