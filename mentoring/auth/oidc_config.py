"""Identity providers for single sign-on (OpenID Connect), read from OIDC_PROVIDERS (JSON) or
OIDC_PROVIDERS_FILE (a JSON file; by default `oidc-providers.json` in the instance folder when it
exists). See docs/single-sign-on.md for every key and why it is there. No Flask here."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A name goes into URLs (/sign-in/with/<name>) and into the sign-in method ("oidc:<name>").
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# RFC 8176 "mfa": the provider used more than one factor. A bare "otp" is not enough by default:
# Entra's email one-time passcode for guests is a single factor (possession of the mailbox).
DEFAULT_MFA_AMR = ("mfa",)
SUBJECT_CLAIMS = ("sub", "oid")
DEFAULT_FILE_NAME = "oidc-providers.json"


class OidcConfigError(ValueError):
    """The identity-provider settings are not usable; the message says which key and why."""


@dataclass(frozen=True)
class OidcProvider:
    name: str
    display_name: str  # "NHSmail": in the button and in every message about this provider
    discovery_url: str  # .../.well-known/openid-configuration
    client_id: str
    client_secret: str = field(repr=False)
    # Tokens are accepted only from these issuers and/or tenants (Entra's `tid`); at least one of
    # the two lists is required, so a multi-tenant ("common") registration never means "anyone".
    allowed_issuers: tuple[str, ...] = ()
    allowed_tenants: tuple[str, ...] = ()
    label: str = ""  # the button's text; default "Sign in with <display_name>"
    scopes: str = "openid email profile"
    # Which claim identifies the person for good: "sub" (pairwise per app in Entra) or "oid".
    subject_claim: str = "sub"
    # When an email address counts as the person's own (for linking or creating an account):
    trust_email_verified: bool = True  # the standard claim `email_verified: true`
    trust_xms_edov: bool = False  # Entra's optional claim: the tenant verified the email's domain
    trust_tenant_emails: bool = False  # every email of an allowed tenant (a managed directory)
    # An unknown but verified email address gets a new leader account (else: refused).
    create_accounts: bool = True
    # The token says the person used a second factor when `amr` holds one of these, or `acr`
    # (or Entra's `acrs` authentication contexts) one of those.
    mfa_amr_values: tuple[str, ...] = DEFAULT_MFA_AMR
    mfa_acr_values: tuple[str, ...] = ()

    @property
    def button_text(self) -> str:
        return self.label or f"Sign in with {self.display_name}"

    @property
    def method(self) -> str:
        return f"oidc:{self.name}"


def load_providers(env: Mapping[str, str], instance_path: Path, *,
                   production: bool) -> tuple[OidcProvider, ...]:
    """The configured providers: OIDC_PROVIDERS, else OIDC_PROVIDERS_FILE, else the instance
    folder's oidc-providers.json, else none (single sign-on off)."""
    text = env.get("OIDC_PROVIDERS", "").strip()
    where = "OIDC_PROVIDERS"
    if not text:
        path_text = env.get("OIDC_PROVIDERS_FILE", "").strip()
        path = Path(path_text) if path_text else instance_path / DEFAULT_FILE_NAME
        if path_text and not path.is_file():
            raise OidcConfigError(f"OIDC_PROVIDERS_FILE: no such file {path}")
        if not path.is_file():
            return ()
        text, where = path.read_text(encoding="utf-8"), str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OidcConfigError(f"{where} is not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise OidcConfigError(f"{where} must be a JSON list of identity providers")
    providers = tuple(parse_provider(item, env, production=production, where=where)
                      for item in data)
    names = [provider.name for provider in providers]
    if len(set(names)) != len(names):
        raise OidcConfigError(f"{where}: two identity providers share a name")
    return providers


def parse_provider(item: Any, env: Mapping[str, str] = os.environ, *, production: bool = False,
                   where: str = "OIDC_PROVIDERS") -> OidcProvider:
    if not isinstance(item, dict):
        raise OidcConfigError(f"{where}: each identity provider is a JSON object")
    known = set(OidcProvider.__dataclass_fields__) | {"client_secret_env"}
    unknown = sorted(set(item) - known)
    if unknown:
        raise OidcConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    name = _text(item, "name", where)
    where = f"{where} provider {name!r}"
    if not NAME.match(name):
        raise OidcConfigError(f"{where}: name must be lower-case letters, digits and hyphens")
    secret = item.get("client_secret") or ""
    if item.get("client_secret_env"):  # keep the secret out of the JSON, in its own variable
        secret = env.get(str(item["client_secret_env"]), "")
    if not secret:
        raise OidcConfigError(f"{where}: client_secret (or client_secret_env) is required")
    discovery_url = _text(item, "discovery_url", where)
    if production and not discovery_url.startswith("https://"):
        raise OidcConfigError(f"{where}: discovery_url must use https:// in production")
    issuers, tenants = _list(item, "allowed_issuers", where), _list(item, "allowed_tenants", where)
    if not issuers and not tenants:
        raise OidcConfigError(
            f"{where}: allowed_issuers or allowed_tenants is required (a multi-tenant "
            "registration would otherwise accept every organisation's accounts)")
    subject_claim = item.get("subject_claim", "sub")
    if subject_claim not in SUBJECT_CLAIMS:
        raise OidcConfigError(f"{where}: subject_claim must be sub or oid")
    scopes = str(item.get("scopes", "openid email profile"))
    if "openid" not in scopes.split():
        raise OidcConfigError(f"{where}: scopes must include openid")
    return OidcProvider(
        name=name,
        display_name=_text(item, "display_name", where),
        discovery_url=discovery_url,
        client_id=_text(item, "client_id", where),
        client_secret=secret,
        allowed_issuers=issuers,
        allowed_tenants=tenants,
        label=str(item.get("label", "")).strip(),
        scopes=scopes,
        subject_claim=subject_claim,
        trust_email_verified=_flag(item, "trust_email_verified", True, where),
        trust_xms_edov=_flag(item, "trust_xms_edov", False, where),
        trust_tenant_emails=_flag(item, "trust_tenant_emails", False, where),
        create_accounts=_flag(item, "create_accounts", True, where),
        mfa_amr_values=_list(item, "mfa_amr_values", where, default=DEFAULT_MFA_AMR),
        mfa_acr_values=_list(item, "mfa_acr_values", where),
    )


def _text(item: dict, key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise OidcConfigError(f"{where}: {key} is required")
    return value.strip()


def _list(item: dict, key: str, where: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = item.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise OidcConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _flag(item: dict, key: str, default: bool, where: str) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise OidcConfigError(f"{where}: {key} must be true or false")
    return value
