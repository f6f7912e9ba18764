"""A pair's agreement: what each wants to learn, what they will deliver together, how they keep
in touch and what stays between them. No Flask here.

Once both leaders have accepted the match (it is booked), either of them drafts or edits the
agreement and each confirms it. A confirmation is of one version: a change clears the other
leader's confirmation (the page says so and they are emailed). Coordinators see only whether a
pair has an agreement and whether both confirmed it; they read its words only when both
confirmed a version that says to share them (`PairAgreement.shared`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from mentoring import audit
from mentoring.exchanges.services import LeaderError, MatchView, get_match
from mentoring.models import LeaderProfile, Match, PairAgreement, User
from mentoring.models.outcomes import AGREEMENT_LIMITS
from mentoring.notifications.outbox import absolute, enqueue, fit_key
from mentoring.vocab import MatchStatus

TEXT_FIELDS = tuple(AGREEMENT_LIMITS)
SAVED = "agreement.saved"
CONFIRMED = "agreement.confirmed"
CHANGED_KIND = "agreement-changed"


@dataclass
class AgreementView:
    match: MatchView
    agreement: PairAgreement | None

    @property
    def can_edit(self) -> bool:
        """Only a booked match (both accepted) has an agreement to write."""
        return self.match.match.status == MatchStatus.ACCEPTED

    def _confirmed(self, mentor_side: bool) -> bool:
        if self.agreement is None:
            return False
        at = (self.agreement.mentor_confirmed_at if mentor_side
              else self.agreement.mentee_confirmed_at)
        return at is not None

    @property
    def i_confirmed(self) -> bool:
        return self._confirmed(self.match.i_am_mentor)

    @property
    def other_confirmed(self) -> bool:
        return self._confirmed(not self.match.i_am_mentor)

    @property
    def my_learning_field(self) -> str:
        return "mentor_learning" if self.match.i_am_mentor else "mentee_learning"

    @property
    def other_learning_field(self) -> str:
        return "mentee_learning" if self.match.i_am_mentor else "mentor_learning"


@dataclass(frozen=True)
class Saved:
    changed: bool
    cleared_other: bool  # the other leader had confirmed the version this one replaces


def agreement_of(session: Session, match_id: int) -> PairAgreement | None:
    return session.exec(select(PairAgreement).where(PairAgreement.match_id == match_id)).first()


def get_agreement(session: Session, me: LeaderProfile, match_id: int) -> AgreementView:
    """The agreement page of one of this leader's matches (NotFound if not theirs)."""
    view = get_match(session, me, match_id)
    return AgreementView(view, agreement_of(session, match_id))


def parse(form) -> dict:
    """The form's answers (`form` is any mapping with .get)."""
    values: dict = {name: form.get(name, "") for name in TEXT_FIELDS}
    values["share_with_coordinators"] = form.get("share_with_coordinators") == "yes"
    return values


def _clean(values: dict) -> dict:
    cleaned: dict = {}
    errors: dict[str, str] = {}
    for name, limit in AGREEMENT_LIMITS.items():
        text = str(values.get(name) or "").replace("\r\n", "\n").strip()
        if len(text) > limit:
            errors[name] = f"Enter no more than {limit:,} characters"
        cleaned[name] = text
    if not cleaned["shared_work"] and "shared_work" not in errors:
        errors["shared_work"] = "Enter the question or piece of work you will take on together"
    if errors:
        raise LeaderError(errors)
    cleaned["share_with_coordinators"] = bool(values.get("share_with_coordinators"))
    return cleaned


def _check_version(agreement: PairAgreement | None, version: str, other: LeaderProfile) -> None:
    current = str(agreement.version) if agreement else ""
    if (version or "") != current:
        raise LeaderError(
            f"{other.name} changed the agreement while you were reading it. Their version is "
            "shown; your words are in the form. Nothing of yours was saved.")


def save(session: Session, me: LeaderProfile, user: User, match_id: int, values: dict,
         version: str, now: datetime, *, confirm: bool = False) -> Saved:
    """Write the agreement (and, with `confirm`, confirm it as written). A real change makes a
    new version: both confirmations are cleared, then the writer's set again if they confirm."""
    view = get_agreement(session, me, match_id)
    if not view.can_edit:
        raise LeaderError("You can write an agreement once you have both accepted the match")
    _check_version(view.agreement, version, view.match.other)
    cleaned = _clean(values)
    agreement = view.agreement
    created = agreement is None
    if agreement is None:
        agreement = PairAgreement(match_id=match_id, created_at=now, version=0)
    changed = created or any(getattr(agreement, name) != value for name, value in cleaned.items())
    cleared_other = False
    if changed:
        cleared_other = view.other_confirmed
        for name, value in cleaned.items():
            setattr(agreement, name, value)
        agreement.version += 1
        agreement.mentor_confirmed_at = agreement.mentee_confirmed_at = None
        agreement.updated_at, agreement.updated_by_id = now, me.id
    if confirm:
        _set_confirmed(agreement, view.match.i_am_mentor, now)
    session.add(agreement)
    session.flush()
    if changed:
        # Only that it changed, never the words: the audit log is read by admins.
        audit.record(session, SAVED, actor=user, obj=agreement,
                     detail={"version": agreement.version, "cleared_other": cleared_other})
        if created or cleared_other:
            _tell_other(session, view, agreement, created=created)
    if confirm:
        audit.record(session, CONFIRMED, actor=user, obj=agreement,
                     detail={"version": agreement.version})
    return Saved(changed, cleared_other)


def _set_confirmed(agreement: PairAgreement, mentor_side: bool, now: datetime) -> None:
    if mentor_side:
        agreement.mentor_confirmed_at = agreement.mentor_confirmed_at or now
    else:
        agreement.mentee_confirmed_at = agreement.mentee_confirmed_at or now


def confirm(session: Session, me: LeaderProfile, user: User, match_id: int, version: str,
            now: datetime) -> AgreementView:
    """Confirm the version this leader read (refused if it has changed since)."""
    view = get_agreement(session, me, match_id)
    if not view.can_edit or view.agreement is None:
        raise LeaderError("There is no agreement to confirm yet")
    _check_version(view.agreement, version, view.match.other)
    if not view.i_confirmed:
        _set_confirmed(view.agreement, view.match.i_am_mentor, now)
        session.add(view.agreement)
        audit.record(session, CONFIRMED, actor=user, obj=view.agreement,
                     detail={"version": view.agreement.version})
        session.flush()
    return view


def _tell_other(session: Session, view: AgreementView, agreement: PairAgreement,
                *, created: bool) -> None:
    other = view.match.other
    other_user = session.get(User, other.user_id)
    if other_user is None or not other_user.email:
        return
    enqueue(
        session,
        key=fit_key(f"{CHANGED_KIND}:{agreement.id}:{agreement.version}:{other_user.email}"),
        kind=CHANGED_KIND, recipient_email=other_user.email, recipient_user_id=other_user.id,
        round_id=view.match.match.round_id,
        subject=(f"{view.match.me.name} has drafted your pair agreement" if created
                 else f"{view.match.me.name} changed your pair agreement: please read it again"),
        template="agreement_changed",
        context={"name": other.name, "writer": view.match.me.name, "created": created,
                 "agreement_url": absolute(f"/matches/{view.match.match.id}/agreement")},
    )


def agreements_of_round(session: Session, round_id: int) -> dict[int, PairAgreement]:
    """The round's agreements by match id (one query)."""
    return {agreement.match_id: agreement for agreement in session.exec(
        select(PairAgreement).join(Match, Match.id == PairAgreement.match_id)
        .where(Match.round_id == round_id)).all()}


@dataclass(frozen=True)
class SharedAgreement:
    agreement: PairAgreement
    mentor: str
    mentee: str


def shared_agreement(session: Session, round_id: int, match_id: int) -> SharedAgreement:
    """For a coordinator: the agreement's words, only when the pair shared them."""
    agreement = agreement_of(session, match_id)
    match = session.get(Match, match_id)
    if agreement is None or match is None or match.round_id != round_id or not agreement.shared:
        raise LookupError(f"no shared agreement for match {match_id}")
    mentor, mentee = (session.get(LeaderProfile, match.mentor_id),
                      session.get(LeaderProfile, match.mentee_id))
    return SharedAgreement(agreement, mentor.name if mentor else "", mentee.name if mentee else "")
