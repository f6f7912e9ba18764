"""What every worker job receives: a way to open database sessions, and the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from mentoring.config import Settings


@dataclass(frozen=True)
class WorkerContext:
    session_factory: Callable[[], Session]
    settings: Settings
