"""A second factor: an authenticator app (TOTP through pyotp, its QR code drawn by segno as
inline SVG), passkeys (WebAuthn through py_webauthn) and ten single-use recovery codes.
Required for coordinators and admins, offered to leaders. No Flask here: the views, the admin
pages and tests call these.

A sign-in through an identity provider whose token says it enforced MFA counts as two factors
(mentoring.auth.oidc); everything else asks for a code after the password or email link.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import pyotp
import segno
import sqlalchemy as sa
import webauthn
from sqlmodel import Session, select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from mentoring import audit
from mentoring.auth import throttle
from mentoring.auth.services import end_all_sessions
from mentoring.models import RecoveryCode, SecondFactor, User, utcnow
from mentoring.notifications.outbox import enqueue
from mentoring.vocab import Role

ROLES_THAT_NEED_IT = (Role.COORDINATOR, Role.ADMIN)
ISSUER = "Leadership exchange"  # the name authenticator apps show beside the code
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32's, lower case: no 0/o, 1/l
# A code is good for its 30-second step and one step either side (a phone's clock a little
# out, or a code typed as it changed).
VALID_WINDOW = 1
STEP_SECONDS = 30


class SecondFactorError(ValueError):
    """A code that is not right, with a message for the user."""


def is_required(user: User) -> bool:
    return user.role in ROLES_THAT_NEED_IT


def totp_of(session: Session, user: User) -> SecondFactor | None:
    return session.exec(select(SecondFactor).where(SecondFactor.user_id == user.id,
                                                   SecondFactor.kind == "totp")).first()


def passkeys_of(session: Session, user: User) -> list[SecondFactor]:
    return list(session.exec(select(SecondFactor).where(
        SecondFactor.user_id == user.id, SecondFactor.kind == "passkey")
        .order_by(SecondFactor.id)).all())  # type: ignore[arg-type]


def has_second_factor(session: Session, user: User) -> bool:
    return session.exec(select(SecondFactor.id).where(
        SecondFactor.user_id == user.id)).first() is not None


def recovery_codes_left(session: Session, user: User) -> int:
    return session.exec(select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).one()  # type: ignore


# --- setting one up --------------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The otpauth:// address as an SVG element to put in the page (no image request, nothing
    for the CSP to allow): dark modules on a white square with the quiet zone around them."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, dark="#212b32", light="#ffffff", title="QR code for your authenticator app")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is (within the window), or None."""
    totp = pyotp.TOTP(secret)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = _step(now) + offset
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def add_totp(session: Session, user: User, secret: str, code: str, *, now: datetime | None = None,
             ip: str = "") -> list[str]:
    """Add the authenticator app once its first code proves it is set up; returns the new
    recovery codes (shown once). Raises SecondFactorError for a wrong code."""
    now = now or utcnow()
    code = _clean(code)
    if not code:
        raise SecondFactorError("Enter the 6-digit code from your authenticator app")
    step = _matching_step(secret, code, now) if code.isdigit() and len(code) == 6 else None
    if step is None:
        raise SecondFactorError("The code is not right: check your app shows "
                                f"{ISSUER}, and enter the code it shows now")
    existing = totp_of(session, user)
    if existing is not None:  # setting up again (a new phone) replaces the old app
        session.delete(existing)
    session.add(SecondFactor(user_id=user.id, kind="totp", secret=secret, last_used_step=step,
                             created_at=now, last_used_at=now))
    codes = new_recovery_codes(session, user, now=now)
    audit.record(session, "second_factor.added", actor=user, obj=user, ip=ip,
                 detail={"kind": "totp", "replaced": existing is not None})
    _tell(session, user, "second-factor-added", now,
          "An authenticator app was set up for your account")
    return codes


def new_recovery_codes(session: Session, user: User, *, now: datetime | None = None) -> list[str]:
    """Ten new codes (the old ones stop working); only their hashes are kept."""
    now = now or utcnow()
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash(code), created_at=now))
    session.flush()
    return codes


def _recovery_code() -> str:
    """80 random bits as four groups of four letters and digits: abcd-efgh-jkmn-pqrs."""
    text = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(text[i:i + 4] for i in range(0, 16, 4))


def _hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


# --- checking a code -------------------------------------------------------------------------


def verify(session: Session, user: User, code: str, *, now: datetime | None = None,
           ip: str = "") -> str:
    """Check a code from the authenticator app, or a recovery code; returns which ("totp" or
    "recovery"). Throttled and audited like a password: failures count towards the same
    lock-out, so the 10^6 codes cannot be guessed. Raises SecondFactorError or Throttled."""
    now = now or utcnow()
    code = _clean(code)
    return _checked(session, user, ip, now, lambda: (
        _use_totp(session, user, code, now) or _use_recovery_code(session, user, code, now))
        if code else None, empty=not code)


def _checked(session: Session, user: User, ip: str, now: datetime, attempt, *,
             empty: bool = False) -> str:
    """Run one attempt at a second factor, throttled and audited like a password."""
    minutes = throttle.throttle_wait(session, user.email, ip, now)
    if minutes:
        audit.record(session, "second_factor.throttled", actor=user, obj=user, ip=ip)
        raise throttle.Throttled(minutes)
    if empty:
        raise SecondFactorError("Enter the code from your authenticator app, or a recovery code")
    used = attempt()
    throttle.record_attempt(session, user.email, ip, succeeded=used is not None)
    if used is None:
        audit.record(session, "second_factor.failed", actor=user, obj=user, ip=ip)
        raise SecondFactorError("The code is not right, or it has been used already. Enter "
                                "the code your app shows now, or a recovery code")
    audit.record(session, "second_factor.verified", actor=user, obj=user, ip=ip,
                 detail={"with": used})
    return used


def _use_totp(session: Session, user: User, code: str, now: datetime) -> str | None:
    factor = totp_of(session, user)
    if factor is None or not (code.isdigit() and len(code) == 6):
        return None
    step = _matching_step(factor.secret, code, now)
    if step is None or step <= factor.last_used_step:
        return None  # wrong, or used already (a code seen over someone's shoulder)
    # Claimed with a conditional UPDATE: two requests with one code cannot both succeed.
    claimed = session.execute(
        sa.update(SecondFactor)
        .where(SecondFactor.id == factor.id, SecondFactor.last_used_step < step)
        .values(last_used_step=step, last_used_at=now)
    ).rowcount
    return "totp" if claimed else None


def _use_recovery_code(session: Session, user: User, code: str, now: datetime) -> str | None:
    claimed = session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code),
               RecoveryCode.used_at.is_(None))  # type: ignore[union-attr]
        .values(used_at=now)
    ).rowcount
    if not claimed:
        return None
    _tell(session, user, f"recovery-code-used:{now:%Y%m%d%H%M%S}", now,
          "A recovery code was used to sign in to your account")
    return "recovery"


# --- passkeys (WebAuthn, through py_webauthn) --------------------------------------------------


@dataclass(frozen=True)
class RelyingParty:
    """Who passkeys are for: the service's host name and origin, from BASE_URL (never from the
    request: a passkey made for one site is never accepted by another)."""

    id: str
    origin: str
    name: str = ISSUER

    @classmethod
    def from_base_url(cls, base_url: str) -> RelyingParty:
        parts = urlsplit(base_url)
        return cls(id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}")


def passkey_registration(session: Session, user: User, party: RelyingParty) -> tuple[str, str]:
    """Options for the browser to make a passkey (JSON), and the challenge to keep."""
    options = webauthn.generate_registration_options(
        rp_id=party.id, rp_name=party.name, user_name=user.email, user_id=str(user.id).encode(),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
                             for key in passkeys_of(session, user)],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED))
    return webauthn.options_to_json(options), bytes_to_base64url(options.challenge)


def add_passkey(session: Session, user: User, party: RelyingParty, credential: str,
                challenge: str, *, now: datetime | None = None, ip: str = "") -> list[str]:
    """Keep the passkey the browser made; returns new recovery codes when the account had none
    (its first second factor), else []."""
    now = now or utcnow()
    try:
        made = webauthn.verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=party.id, expected_origin=party.origin)
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise SecondFactorError("The passkey could not be added. Try again, or set up an "
                                "authenticator app instead") from error
    session.add(SecondFactor(
        user_id=user.id, kind="passkey", credential_id=bytes_to_base64url(made.credential_id),
        public_key=bytes_to_base64url(made.credential_public_key), sign_count=made.sign_count,
        created_at=now, last_used_at=now))
    codes = [] if recovery_codes_left(session, user) else new_recovery_codes(session, user, now=now)
    audit.record(session, "second_factor.added", actor=user, obj=user, ip=ip,
                 detail={"kind": "passkey"})
    _tell(session, user, "passkey-added", now, "A passkey was added to your account")
    return codes


def passkey_request(session: Session, user: User, party: RelyingParty) -> tuple[str, str] | None:
    """Options for the browser to sign with one of the user's passkeys, and the challenge; None
    when they have none."""
    keys = passkeys_of(session, user)
    if not keys:
        return None
    options = webauthn.generate_authentication_options(
        rp_id=party.id, allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
            for key in keys])
    return webauthn.options_to_json(options), bytes_to_base64url(options.challenge)


def verify_passkey(session: Session, user: User, party: RelyingParty, credential: str,
                   challenge: str, *, now: datetime | None = None, ip: str = "") -> str:
    """Check the browser's signature with one of the user's passkeys ("passkey"); throttled
    and audited like a code. Raises SecondFactorError or Throttled."""
    now = now or utcnow()
    return _checked(session, user, ip, now,
                    lambda: _use_passkey(session, user, party, credential, challenge, now))


def _use_passkey(session: Session, user: User, party: RelyingParty, credential: str,
                 challenge: str, now: datetime) -> str | None:
    try:
        credential_id = json.loads(credential)["id"]
    except (ValueError, KeyError, TypeError):
        return None
    key = next((key for key in passkeys_of(session, user)
                if key.credential_id == credential_id), None)
    if key is None or not challenge:
        return None
    try:
        signed = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=party.id, expected_origin=party.origin,
            credential_public_key=base64url_to_bytes(key.public_key),
            credential_current_sign_count=key.sign_count)
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return None
    key.sign_count, key.last_used_at = signed.new_sign_count, now
    session.add(key)
    return "passkey"


# --- taking it away --------------------------------------------------------------------------


def remove(session: Session, user: User, *, ip: str = "") -> None:
    """A leader turns their second factor off (coordinators and admins cannot: they need one)."""
    if is_required(user):
        raise SecondFactorError(f"As {user.role} you need a second factor")
    _delete_all(session, user)
    audit.record(session, "second_factor.removed", actor=user, obj=user, ip=ip,
                 detail={"by": "self"})
    _tell(session, user, "second-factor-removed", utcnow(),
          "The second factor was removed from your account")


def reset_by_admin(session: Session, admin: User, user: User, reason: str, *,
                   ip: str = "") -> None:
    """Someone lost their phone and their recovery codes: an admin removes their second factor.
    Every session of theirs ends; a coordinator or admin sets a new one up at next sign-in."""
    _delete_all(session, user)
    end_all_sessions(user)
    session.add(user)
    audit.record(session, "second_factor.reset", actor=admin, obj=user, ip=ip,
                 detail={"reason": reason})
    _tell(session, user, "second-factor-reset", utcnow(),
          "An admin reset the second factor of your account")


def _delete_all(session: Session, user: User) -> None:
    session.execute(sa.delete(SecondFactor).where(SecondFactor.user_id == user.id))
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _tell(session: Session, user: User, key: str, now: datetime, what: str) -> None:
    """An email to the account's owner whenever its second factor changes: if it was not them,
    they know at once. (Folds into the security-change emails of issue 15 item 6.)"""
    enqueue(session, key=f"{key}:{user.id}:{now:%Y%m%d%H%M%S%f}", kind="second_factor_changed",
            recipient_email=user.email, recipient_user_id=user.id, subject=what,
            template="second_factor_changed", context={"what": what, "email": user.email})
