"""The hand-made evidence round of tests/test_confidence.py (its docstring gives the hand
counts), shared with the browser test."""

from __future__ import annotations

from datetime import date

from mentoring.confidence.services import STATEMENT_KEYS, save

TODAY_IN_WINDOW = date(2027, 1, 10)
TODAY_AFTER = date(2027, 4, 1)


def answers(value: int, **different: int) -> dict[str, int]:
    return {key: different.get(key, value) for key in STATEMENT_KEYS}


def answer(db, programme_round, leader, joining: dict | None, end: dict | None) -> None:
    if joining is not None:
        save(db, programme_round, leader, joining, TODAY_IN_WINDOW)
    if end is not None:
        save(db, programme_round, leader, end, TODAY_AFTER)


def build_evidence_round(factory, name: str = "Evidence round"):
    db = factory.session
    programme_round = factory.programme_round(name=name)

    def joined(**profile):
        leader = factory.leader(**profile)
        factory.participant(programme_round, leader)
        return leader

    for before in (2, 2, 2, 3, 3, 3):
        answer(db, programme_round, joined(sector="acute", profession="nurse"),
               answers(before), answers(4, whom_to_call=3))
    for profession in ("social_worker",) * 4 + ("community_pharmacist",):
        answer(db, programme_round, joined(sector="mental_health", profession=profession),
               answers(3), answers(3))
    for _ in range(3):
        answer(db, programme_round, joined(sector="vcse", profession="community_pharmacist"),
               answers(1), answers(5))
    # Answered once only: not paired, counted as answers.
    answer(db, programme_round, joined(sector="acute", profession="gp"), answers(1), None)
    answer(db, programme_round, joined(sector="vcse", profession="gp"), None, answers(5))
    # Another round's answers never count here.
    other = factory.programme_round(name=f"Another round than {name}")
    stranger = factory.leader(sector="acute", profession="nurse")
    factory.participant(other, stranger)
    answer(db, other, stranger, answers(5), answers(1))
    db.flush()
    return programme_round
