"""Programme rounds: the form's rules, creating and editing a round, and its status. No Flask here.

A round's form arrives as plain strings (`read_round_form`), is validated by the data model
`ProgrammeRoundCreate` plus the few rules that need more than one field (`validate_round`), and
is saved by `create_round` / `update_round`. Every change is audited in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, delete, select

from mentoring import audit
from mentoring.configuration import vocabularies
from mentoring.insights.figures import invited_counts
from mentoring.models import (
    DEFAULT_ANSWER_WITHIN_DAYS,
    Availability,
    Match,
    ProgrammeRound,
    ProgrammeRoundCreate,
    RoundParticipant,
    User,
    utcnow,
)
from mentoring.releases.services import request_for_round
from mentoring.slots import weekdays
from mentoring.vocab import (
    MatchStatus,
    ParticipantStatus,
    Reciprocity,
    RoundStatus,
)
from optimiser import ScoreWeights

# The rules (everything but the name and description) may change only before publication.
RULES_EDITABLE = (RoundStatus.DRAFT, RoundStatus.OPEN)
# Editable at any time, even once matches are published: the round's words, its programme
# contact, its timeline, how long leaders have to answer an offer, and whether line managers
# are asked to release the time (turning it on asks for the matches already booked).
TEXT_FIELDS = ("name", "description", "contact_name", "contact_email", "answer_within_days",
               "joining_closes_on", "matching_on", "offers_on", "ask_line_manager_release")
TIMELINE_FIELDS = {"joining_closes_on": "joining closes", "matching_on": "matching starts",
                   "offers_on": "match offers go out"}
RULE_FIELDS = (
    "starts_on", "ends_on", "slot_pattern", "exchanges_per_pair", "min_days_between_exchanges",
    "reciprocal", "allow_same_organisation", "weights", "priority_professions",
    "priority_floor",
)
LONGEST_WINDOW = timedelta(days=366)
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
WEIGHT_RANGE = (0.0, 10.0)
# Matches that a coordinator has approved at some point: the round has been published.
PUBLISHED_MATCH_STATUSES = (
    MatchStatus.OFFERED, MatchStatus.ACCEPTED, MatchStatus.DECLINED, MatchStatus.CANCELLED
)


class RoundError(ValueError):
    """A round that cannot be saved or changed; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else errors
        super().__init__("; ".join(self.errors.values()))


# --- weights, in plain language ------------------------------------------------------------


@dataclass(frozen=True)
class WeightInfo:
    name: str
    label: str
    explanation: str
    short: str  # for the preview sentence: "<short> counts most"


WEIGHTS: tuple[WeightInfo, ...] = (
    WeightInfo(
        "goals", "Goals and strengths",
        "Higher values favour pairs where the mentor's strengths cover what the mentee wants to "
        "develop. A pair earns the full weight when every goal is covered, half when half are.",
        "matching mentees' goals to mentors' strengths",
    ),
    WeightInfo(
        "cross_profession", "Different professions",
        "Higher values favour pairs from different professions, for example a GP with a "
        "community pharmacist.",
        "crossing professions",
    ),
    WeightInfo(
        "cross_sector", "Different sectors",
        "Higher values favour pairs from different sectors, for example an acute trust with a "
        "voluntary group.",
        "crossing sectors",
    ),
    WeightInfo(
        "cross_organisation", "Different organisations",
        "Higher values favour pairs from different organisations, even within one sector.",
        "crossing organisations",
    ),
    WeightInfo(
        "same_borough", "Same borough",
        "Higher values favour pairs who work in the same borough, so visits mean less travel.",
        "working in the same borough",
    ),
)
WEIGHT_NAMES = tuple(field.name for field in fields(ScoreWeights))
assert tuple(info.name for info in WEIGHTS) == WEIGHT_NAMES, "explain every optimiser weight"


def weights_summary(weights: Mapping[str, float]) -> list[str]:
    """Sentences on the balance of the weights: which factors dominate, which play no part.

    Honest about what weights can do: they choose between possible pairs, but each pair is worth
    100 points and each priority-group mentee 50 more, so no weighting makes the optimiser form
    fewer pairs or leave out a priority-group mentee to gain score.
    """
    values = {info.name: float(weights.get(info.name, 0) or 0) for info in WEIGHTS}
    total = sum(values.values())
    closing = ("Whatever the weights, the optimiser first forms as many pairs as it can and "
               "matches priority groups first; the weights decide which pairs those are.")
    if total == 0:
        return ["Every weight is 0: all pairs score the same, so the optimiser only counts "
                "pairs and priority-group mentees.", closing]
    by_name = {info.name: info for info in WEIGHTS}
    ranked = sorted(values.items(), key=lambda item: -item[1])
    share = {name: round(100 * value / total) for name, value in values.items()}
    top_name, top_value = ranked[0]
    top = by_name[top_name].short
    sentences = []
    if top_value > total - top_value:
        sentences.append(f"{top.capitalize()} outweighs all the other factors together "
                         f"({share[top_name]}% of the points).")
    else:
        leaders = [name for name, value in ranked if value == top_value]
        if len(leaders) > 1:
            named = _and([by_name[name].short for name in leaders])
            sentences.append(f"{named.capitalize()} count most, equally "
                             f"({share[top_name]}% of the points each).")
        else:
            second_name, _ = ranked[1]
            sentences.append(
                f"{top.capitalize()} counts most ({share[top_name]}% of the points), then "
                f"{by_name[second_name].short} ({share[second_name]}%)."
            )
    zero = [by_name[name].short for name, value in ranked if value == 0]
    positive = [(name, value) for name, value in ranked if value > 0]
    if zero:
        sentences.append(f"{_and(zero).capitalize()} play{'s' if len(zero) == 1 else ''} "
                         "no part.")
    elif len(positive) > 2 and positive[-1][1] < positive[-2][1]:
        least = positive[-1][0]
        sentences.append(f"{by_name[least].short.capitalize()} counts least "
                         f"({share[least]}%).")
    if total > 10:
        sentences.append(f"The weights add up to {total:g}: scores are capped at 10, so pairs "
                         "that meet most factors all score 10 and look alike.")
    sentences.append(closing)
    return sentences


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# --- the form ------------------------------------------------------------------------------


def blank_form() -> dict[str, Any]:
    """The new-round form's starting values (as strings, like a posted form)."""
    defaults = ProgrammeRoundCreate.model_fields
    return {
        "name": "",
        "description": "",
        "starts_on": {"day": "", "month": "", "year": ""},
        "ends_on": {"day": "", "month": "", "year": ""},
        "exchanges_per_pair": str(defaults["exchanges_per_pair"].default),
        "min_days_between_exchanges": str(defaults["min_days_between_exchanges"].default),
        "reciprocal": str(defaults["reciprocal"].default),
        "allow_same_organisation": "yes" if defaults["allow_same_organisation"].default else "no",
        "weights": {name: f"{value:g}" for name, value in _default_weights().items()},
        "priority_professions": list(vocabularies.current().priority_professions),
        "priority_floor": "yes" if defaults["priority_floor"].default else "",
        "contact_name": "",
        "contact_email": "",
        "answer_within_days": str(defaults["answer_within_days"].default),
        "ask_line_manager_release": "yes" if defaults["ask_line_manager_release"].default
        else "",
        **{name: {"day": "", "month": "", "year": ""} for name in TIMELINE_FIELDS},
    }


def _default_weights() -> dict[str, float]:
    defaults = ScoreWeights()
    return {name: float(getattr(defaults, name)) for name in WEIGHT_NAMES}


def form_from_round(programme_round: ProgrammeRound) -> dict[str, Any]:
    def parts(value: date) -> dict[str, str]:
        return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}

    weights = {**_default_weights(), **(programme_round.weights or {})}
    return {
        "name": programme_round.name,
        "description": programme_round.description,
        "starts_on": parts(programme_round.starts_on),
        "ends_on": parts(programme_round.ends_on),
        "exchanges_per_pair": str(programme_round.exchanges_per_pair),
        "min_days_between_exchanges": str(programme_round.min_days_between_exchanges),
        "reciprocal": programme_round.reciprocal,
        "allow_same_organisation": "yes" if programme_round.allow_same_organisation else "no",
        "weights": {name: f"{float(weights[name]):g}" for name in WEIGHT_NAMES},
        "priority_professions": list(programme_round.priority_professions),
        "priority_floor": "yes" if programme_round.priority_floor else "",
        "contact_name": programme_round.contact_name,
        "contact_email": programme_round.contact_email,
        "answer_within_days": str(programme_round.answer_within_days),
        "ask_line_manager_release": "yes" if programme_round.ask_line_manager_release else "",
        **{name: (parts(value) if (value := getattr(programme_round, name)) else
                  {"day": "", "month": "", "year": ""}) for name in TIMELINE_FIELDS},
    }


def read_round_form(form: Mapping[str, str], getlist: Callable[[str], list[str]]) -> dict:
    """The posted form as the same shape as `blank_form` (strings, kept for re-rendering)."""

    def text(key: str) -> str:
        return (form.get(key) or "").strip()

    def date_parts(prefix: str) -> dict[str, str]:
        return {part: text(f"{prefix}[{part}]") for part in ("day", "month", "year")}

    return {
        "name": text("name"),
        "description": text("description"),
        "starts_on": date_parts("starts_on"),
        "ends_on": date_parts("ends_on"),
        "exchanges_per_pair": text("exchanges_per_pair"),
        "min_days_between_exchanges": text("min_days_between_exchanges"),
        "reciprocal": text("reciprocal"),
        "allow_same_organisation": text("allow_same_organisation"),
        "weights": {name: text(f"weight_{name}") for name in WEIGHT_NAMES},
        "priority_professions": [value for value in getlist("priority_professions") if value],
        # A single checkbox, like the line managers' one below.
        "priority_floor": "yes" if text("priority_floor") == "yes" else "",
        "contact_name": text("contact_name"),
        "contact_email": text("contact_email"),
        "answer_within_days": text("answer_within_days"),
        # A single checkbox: sent as "yes" when ticked, not sent at all when not.
        "ask_line_manager_release": "yes" if text("ask_line_manager_release") == "yes" else "",
        **{name: date_parts(name) for name in TIMELINE_FIELDS},
    }


def parse_weights(raw: Mapping[str, str]) -> tuple[dict[str, float], dict[str, str]]:
    """Weights as numbers, and errors keyed by the form field (`weight_<name>`)."""
    low, high = WEIGHT_RANGE
    weights: dict[str, float] = {}
    errors: dict[str, str] = {}
    labels = {info.name: info.label for info in WEIGHTS}
    for name in WEIGHT_NAMES:
        value = (raw.get(name) or "").strip()
        try:
            number = float(value)
        except ValueError:
            errors[f"weight_{name}"] = f"Enter a number for '{labels[name]}', like 2 or 0.5"
            continue
        if not low <= number <= high:  # also refuses nan and inf
            errors[f"weight_{name}"] = (
                f"Enter a number from {low:g} to {high:g} for '{labels[name]}'"
            )
            continue
        weights[name] = number
    return weights, errors


def _parse_date(parts: Mapping[str, str], what: str) -> tuple[date | None, str]:
    day, month, year = (parts.get(key, "").strip() for key in ("day", "month", "year"))
    if not (day or month or year):
        return None, f"Enter the date the window {what}"
    missing = [name for name, value in (("day", day), ("month", month), ("year", year))
               if not value]
    if missing:
        return None, f"The date the window {what} must include a {' and '.join(missing)}"
    if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
        return None, f"The date the window {what} must be a real date, like 27 3 2027"
    try:
        return date(int(year), int(month), int(day)), ""
    except (ValueError, OverflowError):  # a 40-digit day overflows rather than being wrong
        return None, f"The date the window {what} must be a real date, like 27 3 2027"


def validate_round(raw: Mapping[str, Any]) -> ProgrammeRoundCreate:
    """The form's values as a valid `ProgrammeRoundCreate`, or RoundError with every problem."""
    errors: dict[str, str] = {}
    starts_on, message = _parse_date(raw["starts_on"], "starts")
    if message:
        errors["starts_on"] = message
    ends_on, message = _parse_date(raw["ends_on"], "ends")
    if message:
        errors["ends_on"] = message
    weights, weight_errors = parse_weights(raw["weights"])
    errors |= weight_errors
    known = vocabularies.current().professions  # a retired profession may stay a priority
    unknown = [key for key in raw["priority_professions"] if key not in known]
    if unknown:
        errors["priority_professions"] = "Choose priority groups from the list"
    if raw.get("allow_same_organisation") not in ("yes", "no"):
        errors["allow_same_organisation"] = "Select yes or no"
    reciprocal = raw.get("reciprocal")
    if reciprocal not in set(Reciprocity):
        errors["reciprocal"] = "Select when each leader in a pair hosts at least one visit"
        reciprocal = Reciprocity.WHERE_POSSIBLE
    timeline: dict[str, date | None] = {}
    for name, what in TIMELINE_FIELDS.items():
        parts = raw.get(name) or {}
        if any((parts.get(key) or "").strip() for key in ("day", "month", "year")):
            timeline[name], message = _parse_date(parts, what)
            if message:
                errors[name] = message.replace(f"the window {what}", f"{what}")
        else:
            timeline[name] = None  # optional
    contact_email = (raw.get("contact_email") or "").strip()
    if contact_email and not EMAIL_SHAPE.fullmatch(contact_email):
        errors["contact_email"] = "Enter an email address in the right format, like name@nhs.net"
    candidate = {
        "name": raw["name"],
        "description": raw["description"],
        # Stand-ins so that a bad date is reported once, as a date problem.
        "starts_on": starts_on or date(2000, 1, 1),
        "ends_on": ends_on or starts_on or date(2000, 1, 1),
        "exchanges_per_pair": raw["exchanges_per_pair"],
        "min_days_between_exchanges": raw["min_days_between_exchanges"],
        "reciprocal": str(reciprocal),
        "allow_same_organisation": raw.get("allow_same_organisation") == "yes",
        "weights": weights,
        "priority_professions": list(dict.fromkeys(raw["priority_professions"])),
        "priority_floor": raw.get("priority_floor") == "yes",
        "contact_name": raw.get("contact_name") or "",
        "contact_email": contact_email,
        # Blank means the usual week, as on a new round.
        "answer_within_days": raw.get("answer_within_days") or DEFAULT_ANSWER_WITHIN_DAYS,
        "ask_line_manager_release": raw.get("ask_line_manager_release") == "yes",
        **timeline,
    }
    data = None
    try:
        data = ProgrammeRoundCreate.model_validate(candidate)
    except ValidationError as exc:
        for field, message in _round_messages(exc).items():
            errors.setdefault(field or "ends_on", message)
    if starts_on and ends_on and "ends_on" not in errors:
        if ends_on - starts_on > LONGEST_WINDOW:
            errors["ends_on"] = "The window must be no longer than a year"
        elif not any(weekdays(starts_on, ends_on)):
            errors["ends_on"] = "The window must include at least one weekday"
    if errors or data is None:
        raise RoundError(errors)
    return data


def _round_messages(exc: ValidationError) -> dict[str, str]:
    """One message per field, in the words of this form (model-wide errors under "")."""
    by_field = {
        "name": "Enter a name for the round of 3 to 120 characters",
        "description": "Enter a description of no more than 2,000 characters",
        "exchanges_per_pair": "Enter a whole number of exchanges from 0 to 6",
        "min_days_between_exchanges": "Enter a whole number of days from 0 to 60",
        "answer_within_days": "Enter a whole number of days from 1 to 60",
        "contact_name": "Enter a contact name of no more than 120 characters",
        "contact_email": "Enter an email address of no more than 254 characters",
    }
    messages: dict[str, str] = {}
    for item in exc.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        text = by_field.get(field) or str(item["msg"]).removeprefix("Value error, ")
        messages.setdefault(field, text)
    return messages


# --- saving --------------------------------------------------------------------------------


def rules_editable(programme_round: ProgrammeRound) -> bool:
    return programme_round.status in RULES_EDITABLE


def create_round(
    session: Session, data: ProgrammeRoundCreate, actor: User, *, ip: str = ""
) -> ProgrammeRound:
    programme_round = ProgrammeRound.model_validate(
        data, update={"status": RoundStatus.DRAFT, "created_by_id": actor.id}
    )
    session.add(programme_round)
    session.flush()
    audit.record(session, "round.created", actor=actor, obj=programme_round,
                 detail={"name": programme_round.name}, ip=ip)
    return programme_round


@dataclass
class UpdateResult:
    changed: list[str]
    removed_availability: int = 0


def update_round(
    session: Session, programme_round: ProgrammeRound, data: ProgrammeRoundCreate, actor: User,
    *, ip: str = "",
) -> UpdateResult:
    """Save the form. After publication only the name and description may change (RoundError
    otherwise). Free half-days outside a shortened window are removed, and counted."""
    new_values = data.model_dump(include=set(TEXT_FIELDS + RULE_FIELDS))
    changed = [name for name, value in new_values.items()
               if getattr(programme_round, name) != value]
    locked = [name for name in changed if name in RULE_FIELDS]
    if locked and not rules_editable(programme_round):
        raise RoundError("The rules of a round cannot change once its matches are published: "
                         "only its name and description can")
    for name in changed:
        setattr(programme_round, name, new_values[name])
    session.add(programme_round)
    removed = 0
    if {"starts_on", "ends_on"} & set(changed):
        removed = session.execute(
            delete(Availability).where(
                Availability.round_id == programme_round.id,
                sa.or_(Availability.day < programme_round.starts_on,
                       Availability.day > programme_round.ends_on),
            )
        ).rowcount or 0
    asked = 0
    if "ask_line_manager_release" in changed and programme_round.ask_line_manager_release:
        asked = request_for_round(session, programme_round, utcnow())
    if changed:
        detail: dict[str, Any] = {"changed": changed}
        if removed:
            detail["removed_availability"] = removed
        if asked:
            detail["line_managers_asked"] = asked
        audit.record(session, "round.updated", actor=actor, obj=programme_round, detail=detail,
                     ip=ip)
    session.flush()
    return UpdateResult(changed=changed, removed_availability=removed)


# --- status --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    from_statuses: tuple[str, ...]
    audit_action: str
    explanation: str
    warning: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("open", "Open the round", (RoundStatus.DRAFT,), "round.opened",
                   "Leaders can then join it and say when they are free."),
        Transition("close", "Close the round", (RoundStatus.OPEN, RoundStatus.PUBLISHED),
                   "round.closed",
                   "Nobody new can join. Matches and exchanges stay as they are.", warning=True),
        Transition("reopen", "Reopen the round", (RoundStatus.CLOSED,), "round.reopened",
                   "It goes back to where it was before it closed: open, or published if its "
                   "matches were published."),
        Transition("archive", "Archive the round", (RoundStatus.CLOSED,), "round.archived",
                   "It leaves the list of current rounds. Its data stays for reports.",
                   warning=True),
    )
}


def was_published(session: Session, programme_round: ProgrammeRound) -> bool:
    return session.exec(
        select(Match.id).where(
            Match.round_id == programme_round.id,
            Match.status.in_(PUBLISHED_MATCH_STATUSES),  # type: ignore[attr-defined]
        ).limit(1)
    ).first() is not None


def available_transitions(programme_round: ProgrammeRound) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if programme_round.status in t.from_statuses]


def change_status(
    session: Session, programme_round: ProgrammeRound, action: str, actor: User, *, ip: str = ""
) -> str:
    """Carry out a status action (open, close, reopen, archive); returns the new status."""
    transition = TRANSITIONS.get(action)
    if transition is None or programme_round.status not in transition.from_statuses:
        raise RoundError(f"A {programme_round.status} round cannot be changed that way")
    if action == "open":
        new_status = RoundStatus.OPEN
    elif action == "close":
        new_status = RoundStatus.CLOSED
    elif action == "archive":
        new_status = RoundStatus.ARCHIVED
    else:  # reopen: back to where a closed round came from
        new_status = (RoundStatus.PUBLISHED if was_published(session, programme_round)
                      else RoundStatus.OPEN)
    old_status = programme_round.status
    programme_round.status = new_status
    session.add(programme_round)
    audit.record(session, transition.audit_action, actor=actor, obj=programme_round,
                 detail={"from": old_status, "to": new_status}, ip=ip)
    session.flush()
    return new_status


# --- lists ---------------------------------------------------------------------------------


@dataclass
class RoundRow:
    programme_round: ProgrammeRound
    joined: int
    invited: int


def list_rounds(session: Session) -> list[RoundRow]:
    """Every round, newest window first, with how many have joined and how many are invited."""
    joined = (
        sa.select(RoundParticipant.round_id, sa.func.count().label("n"))
        .where(RoundParticipant.status == ParticipantStatus.JOINED)
        .group_by(RoundParticipant.round_id)
        .subquery()
    )
    rows = session.exec(
        sa.select(ProgrammeRound, sa.func.coalesce(joined.c.n, 0))
        .outerjoin(joined, joined.c.round_id == ProgrammeRound.id)
        .order_by(ProgrammeRound.starts_on.desc(), ProgrammeRound.id.desc())
    ).all()
    # Invited and not joined, as the round's page and the dashboard count it.
    invited = invited_counts(session, [round_.id for round_, _ in rows])
    return [RoundRow(round_, n_joined, invited.get(round_.id, 0)) for round_, n_joined in rows]


def get_round(session: Session, round_id: int) -> ProgrammeRound | None:
    return session.get(ProgrammeRound, round_id)
