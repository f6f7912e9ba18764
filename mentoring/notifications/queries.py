"""What the coordinator's outbox page shows (no Flask here)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.models import Notification, ProgrammeRound
from mentoring.vocab import NotificationStatus


@dataclass
class RoundOutbox:
    programme_round: ProgrammeRound
    counts: dict[str, int]
    failed: list[Notification]
    pending: list[Notification]
    sent: list[Notification]


def round_outbox(session: Session, round_id: int, limit: int = 100) -> RoundOutbox | None:
    programme_round = session.get(ProgrammeRound, round_id)
    if programme_round is None:
        return None
    in_round = Notification.round_id == round_id
    counts = {status.value: 0 for status in NotificationStatus}
    for status, count in session.execute(
        sa.select(Notification.status, sa.func.count()).where(in_round).group_by(
            Notification.status)
    ):
        counts[status] = count

    def rows(*statuses: str, newest_first: bool = False) -> list[Notification]:
        order = Notification.due_at.desc() if newest_first else Notification.due_at  # type: ignore[union-attr]
        return list(session.exec(
            select(Notification).where(in_round, Notification.status.in_(statuses))  # type: ignore[attr-defined]
            .order_by(order, Notification.id).limit(limit)
        ).all())

    return RoundOutbox(
        programme_round,
        counts,
        failed=rows(NotificationStatus.FAILED, newest_first=True),
        pending=rows(NotificationStatus.PENDING, NotificationStatus.SENDING),
        sent=rows(NotificationStatus.SENT, newest_first=True),
    )


def notification_round(session: Session, notification_id: int) -> int | None:
    notification = session.get(Notification, notification_id)
    return notification.round_id if notification else None
