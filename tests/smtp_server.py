"""A real SMTP server on loopback (aiosmtpd), recording what arrives, for the outbox tests.

The handler can be scripted to refuse a message or drop the connection mid-batch, to test that
nothing is lost or duplicated.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """Accepts and records each message, unless `script` says otherwise for the next ones:
    "ok", "refuse" (reply `refuse_code`) or "drop" (close the connection without a reply)."""

    received: list[Received] = field(default_factory=list)
    script: list[str] = field(default_factory=list)
    refuse_code: str = "451 4.3.0 Try again later"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            action = self.script.pop(0) if self.script else "ok"
            if action == "drop":
                server.transport.close()
                return "421 4.3.0 Closing"
            if action == "refuse":
                return self.refuse_code
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """`with SmtpServer() as server:` … `server.url`, `server.handler.received`."""

    def __init__(self, auth: tuple[str, str] | None = None, port: int | None = None) -> None:
        self.handler = RecordingHandler()
        self.port = port or free_port()
        kwargs = {}
        if auth:
            username, password = auth

            def authenticator(_server, _session, _envelope, _mechanism, auth_data):
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and auth_data.login.decode() == username
                    and auth_data.password.decode() == password
                )
                return AuthResult(success=ok, handled=False)

            kwargs = {"authenticator": authenticator, "auth_require_tls": False}
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **kwargs
        )
        self.auth = auth

    @property
    def url(self) -> str:
        credentials = (
            f"{quote(self.auth[0], safe='')}:{quote(self.auth[1], safe='')}@" if self.auth else ""
        )
        return f"smtp://{credentials}127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class KilledAfter:
    """A transport whose worker process dies (SystemExit) when it is about to send message n + 1."""

    def __init__(self, inner, n: int) -> None:
        self.inner, self.n = inner, n

    def send(self, message) -> None:
        if self.n == 0:
            raise SystemExit("killed")
        self.n -= 1
        self.inner.send(message)

    def close(self) -> None:
        self.inner.close()
