"""Reminders and notifications: the outbox, the reminder plan, dispatch and transports.

Services only (no Flask); the coordinator's outbox page is in `mentoring.notifications.views`.
"""

from mentoring.notifications.dispatch import DispatchResult, dispatch_due, retry_notification
from mentoring.notifications.outbox import enqueue
from mentoring.notifications.plan import (
    Kind,
    cancel_exchange,
    plan_exchange,
    reschedule_exchange,
    withdraw_pending,
)
from mentoring.notifications.transport import FileTransport, SendError, SmtpTransport

__all__ = [
    "DispatchResult",
    "FileTransport",
    "Kind",
    "SendError",
    "SmtpTransport",
    "cancel_exchange",
    "dispatch_due",
    "enqueue",
    "plan_exchange",
    "reschedule_exchange",
    "retry_notification",
    "withdraw_pending",
]
