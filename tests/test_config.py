"""Settings refuse unsafe configurations outside development."""

from __future__ import annotations

import pytest

from mentoring.config import ConfigError, load_settings

STRONG = "x" * 48


@pytest.mark.parametrize("secret", [None, "", "changeme", "dev", "short-but-not-default"])
@pytest.mark.parametrize("environment", ["production", "testing"])
def test_refuses_a_missing_default_or_weak_secret_outside_development(
    tmp_path, environment, secret
):
    env = {"MENTORING_ENV": environment}
    if secret is not None:
        env["SECRET_KEY"] = secret
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(env, instance_path=tmp_path)


def test_production_is_the_default_environment(tmp_path):
    with pytest.raises(ConfigError):
        load_settings({}, instance_path=tmp_path)
    assert load_settings({"SECRET_KEY": STRONG}, instance_path=tmp_path).is_production


def test_development_makes_a_random_secret_once_and_keeps_it(tmp_path):
    first = load_settings({"MENTORING_ENV": "development"}, instance_path=tmp_path)
    second = load_settings({"MENTORING_ENV": "development"}, instance_path=tmp_path)
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    other = load_settings({"MENTORING_ENV": "development"}, instance_path=tmp_path / "other")
    assert other.secret_key != first.secret_key


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MENTORING_ENV"):
        load_settings({"MENTORING_ENV": "staging", "SECRET_KEY": STRONG}, instance_path=tmp_path)


def test_database_defaults_to_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings({"SECRET_KEY": STRONG}, instance_path=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'mentoring.db'}"


@pytest.mark.parametrize("given", ["postgres://u:p@db/x", "postgresql://u:p@db/x"])
def test_postgres_urls_use_psycopg_3(tmp_path, given):
    settings = load_settings({"SECRET_KEY": STRONG, "DATABASE_URL": given}, instance_path=tmp_path)
    assert settings.database_url == "postgresql+psycopg://u:p@db/x"


def test_https_base_url_turns_on_secure_host_only_cookies(tmp_path):
    from mentoring.web import flask_config

    plain = flask_config(load_settings({"SECRET_KEY": STRONG}, instance_path=tmp_path))
    secure = flask_config(
        load_settings(
            {"SECRET_KEY": STRONG, "BASE_URL": "https://mentoring.example.nhs.uk"},
            instance_path=tmp_path,
        )
    )
    assert plain["SESSION_COOKIE_SECURE"] is False
    assert secure["SESSION_COOKIE_SECURE"] is True
    assert secure["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert secure["SESSION_COOKIE_HTTPONLY"] and secure["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_the_programme_mailbox_is_an_address_or_unset(tmp_path):
    env = {"SECRET_KEY": STRONG}
    assert load_settings(env, instance_path=tmp_path).programme_mailbox == ""
    named = "Leadership programme <leadership@nhs.net>"
    assert load_settings(env | {"PROGRAMME_MAILBOX": named},
                         instance_path=tmp_path).programme_mailbox == named
    with pytest.raises(ConfigError, match="PROGRAMME_MAILBOX must be an email address"):
        load_settings(env | {"PROGRAMME_MAILBOX": "the programme team"}, instance_path=tmp_path)
