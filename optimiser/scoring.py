"""Compatibility scores (0-10) with reasons, and candidate pairs with pruning."""

from __future__ import annotations

import functools
import zlib

import numpy as np

from .model import Leader, ScoreWeights


@functools.lru_cache(maxsize=65536)
def _norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def _pts(v: float) -> str:
    return f"+{v:g}"


def score_pair(mentor: Leader, mentee: Leader, weights: ScoreWeights | None = None
               ) -> tuple[float, list[str]]:
    """Compatibility of ``mentor`` for ``mentee`` on a 0-10 scale, with readable reasons.

    Points (with the default weights, adding up to 10): the share of the mentee's goals
    that the mentor's strengths cover (4), crossing professions (2.5), crossing sectors
    (2), crossing organisations (0.5), and being in the same borough (1) since
    exchanges are visits.  The score is capped at 10 and rounded to 2 decimals.
    """
    w = weights or ScoreWeights()
    reasons: list[str] = []
    goals = list(dict.fromkeys(_norm(g) for g in mentee.goals))
    strengths = {_norm(s) for s in mentor.strengths}
    covered = [g for g in goals if g in strengths]
    total = 0.0
    if goals:
        share = len(covered) / len(goals)
        total += w.goals * share
        if covered:
            names = ", ".join(covered)
            reasons.append(f"the mentor's strengths cover {len(covered)} of the mentee's "
                           f"{len(goals)} goals ({names}) {_pts(round(w.goals * share, 2))}")
        else:
            reasons.append(f"the mentor's strengths cover none of the mentee's "
                           f"{len(goals)} goals")
    else:
        reasons.append("the mentee has stated no goals")
    if _norm(mentor.profession) != _norm(mentee.profession):
        total += w.cross_profession
        reasons.append(f"crosses professions: {mentor.profession} and {mentee.profession} "
                       f"{_pts(w.cross_profession)}")
    else:
        reasons.append(f"same profession: {mentor.profession}")
    if _norm(mentor.sector) != _norm(mentee.sector):
        total += w.cross_sector
        reasons.append(f"crosses sectors: {mentor.sector} and {mentee.sector} "
                       f"{_pts(w.cross_sector)}")
    else:
        reasons.append(f"same sector: {mentor.sector}")
    if _norm(mentor.organisation) != _norm(mentee.organisation):
        total += w.cross_organisation
        reasons.append(f"different organisations: {mentor.organisation} and "
                       f"{mentee.organisation} {_pts(w.cross_organisation)}")
    else:
        reasons.append(f"same organisation: {mentor.organisation}")
    if _norm(mentor.borough) == _norm(mentee.borough):
        total += w.same_borough
        reasons.append(f"both in {mentor.borough} {_pts(w.same_borough)}")
    else:
        reasons.append(f"different boroughs: {mentor.borough} and {mentee.borough}")
    return round(min(10.0, max(0.0, total)), 2), reasons


class PairScores:
    """score_pair's score without its reasons, by leader index (the same arithmetic, so the
    same number): candidate building scores hundreds of thousands of pairs on a national
    round, and only the pairs formed need their reasons written out. Each leader's words are
    normalised once."""

    def __init__(self, leaders: list[Leader], weights: ScoreWeights):
        self.leaders, self.weights = leaders, weights
        self._mentee: dict[int, tuple] = {}
        self._mentor: dict[int, tuple] = {}

    def _common(self, ld: Leader) -> tuple[str, str, str, str]:
        return (_norm(ld.profession), _norm(ld.sector), _norm(ld.organisation),
                _norm(ld.borough))

    def __call__(self, mentor: int, mentee: int) -> float:
        w = self.weights
        m = self._mentor.get(mentor)
        if m is None:
            ld = self.leaders[mentor]
            m = self._mentor[mentor] = (frozenset(_norm(s) for s in ld.strengths),
                                        *self._common(ld))
        e = self._mentee.get(mentee)
        if e is None:
            ld = self.leaders[mentee]
            e = self._mentee[mentee] = (list(dict.fromkeys(_norm(g) for g in ld.goals)),
                                        *self._common(ld))
        strengths, goals = m[0], e[0]
        total = 0.0
        if goals:
            total += w.goals * (sum(1 for g in goals if g in strengths) / len(goals))
        if m[1] != e[1]:
            total += w.cross_profession
        if m[2] != e[2]:
            total += w.cross_sector
        if m[3] != e[3]:
            total += w.cross_organisation
        if m[4] == e[4]:
            total += w.same_borough
        return round(min(10.0, max(0.0, total)), 2)


def _codes(values: list[str]) -> np.ndarray:
    table: dict[str, int] = {}
    return np.array([table.setdefault(_norm(v), len(table)) for v in values], dtype=np.int32)


def score_matrix(mentors: list[Leader], mentees: list[Leader], weights: ScoreWeights
                 ) -> np.ndarray:
    """Approximate score_pair for every (mentor, mentee), vectorised (for ranking only:
    the scores that enter the model are recomputed with score_pair)."""
    return ScoreMatrix(mentors, mentees, weights).block(0, len(mentees))


class ScoreMatrix:
    """score_matrix a block of mentees at a time: the mentors' side (their strengths, the
    codes of every leader's profession, sector, organisation and borough) is worked out
    once, not for every block (on a national round that was 13 of the 28 seconds)."""

    def __init__(self, mentors: list[Leader], mentees: list[Leader], weights: ScoreWeights):
        self.mentors, self.mentees, self.weights = mentors, mentees, weights
        nm = len(mentors)
        both = mentors + mentees
        self.topics: dict[str, int] = {}
        for ld in both:
            for t in (*ld.strengths, *ld.goals):
                self.topics.setdefault(_norm(t), len(self.topics))
        self.strengths = np.zeros((nm, max(1, len(self.topics))), dtype=np.float32)
        for i, ld in enumerate(mentors):
            for t in ld.strengths:
                self.strengths[i, self.topics[_norm(t)]] = 1
        self.codes = {attr: _codes([getattr(ld, attr) for ld in both])
                      for attr in ("profession", "sector", "organisation", "borough")}

    def block(self, start: int, stop: int) -> np.ndarray:
        """Mentors by mentees[start:stop]."""
        nm = len(self.mentors)
        block = self.mentees[start:stop]
        out = np.zeros((nm, len(block)), dtype=np.float64)
        if nm == 0 or not block:
            return out
        weights = self.weights
        goals = np.zeros((len(block), self.strengths.shape[1]), dtype=np.float32)
        for j, ld in enumerate(block):
            for t in ld.goals:
                goals[j, self.topics[_norm(t)]] = 1
        n_goals = goals.sum(axis=1)
        cover = self.strengths @ goals.T
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n_goals[None, :] > 0, cover / np.maximum(n_goals, 1)[None, :],
                             0.0)
        out += weights.goals * share
        for attr, wt, same in (("profession", weights.cross_profession, False),
                               ("sector", weights.cross_sector, False),
                               ("organisation", weights.cross_organisation, False),
                               ("borough", weights.same_borough, True)):
            codes = self.codes[attr]
            eq = codes[:nm, None] == codes[None, nm + start:nm + stop]
            out += wt * (eq if same else ~eq)
        return np.clip(out, 0.0, 10.0)


def jitter(a: str, b: str) -> float:
    """A deterministic tie-breaker in [0, 1) for pair (a, b)."""
    return (zlib.crc32(f"{a}\x00{b}".encode()) & 0xFFFFFF) / float(1 << 24)
