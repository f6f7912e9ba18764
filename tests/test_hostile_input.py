"""Hostile input to every form and upload (issue 8, part 5).

Each form of the app is a row of FORMS: who can reach it, its address, a payload it accepts, and
the fields a person (or a script) fills in. Every field gets every hostile value (100 KB of text,
HTML and script, NUL and other control characters, right-to-left overrides, invalid UTF-8 and
lone surrogates in the raw body, a list where one value is expected, nothing at all); every form
also gets extra fields and the wrong content types. Whatever arrives, the answer is a page a
person can act on: 2xx or 3xx, 400 with the NHS.UK error summary, or 413 (a 404 only for a
field that names an object, like an exchange). Never a 500. A refused form stores nothing, and
nothing comes back unescaped, on the answer or on the pages that show what was saved.

Every attempt runs inside a savepoint that is rolled back and restores the client's session
cookie, so one world (the crawl's, plus a few tokens) serves every attempt on every backend.
`tests/test_fuzz_forms.py` drives a few forms with generated values (hypothesis).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import random
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select
from test_crawl import leader_a_matched
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from mentoring.auth import joining
from mentoring.confidence.services import STATEMENT_KEYS
from mentoring.models import (
    LeaderProfile,
    Notification,
    Organisation,
    PairAgreement,
    RoundBlackout,
    User,
)

from conftest import TEST_PASSWORD, SignedIn, csrf_token
from matching_world import stored_run

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
# What must never reach a page as markup (the escaped forms, &lt;script&gt;…, may).
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror")
NEW_PASSWORD = "a-brand-new-passphrase"

HOSTILE_VALUES: dict[str, str | list[str] | None] = {
    "100 KB of text": "x" * 100_000,
    "a script element": SCRIPT,
    "an attribute breakout": BREAKOUT,
    "a NUL byte": "before\x00after",
    "control and bidirectional characters, emoji": (
        "bell\x07 escape\x1b[31m delete\x7f form-feed\x0c \u202egnp.exe \U0001f600"),
    "only whitespace": " \t\r\n ",
    "nothing": "",
    "a superscript digit": "\u00b2",
    "a 40-digit number": "9" * 40,
    "a list of two values": [SCRIPT, "second value"],
    "a missing field": None,
}
# Percent-encoded bytes put straight into an application/x-www-form-urlencoded body.
RAW_VALUES = {
    "invalid UTF-8": "%FF%FEcaf%E9",
    "a lone surrogate": "%ED%A0%80",
    "a NUL byte, percent-encoded": "a%00b",
}
EXTRA_FIELDS = {"role": "admin", "is_active": "0", "user_id": "1", "leader_id": "1",
                "status": "approved", "id": "1", "__proto__": "x", "csrf_token[]": "x"}


@dataclass(frozen=True)
class Form:
    """One form: `url` and `valid` are functions of the World; `fields` are filled in by a person,
    `ids` name an object (a bad one may give 404); `also` adds values for one field. `page` is
    where the form's CSRF token comes from (default: `url`). `writes_when_refused` lists tables a
    refused attempt rightly writes (a failed sign-in is counted). `shown_on` are (role, url)
    pages that show what was saved: after every accepted attempt they must still work."""

    name: str
    role: str
    url: Callable
    valid: Callable = lambda world: {}
    fields: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    also: dict[str, tuple[str, ...]] = field(default_factory=dict)
    page: Callable | None = None
    writes_when_refused: tuple[str, ...] = ()
    shown_on: tuple[tuple[str, Callable], ...] = ()

    def __str__(self) -> str:
        return self.name


SIGN_IN_RECORDS = ("sign_in_attempt", "audit_event")


def _round(path: str = "") -> Callable:
    return lambda world: f"/rounds/{world.round.id}{path}"


def _by_hand(path: str | Callable = "") -> Callable:
    """An address of the by-hand pages of the world's by-hand round (`path` may depend on
    the world)."""
    def url(world) -> str:
        return f"/rounds/{world.by_hand_round.id}/by-hand{path(world) if callable(path) else path}"
    return url


ROUND_FORM = {
    "name": "Autumn exchange", "description": "Leaders visit each other's workplaces.",
    "starts_on[day]": "4", "starts_on[month]": "1", "starts_on[year]": "2027",
    "ends_on[day]": "26", "ends_on[month]": "3", "ends_on[year]": "2027",
    "exchanges_per_pair": "2", "min_days_between_exchanges": "14",
    "reciprocal": "required", "allow_same_organisation": "no",
    "weight_goals": "3", "weight_cross_profession": "2", "weight_cross_sector": "2",
    "weight_cross_organisation": "1", "weight_same_borough": "1",
    "priority_professions": "nurse", "action": "save", "ask_line_manager_release": "yes",
}
ROUND_CHOICES = ("reciprocal", "allow_same_organisation", "priority_professions", "action",
                 "ask_line_manager_release")
ROUND_TEXT = tuple(key for key in ROUND_FORM if key not in ROUND_CHOICES)
VISIT_DETAILS = {
    "site": "Hilly Fields Surgery", "address": "1 Hilly Fields Crescent\nLondon SE4 1QA",
    "directions": "Ladywell station, 10 minutes", "meeting": "Reception: ask for Ada",
    "bring": "Photo ID", "accessibility": "Step-free", "phone": "020 7946 0999",
}

# Half-day ids a script might send: a period or date that does not exist, a year of five
# digits, an ISO week date and a basic-format date (which date.fromisoformat reads), no period,
# and the first and last days a date can be.
SLOT_LOOKALIKES = ("2027-01-05-noon", "2027-02-30-am", "99999-01-05-am", "2027-W01-2-am",
                   "20270105-am", "2027-01-05", "-am", "0001-01-01-am", "9999-12-31-pm")
BY_HAND_SHOWN_ON = (("coordinator", lambda w: f"/rounds/{w.by_hand_round.id}/by-hand"),
                    ("admin", lambda w: "/admin/audit"))

NORTH_EAST = Path(__file__).parent / "configs" / "north-east-london.json"
PROGRAMME_TEXT = json.loads(NORTH_EAST.read_text())["programme"]

FORMS: list[Form] = [
    # --- signing in and joining (anyone) ---
    Form("sign in", "anonymous", lambda w: "/sign-in",
         lambda w: {"email": w.leader_a.user.email, "password": TEST_PASSWORD},
         fields=("email", "password"), writes_when_refused=SIGN_IN_RECORDS),
    Form("register", "anonymous", lambda w: "/register",
         lambda w: {"email": "new.person@example.org"}, fields=("email",)),
    Form("create an account from its link", "anonymous", lambda w: w.verify_path,
         lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         fields=("password", "confirm")),
    Form("reset request", "anonymous", lambda w: "/reset-password",
         lambda w: {"email": w.leader_c.user.email}, fields=("email",)),
    Form("sign-in link request", "anonymous", lambda w: "/sign-in/link",
         lambda w: {"email": w.leader_c.user.email}, fields=("email",)),
    Form("new password", "anonymous", lambda w: w.reset_path,
         lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         fields=("password", "confirm")),
    Form("use a sign-in link", "anonymous", lambda w: w.link_path),
    Form("accept an invitation", "anonymous", lambda w: w.join_path,
         lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         fields=("password", "confirm")),
    # A line manager answers a request to release leader A's time (issue 14): no account.
    Form("release a leader's time", "anonymous", lambda w: w.release_path,
         lambda w: {"decision": "decline", "reason": "Our inspection is that week"},
         fields=("decision", "reason"),
         shown_on=(("coordinator", lambda w: f"/rounds/{w.booked.round_id}/changes"),
                   ("coordinator", lambda w: f"/rounds/{w.booked.round_id}/dashboard"),
                   ("leader", lambda w: f"/matches/{w.booked.id}"))),
    # --- your account (anyone signed in) ---
    Form("confirm sign-in", "leader", lambda w: "/sign-in/confirm?next=/home",
         lambda w: {"password": TEST_PASSWORD}, fields=("password",),
         writes_when_refused=SIGN_IN_RECORDS),
    Form("change password", "leader", lambda w: "/account/password",
         lambda w: {"current": TEST_PASSWORD, "password": NEW_PASSWORD,
                    "confirm": NEW_PASSWORD},
         fields=("current", "password", "confirm"), writes_when_refused=SIGN_IN_RECORDS),
    Form("sign out everywhere", "leader", lambda w: "/account/sign-out-everywhere",
         page=lambda w: "/account"),
    Form("sign out", "leader", lambda w: "/sign-out", page=lambda w: "/home"),
    Form("sign out one device", "leader", lambda w: "/account/sessions/1/sign-out",
         page=lambda w: "/account/sessions"),
    # --- the second factor (issue 15) ---
    Form("set up an authenticator app", "leader", lambda w: SETUP,
         lambda w: {"code": setup_code(w.clients["leader"])}, fields=("code",)),
    Form("enter the second factor (signed in already: home)", "leader",
         lambda w: "/sign-in/second-factor", lambda w: {"code": "123456"}, fields=("code",),
         page=lambda w: "/home"),
    Form("create new recovery codes", "leader",
         lambda w: "/account/second-factor/recovery-codes/new",
         page=lambda w: "/account/second-factor"),
    Form("turn off the second factor", "leader", lambda w: "/account/second-factor/remove",
         page=lambda w: "/account/second-factor"),
    # --- the profile's question pages (leader) ---
    Form("profile: about you", "leader", lambda w: "/profile/about-you",
         lambda w: {"name": "Ada Leader", "job_title": "Clinical director",
                    "phone": "07700 900 982"},
         fields=("name", "job_title", "phone"), shown_on=(("leader", lambda w: "/profile/check"),)),
    Form("profile: profession", "leader", lambda w: "/profile/profession",
         lambda w: {"profession": "nurse"}, fields=("profession",)),
    Form("profile: organisation", "leader", lambda w: "/profile/organisation",
         lambda w: {"organisation_id": "new", "new_organisation": "Hilly Fields Practice",
                    "sector": "primary_care", "borough": "lewisham"},
         fields=("new_organisation", "sector", "borough"), ids=("organisation_id",),
         shown_on=(("leader", lambda w: "/profile/check"),)),
    Form("profile: experience", "leader", lambda w: "/profile/experience",
         lambda w: {"career_stage": "experienced"}, fields=("career_stage",)),
    Form("profile: mentoring", "leader", lambda w: "/profile/mentoring",
         lambda w: {"mentor_capacity": "1", "wants_mentor": "yes"},
         fields=("mentor_capacity", "wants_mentor")),
    Form("profile: hosting", "leader", lambda w: "/profile/hosting",
         lambda w: {"can_host": "yes", "max_hosted_per_week": "2"},
         fields=("can_host", "max_hosted_per_week")),
    Form("profile: visit details", "leader", lambda w: "/profile/visit-details",
         lambda w: {f"visit_{key}": value for key, value in VISIT_DETAILS.items()},
         fields=tuple(f"visit_{key}" for key in VISIT_DETAILS),
         shown_on=(("leader", lambda w: "/profile/check"),)),
    Form("profile: strengths", "leader", lambda w: "/profile/strengths",
         lambda w: {"strengths": "system_leadership", "strengths_other": "Board work"},
         fields=("strengths", "strengths_other"),
         shown_on=(("leader", lambda w: "/profile/check"),)),
    Form("profile: goals", "leader", lambda w: "/profile/goals",
         lambda w: {"goals": "population_health", "goals_other": "Budgets"},
         fields=("goals", "goals_other"), shown_on=(("leader", lambda w: "/profile/check"),)),
    Form("profile: time", "leader", lambda w: "/profile/time",
         lambda w: {"protected_hours_per_month": "8"}, fields=("protected_hours_per_month",)),
    Form("profile: line manager", "leader", lambda w: "/profile/line-manager",
         lambda w: {"line_manager_name": "Helen Okafor", "line_manager_email": "h.okafor@nhs.net"},
         fields=("line_manager_name", "line_manager_email"),
         shown_on=(("leader", lambda w: "/profile/check"),)),
    Form("profile: preferences", "leader", lambda w: "/profile/preferences",
         lambda w: {"profession_preference": "different", "travel_boroughs": "bexley"},
         fields=("profession_preference", "travel_boroughs")),
    Form("profile: consent", "leader", lambda w: "/profile/consent",
         lambda w: {"consent": "yes"}, fields=("consent",)),
    Form("profile: save", "leader", lambda w: "/profile/check"),
    # --- rounds, availability, matches and exchanges (leader) ---
    Form("join a round", "leader", lambda w: f"/rounds/{w.other_round.id}/join",
         page=lambda w: "/availability"),
    # Did it work (issue 20 item 3): eight statements, each one of 1..5.
    Form("self-assessment", "leader", _round("/self-assessment"),
         lambda w: dict.fromkeys(STATEMENT_KEYS, "4"), fields=STATEMENT_KEYS,
         also={"speak_up": ("0", "6", "4.5", "+4", "04")},
         shown_on=(("leader", _round("/self-assessment")),
                   ("coordinator", _round("/dashboard")))),
    Form("availability by date", "leader", _round("/availability"),
         lambda w: {"action": "dates", "free": ["2027-01-04:am", "2027-01-05:pm"]},
         fields=("action", "free", "confirm"),
         also={"free": ("2027-01-04:noon", "2027-02-30:am", "99999-01-04:am", "2027-01-04")},
         shown_on=(("leader", _round("/availability")),)),
    Form("availability by weekday", "leader", _round("/availability"),
         lambda w: {"action": "pattern", "pattern": ["0:am", "2:pm"]}, fields=("pattern",),
         also={"pattern": ("\u00b2:am", "9" * 40 + ":am", "9" * 5000 + ":am", "7:am", "0:noon")},
         shown_on=(("leader", _round("/availability")),)),
    Form("accept a match", "leader", lambda w: f"/matches/{w.match.id}/accept",
         page=lambda w: f"/matches/{w.match.id}"),
    Form("decline a match", "leader", lambda w: f"/matches/{w.match.id}/decline",
         lambda w: {"choice": "know_already", "reason": "We work in the same team",
                    "wants_different_match": "yes"},
         fields=("choice", "reason", "wants_different_match"),
         shown_on=(("leader", lambda w: f"/matches/{w.match.id}"),
                   ("coordinator", _round("/changes")))),
    Form("cancel an exchange", "leader", lambda w: f"/exchanges/{w.exchange.id}/cancel",
         lambda w: {"reason": "The ward is closed that day"}, fields=("reason",),
         shown_on=(("leader", lambda w: f"/exchanges/{w.exchange.id}"),
                   ("coordinator", _round("/changes")))),
    Form("ask to move an exchange", "leader", lambda w: f"/exchanges/{w.exchange.id}/reschedule",
         lambda w: {"reason": "Annual leave", "preferred": "Any Tuesday in April"},
         fields=("reason", "preferred"),
         shown_on=(("coordinator", _round("/changes")),)),
    Form("change an exchange's visit details", "leader",
         lambda w: f"/exchanges/{w.hosted_exchange.id}/visit-details",
         lambda w: {("location" if key == "site" else key): value
                    for key, value in VISIT_DETAILS.items()},
         fields=("location", "address", "directions", "meeting", "bring", "accessibility",
                 "phone"),
         shown_on=(("leader", lambda w: f"/exchanges/{w.hosted_exchange.id}"),)),
    Form("shared note", "leader", lambda w: f"/exchanges/{w.exchange.id}/note",
         lambda w: {"note": "How do you decide what to stop doing?", "version": ""},
         fields=("note", "version"), page=lambda w: f"/exchanges/{w.exchange.id}",
         shown_on=(("leader", lambda w: f"/exchanges/{w.exchange.id}"),)),
    Form("feedback", "leader", lambda w: f"/exchanges/{w.past_exchange.id}/feedback",
         lambda w: {"rating": "4", "learned": "How huddles work",
                    "will_do_differently": "Ask more", "for_coordinators": "More notice",
                    "agree_to_be_named": "yes"},
         fields=("rating", "learned", "will_do_differently", "for_coordinators",
                 "agree_to_be_named"),
         shown_on=(("coordinator", _round("/feedback")),
                   ("coordinator", _round("/you-said-we-did")))),
    Form("reflection", "leader", lambda w: "/reflections",
         lambda w: {"text": "I learned to listen first.", "exchange_id": str(w.past_exchange.id)},
         fields=("text",), ids=("exchange_id",), shown_on=(("leader", lambda w: "/reflections"),)),
    Form("edit a reflection", "leader", lambda w: f"/reflections/{w.reflection.id}",
         lambda w: {"text": "I learned to listen, then ask.", "exchange_id": ""},
         fields=("text",), ids=("exchange_id",),
         shown_on=(("leader", lambda w: "/reflections"),)),
    Form("delete a reflection", "leader", lambda w: f"/reflections/{w.reflection.id}/delete",
         page=lambda w: f"/reflections/{w.reflection.id}"),
    # --- outcomes (issue 20): leader A's booked match with leader D has a draft agreement ---
    Form("pair agreement", "leader", lambda w: f"/matches/{w.booked.id}/agreement",
         lambda w: {"mentor_learning": "How a practice plans", "mentee_learning": "Boards",
                    "shared_work": "Map one discharge pathway", "keep_in_touch": "Calls",
                    "confidential": "Patients we meet", "share_with_coordinators": "yes",
                    "action": "confirm", "version": "1"},
         fields=("mentor_learning", "mentee_learning", "shared_work", "keep_in_touch",
                 "confidential", "share_with_coordinators", "action", "version"),
         shown_on=(("leader", lambda w: f"/matches/{w.booked.id}/agreement"),
                   ("leader", lambda w: f"/matches/{w.booked.id}"),
                   ("coordinator", lambda w: f"/rounds/{w.booked.round_id}/pair-progress"))),
    Form("confirm the agreement", "leader",
         lambda w: f"/matches/{w.booked.id}/agreement/confirm", lambda w: {"version": "1"},
         fields=("version",), page=lambda w: f"/matches/{w.booked.id}/agreement",
         shown_on=(("coordinator", lambda w: f"/rounds/{w.booked.round_id}/pair-progress"),)),
    Form("check-in", "leader", lambda w: f"/matches/{w.booked.id}/check-in/midpoint",
         lambda w: {"have_met": "yes", "going_well": "partly",
                    "anything_else": "Our diaries clash"},
         fields=("have_met", "going_well", "anything_else"),
         shown_on=(("leader", lambda w: f"/matches/{w.booked.id}/check-in/midpoint"),
                   ("coordinator", lambda w: f"/rounds/{w.booked.round_id}/pair-progress"),
                   ("coordinator", lambda w: f"/rounds/{w.booked.round_id}/you-said-we-did"))),
    Form("raise a concern", "leader", lambda w: f"/matches/{w.match.id}/concern",
         lambda w: {"text": "The visits keep moving"}, fields=("text",),
         shown_on=(("coordinator", _round("/pair-progress")), ("coordinator", _round("/changes")),
                   ("coordinator", _round("/dashboard")))),
    Form("new calendar link", "leader", lambda w: "/calendar/new", page=lambda w: "/calendar"),
    Form("revoke calendar link", "leader", lambda w: "/calendar/revoke",
         page=lambda w: "/calendar"),
    Form("leave a round", "leader", lambda w: f"/my-data/rounds/{w.round.id}/withdraw",
         lambda w: {"reason": "A new job"}, fields=("reason",),
         shown_on=(("coordinator", _round("/participants")),)),
    # A wrong password is counted and audited, as at sign-in (issue 15).
    Form("delete my account", "leader", lambda w: "/my-data/delete",
         lambda w: {"password": TEST_PASSWORD}, fields=("password",),
         writes_when_refused=SIGN_IN_RECORDS),
    # --- rounds and participants (coordinator) ---
    # The two round forms are one view: every field is tried on the edit form (each attempt
    # renders the whole form, about 0.1 s), a few on the new one.
    Form("new round", "coordinator", lambda w: "/rounds/new", lambda w: dict(ROUND_FORM),
         fields=("name", "description", "starts_on[day]", "weight_goals", "reciprocal"),
         shown_on=(("coordinator", lambda w: "/rounds"),)),
    Form("edit round", "coordinator", _round("/edit"), lambda w: dict(ROUND_FORM),
         fields=ROUND_TEXT + ROUND_CHOICES, shown_on=(("coordinator", _round()),)),
    Form("round status", "coordinator", _round("/status"), lambda w: {"action": "close"},
         fields=("action",), page=_round()),
    Form("invite a leader", "coordinator", _round("/participants/invite"),
         lambda w: {"email": "new.leader@example.org", "name": "Nia Newcomer",
                    "profession": "social_worker", "organisation": "Bexley Council",
                    "borough": "bexley"},
         fields=("email", "name", "profession", "organisation", "borough"),
         shown_on=(("coordinator", _round("/participants")),)),
    Form("coordinator's note", "coordinator",
         lambda w: f"/rounds/{w.round.id}/participants/{w.leader_a.id}",
         lambda w: {"text": "Called Ada: Tuesdays suit her best."}, fields=("text",),
         shown_on=(("coordinator", lambda w: f"/rounds/{w.round.id}/participants/"
                                              f"{w.leader_a.id}"),)),
    Form("withdraw on their behalf", "coordinator",
         lambda w: f"/rounds/{w.round.id}/participants/{w.leader_c.id}/withdraw",
         lambda w: {"reason": "Asked to leave by email"}, fields=("reason",)),
    Form("change a profile on their behalf", "coordinator",
         lambda w: f"/rounds/{w.round.id}/participants/{w.leader_a.id}/profile",
         lambda w: {"name": "Ada Leader", "job_title": "", "phone": "", "profession": "gp",
                    "organisation_id": str(w.leader_a.organisation_id or ""),
                    "sector": "primary_care", "borough": "lewisham",
                    "career_stage": "emerging", "mentor_capacity": "0", "wants_mentor": "yes",
                    "can_host": "no", "max_hosted_per_week": "",
                    "protected_hours_per_month": "8", "line_manager_name": "",
                    "line_manager_email": "", "reason": "Asked to correct her hours"},
         fields=("name", "job_title", "protected_hours_per_month", "line_manager_email",
                 "reason"),
         ids=("organisation_id",),
         shown_on=(("coordinator", lambda w: f"/rounds/{w.round.id}/participants/"
                                              f"{w.leader_a.id}"),)),
    Form("import: use the good lines", "coordinator", _round("/participants/import/confirm"),
         lambda w: {"upload": pack(b"email,name\r\nnew.leader@example.org,Nia Newcomer\r\n"),
                    "filename": "leaders.csv"},
         fields=("upload", "filename"), page=_round("/participants/import"),
         shown_on=(("coordinator", _round("/participants")),)),
    Form("send reminders", "coordinator", _round("/readiness/remind"), page=_round("/readiness")),
    Form("add blackout dates", "coordinator", _round("/blackouts"),
         lambda w: {"starts_on[day]": "1", "starts_on[month]": "3", "starts_on[year]": "2027",
                    "ends_on[day]": "5", "ends_on[month]": "3", "ends_on[year]": "2027",
                    "reason": "Winter pressures"},
         fields=("starts_on[day]", "starts_on[month]", "starts_on[year]", "ends_on[day]",
                 "ends_on[month]", "ends_on[year]", "reason"),
         shown_on=(("coordinator", _round("/blackouts")), ("coordinator", _round()),
                   ("leader", _round("/availability")))),
    Form("remove blackout dates", "coordinator", _round("/blackouts/remove"),
         lambda w: {"blackout_id": str(w.blackout.id)}, ids=("blackout_id",),
         page=_round("/blackouts"), shown_on=(("coordinator", _round("/blackouts")),)),
    Form("withdraw an invitation", "coordinator",
         lambda w: f"/rounds/{w.round.id}/invitations/{w.invitation.id}/revoke",
         page=_round("/participants")),
    Form("withdraw a staff invitation", "admin",
         lambda w: f"/admin/invitations/{w.staff_invitation.id}/revoke",
         page=lambda w: "/admin/invite"),
    Form("retry an email", "coordinator", lambda w: f"/notifications/{w.failed_email.id}/retry",
         page=_round("/outbox")),
    # --- matching (coordinator) ---
    Form("start a run", "coordinator", _round("/runs/new"),
         lambda w: {"time_limit": "60", "note": "After the late joiners"},
         fields=("time_limit", "note"), page=_round("/runs"),
         shown_on=(("coordinator", _round("/runs")),)),
    Form("cancel a run", "coordinator", lambda w: f"/rounds/{w.round.id}/runs/{w.run.id}/cancel",
         page=_round("/runs")),
    Form("pin or forbid a pair", "coordinator", _round("/pairs"),
         lambda w: {"rule": "pin", "mentor_id": str(w.leader_b.id),
                    "mentee_id": str(w.leader_c.id), "reason": "They asked to work together",
                    "run_id": str(w.proposal.id), "view": "sort=mentee&page=1"},
         fields=("rule", "reason", "view"), ids=("mentor_id", "mentee_id", "run_id"),
         page=_round("/runs")),
    Form("take a pair out", "coordinator",
         lambda w: f"/rounds/{w.round.id}/runs/{w.proposal.id}/remove",
         lambda w: {"mentor_id": str(w.leader_b.id), "mentee_id": str(w.leader_c.id),
                    "reason": "Conflict of interest", "view": "borough=lambeth"},
         fields=("reason", "view"), ids=("mentor_id", "mentee_id"), page=_round("/runs")),
    Form("keep every pair shown", "coordinator",
         lambda w: f"/rounds/{w.round.id}/runs/{w.proposal.id}/keep-shown",
         lambda w: {"view": "sector=acute&changed=1&page=1"}, fields=("view",),
         page=_round("/runs")),
    Form("approve a run", "coordinator",
         lambda w: f"/rounds/{w.round.id}/runs/{w.proposal.id}/approve",
         lambda w: {"reason": "Checked with both leaders"}, fields=("reason",)),
    Form("re-optimise", "coordinator", _round("/changes/reoptimise"),
         lambda w: {"leader": str(w.leader_a.id), "note": "Ada's match declined"},
         fields=("note",), ids=("leader",), page=_round("/changes"),
         shown_on=(("coordinator", _round("/runs")),)),
    Form("give an offer more time", "coordinator",
         lambda w: f"/rounds/{w.round.id}/offers/{w.match.id}/extend", lambda w: {"days": "5"},
         fields=("days",), page=_round("/changes"),
         shown_on=(("leader", lambda w: f"/matches/{w.match.id}"),)),
    Form("withdraw an offer", "coordinator",
         lambda w: f"/rounds/{w.round.id}/offers/{w.match.id}/withdraw",
         lambda w: {"note": "Your diaries did not line up"}, fields=("note",),
         page=_round("/changes"), shown_on=(("leader", lambda w: f"/matches/{w.match.id}"),)),
    Form("answer a request for another match", "coordinator",
         lambda w: f"/rounds/{w.round.id}/offers/{w.declined.id}/rematch",
         lambda w: {"note": "Everyone else is matched this round"}, fields=("note",),
         page=_round("/changes"), shown_on=(("coordinator", _round("/changes")),)),
    # --- decisions by hand (issue 17), in a round of their own whose dates follow today's ---
    Form("make a pair by hand", "coordinator", _by_hand("/pair"),
         lambda w: {"mentor": str(w.by_hand.mentor.id), "mentee": str(w.by_hand.mentee.id),
                    "exchange-1": w.by_hand.slots[3], "host-1": str(w.by_hand.mentor.id),
                    "exchange-2": w.by_hand.slots[4], "host-2": str(w.by_hand.mentee.id),
                    "note": "They asked to work together"},
         fields=("exchange-1", "host-1", "exchange-2", "host-2", "note"),
         ids=("mentor", "mentee"), also={"exchange-1": SLOT_LOOKALIKES},
         page=lambda w: (f"/rounds/{w.by_hand_round.id}/by-hand/pair?mentor="
                         f"{w.by_hand.mentor.id}&mentee={w.by_hand.mentee.id}"),
         shown_on=BY_HAND_SHOWN_ON),
    Form("move an exchange by hand", "coordinator",
         _by_hand(lambda w: f"/exchanges/{w.by_hand_exchange.id}/move"),
         lambda w: {"slot": w.by_hand.slots[1], "note": "Ola asked to move it"},
         fields=("slot", "note"), also={"slot": SLOT_LOOKALIKES}, shown_on=BY_HAND_SHOWN_ON),
    Form("add an exchange by hand", "coordinator",
         _by_hand(lambda w: f"/matches/{w.by_hand_match.id}/exchanges/new"),
         lambda w: {"slot": w.by_hand.slots[2], "host": str(w.by_hand.offered.id),
                    "note": "In place of the cancelled one"},
         fields=("slot", "host", "note"), also={"slot": SLOT_LOOKALIKES},
         shown_on=BY_HAND_SHOWN_ON),
    Form("you said, we did", "coordinator", _round("/you-said-we-did"),
         lambda w: {"text": "You said: more notice.\n\nWe did: four weeks.", "action": "publish"},
         fields=("text", "action"),
         shown_on=(("leader", _round("/you-said-we-did/read")),
                   ("coordinator", _round("/report")))),
    Form("unpublish you said, we did", "coordinator", _round("/you-said-we-did/unpublish"),
         page=_round("/you-said-we-did")),
    # --- administration (admin) ---
    Form("change role", "admin", lambda w: f"/admin/users/{w.leader_c.user.id}/role",
         lambda w: {"role": "coordinator", "reason": "Runs the Bexley round"},
         fields=("role", "reason"),
         shown_on=(("admin", lambda w: f"/admin/users/{w.leader_c.user.id}"),
                   ("admin", lambda w: "/admin/audit"))),
    Form("deactivate", "admin", lambda w: f"/admin/users/{w.leader_c.user.id}/deactivate",
         lambda w: {"reason": "Left the NHS"}, fields=("reason",),
         shown_on=(("admin", lambda w: "/admin/audit"),)),
    Form("reactivate", "admin", lambda w: f"/admin/users/{w.inactive.id}/reactivate",
         lambda w: {"reason": "Back from leave"}, fields=("reason",),
         shown_on=(("admin", lambda w: "/admin/audit"),)),
    Form("reset a second factor", "admin",
         lambda w: f"/admin/users/{w.leader_c.user.id}/second-factor/reset",
         lambda w: {"reason": "Lost their phone and codes"}, fields=("reason",)),
    Form("sign a user out", "admin", lambda w: f"/admin/users/{w.leader_c.user.id}/sign-out",
         lambda w: {"reason": "Lost laptop"}, fields=("reason",),
         shown_on=(("admin", lambda w: "/admin/audit"),)),
    Form("invite staff", "admin", lambda w: "/admin/invite",
         lambda w: {"email": "new.coordinator@example.org", "role": "coordinator"},
         fields=("email", "role"), shown_on=(("admin", lambda w: "/admin/invite"),)),
    # --- the configuration (issue 19) ---
    Form("add a term", "admin", lambda w: "/admin/configuration/sector/add",
         lambda w: {"label": "Ambulance service", "phrase": "an ambulance service"},
         fields=("label", "phrase"),
         shown_on=(("admin", lambda w: "/admin/configuration/sector"),
                   ("leader", lambda w: "/profile/organisation"))),
    Form("relabel a term", "admin", lambda w: "/admin/configuration/profession/24",
         lambda w: {"label": "Registered nurse", "priority": "yes"}, fields=("label",),
         also={"priority": ("no", "")},
         shown_on=(("admin", lambda w: "/admin/configuration/profession"),
                   ("leader", lambda w: "/profile/profession"))),
    Form("retire a term", "admin", lambda w: "/admin/configuration/topic/45/retire",
         lambda w: {"retired": "yes"}, fields=("retired",),
         page=lambda w: "/admin/configuration/topic/45",
         shown_on=(("admin", lambda w: "/admin/configuration/topic"),
                   ("leader", lambda w: "/profile/strengths"))),
    Form("programme text", "admin", lambda w: "/admin/configuration/programme",
         lambda w: PROGRAMME_TEXT, fields=("service_name", "contact_email", "dpo_contact"),
         shown_on=(("anonymous", lambda w: "/privacy"), ("admin", lambda w: "/home"))),
    Form("import a configuration", "admin", lambda w: "/admin/configuration/import/confirm",
         lambda w: {"upload": pack(NORTH_EAST.read_bytes())}, fields=("upload",),
         page=lambda w: "/admin/configuration/import",
         shown_on=(("admin", lambda w: "/admin/configuration"),
                   ("leader", lambda w: "/profile/organisation"))),
    # --- the host's checks (issue 14) ---
    Form("what an organisation needs before a visit", "coordinator",
         lambda w: f"/admin/organisations/{w.organisation.id}",
         lambda w: {"access_route": "letter_of_access", "notice_weeks": "4",
                    "host_checks": ["confidentiality", "dbs"]},
         fields=("access_route", "notice_weeks", "host_checks"),
         also={"notice_weeks": ("27", "-1", "2.5")},
         shown_on=(("coordinator", lambda w: "/admin/organisations"),
                   ("leader", lambda w: f"/exchanges/{w.past_exchange.id}"))),
    Form("the host confirms their checks", "leader",
         lambda w: f"/exchanges/{w.past_exchange.id}/checks",
         lambda w: {"confirmed": ["escorted_visitor", "photo_id"]}, fields=("confirmed",),
         page=lambda w: f"/exchanges/{w.past_exchange.id}",
         shown_on=(("leader", lambda w: f"/exchanges/{w.past_exchange.id}"),)),
    Form("a coordinator confirms a host's checks", "coordinator",
         lambda w: f"/rounds/{w.round.id}/exchanges/{w.exchange.id}/checks",
         lambda w: {"confirmed": ["escorted_visitor"]}, fields=("confirmed",),
         shown_on=(("leader", lambda w: f"/exchanges/{w.exchange.id}"),
                   ("coordinator", _round("/changes")))),
]


SETUP = "/account/second-factor/setup"


def setup_code(client) -> str:
    """The code an authenticator app shows for the key on the leader's setup page."""
    import pyotp

    page = client.get(SETUP).get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    return pyotp.TOTP(secret).now()


def pack(data: bytes) -> str:
    """A file as the import page's hidden field carries it to the confirm step."""
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def test_every_form_is_in_the_table(app):
    """A new POST route must be added to FORMS, so that it is tried with hostile input."""
    tried = {form_endpoint(app, form) for form in FORMS}
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    # Uploads and a download of the bad lines (the upload and forged-file tests below cover
    # those), the start of single sign-on and of confirming it is you with the provider (their
    # one field, `next`, is tried in test_oidc: it leads to the provider), and the
    # passkeys' JSON endpoints with hostile JSON in tests/test_second_factor.py (a valid answer
    # needs an authenticator).
    assert posts - tried == {"rounds.import_csv", "configuration.import_file",
                             "rounds.import_rejected_lines", "oidc.start",
                             "oidc.confirm_start",
                             "second_factor.passkey_registration_options",
                             "second_factor.add_passkey", "second_factor.passkey_request_options",
                             "second_factor.sign_in_with_passkey",
                             "second_factor.confirm_passkey_options",
                             "second_factor.confirm_with_passkey"}


def form_endpoint(app, form: Form) -> str:
    world = SimpleNamespace(**{name: SimpleNamespace(id=1, user=SimpleNamespace(id=1, email=""))
                               for name in WORLD_OBJECTS}, reset_path="/reset-password/t",
                            link_path="/sign-in/link/t", join_path="/join/t",
                            release_path="/release/t", verify_path="/verify/t")
    path = form.url(world).split("?")[0]
    adapter = app.url_map.bind("localhost")
    return adapter.match(path, method="POST")[0]


WORLD_OBJECTS = ("leader_a", "leader_b", "leader_c", "round", "other_round", "match", "declined",
                 "reflection",
                 "invitation", "staff_invitation",
                 "booked", "exchange", "blackout", "hosted_exchange",
                 "past_exchange", "run", "proposal", "failed_email", "inactive", "organisation",
                 "by_hand_round", "by_hand_match", "by_hand_exchange")


# --- the world, the clients and the checks --------------------------------------------------


@pytest.fixture(name="world")
def hostile_world(app, factory, leader, coordinator, admin):
    """The crawl's world (leader B mentors leader A: an exchange to come, one past, a run), plus
    leader C (a mentee a second run proposes for B), another open round, a deactivated user,
    a failed email, links for C (password reset, sign-in) and for an invitation, and a round
    for decisions by hand."""
    programme_round = factory.programme_round(name="Hostile round")
    # Leader A hosts visits, so the profile asks them for their visit details.
    leader.can_host, leader.max_hosted_per_week = True, 1
    leader.visit_site, leader.visit_address = "Hilly Fields Surgery", "1 Hilly Fields Crescent"
    leader_b = factory.mentor(email="leader.b@example.org", name="Ben Mentor", sector="acute")
    leader_c = factory.leader(email="leader.c@example.org", name="Cy Mentee",
                              sector="mental_health")
    for person in (leader, leader_b, leader_c):
        factory.participant(programme_round, person)
    crawl = leader_a_matched(factory, leader, leader_b, programme_round)
    proposal = stored_run(factory.session, programme_round, leader_b, leader_c)
    # Leader D declined Ben and asked for another match: a request a coordinator answers.
    leader_d = factory.leader(email="leader.d@example.org", name="Di Declined")
    factory.participant(programme_round, leader_d)
    declined = factory.match(programme_round, leader_b, leader_d, status="declined",
                             declined_by_id=leader_d.id, wants_different_match=True,
                             rematch="requested", decline_reason="We work together")
    inactive = factory.user(email="gone@example.org", is_active=False)
    blackout = factory._save(RoundBlackout(round_id=programme_round.id, reason="Half term",
                                           starts_on=date(2027, 2, 15), ends_on=date(2027, 2, 19)))
    failed_email = Notification(
        idempotency_key="hostile:failed", kind="round_reminder",
        recipient_email=leader.user.email, round_id=programme_round.id, subject="Reminder",
        body_text="Hello", status="failed", attempts=5, last_error="550 mailbox unavailable")
    factory.session.add(failed_email)
    factory.session.flush()
    clients = {
        "anonymous": app.test_client(),
        "leader": SignedIn(app, leader.user).client,
        "coordinator": SignedIn(app, coordinator).client,
        "admin": SignedIn(app, admin).client,
    }
    # Links are made after the sign-ins above: a sign-in spends a sign-in link.
    settings = app.extensions["mentoring.settings"]
    links = joining.Links(secret=settings.secret_key, base_url="")
    joining.request_password_reset(factory.session, links, leader_c.user.email)
    joining.request_sign_in_link(factory.session, links, leader_c.user.email)
    joining.register(factory.session, links, "new.person@example.org")
    invitation = joining.invite(factory.session, links, "ivy.invited@example.org",
                                invited_by=coordinator, programme_round=programme_round,
                                prefill={"name": "Ivy Invited"})
    staff_invitation = joining.invite(factory.session, links, "sam.staff@example.org",
                                      invited_by=admin, prefill={"account_role": "coordinator"})
    # Leader A's booked match with leader D, in another round, one that asks line managers to
    # release the time (issue 14): this round's proposals stay as they were.
    booked = _booked_with_release(factory, leader, leader_d)
    # Their agreement (issue 20): a draft neither has confirmed yet.
    factory.session.add(PairAgreement(match_id=booked.id, shared_work="Map one pathway"))
    factory.session.flush()
    return SimpleNamespace(
        leader_a=leader, leader_b=leader_b, leader_c=leader_c, round=programme_round,
        other_round=factory.programme_round(name="Another round"),
        proposal=proposal, inactive=inactive, declined=declined, failed_email=failed_email,
        blackout=blackout, invitation=invitation, staff_invitation=staff_invitation,
        clients=clients, organisation=factory.session.get(Organisation, leader.organisation_id),
        reset_path=_link(factory.session, "/reset-password/"),
        link_path=_link(factory.session, "/sign-in/link/"),
        verify_path=_link(factory.session, "/verify/"),
        join_path=_link(factory.session, "/join/"),
        release_path=_link(factory.session, "/release/"), booked=booked, **crawl,
        **_decided_by_hand(factory, coordinator))


def _decided_by_hand(factory, coordinator) -> dict:
    """A round for decisions by hand (issue 17), starting some weeks after today so that its
    half-days are still to come and past its hosts' notice (two weeks in primary care) whenever
    the test runs. Maya mentors Ola in a pair made by hand and booked; one of its two exchanges
    was cancelled, so the pair has one to move and one to add. Ned has no mentor yet. `slots`
    are the round's open mornings (no bank holiday), all three free in each: the first is the
    booked exchange's."""
    from datetime import timedelta

    from mentoring.calendar_days import closed_days
    from mentoring.exchanges.services import cancel_and_release
    from mentoring.matching import by_hand
    from mentoring.matching.problem import slot_id
    from mentoring.models import Availability, utcnow
    from mentoring.offers.services import accept_offer
    from mentoring.slots import weekdays

    db, now = factory.session, utcnow()
    today = now.date()
    starts_on = today + timedelta(weeks=6, days=7 - today.weekday())  # a Monday
    # Generous limits: the spacing, hosting and protected-time rules are tested in test_by_hand.
    programme_round = factory.programme_round(
        name="By-hand round", starts_on=starts_on, exchanges_per_pair=2,
        min_days_between_exchanges=0)
    hosts = {"can_host": True, "max_hosted_per_week": 10, "protected_hours_per_month": 160}
    mentor = factory.mentor(email="maya.mentor@example.org", name="Maya Mentor", **hosts)
    offered = factory.leader(email="ola.offered@example.org", name="Ola Offered", **hosts)
    mentee = factory.leader(email="ned.mentee@example.org", name="Ned Mentee", **hosts)
    closed = closed_days(db, programme_round)
    days = [day for day in weekdays(starts_on, starts_on + timedelta(weeks=8)) if day not in closed]
    for person in (mentor, offered, mentee):
        factory.participant(programme_round, person)
        db.add_all(Availability(round_id=programme_round.id, leader_id=person.id, day=day,
                                period=period) for day in days for period in ("am", "pm"))
    db.flush()
    slots = [slot_id(day, "am") for day in days]
    match = by_hand.make_pair(
        db, programme_round, coordinator, by_hand.Pair(mentor.id, offered.id),
        [by_hand.Planned(mentor.id, offered.id, slots[0]),
         by_hand.Planned(offered.id, mentor.id, slot_id(days[0], "pm"))], now)
    for person in (mentor, offered):
        accept_offer(db, person, person.user, match.id, now)
    kept, cancelled = by_hand.pair_exchanges(db, match).exchanges
    cancel_and_release(db, cancelled, "Ola is on a course", now, cause="leader")
    db.flush()
    return {"by_hand_round": programme_round, "by_hand_match": match, "by_hand_exchange": kept,
            "by_hand": SimpleNamespace(mentor=mentor, mentee=mentee, offered=offered,
                                       slots=slots)}


def _booked_with_release(factory, leader_a, partner):
    """Leader A mentors `partner` in a booked match; leader A's line manager has been asked to
    release the time."""
    from datetime import UTC, datetime

    from mentoring.releases.services import request_releases

    programme_round = factory.programme_round(name="Release round",
                                              ask_line_manager_release=True)
    for person in (leader_a, partner):
        factory.participant(programme_round, person)
    leader_a.line_manager_name, leader_a.line_manager_email = "Helen Okafor", "h.okafor@nhs.net"
    factory.session.add(leader_a)
    match = factory.match(programme_round, leader_a, partner, status="accepted")
    factory.exchange(match, datetime(2030, 4, 2, 8, 0, tzinfo=UTC), host_id=partner.id,
                     visitor_id=leader_a.id, status="scheduled")
    request_releases(factory.session, match, datetime(2030, 3, 1, tzinfo=UTC))
    return match


def _link(db, prefix: str) -> str:
    bodies = db.exec(select(Notification.body_text)).all()
    found = [m.group(0) for body in bodies for m in re.finditer(re.escape(prefix) + r"\S+", body)]
    assert found, f"no email with a {prefix} link"
    return found[-1]


# The visitor's own session, held on the server since issue 15, changes as a cookie did
# (Flask-Login marks a session not fresh, a message waits to be shown): not stored input.
SESSION_ROWS = ("user_session",)


def snapshot(connection, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Every row of every table, as text: what 'nothing stored' is checked against."""
    return {
        table.name: sorted(repr(tuple(row)) for row in connection.execute(sa.select(table)))
        for table in SQLModel.metadata.sorted_tables
        if table.name not in skip + SESSION_ROWS
    }


@contextmanager
def rolled_back(connection, client) -> Iterator[None]:
    """Undo an attempt: its rows (a savepoint) and what it did to the client's session."""
    cookie = client.get_cookie("session")
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        if cookie is None:
            client.delete_cookie("session")
        else:
            client.set_cookie("session", cookie.value)


def admins(connection) -> int:
    return connection.execute(
        sa.select(sa.func.count()).select_from(User).where(User.role == "admin")
    ).scalar_one()


@dataclass
class Attempt:
    """What one attempt sent, for the failure report."""

    form: Form
    what: str
    input_name: str = ""
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        where = self.input_name or "(the form)"
        self.problems.append(f"{self.form} / {where} / {self.what}: {message}")


class Checker:
    def __init__(self, connection, world, form: Form) -> None:
        self.connection = connection
        self.world = world
        self.form = form
        self.client = world.clients[form.role]
        self.url = form.url(world)
        page = self.client.get((form.page or form.url)(world))
        assert page.status_code == 200, f"{form}: its page answers {page.status_code}"
        self.token = csrf_token(page.get_data(as_text=True))
        self.before = snapshot(connection)
        self.problems: list[str] = []

    def payload(self) -> dict:
        return {"csrf_token": self.token, **self.form.valid(self.world)}

    def send(self, attempt: Attempt, post: Callable, *, expect_accepted: bool = False) -> None:
        with rolled_back(self.connection, self.client):
            try:
                response = post(self.client)
            except Exception as exc:  # TESTING propagates a server error as the exception
                attempt.fail(f"server error {type(exc).__name__}: {exc}"[:400])
            else:
                self.check(attempt, response, expect_accepted=expect_accepted)
        self.problems += attempt.problems

    def check(self, attempt: Attempt, response, *, expect_accepted: bool) -> None:
        status = response.status_code
        html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        allowed = {400, 413} | ({404} if attempt.input_name in self.form.ids else set())
        if status >= 500 or (status >= 400 and status not in allowed):
            attempt.fail(f"answered {status}")
        if expect_accepted and (status >= 400 or "nhsuk-error-summary" in html):
            attempt.fail(f"the valid payload was refused ({status})")
        if status == 400 and "nhsuk-error-summary" not in html:
            if attempt.input_name and attempt.input_name not in self.form.ids:
                attempt.fail("400 without the NHS.UK error summary")
            elif "There is a problem" not in html and "Your form expired" not in html:
                attempt.fail("400 without a message")
        if status >= 400:
            after = snapshot(self.connection, skip=self.form.writes_when_refused)
            before = {name: rows for name, rows in self.before.items() if name in after}
            changed = sorted(name for name in after if after[name] != before[name])
            if changed:
                attempt.fail(f"refused ({status}) but changed {', '.join(changed)}")
        for raw in RAW_MARKUP:
            if raw in html:
                attempt.fail(f"the answer contains {raw!r} unescaped")
        if status < 400:
            for role, url in self.form.shown_on:
                shown = self.world.clients[role].get(url(self.world))
                text = shown.get_data(as_text=True)
                if shown.status_code >= 500 or any(raw in text for raw in RAW_MARKUP):
                    attempt.fail(f"afterwards {url(self.world)} as {role} answers "
                                 f"{shown.status_code} or shows markup unescaped")
        if admins(self.connection) != self.world.admins:
            attempt.fail("the number of admins changed")


def with_value(payload: dict, name: str, value) -> dict:
    payload = dict(payload)
    if value is None:
        payload.pop(name, None)
    else:
        payload[name] = value
    return payload


def raw_body(payload: dict, name: str, encoded: str) -> bytes:
    pairs = [(key, item) for key, value in payload.items() if key != name
             for item in (value if isinstance(value, list) else [value])]
    return f"{urlencode(pairs)}&{quote(name)}={encoded}".encode("ascii")


@pytest.mark.parametrize("form", FORMS, ids=str)
def test_hostile_input_never_breaks_a_form(connection, world, form):
    world.admins = admins(connection)
    checker = Checker(connection, world, form)
    url = checker.url
    checker.send(Attempt(form, "the valid payload"),
                 lambda client: client.post(url, data=checker.payload()), expect_accepted=True)
    for name in form.fields + form.ids:
        values = {**HOSTILE_VALUES, **{repr(v)[:40]: v for v in form.also.get(name, ())}}
        for label, value in values.items():
            payload = with_value(checker.payload(), name, value)
            checker.send(Attempt(form, label, name),
                         lambda client, payload=payload: client.post(url, data=payload))
        for label, encoded in RAW_VALUES.items():
            body = raw_body(checker.payload(), name, encoded)
            checker.send(Attempt(form, label, name), lambda client, body=body: client.post(
                url, data=body, content_type="application/x-www-form-urlencoded"))
    extra = {key: value for key, value in EXTRA_FIELDS.items() if key not in checker.payload()}
    checker.send(Attempt(form, "extra fields"),
                 lambda client: client.post(url, data={**checker.payload(), **extra}))
    checker.send(Attempt(form, "a JSON body"),
                 lambda client: client.post(url, json=checker.payload()))
    checker.send(Attempt(form, "a text/plain body"), lambda client: client.post(
        url, data=urlencode(checker.payload(), doseq=True), content_type="text/plain"))
    checker.send(Attempt(form, "multipart instead of urlencoded"), lambda client: client.post(
        url, data=checker.payload(), content_type="multipart/form-data"))
    checker.send(Attempt(form, "only the CSRF token"),
                 lambda client: client.post(url, data={"csrf_token": checker.token}))
    assert not checker.problems, "\n".join(checker.problems)


# --- the CSV upload --------------------------------------------------------------------------

HEADER = b"email,name,profession,organisation,borough\r\n"


@pytest.fixture
def upload(connection, world):
    """Posts a file to the import page as the coordinator; checks the answer's invariants."""
    client = world.clients["coordinator"]
    url = f"/rounds/{world.round.id}/participants/import"
    token = csrf_token(client.get(url).get_data(as_text=True))
    before = snapshot(connection)

    def post(data: bytes | None, filename: str = "leaders.csv", *, status: int = 400,
             message: str = "", content_type: str = "text/csv"):
        form = {"csrf_token": token}
        if data is not None:
            form["file"] = FileStorage(io.BytesIO(data), filename, content_type=content_type)
        # Encoded here, in memory: the test client spools a large body to a file it never closes.
        boundary, body = encode_multipart(form)
        response = client.post(url, data=body,
                               content_type=f"multipart/form-data; boundary={boundary}")
        html = response.get_data(as_text=True)
        assert response.status_code == status, html[:2000]
        assert message in html
        assert not any(raw in html for raw in RAW_MARKUP)
        if status >= 400:
            assert snapshot(connection) == before, "a refused upload stored something"
        if status == 400:
            assert "nhsuk-error-summary" in html
        return html

    return post


def test_a_file_that_is_not_a_csv_is_refused(upload):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
    upload(png, "photo.png", message="The file must be a CSV file", content_type="image/png")
    upload(png, "photo.csv", message="it looks like a spreadsheet or a document",
           content_type="image/png")
    upload(b"PK\x03\x04" + bytes(100), "leaders.csv", message="it looks like a spreadsheet")


def test_a_file_over_the_request_limit_gets_the_413_page(upload):
    html = upload(HEADER + b"x" * (6 * 1024 * 1024), status=413)
    assert "The file you sent is too large" in html


def test_a_file_over_the_import_limit_is_refused_with_its_limit(upload):
    upload(HEADER + b"a@example.org,Name,,,\r\n" * 60_000, message="smaller than 1 MB")


def test_a_csv_of_100000_lines_is_refused_and_nothing_is_imported(upload):
    upload(HEADER + b"a@b.c\n" * 100_000,
           message="The file has 100,000 leaders; the limit is 5,000")


def test_a_csv_that_is_not_utf8_is_refused_with_its_line(upload):
    latin1 = HEADER + "ok@example.org,Ok,,,\r\nzoe@example.org,Zoë Ødegård,,,\r\n".encode("latin-1")
    upload(latin1, message="The file is not saved as UTF-8 (line 3")
    upload("email\r\nok@example.org\r\n".encode("utf-16"), message="saved as UTF-16")


def test_a_nul_byte_anywhere_in_a_csv_is_refused_and_nothing_is_imported(upload):
    # Past the first 4 KB, where the binary-file check looks: PostgreSQL cannot store it.
    filler = b"".join(b"person%d@example.org,Person %d,,,\r\n" % (n, n) for n in range(200))
    upload(HEADER + filler + b"nul@example.org,Nu\x00l,,,\r\n",
           message="Line 202 of the file has a NUL character")


def test_an_empty_or_missing_file_is_refused(upload):
    upload(None, message="Choose a CSV file to upload")
    upload(b"", "", message="Choose a CSV file to upload")
    upload(b"", message="The file is empty")
    upload(HEADER, message="no leaders")
    upload(b"name;organisation\r\nx;Guy's\r\n", message="there is no &#39;email&#39; column")


def test_markup_in_a_csv_is_shown_escaped_wherever_it_goes(upload, world):
    rows = io.StringIO()
    csv.writer(rows).writerows([["good@example.org", SCRIPT, "", BREAKOUT, ""],
                                [f"{BREAKOUT}@example.org", "Bad", SCRIPT, "", ""]])
    html = upload(HEADER + rows.getvalue().encode(), "<b>leaders</b>.csv",
                  message="Unknown profession &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;")
    token = csrf_token(html)
    packed = re.search(r'name="upload" value="([^"]+)"', html).group(1)
    client = world.clients["coordinator"]
    done = client.post(f"/rounds/{world.round.id}/participants/import/confirm",
                       data={"csrf_token": token, "upload": packed, "filename": SCRIPT + ".csv"})
    assert done.status_code == 200
    participants = client.get(f"/rounds/{world.round.id}/participants").get_data(as_text=True)
    assert "good@example.org" in participants
    for text in (done.get_data(as_text=True), participants):
        assert not any(raw in text for raw in RAW_MARKUP)


def test_a_forged_confirm_step_is_refused(connection, world):
    """The confirm step's hidden field carries the file back: junk, a zip bomb or a file over
    the limit is refused, and nothing is imported."""
    client = world.clients["coordinator"]
    url = f"/rounds/{world.round.id}/participants/import/confirm"
    token = csrf_token(client.get(f"/rounds/{world.round.id}/participants/import")
                       .get_data(as_text=True))
    before = snapshot(connection)
    bomb = pack(HEADER + b"a@example.org,,,,\r\n" + b" " * (20 * 1024 * 1024))
    rejected = f"/rounds/{world.round.id}/participants/import/rejected"
    for forged in ("", "not base64!", base64.b64encode(b"not zlib").decode(), bomb,
                   pack(b"\xff\xfe" + HEADER), "A" * 400_000):
        for target in (url, rejected):
            response = client.post(target, data={"csrf_token": token, "upload": forged,
                                                 "filename": "leaders.csv"})
            assert response.status_code == 400
            assert "We could not read the file again" in response.get_data(as_text=True)
            assert snapshot(connection) == before


# --- query parameters and ids in addresses ----------------------------------------------------

AUDIT_DATES = {"since-day": "1", "since-month": "1", "since-year": "2024",
               "until-day": "31", "until-month": "12", "until-year": "2030"}


@dataclass(frozen=True)
class Query:
    role: str
    url: Callable
    params: tuple[str, ...]
    base: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.url(SimpleNamespace(round=SimpleNamespace(id="R"),
                                        run=SimpleNamespace(id="N")))


QUERIES = [
    Query("admin", lambda w: "/admin/audit",
          ("action", "actor", "object_type", "object_id", *AUDIT_DATES, "before", "after"),
          base=AUDIT_DATES),
    Query("admin", lambda w: "/admin/audit.csv",
          ("action", "actor", "object_type", "object_id", *AUDIT_DATES), base=AUDIT_DATES),
    Query("admin", lambda w: "/admin/users", ("email", "role", "status", "page")),
    Query("coordinator", lambda w: f"/rounds/{w.round.id}/runs/{w.run.id}",
          ("borough", "sector", "profession", "changed", "sort", "page")),
    Query("coordinator", lambda w: f"/rounds/{w.round.id}/runs/compare", ("a", "b"),
          base={"a": "RUN", "b": "RUN"}),
    Query("anonymous", lambda w: "/sign-in", ("next",)),
    Query("leader", lambda w: "/sign-in/confirm", ("next",)),
]


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_hostile_query_parameters_never_break_a_page(connection, world, query):
    client = world.clients[query.role]
    url = query.url(world)
    base = {key: str(world.run.id) if value == "RUN" else value
            for key, value in query.base.items()}
    problems = []
    for name in query.params:
        attempts = {label: with_value(base, name, value) for label, value in HOSTILE_VALUES.items()}
        for label, params in attempts.items():
            with rolled_back(connection, client):
                try:
                    response = client.get(url, query_string=params)
                except Exception as exc:
                    problems.append(f"{name} / {label}: {type(exc).__name__}: {exc}"[:300])
                    continue
            html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
            if response.status_code not in (200, 302, 400, 404):
                problems.append(f"{name} / {label}: answered {response.status_code}")
            if response.status_code == 400 and "nhsuk-error-summary" not in html:
                problems.append(f"{name} / {label}: 400 without the NHS.UK error summary")
            if any(raw in html for raw in RAW_MARKUP):
                problems.append(f"{name} / {label}: markup comes back unescaped")
        for label, encoded in RAW_VALUES.items():
            with rolled_back(connection, client):
                response = client.get(f"{url}?{urlencode(base)}&{quote(name)}={encoded}")
            if response.status_code >= 500:
                problems.append(f"{name} / {label}: answered {response.status_code}")
    assert not problems, "\n".join(problems)


def test_ids_too_large_for_any_row_are_not_found(app, world):
    """Every address with a number in it: a number no row can have is a 404, not an overflow
    (SQLite's integers stop at 64 bits, Python's int() at 4,300 digits)."""
    from pages import PAGES

    access = {page.endpoint: page for page in PAGES}
    problems = []
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        page = access.get(rule.endpoint)
        role = next((role for role in ("leader", "coordinator", "admin")
                     if page is None or page.allows(role)), "admin")
        for huge in ("9" * 20, "9" * 5000):
            path = re.sub(r"<int:\w+>", huge, rule.rule)
            path = re.sub(r"<any\((\w+)[^>]*>", r"\1", path)
            path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
            method = "GET" if "GET" in (rule.methods or ()) else "POST"
            try:
                response = world.clients[role].open(path, method=method)
            except Exception as exc:
                problems.append(f"{method} {path[:60]}…: {type(exc).__name__}: {exc}"[:300])
                continue
            if response.status_code not in (400, 403, 404):
                problems.append(f"{method} {path[:60]}… as {role}: {response.status_code}")
    assert not problems, "\n".join(problems)


# --- what the profile's draft keeps must also save ----------------------------------------------


@pytest.mark.parametrize(("answers", "message"), [
    ({"organisation_id": "new", "new_organisation": "x" * 161},
     "Enter no more than 160 characters"),
    ({"organisation_id": "new", "new_organisation": "x"}, "Enter at least 2 characters"),
    ({"organisation_id": "\u00b2"}, "Select your organisation from the list"),
    ({"organisation_id": "9" * 40}, "Select your organisation from the list"),
])
def test_an_organisation_answer_that_cannot_be_saved_is_refused_on_its_page(
        connection, world, answers, message):
    """The question pages keep answers in a draft that is saved at the end: an answer the save
    would refuse (a server error on 'Save') is refused on its own page, beside the field."""
    client = world.clients["leader"]
    token = csrf_token(client.get("/profile/organisation").get_data(as_text=True))
    before = snapshot(connection)
    step = client.post("/profile/organisation", data={
        "csrf_token": token, "sector": "primary_care", "borough": "lewisham", **answers})
    html = step.get_data(as_text=True)
    assert step.status_code == 400 and "nhsuk-error-summary" in html
    assert message in html
    assert client.get("/profile/check").status_code == 200
    assert client.post("/profile/check", data={"csrf_token": token}).status_code == 302
    assert snapshot(connection)["organisation"] == before["organisation"]
    assert connection.execute(
        sa.select(LeaderProfile.organisation_id).where(LeaderProfile.id == world.leader_a.id)
    ).scalar_one() == world.leader_a.organisation_id


def test_long_answers_in_any_script_fit_in_the_session(world):
    client = world.clients["leader"]
    rng = random.Random(8)
    han = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(500))  # CJK ideographs
    for slug, answers in (("about-you", {"name": han[:120], "job_title": han[120:280]}),
                          ("strengths", {"strengths": "system_leadership",
                                         "strengths_other": han}),
                          ("goals", {"goals": "population_health", "goals_other": han[::-1]})):
        token = csrf_token(client.get(f"/profile/{slug}").get_data(as_text=True))
        response = client.post(f"/profile/{slug}", data={"csrf_token": token, **answers})
        assert response.status_code == 302
    assert han[:120] in client.get("/profile/check").get_data(as_text=True)
