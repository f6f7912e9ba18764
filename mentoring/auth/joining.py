"""Joining and getting back in: registration, email verification, invitations, password reset
and one-time sign-in links.

Every email goes through the outbox in the same transaction. Responses never reveal whether an
email address has an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth.services import create_user, find_user, normalise_email, set_password
from mentoring.auth.tokens import make_token, read_token
from mentoring.models import (
    Invitation,
    LeaderProfile,
    ProgrammeRound,
    RoundParticipant,
    User,
    utcnow,
)
from mentoring.notifications.outbox import enqueue
from mentoring.vocab import Role, RoundStatus

# The pre-filled answer an admin's invitation uses to grant a coordinator's or admin's role.
INVITED_ROLE = "account_role"


@dataclass(frozen=True)
class Links:
    """What services need to write links into emails."""

    secret: str
    base_url: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


# --- registration and verification ---------------------------------------------------------


def register(
    session: Session, links: Links, email: str, password: str, *, ip: str = ""
) -> User | None:
    """Create an unverified account and email a verification link. When the email already has an
    account, email its owner instead (so the page cannot be used to find who has an account)."""
    existing = find_user(session, email)
    if existing is not None:
        _send(session, existing, f"account-exists:{utcnow():%Y-%m-%d}",
              "You already have an account",
              "account_exists", {"sign_in_url": links.url("/sign-in"),
                                 "reset_url": links.url("/reset-password")})
        return None
    user = create_user(session, email, password)  # raises ValidationError on bad input
    audit.record(session, "account.registered", actor=user, obj=user, ip=ip)
    send_verification(session, links, user)
    return user


def send_verification(session: Session, links: Links, user: User) -> None:
    token = make_token(links.secret, "verify-email", {"u": user.id, "e": user.email})
    _send(session, user, f"verify:{token[-24:]}", "Confirm your email address", "verify_email",
          {"verify_url": links.url(f"/verify/{token}")})


def verify_email(session: Session, secret: str, token: str) -> User | None:
    payload = read_token(secret, "verify-email", token)
    if payload is None:
        return None
    user = session.get(User, payload.get("u"))
    if user is None or user.email != payload.get("e"):
        return None
    if user.verified_at is None:
        user.verified_at = utcnow()
        session.add(user)
        audit.record(session, "account.verified", actor=user, obj=user)
    return user


# --- password reset --------------------------------------------------------------------------


def request_password_reset(session: Session, links: Links, email: str) -> None:
    user = find_user(session, email)
    if user is None or not user.is_active:
        return
    token = make_token(links.secret, "reset-password", _reset_payload(user))
    _send(session, user, f"reset:{token[-24:]}", "Reset your password", "reset_password",
          {"reset_url": links.url(f"/reset-password/{token}")})
    audit.record(session, "password.reset_requested", actor=user, obj=user)


def _reset_payload(user: User) -> dict[str, Any]:
    # Tied to the current password hash: the link dies once it has been used.
    return {"u": user.id, "h": (user.password_hash or "")[-16:]}


def user_for_reset(session: Session, secret: str, token: str) -> User | None:
    payload = read_token(secret, "reset-password", token)
    user = session.get(User, payload.get("u")) if payload else None
    if user is None or not user.is_active or payload != _reset_payload(user):
        return None
    return user


def reset_password(session: Session, secret: str, token: str, password: str) -> User | None:
    """Set a new password (validated) and end every session. None when the link is not valid."""
    user = user_for_reset(session, secret, token)
    if user is None:
        return None
    set_password(session, user, password)
    user.verified_at = user.verified_at or utcnow()  # the link proves the address
    audit.record(session, "password.reset", actor=user, obj=user)
    return user


# --- one-time sign-in links ------------------------------------------------------------------


def request_sign_in_link(session: Session, links: Links, email: str) -> None:
    user = find_user(session, email)
    if user is None or not user.is_active:
        return
    token = make_token(links.secret, "sign-in-link", _link_payload(user))
    _send(session, user, f"sign-in-link:{token[-24:]}", "Your sign-in link", "sign_in_link",
          {"link_url": links.url(f"/sign-in/link/{token}")})


def _link_payload(user: User) -> dict[str, Any]:
    # Tied to the last sign-in: using the link signs in, which spends it.
    last = user.last_sign_in_at.isoformat() if user.last_sign_in_at else ""
    return {"u": user.id, "v": user.session_version, "l": last}


def consume_sign_in_link(session: Session, secret: str, token: str, *, ip: str = "") -> User | None:
    payload = read_token(secret, "sign-in-link", token)
    user = session.get(User, payload.get("u")) if payload else None
    if user is None or not user.is_active or payload != _link_payload(user):
        return None
    user.last_sign_in_at = utcnow()
    user.verified_at = user.verified_at or utcnow()
    session.add(user)
    audit.record(session, "sign_in.link_used", actor=user, obj=user, ip=ip)
    return user


# --- invitations -----------------------------------------------------------------------------


def invite(
    session: Session, links: Links, email: str, *, invited_by: User,
    programme_round: ProgrammeRound | None = None, prefill: dict[str, Any] | None = None,
    ip: str = "",
) -> Invitation:
    """Invite someone by email (idempotent per round and email: a second call updates the
    pre-filled answers and sends nothing new)."""
    email = normalise_email(email)
    round_id = programme_round.id if programme_round else None
    invitation = session.exec(
        select(Invitation).where(Invitation.email == email, Invitation.round_id == round_id)
    ).first()
    if invitation is None:
        invitation = Invitation(email=email, round_id=round_id, invited_by_id=invited_by.id)
    invitation.prefill = dict(prefill or {})
    session.add(invitation)
    session.flush()
    token = make_token(links.secret, "invitation", {"i": invitation.id, "e": email})
    enqueue(
        session, key=f"invitation:{invitation.id}", kind="invitation", recipient_email=email,
        subject="You are invited to the leadership exchange", template="invitation",
        context={"join_url": links.url(f"/join/{token}"),
                 "round_name": programme_round.name if programme_round else "",
                 "name": invitation.prefill.get("name", "")},
        round_id=round_id,
    )
    detail = {"email": email}
    if invitation.prefill.get(INVITED_ROLE):
        detail["role"] = invitation.prefill[INVITED_ROLE]
    audit.record(session, "invitation.sent", actor=invited_by, obj=invitation, detail=detail,
                 ip=ip)
    return invitation


def invitation_for(session: Session, secret: str, token: str) -> Invitation | None:
    payload = read_token(secret, "invitation", token)
    invitation = session.get(Invitation, payload.get("i")) if payload else None
    if invitation is None or invitation.email != payload.get("e"):
        return None
    return invitation


def accept_invitation(
    session: Session, invitation: Invitation, password: str, *, ip: str = ""
) -> User:
    """Create the invited person's account, verified (the link proves the address), with the
    role the invitation grants (see `invited_role`)."""
    role = invited_role(session, invitation)
    user = create_user(session, invitation.email, password, role, verified=True)
    invitation.accepted_at = utcnow()
    session.add(invitation)
    audit.record(session, "invitation.accepted", actor=user, obj=invitation, ip=ip,
                 detail={"role": role})
    return user


def invited_role(session: Session, invitation: Invitation) -> str:
    """A leader's account, unless an admin invited a coordinator or an admin. Pre-filled answers
    also come from coordinators' invitations and imports, so a role there counts only on an
    invitation without a round, sent by someone who is an active admin when it is accepted
    (an admin who has since lost the role has their invitations' roles lapse with it)."""
    role = (invitation.prefill or {}).get(INVITED_ROLE)
    if role not in (Role.COORDINATOR, Role.ADMIN) or invitation.round_id is not None:
        return Role.LEADER
    inviter = session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    if inviter is None or inviter.role != Role.ADMIN or not inviter.is_active:
        return Role.LEADER
    return role


# Rounds an accepted invitation still leads into (a closed round takes nobody new).
JOINABLE_ROUND_STATUSES = (RoundStatus.DRAFT, RoundStatus.OPEN, RoundStatus.MATCHING,
                           RoundStatus.PUBLISHED)


def join_invited_rounds(session: Session, profile: LeaderProfile, user: User) -> list[int]:
    """Make a newly profiled leader a participant of every round they were invited to.

    An invitation is accepted before the person has a profile, and a participant needs one, so
    this runs when the profile is first saved. Returns the round ids joined."""
    rows = session.exec(
        select(Invitation, ProgrammeRound)
        .join(ProgrammeRound, ProgrammeRound.id == Invitation.round_id)
        .where(Invitation.email == user.email,
               ProgrammeRound.status.in_(JOINABLE_ROUND_STATUSES))  # type: ignore[attr-defined]
    ).all()
    joined = []
    for invitation, programme_round in rows:
        existing = session.exec(
            select(RoundParticipant).where(RoundParticipant.round_id == programme_round.id,
                                           RoundParticipant.leader_id == profile.id)
        ).first()
        if existing is None:
            session.add(RoundParticipant(round_id=programme_round.id, leader_id=profile.id))
            audit.record(session, "round.joined", actor=user, obj=programme_round,
                         detail={"invitation_id": invitation.id})
            joined.append(programme_round.id)
        if invitation.accepted_at is None:  # e.g. someone who already had an account
            invitation.accepted_at = utcnow()
            session.add(invitation)
    session.flush()
    return joined


def _send(session: Session, user: User, key: str, subject: str, template: str,
          context: dict[str, Any]) -> None:
    enqueue(session, key=f"{key}:{user.id}", kind=template, recipient_email=user.email,
            recipient_user_id=user.id, subject=subject, template=template,
            context={"email": user.email, **context})
