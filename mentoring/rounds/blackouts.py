"""A round's blackout dates (Christmas week, winter pressures): coordinators add and remove them.

No Flask here. The form arrives as plain strings (`read_form`); `add_blackout` checks it and
raises RoundError with a message per field. Every change is audited on the round. What a
blackout does (no offers, no bookings, exchanges on it flagged) is `mentoring.calendar_days`'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlmodel import Session, select

from mentoring import audit
from mentoring.calendar_days import blackouts
from mentoring.models import ProgrammeRound, RoundBlackout, User
from mentoring.rounds.services import RoundError
from mentoring.slots import weekdays
from mentoring.text import LINE_BREAK_OR_CONTROL, ONE_LINE_MESSAGE
from mentoring.vocab import RoundStatus

REASON_LENGTH = 120
DATE_PARTS = ("day", "month", "year")
WHAT = {"starts_on": "first day", "ends_on": "last day"}


def blank_form() -> dict:
    return {"starts_on": dict.fromkeys(DATE_PARTS, ""), "ends_on": dict.fromkeys(DATE_PARTS, ""),
            "reason": ""}


def read_form(form: Mapping[str, str]) -> dict:
    """The posted form in the shape of `blank_form` (strings, kept to show again)."""

    def text(key: str) -> str:
        return (form.get(key) or "").strip()

    return {
        "starts_on": {part: text(f"starts_on[{part}]") for part in DATE_PARTS},
        "ends_on": {part: text(f"ends_on[{part}]") for part in DATE_PARTS},
        "reason": text("reason"),
    }


def _date(parts: Mapping[str, str], field: str) -> tuple[date | None, str]:
    what = WHAT[field]
    day, month, year = (parts.get(part, "") for part in DATE_PARTS)
    if not (day or month or year):
        return None, f"Enter the {what}"
    missing = [name for name, value in zip(DATE_PARTS, (day, month, year), strict=True)
               if not value]
    if missing:
        return None, f"The {what} must include a {' and '.join(missing)}"
    if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
        return None, f"The {what} must be a real date, like 21 12 2026"
    try:
        return date(int(year), int(month), int(day)), ""
    except (ValueError, OverflowError):  # a 40-digit day overflows rather than being wrong
        return None, f"The {what} must be a real date, like 21 12 2026"


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def validate(programme_round: ProgrammeRound, values: Mapping,
             existing: list[RoundBlackout]) -> tuple[date, date, str]:
    """The blackout's first and last days and its reason, or RoundError with every problem.
    A blank last day means a single day."""
    errors: dict[str, str] = {}
    starts_on, message = _date(values["starts_on"], "starts_on")
    if message:
        errors["starts_on"] = message
    ends_on: date | None = starts_on
    if any(values["ends_on"].values()):
        ends_on, message = _date(values["ends_on"], "ends_on")
        if message:
            errors["ends_on"] = message
    reason = values["reason"]
    if not reason:
        errors["reason"] = "Enter the reason, for example 'Christmas week'"
    elif len(reason) > REASON_LENGTH:
        errors["reason"] = f"Enter a reason of no more than {REASON_LENGTH} characters"
    elif LINE_BREAK_OR_CONTROL.search(reason):  # shown in emails and exports as one line
        errors["reason"] = ONE_LINE_MESSAGE
    window = f"{_day(programme_round.starts_on)} to {_day(programme_round.ends_on)}"
    if starts_on and not programme_round.starts_on <= starts_on <= programme_round.ends_on:
        errors["starts_on"] = f"The first day must be inside the round's window, {window}"
    if ends_on and "ends_on" not in errors and (
            not programme_round.starts_on <= ends_on <= programme_round.ends_on):
        errors["ends_on"] = f"The last day must be inside the round's window, {window}"
    if starts_on and ends_on and not errors.keys() & {"starts_on", "ends_on"}:
        if ends_on < starts_on:
            errors["ends_on"] = "The last day must be the same as or after the first day"
        elif not any(weekdays(starts_on, ends_on)):
            errors["ends_on"] = ("The dates must include a weekday: exchanges only take place "
                                 "Monday to Friday")
        else:
            for other in existing:
                if other.starts_on <= ends_on and starts_on <= other.ends_on:
                    errors["starts_on"] = (
                        f"These dates overlap '{other.reason}' ({_day(other.starts_on)} to "
                        f"{_day(other.ends_on)}): remove that one first, or choose other dates")
                    break
    if errors:
        raise RoundError(errors)
    assert starts_on is not None and ends_on is not None
    return starts_on, ends_on, reason


def _editable(programme_round: ProgrammeRound) -> None:
    if programme_round.status == RoundStatus.ARCHIVED:
        raise RoundError("An archived round's dates cannot change")


def add_blackout(session: Session, programme_round: ProgrammeRound, values: Mapping,
                 actor: User, *, ip: str = "") -> RoundBlackout:
    _editable(programme_round)
    starts_on, ends_on, reason = validate(programme_round, values,
                                          blackouts(session, programme_round.id))
    blackout = RoundBlackout(round_id=programme_round.id, starts_on=starts_on, ends_on=ends_on,
                             reason=reason, created_by_id=actor.id)
    session.add(blackout)
    session.flush()
    audit.record(session, "round.blackout_added", actor=actor, obj=programme_round, ip=ip,
                 detail=_detail(blackout))
    return blackout


def remove_blackout(session: Session, programme_round: ProgrammeRound, blackout_id: int | None,
                    actor: User, *, ip: str = "") -> RoundBlackout:
    """Remove one of the round's blackouts. Leaders' availability on those days, kept while
    they were closed, counts again."""
    _editable(programme_round)
    blackout = session.exec(
        select(RoundBlackout).where(RoundBlackout.id == blackout_id,
                                    RoundBlackout.round_id == programme_round.id)
    ).first() if blackout_id is not None else None
    if blackout is None:
        raise RoundError({"blackout": "Choose blackout dates of this round to remove"})
    session.delete(blackout)
    audit.record(session, "round.blackout_removed", actor=actor, obj=programme_round, ip=ip,
                 detail=_detail(blackout))
    session.flush()
    return blackout


def _detail(blackout: RoundBlackout) -> dict:
    return {"blackout_id": blackout.id, "starts_on": blackout.starts_on.isoformat(),
            "ends_on": blackout.ends_on.isoformat(), "reason": blackout.reason}
