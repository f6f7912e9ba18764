"""The notice a host's organisation needs: a hard scheduling rule.

No exchange is held or booked at a host sooner than the approval date plus the notice the host's
organisation needs (`Organisation.notice_weeks`; a leader without an organisation gets their
sector's usual notice). The problem builder gives the optimiser each host's first possible date
(`host_from`), so it never proposes such a half-day for hosting; approval checks it again, as a
run may be approved days after it was built.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from mentoring.models import LeaderProfile, Organisation
from mentoring.slots import LONDON, describe
from mentoring.vocab import host_check_defaults


def london_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def notice_weeks(organisation_notice: int | None, sector: str) -> int:
    """The organisation's notice, or the usual notice of the leader's sector."""
    if organisation_notice is not None:
        return organisation_notice
    return host_check_defaults(sector)[1]


def host_from(approval_date: date, weeks: int) -> date:
    """The first day a host may host, for an approval on `approval_date`."""
    return approval_date + timedelta(weeks=weeks)


def hosts_notice(session: Session, leader_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """(name, weeks of notice) of each of these leaders as a host, in one query."""
    wanted = set(leader_ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(LeaderProfile.id, LeaderProfile.name, LeaderProfile.sector,
               Organisation.notice_weeks)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .where(LeaderProfile.id.in_(wanted))  # type: ignore[union-attr]
    ).all()
    return {leader_id: (name, notice_weeks(weeks, sector))
            for leader_id, name, sector, weeks in rows}


def notice_conflicts(session: Session, hosted: Iterable[tuple[int, date, str]],
                     approval_date: date) -> list[str]:
    """Why approving on `approval_date` would put an exchange at a host too soon: one sentence
    for each (host id, day, period) that falls before the host's first possible date."""
    hosted = list(hosted)
    notice = hosts_notice(session, {host for host, _, _ in hosted})
    problems = []
    for host, day, period in hosted:
        if host not in notice:
            continue
        name, weeks = notice[host]
        first = host_from(approval_date, weeks)
        if day < first:
            problems.append(
                f"{name}'s organisation needs {weeks} week{'s' if weeks != 1 else ''}' notice "
                f"to host a visit: {describe(day, period)} is too soon (the first possible day "
                f"is {first:%A} {first.day} {first:%B}). Run the optimiser again")
    return problems
