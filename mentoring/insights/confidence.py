"""Did it work: the paired change in leaders' system-leadership confidence, with small groups
suppressed, and the anonymised export for an evaluator. No Flask here.

Definitions (the pages repeat them):
- a leader is *paired* when they answered the eight statements both on joining the round and
  after its window ended; only paired leaders count in the change;
- a statement's *change* is the mean, over paired leaders, of (end answer - joining answer) on
  the 1..5 scale; the *overall* change is the mean of the eight statements' changes (every
  paired leader answered every statement, so it is also the mean of each leader's own change);
- groups by sector and by profession use the leader's profile as it is now.

Suppression: a group of fewer than five paired leaders is never shown, neither its count nor
its figures ("fewer than 5"). The whole round's row is shown (when it has five or more), so one
suppressed group would be the total minus the groups shown: while the hidden groups of a table
add up to fewer than five leaders, the smallest shown group is hidden too ("not shown, so that a
smaller group cannot be worked out"). Hidden rows carry no numbers at all, so no page, report
or CSV can print one by mistake.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from statistics import fmean

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from mentoring.confidence.services import SCALE, STATEMENT_KEYS, STATEMENTS, Statement
from mentoring.configuration import vocabularies
from mentoring.models import LeaderProfile, Moment, ProgrammeRound, SelfAssessment
from mentoring.spreadsheet import csv_text
from mentoring.vocab import CareerStage

MINIMUM_GROUP = 5
FEWER = f"fewer than {MINIMUM_GROUP}"
COMPLEMENT = "not shown, so that a smaller group cannot be worked out"


@dataclass(frozen=True)
class ChangeRow:
    """One group's paired change; a hidden group has `hidden` set and no numbers at all."""

    key: str
    label: str
    leaders: int | None = None
    before: tuple[float, ...] = ()  # mean joining answer, per statement
    after: tuple[float, ...] = ()  # mean end answer, per statement
    hidden: str = ""

    @property
    def change(self) -> tuple[float, ...]:
        return tuple(after - before for before, after in zip(self.before, self.after, strict=True))

    @property
    def overall_before(self) -> float | None:
        return fmean(self.before) if self.before else None

    @property
    def overall_after(self) -> float | None:
        return fmean(self.after) if self.after else None

    @property
    def overall_change(self) -> float | None:
        return fmean(self.change) if self.before else None


@dataclass(frozen=True)
class ConfidenceChange:
    statements: tuple[Statement, ...]
    answered_joining: int  # leaders who answered on joining (paired or not)
    answered_end: int
    overall: ChangeRow
    by_sector: tuple[ChangeRow, ...]
    by_profession: tuple[ChangeRow, ...]
    minimum: int = MINIMUM_GROUP


def hidden_groups(counts: dict[str, int], order: list[str],
                  minimum: int = MINIMUM_GROUP) -> dict[str, str]:
    """Which groups to hide, and why: every group under `minimum`, then (while the hidden
    groups add up to fewer than `minimum`, so that the total minus the groups shown would give
    them away) the smallest group still shown, ties in `order`."""
    hidden = {key: FEWER for key, count in counts.items() if count < minimum}
    position = {key: index for index, key in enumerate(order)}
    shown = sorted((key for key in counts if key not in hidden),
                   key=lambda key: (counts[key], position.get(key, len(order)), key))
    while hidden and sum(counts[key] for key in hidden) < minimum and shown:
        hidden[shown.pop(0)] = COMPLEMENT
    return hidden


Pair = tuple[dict, dict]  # (joining answers, end answers) of one leader


def _row(key: str, label: str, pairs: list[Pair], hidden: str = "") -> ChangeRow:
    if hidden or len(pairs) < MINIMUM_GROUP:
        return ChangeRow(key, label, hidden=hidden or FEWER)
    return ChangeRow(
        key, label, leaders=len(pairs),
        before=tuple(fmean(before[key] for before, _ in pairs) for key in STATEMENT_KEYS),
        after=tuple(fmean(after[key] for _, after in pairs) for key in STATEMENT_KEYS),
    )


def _breakdown(groups: dict[str, list[Pair]], labels: dict[str, str]) -> tuple[ChangeRow, ...]:
    order = [key for key in labels if key in groups] + sorted(set(groups) - set(labels))
    hidden = hidden_groups({key: len(pairs) for key, pairs in groups.items()}, order)
    return tuple(_row(key, labels.get(key, key), groups[key], hidden.get(key, ""))
                 for key in order)


def _complete(answers: dict | None) -> bool:
    return bool(answers) and all(answers.get(key) in SCALE for key in STATEMENT_KEYS)


def change(session: Session, round_id: int) -> ConfidenceChange:
    """The round's paired change, in two queries."""
    joining, end = aliased(SelfAssessment), aliased(SelfAssessment)
    found = session.execute(
        sa.select(LeaderProfile.sector, LeaderProfile.profession, joining.answers, end.answers)
        .join(joining, sa.and_(joining.leader_id == LeaderProfile.id,
                               joining.round_id == round_id, joining.moment == Moment.JOINING))
        .join(end, sa.and_(end.leader_id == LeaderProfile.id, end.round_id == round_id,
                           end.moment == Moment.END))
    ).all()
    answered = dict(session.execute(
        sa.select(SelfAssessment.moment, sa.func.count())
        .where(SelfAssessment.round_id == round_id).group_by(SelfAssessment.moment)
    ).all())
    by_sector: dict[str, list[Pair]] = {}
    by_profession: dict[str, list[Pair]] = {}
    everyone: list[Pair] = []
    for sector, profession, before, after in found:
        if not (_complete(before) and _complete(after)):
            continue  # not written by save(): never counted
        everyone.append((before, after))
        by_sector.setdefault(sector, []).append((before, after))
        by_profession.setdefault(profession, []).append((before, after))
    words = vocabularies.current()
    return ConfidenceChange(
        statements=STATEMENTS,
        answered_joining=answered.get(Moment.JOINING, 0),
        answered_end=answered.get(Moment.END, 0),
        overall=_row("all", "All paired leaders", everyone),
        by_sector=_breakdown(by_sector, words.sectors),
        by_profession=_breakdown(by_profession, words.professions),
    )


def csv_rows(figures: ConfidenceChange):
    """The change as (section, figure, label, value) rows of the round's figures CSV: a hidden
    group's value is its reason, never a number."""
    section = "confidence"
    yield section, "leaders who answered on joining", "", figures.answered_joining
    yield section, "leaders who answered at the end", "", figures.answered_end
    for what, rows in (("all", (figures.overall,)), ("sector", figures.by_sector),
                       ("profession", figures.by_profession)):
        for row in rows:
            label = row.label if what == "all" else f"{what}: {row.label}"
            if row.hidden:
                yield section, "paired leaders", label, row.hidden
                continue
            yield section, "paired leaders", label, row.leaders
            yield section, "mean change, overall", label, row.overall_change
            for statement, before, after, moved in zip(
                    figures.statements, row.before, row.after, row.change, strict=True):
                yield section, f"mean on joining: {statement.short}", label, before
                yield section, f"mean at the end: {statement.short}", label, after
                yield section, f"mean change: {statement.short}", label, moved


# --- the evaluator's export ------------------------------------------------------------------


EXPORT_HEADER = ("respondent", "sector", "profession", "career_stage",
                 *(f"joining_{key}" for key in STATEMENT_KEYS),
                 *(f"end_{key}" for key in STATEMENT_KEYS))


def evaluator_csv(session: Session, programme_round: ProgrammeRound,
                  rng: random.Random | None = None) -> tuple[str, int]:
    """(CSV text, rows): one row per leader who answered at least once, in random order, each
    with a random respondent id made for this download (not the database id, and different in
    every download, so two downloads cannot be joined on it). Sector, profession and career
    stage; both sets of answers (blank where not given). No name, email or organisation."""
    rng = rng or secrets.SystemRandom()
    found = session.execute(
        sa.select(SelfAssessment.leader_id, SelfAssessment.moment, SelfAssessment.answers,
                  LeaderProfile.sector, LeaderProfile.profession, LeaderProfile.career_stage)
        .join(LeaderProfile, LeaderProfile.id == SelfAssessment.leader_id)
        .where(SelfAssessment.round_id == programme_round.id)
    ).all()
    leaders: dict[int, dict] = {}
    for leader_id, moment, answers, sector, profession, career_stage in found:
        leader = leaders.setdefault(leader_id, {"sector": sector, "profession": profession,
                                                "career_stage": career_stage})
        leader[moment] = answers or {}
    words = vocabularies.current()
    rows = []
    ids = rng.sample(range(16**6, 16**7), len(leaders))  # distinct, seven hex digits
    for number, leader in zip(ids, leaders.values(), strict=True):
        rows.append((
            f"R{number:x}",
            words.sectors.get(leader["sector"], leader["sector"]),
            words.professions.get(leader["profession"], leader["profession"]),
            leader["career_stage"],
            *(leader.get(Moment.JOINING, {}).get(key, "") for key in STATEMENT_KEYS),
            *(leader.get(Moment.END, {}).get(key, "") for key in STATEMENT_KEYS),
        ))
    rng.shuffle(rows)
    return csv_text(EXPORT_HEADER, rows), len(rows)


DICTIONARY_HEADER = ("column", "meaning", "values")


def data_dictionary() -> list[tuple[str, str, str]]:
    words = vocabularies.current()
    scale = "; ".join(f"{value} = {text}" for value, text in SCALE.items())
    columns = [
        ("respondent", "A random id made for this download only: not the leader's id in the "
         "system, and different in every download. Rows are in random order. The file is "
         "pseudonymised, not anonymous: a rare mix of sector, profession and career stage can "
         "point to one person, so keep it as personal data and publish only groups of five or "
         "more.",
         "R followed by seven hexadecimal digits"),
        ("sector", "The leader's sector, from their profile when the file was downloaded.",
         "; ".join(words.sectors.values())),
        ("profession", "The leader's profession, from their profile when the file was "
         "downloaded.", "; ".join(words.professions.values())),
        ("career_stage", "Whether the leader describes themself as an experienced or an "
         "emerging leader.", "; ".join(stage.value for stage in CareerStage)),
    ]
    for moment, when in (("joining", "when they joined the round (the baseline)"),
                         ("end", "after the round's window ended")):
        for statement in STATEMENTS:
            columns.append((f"{moment}_{statement.key}",
                            f"How far the leader agreed, {when}: \"{statement.text}\"",
                            f"{scale}; blank = not answered"))
    return columns


def data_dictionary_csv() -> str:
    return csv_text(DICTIONARY_HEADER, data_dictionary())
