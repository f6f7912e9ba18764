"""Single sign-on with OpenID Connect: what a validated ID token's claims mean for this service.

Authlib (in the view) has already checked the token's signature against the provider's keys,
its audience, expiry, nonce and the state and PKCE of the flow. Here, without Flask: whether
the issuer and tenant are allowed (Entra's multi-tenant metadata names the issuer
`https://login.microsoftonline.com/{tenantid}/v2.0`, so no library can check it for us), whether
the email address is the person's own, whether the sign-in used a second factor, and which
account it signs in to. Every outcome is audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from joserfc.errors import ExpiredTokenError, JoseError
from sqlmodel import Session, select

from mentoring import audit
from mentoring.auth.oidc_config import OidcProvider
from mentoring.auth.services import end_all_sessions, find_user, normalise_email
from mentoring.models import IdentityLink, User, utcnow
from mentoring.vocab import Role

TENANT_PLACEHOLDER = "{tenantid}"
PROTOCOL_ERRORS = {"state", "provider_error", "invalid_token", "expired", "no_id_token",
                   "wrong_audience", "unavailable"}
#: seconds of clock difference allowed with the provider (Authlib's default)
LEEWAY_SECONDS = 120
# Entra tenant ids are GUIDs; anything else (a path, a dot) must never be put into an issuer URL.
TENANT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class Refused(Exception):
    """A sign-in this service will not accept. `reason` is for the audit log; `message` for the
    person trying to sign in."""

    def __init__(self, reason: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.reason, self.message, self.detail = reason, message, detail
        self.audited = False

    @property
    def is_protocol_error(self) -> bool:
        """A broken or tampered exchange with the provider (400), not a decision about who may
        sign in (403)."""
        return self.reason in PROTOCOL_ERRORS


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, with what this service makes of it."""

    issuer: str
    subject: str
    tenant: str
    email: str
    email_verified: bool  # by this provider's trust settings, not only the token's word
    second_factor: bool
    amr: tuple[str, ...] = ()
    acr: str = ""


@dataclass(frozen=True)
class SignedIn:
    user: User
    how: str  # "subject": an existing link; "email": linked now; "created": a new account


def identity_from_claims(provider: OidcProvider, claims: Mapping[str, Any],
                         metadata_issuer: str) -> Identity:
    """The identity in a validated ID token, or Refused when its issuer, tenant, audience or
    subject is not acceptable."""
    issuer = str(claims.get("iss") or "")
    tenant = str(claims.get("tid") or "")
    check_issuer(provider, issuer, tenant, metadata_issuer)
    check_audience(provider, claims)
    subject = str(claims.get(provider.subject_claim) or "")
    if not subject:
        raise Refused("no_subject", f"{provider.display_name} did not say who you are.",
                      issuer=issuer)
    amr = claims.get("amr") or []
    amr = tuple(str(value) for value in amr) if isinstance(amr, list) else ()
    acr = str(claims.get("acr") or "")
    return Identity(
        issuer=issuer,
        subject=subject,
        tenant=tenant,
        email=normalise_email(str(claims.get("email") or "")),
        email_verified=email_is_verified(provider, claims),
        second_factor=used_second_factor(provider, claims),
        amr=amr,
        acr=acr,
    )


def check_issuer(provider: OidcProvider, issuer: str, tenant: str, metadata_issuer: str) -> None:
    """The token's issuer is the one the provider's metadata names (with the token's own tenant
    put in Entra's placeholder: Microsoft asks multi-tenant apps to check that `iss` and `tid`
    agree), and it is on the allowlists."""
    wrong = Refused(
        "wrong_issuer",
        f"Your {provider.display_name} account is not one this service accepts. Sign in with "
        "your email address instead, or ask your programme coordinator.",
        issuer=issuer, tenant=tenant)
    if TENANT_PLACEHOLDER in metadata_issuer:
        if not TENANT_ID.match(tenant):
            raise wrong
        expected = metadata_issuer.replace(TENANT_PLACEHOLDER, tenant)
    else:
        expected = metadata_issuer
    if not issuer or issuer != expected:
        raise wrong
    if provider.allowed_issuers and issuer not in provider.allowed_issuers:
        raise wrong
    if provider.allowed_tenants and tenant.lower() not in {
            allowed.lower() for allowed in provider.allowed_tenants}:
        raise Refused("wrong_tenant", wrong.message, issuer=issuer, tenant=tenant)


def check_audience(provider: OidcProvider, claims: Mapping[str, Any]) -> None:
    """The token was issued to this service (Authlib checks `azp` but not `aud` itself)."""
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    ok = provider.client_id in audiences
    if ok and len(audiences) > 1:
        ok = claims.get("azp") == provider.client_id
    if not ok:
        raise Refused("wrong_audience", f"{provider.display_name}'s answer was not meant for "
                      "this service, so you are not signed in.", audience=str(audience))


def email_is_verified(provider: OidcProvider, claims: Mapping[str, Any]) -> bool:
    """Whether the email claim is the person's own address, as far as this provider's settings
    let us believe it. Entra sends no `email_verified` for work accounts; its optional
    `xms_edov` says the tenant verified the domain; a directory whose addresses its
    administrators assign (NHSmail) can be trusted as a whole."""
    if not claims.get("email"):
        return False
    if provider.trust_email_verified and claims.get("email_verified") is True:
        return True
    if provider.trust_xms_edov and claims.get("xms_edov") in (True, "true", "1", 1):
        return True
    return provider.trust_tenant_emails


def used_second_factor(provider: OidcProvider, claims: Mapping[str, Any]) -> bool:
    amr = claims.get("amr")
    if isinstance(amr, list) and set(map(str, amr)) & set(provider.mfa_amr_values):
        return True
    contexts = claims.get("acrs")  # Entra's authentication contexts, a list
    values = {str(claims.get("acr") or "")}
    if isinstance(contexts, list):
        values |= set(map(str, contexts))
    return bool(values & set(provider.mfa_acr_values))


def sign_in(session: Session, provider: OidcProvider, identity: Identity, *,
            ip: str = "") -> SignedIn:
    """The account this identity signs in to: the one linked to it; else the account with its
    verified email address, linked now; else a new leader account when the provider may create
    them. Raises Refused otherwise, audited."""
    link = session.exec(select(IdentityLink).where(
        IdentityLink.provider == provider.name, IdentityLink.issuer == identity.issuer,
        IdentityLink.subject == identity.subject)).first()
    if link is not None:
        user = session.get(User, link.user_id)
        assert user is not None  # the foreign key cascades
        how = "subject"
    else:
        user, how = _link_by_email(session, provider, identity, ip=ip), "email"
        if user is None:
            user, how = _create_account(session, provider, identity, ip=ip), "created"
        link = IdentityLink(user_id=user.id, provider=provider.name, issuer=identity.issuer,
                            subject=identity.subject, email=identity.email)
    if not user.is_active:
        raise refuse(session, provider, identity, Refused(
            "deactivated", "Your account has been deactivated. Ask your programme coordinator "
            "if you think this is wrong.", user_id=user.id), ip=ip)
    now = utcnow()
    link.last_sign_in_at = now
    user.last_sign_in_at = now
    session.add_all([link, user])
    session.flush()
    if how != "subject":
        audit.record(session, "identity.linked", actor=user, obj=link, ip=ip,
                     detail={"provider": provider.name, "by": how, "email": identity.email,
                             "issuer": identity.issuer, "tenant": identity.tenant})
    audit.record(session, "sign_in.succeeded", actor=user, obj=user, ip=ip,
                 detail={"method": provider.method, "second_factor": identity.second_factor,
                         "amr": list(identity.amr), "acr": identity.acr})
    return SignedIn(user=user, how=how)


#: a confirmation at the provider counts only when the provider says the person signed in
#: again this recently (its auth_time claim, asked for with max_age=0 and prompt=login)
CONFIRM_WITHIN_SECONDS = 5 * 60


def confirm(session: Session, provider: OidcProvider, identity: Identity, user: User,
            auth_time: Any, now: datetime, *, ip: str = "") -> None:
    """A signed-in user confirmed who they are at their provider before a sensitive action
    (for those who sign in only with the provider, their way to "confirm it is you"). The
    identity must be the one linked to this account, and the provider must say they signed
    in just now (auth_time), not that an old session at the provider was reused. Raises
    Refused otherwise, audited; audits the confirmation."""
    link = session.exec(select(IdentityLink).where(
        IdentityLink.provider == provider.name, IdentityLink.issuer == identity.issuer,
        IdentityLink.subject == identity.subject)).first()
    if link is None or link.user_id != user.id:
        raise refuse(session, provider, identity, Refused(
            "not_this_account", f"You signed in to {provider.display_name} as someone else, "
            "so we could not confirm it is you. Sign in to it with the account you use here, "
            "then try again.", user_id=user.id), ip=ip)
    signed_in_at = auth_time if isinstance(auth_time, int | float) and \
        not isinstance(auth_time, bool) else None
    if signed_in_at is None or not \
            -LEEWAY_SECONDS <= now.timestamp() - signed_in_at <= CONFIRM_WITHIN_SECONDS:
        raise refuse(session, provider, identity, Refused(
            "not_recent", f"{provider.display_name} did not ask you to sign in again, so we "
            "could not confirm it is you. Try again.", user_id=user.id), ip=ip)
    audit.record(session, "sign_in.confirmed", actor=user, obj=user, ip=ip,
                 detail={"method": provider.method, "second_factor": identity.second_factor,
                         "amr": list(identity.amr), "acr": identity.acr})


def linked_providers(session: Session, user: User,
                     configured: tuple[OidcProvider, ...]) -> list[OidcProvider]:
    """The configured providers this account is linked to (it can confirm who it is there)."""
    names = set(session.exec(select(IdentityLink.provider).where(
        IdentityLink.user_id == user.id)).all())
    return [provider for provider in configured if provider.name in names]


def _link_by_email(session: Session, provider: OidcProvider, identity: Identity, *,
                   ip: str) -> User | None:
    if not identity.email_verified:
        reason = "no_email" if not identity.email else "unverified_email"
        raise refuse(session, provider, identity, Refused(
            reason, f"{provider.display_name} did not confirm your email address, so we cannot "
            "tell which account is yours. Sign in with your email address and password, or ask "
            "for a sign-in link by email.", email=identity.email), ip=ip)
    user = find_user(session, identity.email)
    if user is None or not user.is_active:
        return user  # a deactivated account is refused by the caller, unchanged
    other = session.exec(select(IdentityLink).where(
        IdentityLink.user_id == user.id, IdentityLink.provider == provider.name)).first()
    if other is not None:
        # The account already belongs to another identity at this provider: an email address
        # that moved to someone else (or was set by a tenant's administrator) takes nothing.
        raise refuse(session, provider, identity, Refused(
            "linked_to_another", f"Your account is linked to a different {provider.display_name} "
            "account. Sign in with that one, or with your email address and password.",
            email=identity.email, user_id=user.id), ip=ip)
    if not user.is_verified:
        # Someone registered this address and never proved it; the provider has now proved who
        # owns it. Whatever password they chose is not the owner's: it ends, like their sessions.
        user.verified_at = utcnow()
        user.password_hash = None
        end_all_sessions(user)
        session.add(user)
        audit.record(session, "user.verified", actor=user, obj=user, ip=ip,
                     detail={"by": provider.method, "password_cleared": True})
    return user


def _create_account(session: Session, provider: OidcProvider, identity: Identity, *,
                    ip: str) -> User:
    if not provider.create_accounts:
        raise refuse(session, provider, identity, Refused(
            "no_account", f"There is no account for {identity.email}. Ask your programme "
            "coordinator for an invitation, or create an account with your email address.",
            email=identity.email), ip=ip)
    user = User(email=identity.email, role=Role.LEADER, password_hash=None,
                verified_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, "user.created", actor=user, obj=user, ip=ip,
                 detail={"by": provider.method, "role": user.role})
    return user


def refuse(session: Session, provider: OidcProvider, identity: Identity | None,
           refusal: Refused, *, ip: str = "") -> Refused:
    """Audit a refused sign-in and return the refusal for the caller to raise."""
    detail: dict[str, Any] = {"method": provider.method, "reason": refusal.reason,
                              **{k: v for k, v in refusal.detail.items() if v not in ("", None)}}
    if identity is not None:
        detail |= {"issuer": identity.issuer, "tenant": identity.tenant}
        if identity.email:
            detail["email"] = identity.email
    user_id = refusal.detail.get("user_id")
    actor = session.get(User, user_id) if user_id else None
    audit.record(session, "sign_in.failed", actor=actor, obj=actor, detail=detail, ip=ip)
    refusal.audited = True
    return refusal


def refusal_for_error(provider: OidcProvider, error: Exception) -> Refused:
    """What a failure of the protocol (raised by Authlib, joserfc or requests) means."""
    name = provider.display_name
    again = "Go back to the sign-in page and start again."
    if isinstance(error, MismatchingStateError):
        return Refused("state", f"This answer from {name} does not belong to a sign-in started "
                       f"in this browser, or it took too long. {again}")
    if isinstance(error, OAuthError):
        return Refused("provider_error", f"{name} did not sign you in. {again}",
                       error=str(error.error or ""), description=str(error.description or ""))
    if isinstance(error, ExpiredTokenError):
        return Refused("expired", f"{name}'s answer had expired by the time it reached us (the "
                       f"clock of this service or of {name} may be wrong). {again}")
    if isinstance(error, JoseError):
        return Refused("invalid_token", f"{name}'s answer could not be checked, so you are not "
                       f"signed in. {again}", error=f"{type(error).__name__}: {error}"[:200])
    return Refused("unavailable", f"{name} cannot be reached just now. Sign in with your email "
                   "address instead, or try again later.", error=type(error).__name__)


__all__ = ["Identity", "Refused", "SignedIn", "identity_from_claims", "refusal_for_error",
           "refuse", "sign_in"]
