"""Admins add, relabel, retire and bring back vocabulary terms. A term is never deleted: its key
lives on in people's records, so a retired term stays readable there and is only no longer
offered. Every change is audited; the caller commits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.configuration import vocabularies
from mentoring.configuration.vocabularies import KINDS
from mentoring.models import User, VocabularyTerm, utcnow

LABEL_MAX, PHRASE_MAX, KEY_MAX = 160, 160, 40
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

class TermError(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors

@dataclass(frozen=True)
class TermForm:
    label: str = ""
    phrase: str = ""
    priority: bool = False

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TermForm:
        return cls(label=" ".join((form.get("label") or "").split()),
                   phrase=" ".join((form.get("phrase") or "").split()),
                   priority=form.get("priority") == "yes")

    @classmethod
    def from_term(cls, term: VocabularyTerm) -> TermForm:
        return cls(label=term.label, phrase=term.phrase, priority=term.priority)

def terms_of(session: Session, kind: str) -> list[VocabularyTerm]:
    return list(session.exec(select(VocabularyTerm).where(VocabularyTerm.kind == kind)
                             .order_by(VocabularyTerm.position, VocabularyTerm.id)).all())

def get_term(session: Session, kind: str, term_id: int) -> VocabularyTerm | None:
    term = session.get(VocabularyTerm, term_id)
    return term if term is not None and term.kind == kind else None

def key_for(label: str, taken: set[str]) -> str:
    """A stable key made from a label: "Tower Hamlets" -> "tower_hamlets" (then _2, _3…)."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:KEY_MAX - 3] or "term"
    if not base[0].isalpha():
        base = f"t_{base}"[:KEY_MAX - 3]
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key

def check_label(session: Session, kind: str, values: TermForm,
                exclude_id: int | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values.label:
        errors["label"] = "Enter a label"
    elif len(values.label) > LABEL_MAX:
        errors["label"] = f"Enter a label of {LABEL_MAX} characters or fewer"
    elif _CONTROL.search(values.label):
        errors["label"] = "Enter a label without control characters"
    else:
        same = [term for term in terms_of(session, kind)
                if term.label.casefold() == values.label.casefold() and term.id != exclude_id]
        if same:
            errors["label"] = (f"There is already a {vocabularies.KIND_NAMES[kind]} called "
                               f"{same[0].label}" + (" (retired: bring it back instead)"
                                                     if same[0].retired_at else ""))
    if len(values.phrase) > PHRASE_MAX:
        errors["phrase"] = f"Enter words of {PHRASE_MAX} characters or fewer"
    elif _CONTROL.search(values.phrase):
        errors["phrase"] = "Enter words without control characters"
    return errors

def add_term(session: Session, actor: User, kind: str, values: TermForm, *,
             ip: str = "") -> VocabularyTerm:
    errors = check_label(session, kind, values)
    if errors:
        raise TermError(errors)
    existing = terms_of(session, kind)
    term = VocabularyTerm(
        kind=kind, key=key_for(values.label, {term.key for term in existing}),
        label=values.label, phrase=values.phrase if kind == "sector" else "",
        priority=values.priority if kind == "profession" else False,
        position=max((term.position for term in existing), default=-1) + 1)
    session.add(term)
    session.flush()
    audit.record(session, "configuration.term_added", actor=actor, obj=term, ip=ip,
                 detail={"kind": kind, "key": term.key, "label": term.label})
    vocabularies.forget(session)
    return term

def update_term(session: Session, actor: User, term: VocabularyTerm, values: TermForm, *,
                ip: str = "") -> bool:
    """Relabel a term (and its phrase or priority); its key never changes. True if changed."""
    errors = check_label(session, term.kind, values, exclude_id=term.id)
    if errors:
        raise TermError(errors)
    before = {"label": term.label, "phrase": term.phrase, "priority": term.priority}
    term.label = values.label
    term.phrase = values.phrase if term.kind == "sector" else ""
    term.priority = values.priority if term.kind == "profession" else False
    after = {"label": term.label, "phrase": term.phrase, "priority": term.priority}
    if before == after:
        return False
    term.updated_at = utcnow()
    session.add(term)
    session.flush()
    audit.record(session, "configuration.term_changed", actor=actor, obj=term, ip=ip,
                 detail={"kind": term.kind, "key": term.key,
                         "before": {k: v for k, v in before.items() if after[k] != v},
                         "after": {k: v for k, v in after.items() if before[k] != v}})
    vocabularies.forget(session)
    return True

def set_retired(session: Session, actor: User, term: VocabularyTerm, retired: bool, *,
                ip: str = "") -> None:
    """Retire a term (no longer offered; records keep it) or bring it back."""
    if retired == (term.retired_at is not None):
        return
    if retired and len([t for t in terms_of(session, term.kind) if t.retired_at is None]) <= 1:
        raise TermError({"": f"Keep at least one {vocabularies.KIND_NAMES[term.kind]} "
                             "that people can choose"})
    term.retired_at = utcnow() if retired else None
    term.updated_at = utcnow()
    session.add(term)
    session.flush()
    audit.record(session, "configuration.term_retired" if retired
                 else "configuration.term_restored", actor=actor, obj=term, ip=ip,
                 detail={"kind": term.kind, "key": term.key, "label": term.label})
    vocabularies.forget(session)

def usage(session: Session, kind: str) -> dict[str, int]:
    """How many leaders' profiles hold each key (a count per key, for the admin page)."""
    from mentoring.models import LeaderProfile

    column = {"place": LeaderProfile.borough, "sector": LeaderProfile.sector,
              "profession": LeaderProfile.profession}.get(kind)
    if column is None:  # topics sit in JSON lists: counted in Python, one column read
        counts: dict[str, int] = {}
        for strengths, goals in session.execute(
                sa.select(LeaderProfile.strengths, LeaderProfile.goals)):
            for key in {*(strengths or []), *(goals or [])}:
                counts[key] = counts.get(key, 0) + 1
        return counts
    return {key: count for key, count in session.execute(
        sa.select(column, sa.func.count()).group_by(column))}

assert set(KINDS) == {"place", "sector", "profession", "topic"}
