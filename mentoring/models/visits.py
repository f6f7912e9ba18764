"""What a host confirms before a visit: one row per item of a booked exchange's checklist."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mentoring.models.base import in_list, utcnow
from mentoring.vocab import CHECKLIST_ITEMS


class ExchangeCheck(SQLModel, table=True):
    """One item of an exchange's checklist (an access route or a check, CHECKLIST_ITEMS) and
    whether the host, or a coordinator, has confirmed it. Only the date and who confirmed are
    kept: never a certificate, a reference number or a copy of a document."""

    __tablename__ = "exchange_check"
    __table_args__ = (
        sa.UniqueConstraint("exchange_id", "item"),
        sa.CheckConstraint(in_list("item", list(CHECKLIST_ITEMS)), name="item"),
    )

    id: int | None = Field(default=None, primary_key=True)
    exchange_id: int = Field(foreign_key="exchange.id", index=True, ondelete="CASCADE")
    item: str = Field(max_length=30)
    confirmed_at: datetime | None = None
    confirmed_by_id: int | None = Field(default=None, foreign_key="app_user.id",
                                        ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None
