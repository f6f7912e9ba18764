"""Sign in with an identity provider (OpenID Connect: authorization code flow with PKCE, state
and nonce, through Authlib's Flask client). The decisions live in mentoring.auth.oidc."""

from __future__ import annotations

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_login import current_user
from joserfc.errors import JoseError

from mentoring.access import is_safe_redirect
from mentoring.auth import oidc
from mentoring.auth.oidc_config import OidcProvider
from mentoring.auth.views import _start_session
from mentoring.db import get_session
from mentoring.view_helpers import client_ip

bp = Blueprint("oidc", __name__)
NEXT_KEY = "oidc_next"
# Seconds of clock difference allowed with the provider (Authlib's default).
LEEWAY = 120


def init_app(app: Flask) -> None:
    """One Authlib client per configured provider, on this app's own registry."""
    registry = OAuth(app)
    for provider in app.extensions["mentoring.settings"].oidc_providers:
        registry.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.discovery_url,
            client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256",
                           "default_timeout": 10},
        )
    app.register_blueprint(bp)


@bp.app_context_processor
def _sign_in_providers() -> dict:
    return {"sign_in_providers": current_app.extensions["mentoring.settings"].oidc_providers}


def _provider(name: str):
    for provider in current_app.extensions["mentoring.settings"].oidc_providers:
        if provider.name == name:
            client = current_app.extensions["authlib.integrations.flask_client"].create_client(
                name)
            return provider, client
    abort(404)


def _callback_url(provider: OidcProvider) -> str:
    # From BASE_URL, never from the request's Host header: it must match the registered one.
    settings = current_app.extensions["mentoring.settings"]
    return settings.base_url + url_for("oidc.callback", name=provider.name)


# A POST from the sign-in page's button (with its CSRF token): another site cannot start a
# sign-in in someone's browser with a link or an image (ASVS 7.6.2).
@bp.route("/sign-in/with/<name>", methods=["POST"])
def start(name: str):
    provider, client = _provider(name)
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    next_url = request.form.get("next")
    flask_session[NEXT_KEY] = next_url if is_safe_redirect(next_url) else None
    try:
        return client.authorize_redirect(_callback_url(provider))
    except (requests.RequestException, ValueError) as error:  # no metadata: provider down
        return _refused(provider, oidc.refusal_for_error(provider, error), status=503)


@bp.route("/sign-in/with/<name>/callback")
def callback(name: str):
    provider, client = _provider(name)
    next_url = flask_session.pop(NEXT_KEY, None)
    db = get_session()
    try:
        try:
            token = client.authorize_access_token(claims_options={
                "iss": {"essential": True},
                "aud": {"essential": True, "values": [provider.client_id]},
            }, leeway=LEEWAY)
        except (OAuthError, JoseError, requests.RequestException, ValueError) as error:
            raise oidc.refusal_for_error(provider, error) from error
        claims = token.get("userinfo")
        if not claims:  # no ID token: an OAuth-only answer says nothing about who signed in
            raise oidc.Refused("no_id_token", f"{provider.display_name} did not say who you "
                               "are. Go back to the sign-in page and start again.")
        identity = oidc.identity_from_claims(provider, claims, client.server_metadata["issuer"])
        signed_in = oidc.sign_in(db, provider, identity, ip=client_ip())
    except oidc.Refused as refusal:
        return _refused(provider, refusal)
    db.commit()
    if signed_in.how == "created":
        flash(f"You are signed in with {provider.display_name} and your account is ready. Next, "
              "complete your profile: it is how we find you a good match.", "success")
        next_url = url_for("profile.overview")
    return _start_session(signed_in.user, next_url, method=provider.method,
                          second_factor=identity.second_factor)


def _refused(provider: OidcProvider, refusal: oidc.Refused, status: int | None = None):
    db = get_session()
    if not refusal.audited:
        oidc.refuse(db, provider, None, refusal, ip=client_ip())
    db.commit()
    status = status or (400 if refusal.is_protocol_error else 403)
    return render_template("auth/sign_in_refused.html", provider=provider,
                           message=refusal.message), status
