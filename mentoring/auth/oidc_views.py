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

from mentoring.access import (
    is_safe_redirect,
    mark_second_factor,
    mark_signed_in,
    signed_in_recently,
)
from mentoring.auth import oidc
from mentoring.auth.oidc_config import OidcProvider
from mentoring.auth.views import _start_session
from mentoring.db import get_session
from mentoring.models import utcnow
from mentoring.view_helpers import client_ip, require_csrf

bp = Blueprint("oidc", __name__)
NEXT_KEY = "oidc_next"
CONFIRM_KEY = "oidc_confirm_next"


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


# "Confirm it is you" before a sensitive action, for those who sign in with a provider: the
# provider is asked to sign them in again (prompt=login) and to say when it did (max_age=0,
# so the ID token carries auth_time). A POST with the confirm page's CSRF token.
@bp.route("/confirm-it-is-you/with/<name>", methods=["POST"])
def confirm_start(name: str):
    provider, client = _provider(name)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    require_csrf()
    next_url = request.form.get("next")
    flask_session[CONFIRM_KEY] = next_url if is_safe_redirect(next_url) else ""
    try:
        return client.authorize_redirect(_callback_url(provider), prompt="login", max_age=0)
    except (requests.RequestException, ValueError) as error:  # no metadata: provider down
        return _refused(provider, oidc.refusal_for_error(provider, error), status=503)


def _claims(provider: OidcProvider, client) -> tuple[dict, oidc.Identity]:
    """The ID token's claims and who they say signed in; raises Refused."""
    try:
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True},
            "aud": {"essential": True, "values": [provider.client_id]},
        }, leeway=oidc.LEEWAY_SECONDS)
    except (OAuthError, JoseError, requests.RequestException, ValueError) as error:
        raise oidc.refusal_for_error(provider, error) from error
    claims = token.get("userinfo")
    if not claims:  # no ID token: an OAuth-only answer says nothing about who signed in
        raise oidc.Refused("no_id_token", f"{provider.display_name} did not say who you "
                           "are. Go back to the sign-in page and start again.")
    return claims, oidc.identity_from_claims(provider, claims, client.server_metadata["issuer"])


@bp.route("/sign-in/with/<name>/callback")
def callback(name: str):
    provider, client = _provider(name)
    next_url = flask_session.pop(NEXT_KEY, None)
    confirming = flask_session.pop(CONFIRM_KEY, None)
    if confirming is not None and current_user.is_authenticated:
        return _confirmed(provider, client, confirming)
    db = get_session()
    try:
        _, identity = _claims(provider, client)
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


def _confirmed(provider: OidcProvider, client, next_url: str):
    """Back from the provider with a fresh sign-in: the first factor is confirmed (and the
    second, when the provider says it asked for one); on to the page the user was going to,
    or to the code page when a second factor is still to be confirmed."""
    db = get_session()
    user = current_user._get_current_object()
    try:
        claims, identity = _claims(provider, client)
        oidc.confirm(db, provider, identity, user, claims.get("auth_time"), utcnow(),
                     ip=client_ip())
    except oidc.Refused as refusal:
        return _refused(provider, refusal)
    db.commit()
    mark_signed_in()
    if identity.second_factor:
        mark_second_factor()
    done = next_url or url_for("main.home")
    if not signed_in_recently():  # a second factor of this service's own is still to give
        return redirect(url_for("auth.confirm_sign_in", next=done))
    return redirect(done)


def _refused(provider: OidcProvider, refusal: oidc.Refused, status: int | None = None):
    db = get_session()
    if not refusal.audited:
        oidc.refuse(db, provider, None, refusal, ip=client_ip())
    db.commit()
    status = status or (400 if refusal.is_protocol_error else 403)
    return render_template("auth/sign_in_refused.html", provider=provider,
                           message=refusal.message), status
