"""Administration: finding users, changing roles, deactivating accounts, ending sessions, inviting
coordinators and admins, and reading the audit log. No Flask here.

Every decision is audited with the admin's reason. An admin never changes their own role or
deactivates themselves, and the service never leaves the system without an active admin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import sqlalchemy as sa
from pydantic import EmailStr, ValidationError, field_validator
from sqlmodel import Session, SQLModel, select

from mentoring import audit
from mentoring.auth import joining
from mentoring.auth.second_factor import reset_by_admin
from mentoring.auth.services import end_access_without_sign_in, end_all_sessions, find_user
from mentoring.models import AuditEvent, Invitation, LeaderProfile, User
from mentoring.spreadsheet import csv_text
from mentoring.vocab import Role

USERS_PER_PAGE = 50
EVENTS_PER_PAGE = 50
REASON_MAX_LENGTH = 500
# The invitation's pre-filled answers carry the role an admin grants. Only honoured for an
# invitation without a round, sent by someone who is still an admin (joining.accept_invitation).
INVITED_ROLE = joining.INVITED_ROLE
STAFF_ROLES = (Role.COORDINATOR, Role.ADMIN)

ROLE_CHANGED = "user.role_changed"
DEACTIVATED = "user.deactivated"
REACTIVATED = "user.reactivated"
SESSIONS_ENDED = "user.sessions_ended"
AUDIT_LOG_EXPORTED = "export.audit_log"


class NotFound(LookupError):
    """No such user."""


class AdminError(ValueError):
    """A request that cannot be carried out; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else errors
        super().__init__("; ".join(self.errors.values()))


# --- finding users ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFilters:
    email: str = ""  # part of the address
    role: str = ""  # "" for any
    status: str = ""  # "", "active" or "deactivated"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> UserFilters:
        """Unknown values are ignored (a filter list shows them as "any") rather than refused."""
        role = args.get("role", "")
        status = args.get("status", "")
        return cls(
            email=args.get("email", "").strip().lower()[:254],
            role=role if role in set(Role) else "",
            status=status if status in ("active", "deactivated") else "",
        )

    def as_args(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value}


@dataclass(frozen=True)
class UserRow:
    user: User
    name: str  # the leader's name, when they have a profile


@dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def find_users(
    session: Session, filters: UserFilters, page: int = 1, per_page: int = USERS_PER_PAGE
) -> UserPage:
    """Users matching the filters, by email address, one page at a time."""
    conditions = []
    if filters.email:
        conditions.append(User.email.contains(filters.email, autoescape=True))  # type: ignore[attr-defined]
    if filters.role:
        conditions.append(User.role == filters.role)
    if filters.status:
        conditions.append(User.is_active == (filters.status == "active"))
    total = session.exec(
        sa.select(sa.func.count()).select_from(User).where(*conditions)
    ).one()[0]
    page = min(max(1, page), max(1, math.ceil(total / per_page)))
    rows = session.exec(
        select(User, LeaderProfile.name)
        .outerjoin(LeaderProfile, LeaderProfile.user_id == User.id)
        .where(*conditions)
        .order_by(User.email)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return UserPage([UserRow(user, name or "") for user, name in rows], total, page, per_page)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id}")
    return user


def leader_name(session: Session, user: User) -> str:
    name = session.exec(select(LeaderProfile.name).where(LeaderProfile.user_id == user.id)).first()
    return name or ""


def recent_events(session: Session, user: User, limit: int = 10) -> list[AuditEvent]:
    """What this user did, and what was done to their account, newest first."""
    return list(session.exec(
        select(AuditEvent)
        .where(sa.or_(
            AuditEvent.actor_id == user.id,
            sa.and_(AuditEvent.object_type == "User", AuditEvent.object_id == str(user.id)),
        ))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    ).all())


# --- decisions about an account --------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise AdminError({"reason": "Enter the reason, for the audit log"})
    if len(reason) > REASON_MAX_LENGTH:
        raise AdminError({"reason": f"Enter no more than {REASON_MAX_LENGTH} characters"})
    return reason


def _not_yourself(admin: User, user: User, message: str) -> None:
    if admin.id == user.id:
        raise AdminError(message)


def _keep_an_active_admin(session: Session, user: User) -> None:
    """Refuse to take away the last active admin. The active admins' rows are locked (on
    PostgreSQL) so that two admins demoting each other at once cannot both succeed: the second
    waits, then sees the first's change."""
    if user.role != Role.ADMIN or not user.is_active:
        return
    others = session.exec(
        select(User.id)
        .where(User.role == Role.ADMIN, User.is_active, User.id != user.id)
        .with_for_update()
    ).all()
    if not others:
        raise AdminError(f"{user.email} is the only active admin: make someone else an admin "
                         "first")


def change_role(
    session: Session, admin: User, user: User, role: str, reason: str, *, ip: str = ""
) -> User:
    """Give the user another role. Their sessions end, so they sign in again under it."""
    if role not in set(Role):
        raise AdminError({"role": "Choose a role"})
    _not_yourself(admin, user, "You cannot change your own role: ask another admin")
    if role == user.role:
        raise AdminError({"role": f"{user.email} is already {_a(role)}"})
    reason = _reason(reason)
    if role != Role.ADMIN:
        _keep_an_active_admin(session, user)
    previous = user.role
    user.role = role
    end_all_sessions(user)
    session.add(user)
    audit.record(session, ROLE_CHANGED, actor=admin, obj=user,
                 detail={"from": previous, "to": role, "reason": reason}, ip=ip)
    session.flush()
    return user


def deactivate(session: Session, admin: User, user: User, reason: str, *, ip: str = "") -> User:
    """The account can no longer sign in, and every session it has ends now."""
    _not_yourself(admin, user, "You cannot deactivate your own account: ask another admin")
    if not user.is_active:
        raise AdminError(f"{user.email} is already deactivated")
    reason = _reason(reason)
    _keep_an_active_admin(session, user)
    user.is_active = False
    end_all_sessions(user)
    end_access_without_sign_in(session, user)
    session.add(user)
    audit.record(session, DEACTIVATED, actor=admin, obj=user, detail={"reason": reason}, ip=ip)
    session.flush()
    return user


def reactivate(session: Session, admin: User, user: User, reason: str, *, ip: str = "") -> User:
    if user.is_active:
        raise AdminError(f"{user.email} is already active")
    reason = _reason(reason)
    user.is_active = True
    session.add(user)
    audit.record(session, REACTIVATED, actor=admin, obj=user, detail={"reason": reason}, ip=ip)
    session.flush()
    return user


def end_sessions(session: Session, admin: User, user: User, reason: str, *, ip: str = "") -> User:
    """Sign the user out on every device (a lost laptop, a shared computer)."""
    reason = _reason(reason)
    end_all_sessions(user)
    end_access_without_sign_in(session, user)
    session.add(user)
    audit.record(session, SESSIONS_ENDED, actor=admin, obj=user,
                 detail={"reason": reason, "by": "admin"}, ip=ip)
    session.flush()
    return user


def reset_second_factor(session: Session, admin: User, user: User, reason: str, *,
                        ip: str = "") -> User:
    """Someone lost their phone and their recovery codes (mentoring.auth.second_factor)."""
    _not_yourself(admin, user, "You cannot reset your own second factor: ask another admin")
    reset_by_admin(session, admin, user, _reason(reason), ip=ip)
    session.flush()
    return user


def _a(role: str) -> str:
    return f"an {role}" if role[:1] in "aeiou" else f"a {role}"


# --- inviting coordinators and admins ---------------------------------------------------------


class StaffInvite(SQLModel):
    email: EmailStr
    role: Literal["coordinator", "admin"]

    @field_validator("email")
    @classmethod
    def lower_email(cls, value: str) -> str:
        return value.strip().lower()


def invite_staff(
    session: Session, links: joining.Links, admin: User, email: str, role: str, *, ip: str = ""
) -> Invitation:
    """Email an invitation that creates a coordinator's or admin's account when accepted."""
    try:
        data = StaffInvite.model_validate({"email": (email or "").strip(), "role": role})
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors()}
        errors = {}
        if "email" in fields:
            errors["email"] = ("Enter an email address in the correct format, like name@nhs.net"
                               if email.strip() else "Enter their email address")
        if "role" in fields:
            errors["role"] = "Choose coordinator or admin"
        raise AdminError(errors) from None
    if find_user(session, data.email) is not None:
        raise AdminError({"email": f"{data.email} already has an account: change their role "
                                   "from their page instead"})
    return joining.invite(session, links, data.email, invited_by=admin,
                          prefill={INVITED_ROLE: data.role}, ip=ip)


def staff_invitations(session: Session) -> list[tuple[Invitation, str]]:
    """Invitations to coordinators and admins not yet accepted, newest first, with the role."""
    waiting = session.exec(
        select(Invitation)
        .where(Invitation.round_id.is_(None), Invitation.accepted_at.is_(None))  # type: ignore[union-attr]
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())  # type: ignore[attr-defined]
    ).all()
    return [(i, i.prefill[INVITED_ROLE]) for i in waiting if (i.prefill or {}).get(INVITED_ROLE)]


# --- the audit log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""  # the start of the action: "sign_in." or "user.role_changed"
    actor: str = ""  # part of the actor's email address
    object_type: str = ""
    object_id: str = ""
    since: date | None = None  # UTC calendar days, inclusive
    until: date | None = None

    def as_args(self) -> dict[str, str]:
        args = {k: v for k, v in asdict(self).items() if v and k not in ("since", "until")}
        for name in ("since", "until"):
            day = getattr(self, name)
            if day is not None:
                args |= {f"{name}-day": str(day.day), f"{name}-month": str(day.month),
                         f"{name}-year": str(day.year)}
        return args

    def describe(self) -> dict[str, str]:
        """For the export's audit event: the filters that were set, as text."""
        return {k: str(v) for k, v in asdict(self).items() if v}


@dataclass
class AuditQuery:
    """The audit log form as typed: its values, the filters they make, and any errors."""

    values: dict[str, str]
    filters: AuditFilters
    errors: dict[str, str] = field(default_factory=dict)


DATE_FIELDS = {"since": "From", "until": "To"}


def parse_audit_filters(args: Mapping[str, str]) -> AuditQuery:
    names = ["action", "actor", "object_type", "object_id"] + [
        f"{prefix}-{part}" for prefix in DATE_FIELDS for part in ("day", "month", "year")
    ]
    values = {name: args.get(name, "").strip()[:254] for name in names}
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, label in DATE_FIELDS.items():
        parts = [values[f"{name}-{part}"] for part in ("day", "month", "year")]
        if not any(parts):
            days[name] = None
            continue
        try:
            day, month, year = (int(part) for part in parts)
            days[name] = date(year, month, day)
            if year < 2000:
                raise ValueError
        except (ValueError, OverflowError):  # a 40-digit year overflows rather than being wrong
            days[name] = None
            errors[name] = f"{label} must be a real date, like 31 3 2027"
    if days.get("since") and days.get("until") and days["since"] > days["until"]:
        errors["until"] = "To must be the same as or after From"
    filters = AuditFilters(
        action=values["action"], actor=values["actor"].lower(),
        object_type=values["object_type"], object_id=values["object_id"],
        since=days["since"], until=days["until"],
    )
    return AuditQuery(values=values, filters=filters, errors=errors)


def _conditions(filters: AuditFilters) -> list:
    conditions = []
    if filters.action:
        conditions.append(AuditEvent.action.startswith(filters.action, autoescape=True))  # type: ignore[attr-defined]
    if filters.actor:
        conditions.append(AuditEvent.actor_email.contains(filters.actor, autoescape=True))  # type: ignore[attr-defined]
    if filters.object_type:
        conditions.append(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        conditions.append(AuditEvent.object_id == filters.object_id)
    if filters.since:
        conditions.append(AuditEvent.at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:
        conditions.append(
            AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(), UTC)
        )
    return conditions


def _older_than(event: AuditEvent):
    return sa.or_(AuditEvent.at < event.at, sa.and_(AuditEvent.at == event.at,
                                                    AuditEvent.id < event.id))


def _newer_than(event: AuditEvent):
    return sa.or_(AuditEvent.at > event.at, sa.and_(AuditEvent.at == event.at,
                                                    AuditEvent.id > event.id))


NEWEST_FIRST = (AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[attr-defined]
OLDEST_FIRST = (AuditEvent.at.asc(), AuditEvent.id.asc())  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    newer: int | None  # the cursor for the page before (newer events), if there is one
    older: int | None  # the cursor for the page after (older events)


def audit_page(
    session: Session, filters: AuditFilters, *, before: int | None = None,
    after: int | None = None, per_page: int = EVENTS_PER_PAGE,
) -> AuditPage:
    """One page of the log, newest first. Pages are found by a cursor (the event at the edge of
    the page just seen), not an offset, so deep pages cost no more than the first and new events
    arriving meanwhile do not shift what the next page shows."""
    conditions = _conditions(filters)
    anchor = session.get(AuditEvent, before or after) if (before or after) else None
    if anchor is not None and after and not before:
        events = list(session.exec(
            select(AuditEvent).where(*conditions, _newer_than(anchor))
            .order_by(*OLDEST_FIRST).limit(per_page)
        ).all())[::-1]
    else:
        where = [*conditions, _older_than(anchor)] if anchor is not None else conditions
        events = list(session.exec(
            select(AuditEvent).where(*where).order_by(*NEWEST_FIRST).limit(per_page)
        ).all())
    if not events:
        return AuditPage([], None, None)

    def exists(condition) -> bool:
        return session.exec(
            sa.select(sa.exists().where(*conditions, condition))
        ).one()[0]

    return AuditPage(
        events,
        newer=events[0].id if exists(_newer_than(events[0])) else None,
        older=events[-1].id if exists(_older_than(events[-1])) else None,
    )


def utc_text(moment: datetime) -> str:
    """'2027-03-05 14:03:22 UTC': the audit log is read in UTC, whatever the clocks say."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


AUDIT_CSV_COLUMNS = ["time_utc", "action", "actor_email", "actor_id", "object_type",
                     "object_id", "ip", "detail"]
def export_audit_log(
    session: Session, admin: User, filters: AuditFilters, *, ip: str = ""
) -> str:
    """The filtered log as CSV (UTF-8 with a byte order mark, so Excel reads it as UTF-8). The
    export is itself audited, after the rows are read, so it does not list itself."""
    rows = [
        (event.at.astimezone(UTC).isoformat(), event.action, event.actor_email,
         event.actor_id, event.object_type, event.object_id, event.ip,
         json.dumps(event.detail or {}, ensure_ascii=False, sort_keys=True))
        for event in session.exec(
            select(AuditEvent).where(*_conditions(filters)).order_by(*NEWEST_FIRST))
    ]
    audit.record(session, AUDIT_LOG_EXPORTED, actor=admin,
                 detail={"filters": filters.describe(), "rows": len(rows)}, ip=ip)
    session.flush()
    return csv_text(AUDIT_CSV_COLUMNS, rows)
