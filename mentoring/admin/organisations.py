"""Organisations: what each needs before an outside leader may observe there (its access route,
the notice it needs, its checks). Admins and coordinators change these; every change is audited
and reaches the checklists of the visits still to come. No Flask here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlmodel import Session, select

from mentoring import audit
from mentoring.admin.services import AdminError, NotFound
from mentoring.models import Organisation, OrganisationHostChecks, User
from mentoring.visits.checks import sync_organisation_checklists
from mentoring.vocab import ACCESS_ROUTES, HOST_CHECKS, MAX_NOTICE_WEEKS

VISIT_NEEDS_CHANGED = "organisation.visit_needs_changed"


def all_organisations(session: Session) -> list[Organisation]:
    return list(session.exec(select(Organisation).order_by(Organisation.name)).all())


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"organisation {organisation_id}")
    return organisation


@dataclass
class VisitNeedsForm:
    """What the organisation page's form holds: the text as typed, kept when it is refused."""

    access_route: str = ""
    notice_weeks: str = ""
    host_checks: list[str] = field(default_factory=list)

    @classmethod
    def from_organisation(cls, organisation: Organisation) -> VisitNeedsForm:
        return cls(organisation.access_route, str(organisation.notice_weeks),
                   list(organisation.host_checks))

    @classmethod
    def from_form(cls, access_route: str, notice_weeks: str,
                  host_checks: list[str]) -> VisitNeedsForm:
        return cls(access_route.strip(), notice_weeks.strip(), [c.strip() for c in host_checks])

    def validated(self) -> OrganisationHostChecks:
        errors: dict[str, str] = {}
        if self.access_route not in ACCESS_ROUTES:
            errors["access_route"] = "Choose how visitors can observe at this organisation"
        weeks = self.notice_weeks
        if not weeks:
            errors["notice_weeks"] = "Enter the notice this organisation needs, in weeks"
        elif not (weeks.isascii() and weeks.isdigit()) or len(weeks) > 3:
            errors["notice_weeks"] = "Enter the notice as a whole number of weeks, like 2"
        elif int(weeks) > MAX_NOTICE_WEEKS:
            errors["notice_weeks"] = f"Enter a notice of {MAX_NOTICE_WEEKS} weeks or fewer"
        if any(check not in HOST_CHECKS for check in self.host_checks):
            errors["host_checks"] = "Choose checks from the list"
        if errors:
            raise AdminError(errors)
        try:
            return OrganisationHostChecks.model_validate({
                "access_route": self.access_route, "notice_weeks": int(weeks),
                "host_checks": self.host_checks})
        except ValidationError as error:  # not expected after the checks above
            raise AdminError("Check the answers and try again") from error


def _needs(organisation: Organisation) -> dict:
    return {"access_route": organisation.access_route,
            "notice_weeks": organisation.notice_weeks,
            "host_checks": list(organisation.host_checks)}


def update_visit_needs(session: Session, user: User, organisation: Organisation,
                       form: VisitNeedsForm, now: datetime, *, ip: str = "") -> int:
    """Save what the organisation needs before a visit; audited with before and after. The
    checklists of visits still to come at its leaders follow. Returns how many changed."""
    needs = form.validated()
    before = _needs(organisation)
    organisation.access_route = needs.access_route
    organisation.notice_weeks = needs.notice_weeks
    organisation.host_checks = list(needs.host_checks)
    after = _needs(organisation)
    if before == after:
        return 0
    session.add(organisation)
    session.flush()
    changed = sync_organisation_checklists(session, organisation, now)
    audit.record(session, VISIT_NEEDS_CHANGED, actor=user, obj=organisation, ip=ip,
                 detail={"before": before, "after": after, "checklists_changed": changed})
    return changed
