"""What test users' phones hold: their authenticator app's secret, the recovery codes they
saved, and the last time step whose code they used (a code works once), by email.

A module of its own (not conftest) so that there is one copy: pytest imports conftest under
another name than the tests' `from conftest import ...` does.
"""

from __future__ import annotations

import time

import pyotp

TOTP_SECRETS: dict[str, str] = {}
RECOVERY_CODES: dict[str, list[str]] = {}
USED_STEPS: dict[str, int] = {}


def totp_code(email: str) -> str:
    """The code the user's app shows now, or the next one if this one was used (the server
    accepts one step ahead, for clocks that differ), or else a saved recovery code."""
    now = int(time.time()) // 30
    step = max(now, USED_STEPS.get(email, 0) + 1)
    if step > now + 1:
        return RECOVERY_CODES[email].pop()
    USED_STEPS[email] = step
    return pyotp.TOTP(TOTP_SECRETS[email]).at(step * 30)
