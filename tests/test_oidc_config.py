"""Identity-provider settings (OIDC_PROVIDERS): what a deployment can configure, and the unsafe
or broken configurations refused at start-up with a message naming the key."""

from __future__ import annotations

import json

import pytest

from mentoring.config import ConfigError, load_settings

STRONG = "x" * 48
NHSMAIL = {
    "name": "nhsmail",
    "display_name": "NHSmail",
    "discovery_url": "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
    "client_id": "00000000-0000-0000-0000-000000000001",
    "client_secret": "a-client-secret",
    "allowed_tenants": ["11111111-2222-3333-4444-555555555555"],
}


def settings(tmp_path, **env):
    return load_settings({"SECRET_KEY": STRONG, **env}, instance_path=tmp_path)


def test_no_providers_means_no_single_sign_on(tmp_path):
    assert settings(tmp_path).oidc_providers == ()


def test_a_provider_from_the_environment_with_safe_defaults(tmp_path):
    (provider,) = settings(tmp_path, OIDC_PROVIDERS=json.dumps([NHSMAIL])).oidc_providers
    assert provider.button_text == "Sign in with NHSmail" and provider.method == "oidc:nhsmail"
    assert provider.scopes == "openid email profile" and provider.subject_claim == "sub"
    assert provider.trust_email_verified and not provider.trust_xms_edov
    assert not provider.trust_tenant_emails and provider.create_accounts
    assert provider.mfa_amr_values == ("mfa",) and provider.mfa_acr_values == ()
    assert "a-client-secret" not in repr(provider)  # never in a log line or a traceback


def test_a_provider_from_the_instance_folder_with_its_secret_in_its_own_variable(tmp_path):
    item = {**NHSMAIL, "client_secret_env": "NHSMAIL_SECRET", "label": "Sign in with NHS.net"}
    del item["client_secret"]
    (tmp_path / "oidc-providers.json").write_text(json.dumps([item]))
    (provider,) = settings(tmp_path, NHSMAIL_SECRET="from-the-env").oidc_providers
    assert provider.client_secret == "from-the-env"
    assert provider.button_text == "Sign in with NHS.net"


@pytest.mark.parametrize(("change", "message"), [
    ({"allowed_tenants": []}, "allowed_issuers or allowed_tenants is required"),
    ({"discovery_url": "http://idp.example/.well-known/openid-configuration"}, "https://"),
    ({"client_secret": ""}, "client_secret"),
    ({"name": "NHS Mail"}, "lower-case"),
    ({"scopes": "email profile"}, "openid"),
    ({"subject_claim": "email"}, "subject_claim"),
    ({"trust_tenant_emails": "yes"}, "true or false"),
    ({"allowed_tenants": "one-tenant"}, "list of strings"),
    ({"client_id": None}, "client_id is required"),
    ({"allow_everyone": True}, "unknown keys allow_everyone"),
])
def test_unsafe_or_broken_providers_are_refused_at_start_up(tmp_path, change, message):
    item = {**NHSMAIL, **change}
    with pytest.raises(ConfigError, match=message):
        settings(tmp_path, OIDC_PROVIDERS=json.dumps([item]))


def test_other_refusals(tmp_path):
    with pytest.raises(ConfigError, match="not valid JSON"):
        settings(tmp_path, OIDC_PROVIDERS="[{")
    with pytest.raises(ConfigError, match="share a name"):
        settings(tmp_path, OIDC_PROVIDERS=json.dumps([NHSMAIL, NHSMAIL]))
    with pytest.raises(ConfigError, match="no such file"):
        settings(tmp_path, OIDC_PROVIDERS_FILE=str(tmp_path / "missing.json"))


def test_plain_http_is_allowed_for_a_provider_on_loopback_while_developing(tmp_path):
    item = {**NHSMAIL, "discovery_url": "http://127.0.0.1:8080/.well-known/openid-configuration"}
    development = load_settings({"MENTORING_ENV": "development",
                                 "OIDC_PROVIDERS": json.dumps([item])}, instance_path=tmp_path)
    assert development.oidc_providers[0].discovery_url.startswith("http://")
