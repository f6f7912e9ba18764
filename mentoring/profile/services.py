"""The leader profile as short question pages: draft answers, per-step validation, saving.

A draft is a plain dict of answers, kept in the database (one `ProfileDraft` row per account) so
that nothing typed is lost to a full session cookie, signing out, the idle timeout or a change of
device. Each step validates only its own fields, through the same data model the final save uses,
so the rules live in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth.joining import join_invited_rounds
from mentoring.configuration import vocabularies
from mentoring.configuration.vocabularies import Vocabularies
from mentoring.forms import field_errors, row_id
from mentoring.models import (
    Invitation,
    LeaderProfile,
    LeaderProfileCreate,
    Organisation,
    OrganisationCreate,
    ProfileDraft,
    ProgrammeRound,
    User,
    utcnow,
)
from mentoring.releases.services import ask_after_profile_change
from mentoring.vocab import RoundStatus


def _always(_draft: Mapping[str, Any]) -> bool:
    return True


def _hosts(draft: Mapping[str, Any]) -> bool:
    return draft.get("can_host") is True


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    fields: tuple[str, ...]
    # Whether the leader is asked this page, given their answers so far (a question for hosts
    # only is skipped, and not counted, for someone who cannot host).
    applies: Callable[[Mapping[str, Any]], bool] = _always


VISIT_DETAIL_FIELDS = ("visit_site", "visit_address", "visit_directions", "visit_meeting",
                       "visit_bring", "visit_accessibility", "visit_phone")

STEPS: tuple[Step, ...] = (
    Step("about-you", "About you", ("name", "job_title", "phone")),
    Step("profession", "Your profession", ("profession",)),
    Step("organisation", "Where you work", ("organisation_id", "new_organisation", "sector",
                                             "borough")),
    Step("experience", "Your leadership experience", ("career_stage",)),
    Step("mentoring", "Mentoring", ("mentor_capacity", "wants_mentor")),
    Step("hosting", "Hosting visits", ("can_host", "max_hosted_per_week")),
    Step("visit-details", "Visit details", VISIT_DETAIL_FIELDS, applies=_hosts),
    Step("strengths", "What you can offer", ("strengths", "strengths_other")),
    Step("goals", "What you want to develop", ("goals", "goals_other")),
    Step("time", "Your protected time", ("protected_hours_per_month",)),
    Step("line-manager", "Your line manager", ("line_manager_name", "line_manager_email")),
    Step("preferences", "Your preferences", ("profession_preference", "travel_boroughs")),
    Step("consent", "Taking part", ("consent",)),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}

# Stand-ins for questions not yet answered, so validating one step never reports another's errors
# (the vocabularies' first offered terms stand in for profession, sector and borough).
_PLACEHOLDERS: dict[str, Any] = {"name": "-", "wants_mentor": True}
_PLACEHOLDER_KINDS = {"profession": "profession", "sector": "sector", "borough": "place"}


def _placeholders() -> dict[str, Any]:
    words = vocabularies.current()
    return {**_PLACEHOLDERS, **{field: next(iter(words.offered(kind)), "")
                                for field, kind in _PLACEHOLDER_KINDS.items()}}


def kept_terms(profile: LeaderProfile | None) -> set[tuple[str, str]]:
    """The (kind, key) pairs a saved profile holds: still accepted, and still shown, when one
    of them is retired, so a leader can save the rest of their profile."""
    if profile is None:
        return set()
    return {("profession", profile.profession), ("sector", profile.sector),
            ("place", profile.borough),
            *(("place", key) for key in profile.travel_boroughs or []),
            *(("topic", key) for key in [*(profile.strengths or []), *(profile.goals or [])])}


def choices(words: Vocabularies, kind: str, kept: set[tuple[str, str]]) -> dict[str, str]:
    """The terms a question page offers: those not retired, and retired ones the leader holds."""
    return {key: term.label for key, term in words.of_kind(kind).items()
            if term.retired_at is None or (kind, key) in kept}
_LIST_FIELDS = {"strengths", "goals", "travel_boroughs"}
_BOOL_FIELDS = {"wants_mentor", "can_host", "consent"}


def steps_for(draft: Mapping[str, Any]) -> list[Step]:
    """The question pages this leader is asked, given their answers so far."""
    return [step for step in STEPS if step.applies(draft)]


def next_step(slug: str, draft: Mapping[str, Any]) -> Step | None:
    index = [step.slug for step in STEPS].index(slug)
    return next((step for step in STEPS[index + 1:] if step.applies(draft)), None)


def previous_step(slug: str, draft: Mapping[str, Any]) -> Step | None:
    index = [step.slug for step in STEPS].index(slug)
    return next((step for step in reversed(STEPS[:index]) if step.applies(draft)), None)


def parse_step(step: Step, form: Mapping[str, Any], getlist) -> dict[str, Any]:
    """The answers a step's form sent, as plain values (lists, booleans, numbers or None)."""
    answers: dict[str, Any] = {}
    for field in step.fields:
        if field in _LIST_FIELDS:  # each choice once: the draft keeps what is sent
            answers[field] = list(dict.fromkeys(value for value in getlist(field) if value))
        elif field in _BOOL_FIELDS:
            raw = form.get(field)
            answers[field] = None if raw is None else raw == "yes"
        else:  # text areas send CRLF line ends: kept as LF
            raw = (form.get(field) or "").replace("\r\n", "\n").strip()
            answers[field] = raw if raw != "" else None
    if step.slug == "hosting" and answers.get("can_host") is False:
        answers["max_hosted_per_week"] = None
    if step.slug == "mentoring" and answers.get("mentor_capacity") is None:
        answers["mentor_capacity"] = None
    return answers


def validate_step(step: Step, draft: Mapping[str, Any], answers: Mapping[str, Any]) -> dict:
    """Errors for this step's fields only (field -> message); empty when the answers are good."""
    errors = _required_answers(step, answers)
    merged = {**draft, **{k: v for k, v in answers.items() if v is not None}}
    candidate = {**_placeholders(), **_model_values(merged)}
    try:
        LeaderProfileCreate.model_validate(candidate)
    except ValidationError as exc:
        for field, message in field_errors(exc).items():
            target = field or _model_error_field(step)
            if target in step.fields:
                errors.setdefault(target, message)
    if step.slug == "organisation":
        errors.update(_organisation_errors(answers))
    return errors


def _required_answers(step: Step, answers: Mapping[str, Any]) -> dict[str, str]:
    required = {
        "name": "Enter your name",
        "profession": "Select your profession",
        "sector": "Select the sector you work in",
        "borough": "Select the borough you mostly work in",
        "career_stage": "Select how experienced a leader you are",
        "mentor_capacity": "Select how many people you could mentor",
        "wants_mentor": "Select whether you would like a mentor",
        "can_host": "Select whether you can host visits",
        "consent": "Confirm that you agree to take part",
        "visit_site": "Enter the name of the site your visitors come to",
        "visit_address": "Enter the address of the site",
    }
    # A saved profile's unanswered text is "" (a question added since it was saved).
    errors = {f: m for f, m in required.items()
              if f in step.fields and answers.get(f) in (None, "")}
    if step.slug == "consent" and answers.get("consent") is False:
        errors["consent"] = required["consent"]
    if step.slug == "hosting" and answers.get("can_host") and not answers.get(
        "max_hosted_per_week"
    ):
        errors["max_hosted_per_week"] = "Enter how many visits you could host in a week"
    if step.slug == "line-manager" and answers.get("line_manager_name") and not answers.get(
        "line_manager_email"
    ):  # optional, but a name alone asks nobody
        errors["line_manager_email"] = ("Enter your line manager's email address, or leave "
                                        "both empty")
    return errors


def _model_error_field(step: Step) -> str:
    """Model-wide rules belong to the step that asks the question they are about."""
    return {"mentoring": "mentor_capacity", "hosting": "max_hosted_per_week"}.get(step.slug, "")


def _organisation_errors(answers: Mapping[str, Any]) -> dict[str, str]:
    new_name = answers.get("new_organisation")
    organisation_id = answers.get("organisation_id")
    if organisation_id == "new" and not new_name:
        return {"new_organisation": "Enter the name of your organisation"}
    if new_name:
        # Checked here, by the model that saves it: a name the draft keeps must also save.
        try:
            OrganisationCreate.model_validate(
                {"name": new_name, "sector": _placeholders()["sector"],
                 "borough": _placeholders()["borough"]})
        except ValidationError as exc:
            return {"new_organisation": field_errors(exc).get("name") or "Enter a name"}
    if not organisation_id and not new_name:
        return {"organisation_id": "Select your organisation, or add it"}
    if organisation_id not in (None, "new") and row_id(str(organisation_id)) is None:
        return {"organisation_id": "Select your organisation from the list"}
    return {}


def _model_values(draft: Mapping[str, Any]) -> dict[str, Any]:
    skip = {"organisation_id", "new_organisation", "consent", ANSWERED}
    return {key: value for key, value in draft.items() if key not in skip and value is not None}


ANSWERED = "_answered"  # the draft's list of question pages the leader has been through


def record_answers(draft: Mapping[str, Any], step: Step, answers: Mapping[str, Any]) -> dict:
    """The draft with a step's (valid) answers added and the step marked as answered."""
    updated = {key: value for key, value in {**draft, **answers}.items() if value is not None}
    updated[ANSWERED] = sorted({*draft.get(ANSWERED, []), step.slug})
    return updated


def draft_from_profile(profile: LeaderProfile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    fields = LeaderProfileCreate.model_fields.keys() - {"organisation_id"}
    draft = {field: getattr(profile, field) for field in fields}
    draft["organisation_id"] = str(profile.organisation_id) if profile.organisation_id else None
    draft["consent"] = profile.consent_at is not None
    draft[ANSWERED] = [step.slug for step in STEPS]
    return {key: value for key, value in draft.items() if value is not None}


def _invitation_prefill(session: Session, user: User) -> dict[str, Any]:
    """What the coordinator knew when they invited this person (from the invitation they
    accepted), as a starting draft: only answers to the question pages."""
    invitation = session.exec(
        select(Invitation).where(
            Invitation.email == user.email,
            Invitation.accepted_at.is_not(None),  # type: ignore[union-attr]
        ).order_by(Invitation.accepted_at.desc())  # type: ignore[union-attr]
    ).first()
    if invitation is None:
        return {}
    fields = {field for step in STEPS for field in step.fields}
    return {key: value for key, value in (invitation.prefill or {}).items()
            if key in fields and value is not None}


def _draft_row(session: Session, user: User, *, for_update: bool = False) -> ProfileDraft | None:
    query = select(ProfileDraft).where(ProfileDraft.user_id == user.id)
    return session.exec(query.with_for_update() if for_update else query).first()


def _starting_draft(session: Session, user: User) -> dict[str, Any]:
    profile = profile_of(session, user)
    if profile is not None:
        return draft_from_profile(profile)
    return _invitation_prefill(session, user)


def current_draft(session: Session, user: User) -> dict[str, Any]:
    """The leader's answers so far: their draft if they have one, else their saved profile, else
    what their invitation pre-filled (nothing, for someone who registered themself)."""
    row = _draft_row(session, user)
    return dict(row.answers) if row is not None else _starting_draft(session, user)


def answer_step(
    session: Session, user: User, step: Step, answers: Mapping[str, Any]
) -> dict[str, str]:
    """Check one question page's answers against the leader's answers so far and, when they are
    good, record them in the draft (made by the first answer). Returns the errors, empty when
    the answers are recorded. The caller commits."""
    row = _draft_row(session, user, for_update=True)
    draft = dict(row.answers) if row is not None else _starting_draft(session, user)
    with vocabularies.bound(session), vocabularies.keeping(
            kept_terms(profile_of(session, user))):
        errors = validate_step(step, draft, answers)
    if _is_own_address(user, answers.get("line_manager_email")):
        # The manager's link releases the leader's time: the leader cannot answer it themself.
        errors.setdefault("line_manager_email", "Enter your line manager's email address, "
                                                "not your own")
    if errors:
        return errors
    if row is None:
        try:
            with session.begin_nested():
                session.add(ProfileDraft(user_id=user.id,
                                         answers=record_answers(draft, step, answers)))
            return {}
        except IntegrityError:  # another tab or device made the draft a moment ago: add to it
            row = _draft_row(session, user, for_update=True)
            if row is None:
                raise
    row.answers = record_answers(dict(row.answers), step, answers)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return {}


def _is_own_address(user: User, email: str | None) -> bool:
    return bool(email) and email.strip().lower() == user.email.strip().lower()


def discard_draft(session: Session, user: User) -> None:
    session.execute(sa.delete(ProfileDraft).where(ProfileDraft.user_id == user.id))


def answered_steps(draft: Mapping[str, Any]) -> list[Step]:
    """Pages the leader has been through whose answers are still valid."""
    seen = set(draft.get(ANSWERED, []))
    return [
        step for step in steps_for(draft)
        if step.slug in seen and not validate_step(step, draft, _step_answers(step, draft))
    ]


def _step_answers(step: Step, draft: Mapping[str, Any]) -> dict[str, Any]:
    return {field: draft.get(field) for field in step.fields}


def first_unanswered(draft: Mapping[str, Any]) -> Step | None:
    done = {step.slug for step in answered_steps(draft)}
    return next((step for step in steps_for(draft) if step.slug not in done), None)


def completeness(draft: Mapping[str, Any]) -> int:
    """Percentage of question pages answered, for the progress indicator."""
    return round(100 * len(answered_steps(draft)) / len(steps_for(draft)))


def profile_of(session: Session, user: User) -> LeaderProfile | None:
    return session.exec(select(LeaderProfile).where(LeaderProfile.user_id == user.id)).first()


def organisation_name(session: Session, draft: Mapping[str, Any]) -> str:
    if draft.get("new_organisation"):
        return draft["new_organisation"]
    organisation_id = row_id(str(draft.get("organisation_id") or ""))
    if organisation_id is not None:
        organisation = session.get(Organisation, organisation_id)
        return organisation.name if organisation else ""
    return ""


def organisations(session: Session) -> list[Organisation]:
    return list(session.exec(select(Organisation).order_by(Organisation.name)).all())


def _priority_professions(session: Session) -> tuple[str, ...]:
    open_round = session.exec(
        select(ProgrammeRound).where(ProgrammeRound.status == RoundStatus.OPEN)
        .order_by(ProgrammeRound.starts_on)
    ).first()
    if open_round:
        return tuple(open_round.priority_professions)
    return vocabularies.of(session).priority_professions


def save_profile(session: Session, user: User, draft: Mapping[str, Any]) -> LeaderProfile:
    """Create or update the user's profile from a complete draft. Raises ValueError if not."""
    profile = profile_of(session, user)
    with vocabularies.bound(session), vocabularies.keeping(kept_terms(profile)):
        missing = first_unanswered(draft)
        if missing is not None:
            raise ValueError(f"The question page '{missing.title}' is not answered yet")
        data = LeaderProfileCreate.model_validate(_model_values(draft))
        organisation = _organisation_for(session, draft, data)
    created = profile is None
    if profile is None:
        profile = LeaderProfile(user_id=user.id, **data.model_dump(exclude={"organisation_id"}))
    else:
        for field, value in data.model_dump(exclude={"organisation_id"}).items():
            setattr(profile, field, value)
    profile.organisation_id = organisation.id if organisation else None
    profile.priority_group = profile.profession in _priority_professions(session)
    profile.consent_at = profile.consent_at or utcnow()
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    audit.record(session, "profile.created" if created else "profile.updated", actor=user,
                 obj=profile)
    if created:  # an invited leader takes part in the round they were invited to
        join_invited_rounds(session, profile, user)
    # A line manager named (or corrected) now is asked about matches already booked.
    ask_after_profile_change(session, profile, utcnow())
    discard_draft(session, user)  # saved: the answers live in the profile now
    return profile


# --- a coordinator's corrections on a leader's behalf -------------------------------------------

# The question pages a coordinator may answer for a leader who asked them to: facts about their
# work and their time. Their own words (strengths, goals, visit details, preferences) and their
# consent stay theirs.
ON_BEHALF_STEPS = ("about-you", "profession", "organisation", "experience", "mentoring",
                   "hosting", "time", "line-manager")
REASON_LIMIT = 500


def on_behalf_values(profile: LeaderProfile) -> dict[str, Any]:
    """The form's starting values: the saved profile's answers to those pages."""
    draft = draft_from_profile(profile)
    fields = {field for slug in ON_BEHALF_STEPS for field in STEP_BY_SLUG[slug].fields}
    return {key: value for key, value in draft.items() if key in fields}


def edit_on_behalf(
    session: Session, profile: LeaderProfile, form: Mapping[str, Any], getlist,
    actor: User, reason: str, *, round_id: int | None = None, ip: str = "",
) -> tuple[dict[str, str], list[str]]:
    """Change the leader's profile as a coordinator, with the same rules as the leader's own
    question pages. Returns the errors (nothing is saved) or the fields changed (audited as
    the coordinator's, with the reason). The caller commits."""
    draft = draft_from_profile(profile)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    owner = session.get(User, profile.user_id)
    with vocabularies.bound(session), vocabularies.keeping(kept_terms(profile)):
        for slug in ON_BEHALF_STEPS:
            step = STEP_BY_SLUG[slug]
            step_answers = parse_step(step, form, getlist)
            for field, message in validate_step(step, {**draft, **answers},
                                                step_answers).items():
                # The leader's pages say "your"; here the coordinator reads about the leader.
                errors.setdefault(field, message.replace("your ", "their ")
                                  .replace("Your ", "Their ").replace(" you ", " they "))
            answers.update(step_answers)
    if owner is not None and _is_own_address(owner, answers.get("line_manager_email")):
        errors.setdefault("line_manager_email", "Enter their line manager's address, not "
                                                "their own")
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Enter why you are changing their profile"
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = f"Enter no more than {REASON_LIMIT} characters"
    if errors:
        return errors, []
    # An emptied answer is emptied (not kept from before): the model's default applies.
    merged = {**draft, **answers}
    merged = {key: value for key, value in merged.items() if value is not None}
    before = {field: getattr(profile, field) for field in LeaderProfileCreate.model_fields}
    with vocabularies.bound(session), vocabularies.keeping(kept_terms(profile)):
        data = LeaderProfileCreate.model_validate(_model_values(merged))
        organisation = _organisation_for(session, merged, data)
    for field, value in data.model_dump(exclude={"organisation_id"}).items():
        setattr(profile, field, value)
    profile.organisation_id = organisation.id if organisation else None
    profile.priority_group = profile.profession in _priority_professions(session)
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    changed = sorted(field for field, value in before.items()
                     if getattr(profile, field) != value)
    # Field names, not values: the audit log is read more widely than the profile.
    audit.record(session, "profile.updated_on_behalf", actor=actor, obj=profile, ip=ip,
                 detail={"round_id": round_id, "fields": changed, "reason": reason,
                         "on_behalf_of_user_id": profile.user_id})
    ask_after_profile_change(session, profile, utcnow())
    return {}, changed


def _organisation_for(session: Session, draft: Mapping[str, Any], data) -> Organisation | None:
    new_name = (draft.get("new_organisation") or "").strip()
    if new_name:
        existing = session.exec(select(Organisation).where(Organisation.name == new_name)).first()
        if existing:
            return existing
        created = OrganisationCreate.model_validate(
            {"name": new_name, "sector": data.sector, "borough": data.borough}
        )
        organisation = Organisation.model_validate(created)
        session.add(organisation)
        session.flush()
        return organisation
    organisation_id = row_id(str(draft.get("organisation_id") or ""))
    if organisation_id is not None:
        return session.get(Organisation, organisation_id)
    return None
