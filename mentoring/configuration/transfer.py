"""The whole configuration as one JSON file: vocabularies, organisations and programme text.

Another integrated care system starts from a file: `mentoring config import FILE`, or the admin
page's upload (a preview first, with every problem found, then the import). An import never
deletes: a term the file leaves out is retired (it stays readable in old records), an
organisation the file leaves out stays as it is, and organisations are matched by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.configuration import programme, vocabularies
from mentoring.configuration.terms import _CONTROL, _KEY, LABEL_MAX, PHRASE_MAX, terms_of
from mentoring.configuration.vocabularies import KINDS
from mentoring.models import Organisation, User, VocabularyTerm, utcnow
from mentoring.vocab import (
    HOST_CHECKS,
    MAX_NOTICE_WEEKS,
    AccessRoute,
    OrganisationSize,
    host_check_defaults,
)

FORMAT = "mentoring-configuration/1"
MAX_TERMS, MAX_ORGANISATIONS = 500, 5000


def export(session: Session) -> dict[str, Any]:
    """Everything an admin configures, as a JSON-ready document."""
    return {
        "format": FORMAT,
        "vocabularies": {kind: [_term_document(term) for term in terms_of(session, kind)]
                         for kind in KINDS},
        "organisations": [
            {"name": org.name, "sector": org.sector, "place": org.borough, "size": org.size,
             "access_route": org.access_route, "notice_weeks": org.notice_weeks,
             "host_checks": list(org.host_checks)}
            for org in session.exec(select(Organisation).order_by(Organisation.name))],
        "programme": {field.key: programme.of(session).get(field.key, "")
                      for field in programme.FIELDS},
    }


def _term_document(term: VocabularyTerm) -> dict[str, Any]:
    document: dict[str, Any] = {"key": term.key, "label": term.label}
    if term.kind == "sector":
        document["phrase"] = term.phrase
    if term.kind == "profession":
        document["priority"] = term.priority
    if term.retired_at is not None:
        document["retired"] = True
    return document


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- reading a file ----------------------------------------------------------------------------


@dataclass
class ImportPlan:
    """A checked file: its problems (where, what), or what importing it would change."""

    problems: list[tuple[str, str]] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    added: dict[str, list[str]] = field(default_factory=dict)
    relabelled: dict[str, list[str]] = field(default_factory=dict)
    retired: dict[str, list[str]] = field(default_factory=dict)
    restored: dict[str, list[str]] = field(default_factory=dict)
    organisations_added: list[str] = field(default_factory=list)
    organisations_changed: list[str] = field(default_factory=list)
    programme_changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, int]:
        def count(lists: dict[str, list[str]]) -> int:
            return sum(len(keys) for keys in lists.values())
        return {"terms_added": count(self.added), "terms_relabelled": count(self.relabelled),
                "terms_retired": count(self.retired), "terms_restored": count(self.restored),
                "organisations_added": len(self.organisations_added),
                "organisations_changed": len(self.organisations_changed),
                "programme_text_changed": len(self.programme_changed)}


def parse(text: str | bytes) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, [("file", "The file is not UTF-8 text: save it as UTF-8 JSON")]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [("file", f"The file is not valid JSON: {error.msg} on line "
                               f"{error.lineno}, column {error.colno}")]
    if not isinstance(document, dict):
        return None, [("file", "The file must hold one JSON object")]
    return document, []


def plan_import(session: Session, text: str | bytes) -> ImportPlan:
    """Check a configuration file against itself and the database; report every problem."""
    document, problems = parse(text)
    plan = ImportPlan(problems=problems)
    if document is None:
        return plan
    plan.document = document
    if document.get("format") != FORMAT:
        plan.problems.append(("format", f'Set "format" to "{FORMAT}"'))
    unknown = sorted(set(document) - {"format", "vocabularies", "organisations", "programme",
                                      "name", "description"})
    for key in unknown:
        plan.problems.append((key, "Remove this: it is not part of a configuration file"))
    keys = _check_vocabularies(document.get("vocabularies"), plan)
    _check_organisations(document.get("organisations", []), keys, plan)
    _check_programme(document.get("programme"), plan)
    if plan.ok:
        _describe_changes(session, document, plan)
    return plan


def _check_vocabularies(vocabs: Any, plan: ImportPlan) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {kind: set() for kind in KINDS}
    if not isinstance(vocabs, dict):
        plan.problems.append(("vocabularies", "Add the vocabularies: an object with "
                                              + ", ".join(KINDS)))
        return keys
    for kind in sorted(set(vocabs) - set(KINDS)):
        plan.problems.append((f"vocabularies.{kind}", "Unknown vocabulary: use "
                              + ", ".join(KINDS)))
    for kind in KINDS:
        terms = vocabs.get(kind)
        where = f"vocabularies.{kind}"
        if not isinstance(terms, list) or not terms:
            plan.problems.append((where, "Give a list of at least one term"))
            continue
        if len(terms) > MAX_TERMS:
            plan.problems.append((where, f"Give no more than {MAX_TERMS} terms"))
            continue
        labels: set[str] = set()
        offered = 0
        for index, term in enumerate(terms):
            at = f"{where}[{index}]"
            if not isinstance(term, dict):
                plan.problems.append((at, "Each term must be an object with a key and a label"))
                continue
            key, label = term.get("key"), term.get("label")
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                plan.problems.append((f"{at}.key", "Give a key of lower-case letters, digits "
                                      "and underscores, starting with a letter, at most 40"))
            elif key in keys[kind]:
                plan.problems.append((f"{at}.key", f"The key {key} appears twice"))
            else:
                keys[kind].add(key)
            if not isinstance(label, str) or not label.strip():
                plan.problems.append((f"{at}.label", "Give a label"))
            elif len(label) > LABEL_MAX or _CONTROL.search(label):
                plan.problems.append((f"{at}.label", f"Give a label of at most {LABEL_MAX} "
                                                     "characters on one line"))
            elif label.strip().casefold() in labels:
                plan.problems.append((f"{at}.label", f"The label {label} appears twice"))
            else:
                labels.add(label.strip().casefold())
            phrase = term.get("phrase", "")
            if not isinstance(phrase, str) or len(phrase) > PHRASE_MAX or _CONTROL.search(
                    phrase):
                plan.problems.append((f"{at}.phrase", f"Give words of at most {PHRASE_MAX} "
                                                      "characters on one line"))
            for flag in ("priority", "retired"):
                if not isinstance(term.get(flag, False), bool):
                    plan.problems.append((f"{at}.{flag}", "Give true or false"))
            extra = set(term) - {"key", "label", "phrase", "priority", "retired"}
            if extra:
                plan.problems.append((at, f"Remove {', '.join(sorted(extra))}: not part of a "
                                          "term"))
            offered += term.get("retired") is not True
        if not offered:
            plan.problems.append((where, "Leave at least one term not retired"))
    return keys


def _check_organisations(organisations: Any, keys: dict[str, set[str]],
                         plan: ImportPlan) -> None:
    if not isinstance(organisations, list):
        plan.problems.append(("organisations", "Give a list of organisations"))
        return
    if len(organisations) > MAX_ORGANISATIONS:
        plan.problems.append(("organisations", f"Give no more than {MAX_ORGANISATIONS}"))
        return
    names: set[str] = set()
    for index, org in enumerate(organisations):
        at = f"organisations[{index}]"
        if not isinstance(org, dict):
            plan.problems.append((at, "Each organisation must be an object"))
            continue
        name = org.get("name")
        if not isinstance(name, str) or not 2 <= len(name.strip()) <= 160 or _CONTROL.search(
                name):
            plan.problems.append((f"{at}.name", "Give a name of 2 to 160 characters"))
        elif name.strip().casefold() in names:
            plan.problems.append((f"{at}.name", f"{name} appears twice"))
        else:
            names.add(name.strip().casefold())
        for attribute, kind in (("sector", "sector"), ("place", "place")):
            if org.get(attribute) not in keys[kind]:
                plan.problems.append((f"{at}.{attribute}", f"Give one of the file's {kind} "
                                      f"keys, not {org.get(attribute)!r}"))
        if org.get("size", OrganisationSize.SMALL) not in set(OrganisationSize):
            plan.problems.append((f"{at}.size", "Give large, medium or small"))
        if "access_route" in org and org["access_route"] not in set(AccessRoute):
            plan.problems.append((f"{at}.access_route", "Give one of "
                                  + ", ".join(AccessRoute)))
        weeks = org.get("notice_weeks", 0)
        if not isinstance(weeks, int) or isinstance(weeks, bool) or not (
                0 <= weeks <= MAX_NOTICE_WEEKS):
            plan.problems.append((f"{at}.notice_weeks", f"Give a whole number of weeks from 0 "
                                                        f"to {MAX_NOTICE_WEEKS}"))
        checks = org.get("host_checks", [])
        if not isinstance(checks, list) or any(check not in HOST_CHECKS for check in checks):
            plan.problems.append((f"{at}.host_checks", "Give a list of "
                                  + ", ".join(HOST_CHECKS)))
        extra = set(org) - {"name", "sector", "place", "size", "access_route", "notice_weeks",
                            "host_checks"}
        if extra:
            plan.problems.append((at, f"Remove {', '.join(sorted(extra))}: not part of an "
                                      "organisation"))


def _check_programme(texts: Any, plan: ImportPlan) -> None:
    if not isinstance(texts, dict):
        plan.problems.append(("programme", "Add the programme text: an object with "
                                           + ", ".join(f.key for f in programme.FIELDS)))
        return
    for key in sorted(set(texts) - set(programme.FIELD_BY_KEY)):
        plan.problems.append((f"programme.{key}", "Unknown programme text"))
    for key, message in programme.validate(
            {f.key: texts.get(f.key, "") for f in programme.FIELDS}).items():
        plan.problems.append((f"programme.{key}", message))


def _describe_changes(session: Session, document: dict[str, Any], plan: ImportPlan) -> None:
    for kind in KINDS:
        stored = {term.key: term for term in terms_of(session, kind)}
        listed = {term["key"]: term for term in document["vocabularies"][kind]}
        plan.added[kind] = [key for key in listed if key not in stored]
        plan.relabelled[kind] = [key for key, term in listed.items() if key in stored
                                 and stored[key].label != term["label"].strip()]
        plan.retired[kind] = [key for key, term in stored.items() if term.retired_at is None
                              and (key not in listed or listed[key].get("retired") is True)]
        plan.restored[kind] = [key for key, term in stored.items()
                               if term.retired_at is not None and key in listed
                               and listed[key].get("retired") is not True]
    existing = {org.name.casefold(): org for org in session.exec(select(Organisation))}
    for org in document.get("organisations", []):
        found = existing.get(org["name"].strip().casefold())
        if found is None:
            plan.organisations_added.append(org["name"].strip())
        elif (found.sector, found.borough, found.size) != (
                org["sector"], org["place"], org.get("size", found.size)):
            plan.organisations_changed.append(found.name)
    stored_text = programme.load(session)
    plan.programme_changed = [key for key, value in programme.clean(
        document["programme"]).items() if stored_text.get(key, "") != value]


# --- applying it -------------------------------------------------------------------------------


def apply_import(session: Session, plan: ImportPlan, actor: User | None, *,
                 ip: str = "") -> None:
    """Make the database's configuration the file's. Only a plan without problems; the caller
    commits."""
    if not plan.ok:
        raise ValueError("the file has problems: fix them first")
    document, now = plan.document, utcnow()
    for kind in KINDS:
        stored = {term.key: term for term in terms_of(session, kind)}
        listed = document["vocabularies"][kind]
        for position, item in enumerate(listed):
            term = stored.get(item["key"]) or VocabularyTerm(kind=kind, key=item["key"])
            term.label = item["label"].strip()
            term.phrase = (item.get("phrase") or "").strip() if kind == "sector" else ""
            term.priority = bool(item.get("priority")) if kind == "profession" else False
            term.position = position
            retire = item.get("retired") is True
            if retire and term.retired_at is None:
                term.retired_at = now
            elif not retire:
                term.retired_at = None
            term.updated_at = now
            session.add(term)
        after = len(listed)
        for key, term in stored.items():  # left out of the file: retired, never deleted
            if key not in {item["key"] for item in listed}:
                term.retired_at = term.retired_at or now
                term.position, after = after, after + 1
                session.add(term)
    session.flush()
    _import_organisations(session, document.get("organisations", []))
    programme.save(session, document["programme"])
    vocabularies.forget(session)
    audit.record(session, "configuration.imported", actor=actor, ip=ip, detail=plan.summary())


def _import_organisations(session: Session, organisations: list[dict[str, Any]]) -> None:
    existing = {org.name.casefold(): org for org in session.exec(select(Organisation))}
    for item in organisations:
        name = item["name"].strip()
        org = existing.get(name.casefold())
        route, weeks, checks = host_check_defaults(item["sector"])
        if org is None:
            org = Organisation(name=name, sector=item["sector"], borough=item["place"],
                               access_route=item.get("access_route", route),
                               notice_weeks=item.get("notice_weeks", weeks),
                               host_checks=[c for c in HOST_CHECKS
                                            if c in item.get("host_checks", checks)],
                               size=item.get("size", OrganisationSize.SMALL))
        else:
            org.sector, org.borough = item["sector"], item["place"]
            org.size = item.get("size", org.size)
            org.access_route = item.get("access_route", org.access_route)
            org.notice_weeks = item.get("notice_weeks", org.notice_weeks)
            if "host_checks" in item:
                org.host_checks = [c for c in HOST_CHECKS if c in item["host_checks"]]
        session.add(org)
    session.flush()


def configured(session: Session) -> bool:
    """Whether the database has vocabularies at all (a migrated database always has)."""
    return session.execute(sa.select(sa.func.count()).select_from(VocabularyTerm)).scalar_one() > 0
