"""The audit log: one function every service calls to say who did what to which object."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from mentoring.models import AuditEvent, User


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    obj: Any = None,
    detail: dict[str, Any] | None = None,
    ip: str = "",
) -> AuditEvent:
    """Add an audit event to the session; it commits with the change it describes."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else "",
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or "") if obj is not None else "",
        detail=detail or {},
        ip=ip,
    )
    session.add(event)
    return event
