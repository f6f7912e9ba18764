"""The vocabularies in use: read from `vocabulary_term`, once per unit of work.

Services ask `of(session)`: the terms are loaded with one query the first time a session needs
them and kept in `session.info` until its transaction ends (a request, a worker job), so a page
of 5,000 leaders reads the labels once. The data models' validators have no session: they read
`current()`, the vocabularies bound to the running context by `bound(...)` (the web layer binds
the request's, lazily, so a page that validates nothing queries nothing). Unbound, `current()`
gives the south east London defaults in `mentoring.vocab`, which the migration seeds.

A retired term stays readable (`label` still knows it) but is no longer offered: validators
accept only offered keys, plus the keys a record already holds (`keeping`), so a leader whose
borough is retired can still save the rest of their profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlmodel import Session

from mentoring import vocab
from mentoring.models.configuration import VOCABULARY_KINDS

KINDS = VOCABULARY_KINDS
KIND_NAMES = {"place": "borough", "sector": "sector", "profession": "profession",
              "topic": "topic"}
KIND_TITLES = {"place": "Places", "sector": "Sectors", "profession": "Professions",
               "topic": "Topics"}
KIND_HINTS = {
    "place": "Boroughs or localities: where leaders work and can travel to.",
    "sector": "The kinds of organisation leaders work in.",
    "profession": "Leaders' professions. Priority groups are matched first in a new round.",
    "topic": "What a mentor can offer and a mentee wants to develop.",
}


@dataclass(frozen=True, slots=True)
class Term:
    kind: str
    key: str
    label: str
    phrase: str = ""
    priority: bool = False
    retired_at: datetime | None = None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


@dataclass(frozen=True, eq=False)
class Vocabularies:
    """Every term of every kind, in each kind's order."""

    terms: tuple[Term, ...]
    _by_kind: dict[str, dict[str, Term]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_kind: dict[str, dict[str, Term]] = {kind: {} for kind in KINDS}
        for term in self.terms:
            by_kind[term.kind][term.key] = term
        object.__setattr__(self, "_by_kind", by_kind)

    def of_kind(self, kind: str) -> dict[str, Term]:
        return self._by_kind[kind]

    def labels(self, kind: str) -> dict[str, str]:
        """Every key's label, retired ones too: for reading records."""
        return {key: term.label for key, term in self._by_kind[kind].items()}

    def offered(self, kind: str) -> dict[str, str]:
        """The choices for anything new: terms not retired."""
        return {key: term.label for key, term in self._by_kind[kind].items()
                if term.retired_at is None}

    def label(self, kind: str, key: str | None) -> str:
        """The readable label of a key, or the key itself when no term has it."""
        if key is None:
            return ""
        term = self._by_kind[kind].get(key)
        return term.label if term else key

    def phrase(self, kind: str, key: str) -> str:
        term = self._by_kind[kind].get(key)
        return term.phrase if term else ""

    @cached_property
    def fingerprint(self) -> tuple[tuple[str, str, str, bool], ...]:
        """The terms' content, hashable: a cache key that survives reloading the same terms."""
        return tuple((term.kind, term.key, term.label, term.retired_at is None)
                     for term in self.terms)

    @cached_property
    def priority_professions(self) -> tuple[str, ...]:
        return tuple(key for key, term in self._by_kind["profession"].items()
                     if term.priority and term.retired_at is None)

    # The shapes the rest of the code has always read (vocab.BOROUGHS and friends).
    @property
    def places(self) -> dict[str, str]:
        return self.labels("place")

    @property
    def sectors(self) -> dict[str, str]:
        return self.labels("sector")

    @property
    def professions(self) -> dict[str, str]:
        return self.labels("profession")

    @property
    def topics(self) -> dict[str, str]:
        return self.labels("topic")


def defaults() -> Vocabularies:
    """South east London's lists, as the first migration seeds them."""
    return _DEFAULTS


def default_terms() -> list[Term]:
    lists = {"place": vocab.BOROUGHS, "sector": vocab.SECTORS,
             "profession": vocab.PROFESSIONS, "topic": vocab.TOPICS}
    return [Term(kind, key, text, phrase=vocab.SECTOR_PHRASES.get(key, "")
                 if kind == "sector" else "",
                 priority=kind == "profession" and key in vocab.DEFAULT_PRIORITY_PROFESSIONS)
            for kind, labels in lists.items() for key, text in labels.items()]


_DEFAULTS = Vocabularies(tuple(default_terms()))


def load(session: Session) -> Vocabularies:
    from mentoring.configuration import store

    return store.load(session).vocabularies


def of(session: Session) -> Vocabularies:
    """The session's vocabularies, loaded on first use in its transaction (with the programme
    text: `mentoring.configuration.store`)."""
    from mentoring.configuration import store

    return store.of(session).vocabularies


def forget(session: Session) -> None:
    """After a change to the terms: the next `of` reads them again."""
    from mentoring.configuration import store

    store.forget(session)


# --- what validators read ----------------------------------------------------------------------

_bound: ContextVar[Callable[[], Vocabularies] | None] = ContextVar("vocabularies", default=None)
_kept: ContextVar[frozenset[tuple[str, str]]] = ContextVar("vocabularies_kept",
                                                          default=frozenset())


def current() -> Vocabularies:
    loader = _bound.get()
    return loader() if loader is not None else _DEFAULTS


def bind(loader: Callable[[], Vocabularies] | None):
    """Make `current()` call `loader`; returns the token to `unbind` with."""
    return _bound.set(loader)


def unbind(token) -> None:
    _bound.reset(token)


@contextmanager
def bound(session: Session) -> Iterator[Vocabularies]:
    """Validate against this session's vocabularies (CLI, worker, services called directly)."""
    token = _bound.set(lambda: of(session))
    try:
        yield of(session)
    finally:
        _bound.reset(token)


@contextmanager
def keeping(pairs: Iterable[tuple[str, str]]) -> Iterator[None]:
    """Inside: validators also accept these (kind, key) pairs, retired or not: the values the
    record being saved already holds."""
    token = _kept.set(frozenset(pair for pair in pairs if pair[1]))
    try:
        yield
    finally:
        _kept.reset(token)


def check(kind: str, value: str) -> str:
    """A key that may be chosen now: offered, or kept by the record being saved."""
    if (kind, value) in _kept.get():
        return value
    term = current().of_kind(kind).get(value)
    if term is None or term.retired_at is not None:
        raise ValueError(f"Choose a {KIND_NAMES[kind]} from the list")
    return value
