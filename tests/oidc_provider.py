"""The real OpenID Connect provider the tests sign in through (tests/oidc/provider.mjs, the npm
package oidc-provider), started on loopback, and helpers to walk a sign-in through it.

The provider plays Microsoft Entra ID: its issuer is http://127.0.0.1:PORT/<tenant>/v2.0 and it
also serves multi-tenant metadata whose issuer holds "{tenantid}". A test says who signs in
next (the claims, amr and acr), and the provider's interaction page signs them in at once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from mentoring.auth.oidc_config import OidcProvider

SCRIPT = Path(__file__).resolve().parent / "oidc" / "provider.mjs"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0b6b2c6e-0000-4000-8000-000000000042"


@dataclass
class Client:
    client_id: str
    client_secret: str


class OidcTestProvider:
    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("Node.js is needed to run the test OpenID Connect provider")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            [node, str(SCRIPT)], stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**os.environ, "OIDC_TEST_TENANT": TENANT})
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            self.log.seek(0)
            raise RuntimeError("the test OpenID Connect provider did not start:\n"
                               + self.log.read().decode(errors="replace"))
        started = json.loads(line)
        self.origin = f"http://127.0.0.1:{started['port']}"
        self.issuer = started["issuer"]
        self.tenant = started["tenant"]
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.multi_tenant_discovery_url = (
            f"{self.origin}/common/v2.0/.well-known/openid-configuration")
        self.http = requests.Session()

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()  # type: ignore[union-attr]
        self.log.close()

    # --- what the test controls ---

    def register_client(self, *redirect_uris: str) -> Client:
        """A client registered by standard dynamic registration."""
        response = self.http.post(f"{self.issuer}/reg", json={"redirect_uris": list(redirect_uris)},
                                  timeout=10)
        response.raise_for_status()
        body = response.json()
        return Client(body["client_id"], body["client_secret"])

    def next_sign_in(self, **claims) -> None:
        """Who signs in next: `sub`, `email`, `email_verified`, `tid`, `amr` (a list), `acr`..."""
        self.http.post(f"{self.origin}/_test/next-sign-in", json=claims,
                       timeout=10).raise_for_status()

    def set_clock(self, seconds: int) -> None:
        """Run the token endpoint's clock this many seconds off (0: back to true time)."""
        self.http.post(f"{self.origin}/_test/clock", json={"seconds": seconds},
                       timeout=10).raise_for_status()

    def authorize(self, authorization_url: str) -> str:
        """Follow the browser's way through the provider, from the authorization URL to the
        redirect back to the app; returns that URL (with code and state)."""
        with requests.Session() as browser:  # the provider's cookies, like a browser's
            return self._follow(browser, authorization_url)

    def _follow(self, browser: requests.Session, url: str) -> str:
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            response.close()
            location = response.headers.get("Location", "")
            if response.status_code not in (302, 303) or not location:
                raise AssertionError(f"the provider answered {response.status_code}: "
                                     f"{response.text[:500]}")
            if location.startswith("/"):
                location = self.origin + location
            if not location.startswith(self.origin):
                return location
            url = location
        raise AssertionError("the provider redirected too many times")

    def provider_settings(self, client: Client, **overrides) -> OidcProvider:
        values = {
            "name": "nhsmail",
            "display_name": "NHSmail",
            "discovery_url": self.discovery_url,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "allowed_tenants": (self.tenant,),
        }
        values.update(overrides)
        return OidcProvider(**values)


def with_query(url: str, **changes: str) -> str:
    """The URL with some query parameters replaced (a tampering browser)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
