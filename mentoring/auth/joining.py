"""Joining and getting back in: registration, email verification, invitations, password reset
and one-time sign-in links.

Every email goes through the outbox in the same transaction. Responses never reveal whether an
email address has an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import EmailStr, field_validator
from sqlmodel import Session, SQLModel, select

from mentoring import audit
from mentoring.auth import email_links
from mentoring.auth.notices import notify_security_change
from mentoring.auth.services import (
    AccountError,
    create_user,
    end_all_sessions,
    find_user,
    normalise_email,
    set_password,
)
from mentoring.auth.tokens import make_token, read_token
from mentoring.models import (
    Invitation,
    LeaderProfile,
    Notification,
    ProgrammeRound,
    RoundParticipant,
    User,
    UserCreate,
    utcnow,
)
from mentoring.notifications.outbox import enqueue
from mentoring.vocab import NotificationStatus, Role, RoundStatus

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
#
# No account exists until its address is proved. Registering only emails a single-use link;
# following it (a page with a button: opening a link spends nothing) is where the person chooses
# a password and the account comes into being. So whoever registers someone else's address gets
# nothing: no account, no password, no session, in either order (before or after the owner). An
# account that still has no proof of its address (made before accounts waited for their link)
# cannot sign in with a password, joins no round, and the first proof of its address replaces
# whatever password it had.


class EmailAddress(SQLModel):
    email: EmailStr

    @field_validator("email")
    @classmethod
    def lower_email(cls, value: str) -> str:
        return value.strip().lower()


def register(session: Session, links: Links, email: str, *, ip: str = "") -> None:
    """Email a link that creates the account, or, when the address already has a proved account,
    a note to its owner. The caller shows the same page either way (raises ValidationError only
    for an address that is not one, before anything is looked up)."""
    email = EmailAddress.model_validate({"email": email}).email
    email_links.count_request(session, "register", email, ip)
    existing = find_user(session, email)
    if existing is not None and (existing.is_verified or not existing.is_active):
        _send(session, existing, f"account-exists:{utcnow():%Y-%m-%d}",
              "You already have an account",
              "account_exists", {"sign_in_url": links.url("/sign-in"),
                                 "reset_url": links.url("/reset-password")})
        return
    send_verification(session, links, email, user=existing)


def verification_url(session: Session, links: Links, email: str,
                     user: User | None = None) -> str:
    token = email_links.issue(session, email_links.VERIFY_EMAIL, email, user)
    return links.url(f"/verify/{token}")


def send_verification(session: Session, links: Links, email: str,
                      user: User | None = None) -> None:
    url = verification_url(session, links, email, user)
    enqueue(session, key=f"verify:{url[-24:]}", kind="verify_email", recipient_email=email,
            recipient_user_id=user.id if user else None, subject="Confirm your email address",
            template="verify_email", context={"email": email, "verify_url": url})


def verification_link(session: Session, token: str) -> email_links.Found:
    """The confirmation link behind `token`, if it still works. A link to an address that has
    meanwhile got a proved account (the owner followed another link) counts as used."""
    found = email_links.find(session, email_links.VERIFY_EMAIL, token)
    if found.link is not None:
        user = find_user(session, found.link.email)
        if user is not None and user.is_verified:
            return email_links.Found(None, "used")
        if user is not None and not user.is_active:  # deactivated since: an admin decides
            return email_links.Found(None, "unknown")
    return found


def complete_registration(session: Session, token: str, password: str, *,
                          ip: str = "") -> User | None:
    """Follow a confirmation link: the account comes into being, proved, with this password
    (validated: raises ValidationError). None when the link no longer works."""
    link = verification_link(session, token).link
    if link is None:
        return None
    UserCreate.model_validate({"email": link.email, "password": password})
    if not email_links.spend(session, link):
        return None
    user = find_user(session, link.email)
    if user is None:
        user = create_user(session, link.email, password, verified=True)
        audit.record(session, "account.registered", actor=user, obj=user, ip=ip)
    else:  # an account nobody had proved: its old password was not necessarily the owner's
        mark_verified(session, user, by="email-link", ip=ip)
        set_password(session, user, password)
    email_links.revoke(session, user, purposes=(email_links.VERIFY_EMAIL,))
    return user


def mark_verified(session: Session, user: User, *, by: str, ip: str = "") -> None:
    """The address is proved now (a link followed). A password set before then was not
    necessarily set by the owner: it ends, with every session it opened."""
    if user.is_verified:
        return
    user.verified_at = utcnow()
    cleared = user.password_hash is not None
    user.password_hash = None
    end_all_sessions(user)
    session.add(user)
    audit.record(session, "account.verified", actor=user, obj=user, ip=ip,
                 detail={"by": by, "password_cleared": cleared})


# --- password reset --------------------------------------------------------------------------


def request_password_reset(session: Session, links: Links, email: str, *, ip: str = "") -> None:
    email_links.count_request(session, "reset", email, ip)
    user = find_user(session, email)
    if user is None or not user.is_active:
        return
    token = email_links.issue(session, email_links.RESET_PASSWORD, user.email, user)
    _send(session, user, f"reset:{token[-24:]}", "Reset your password", "reset_password",
          {"reset_url": links.url(f"/reset-password/{token}")})
    audit.record(session, "password.reset_requested", actor=user, obj=user, ip=ip)


def reset_link(session: Session, token: str) -> tuple[email_links.Found, User | None]:
    """The reset link behind `token` and its account, if both still work."""
    found = email_links.find(session, email_links.RESET_PASSWORD, token)
    link = found.link
    user = session.get(User, link.user_id) if link and link.user_id else None
    if link is not None and (user is None or not user.is_active or user.email != link.email):
        return email_links.Found(None, "unknown"), None
    return found, user


def reset_password(session: Session, token: str, password: str, *, ip: str = "") -> User | None:
    """Set a new password (validated) and end every session and every other link. None when
    the link does not work (any more)."""
    found, user = reset_link(session, token)
    if found.link is None or user is None:
        return None
    UserCreate.model_validate({"email": user.email, "password": password, "role": user.role})
    if not email_links.spend(session, found.link):
        return None
    mark_verified(session, user, by="reset-link", ip=ip)  # the link proves the address
    set_password(session, user, password)
    email_links.revoke(session, user)
    audit.record(session, "password.reset", actor=user, obj=user, ip=ip)
    notify_security_change(session, user, "password", detail="It was reset with a link we "
                           "emailed to you.")
    return user


# --- one-time sign-in links ------------------------------------------------------------------


def request_sign_in_link(session: Session, links: Links, email: str, *, ip: str = "") -> None:
    email_links.count_request(session, "sign-in-link", email, ip)
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
    mark_verified(session, user, by="sign-in-link", ip=ip)
    user.last_sign_in_at = utcnow()
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


def revoke_invitation(session: Session, invitation: Invitation, *, actor: User,
                      ip: str = "") -> None:
    """Withdraw an invitation nobody has accepted: its link opens nothing (the row goes, and
    `invitation_for` finds none) and its email, if still waiting in the outbox, is not sent.
    Raises AccountError for an accepted one (the account stays: deactivate it instead)."""
    if invitation.accepted_at is not None:
        raise AccountError(f"{invitation.email} has already accepted this invitation")
    session.execute(
        sa.update(Notification)
        .where(Notification.idempotency_key == f"invitation:{invitation.id}",
               Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.WITHDRAWN)
    )
    audit.record(session, "invitation.revoked", actor=actor, obj=invitation, ip=ip,
                 detail={"email": invitation.email, "round_id": invitation.round_id})
    session.delete(invitation)
    session.flush()


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
    user = find_user(session, invitation.email)
    if user is not None and user.is_verified:
        raise AccountError(f"An account for {user.email} already exists")
    if user is None:
        user = create_user(session, invitation.email, password, role, verified=True)
    else:
        # Someone registered this address before the invitation came and never proved it: the
        # invitation link proves it now, so the account is the invited person's, with the role
        # the invitation grants and their password, not the one set before.
        UserCreate.model_validate({"email": user.email, "password": password, "role": role})
        mark_verified(session, user, by="invitation", ip=ip)
        set_password(session, user, password)
        user.role = role
        session.add(user)
    email_links.revoke(session, user, purposes=(email_links.VERIFY_EMAIL,))
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
    this runs when the profile is first saved. Returns the round ids joined. An account whose
    address nobody has proved joins nothing: an invitation is for whoever owns the address."""
    if not user.is_verified:
        return []
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
