"""The hand-made round of tests/test_insights_figures.py (its docstring describes it), shared by
the insights tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from mentoring import audit


def at(day: int, month: int = 1, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


def build_hand_made(factory) -> SimpleNamespace:
    """The round in the docstring of tests/test_insights_figures.py."""
    big = factory.organisation("Big Trust", sector="acute", borough="southwark", size="large")
    trust = factory.organisation("Mind Trust", sector="mental_health", borough="lambeth",
                                 size="medium")
    practice = factory.organisation("Practice", sector="primary_care", borough="lewisham",
                                    size="small")
    charity = factory.organisation("Charity", sector="vcse", borough="lewisham", size="small")
    m1 = factory.mentor(name="Mina One", profession="acute_clinical_director", sector="acute",
                        borough="southwark", organisation_id=big.id, protected_hours_per_month=8)
    m2 = factory.mentor(name="Max Two", profession="pcn_clinical_director",
                        sector="primary_care", borough="lewisham", organisation_id=practice.id,
                        protected_hours_per_month=4)
    e1 = factory.leader(name="Eve Named-Not", profession="nurse", sector="mental_health",
                        borough="lambeth", organisation_id=trust.id, protected_hours_per_month=8)
    e2 = factory.leader(name="Ezra Quiet", profession="vcse_representative", sector="vcse",
                        borough="lewisham", organisation_id=charity.id)
    e3 = factory.leader(name="Esme Three", profession="social_worker", sector="social_care",
                        borough="greenwich", organisation_id=None, protected_hours_per_month=6)
    invited = factory.leader(profession="gp", borough="bexley", protected_hours_per_month=99)
    withdrawn = factory.leader(profession="gp", borough="bromley")

    programme_round = factory.programme_round(name="Hand-made round",
                                              starts_on=date(2027, 1, 4))
    assert programme_round.ends_on == date(2027, 3, 28)
    for leader in (m1, m2, e1, e2, e3):
        factory.participant(programme_round, leader)
    factory.participant(programme_round, invited, status="invited")
    factory.participant(programme_round, withdrawn, status="withdrawn")

    m1_e1 = factory.match(programme_round, m1, e1, status="accepted")
    m2_e2 = factory.match(programme_round, m2, e2, status="offered")
    factory.match(programme_round, m1, e3, status="declined", decided_by_id=e3.user_id)
    factory.match(programme_round, m2, e3, status="proposed")
    db = factory.session
    for match, leader in ((m1_e1, m1), (m1_e1, e1), (m2_e2, e2)):
        audit.record(db, "match.accepted", actor=leader.user, obj=match,
                     detail={"leader_id": leader.id})

    x1 = factory.exchange(m1_e1, at(5), status="completed")
    factory.exchange(m1_e1, at(2, 2), host_id=e1.id, visitor_id=m1.id)
    factory.exchange(m1_e1, at(19), status="cancelled")
    x4 = factory.exchange(m2_e2, at(11), ends_at=at(11, hour=12, minute=30), status="completed",
                          host_id=e2.id, visitor_id=m2.id)
    factory.exchange(m2_e2, at(20))

    factory.feedback(x1, m1, rating=5, agree_to_be_named=True,
                     learned="How the discharge pathway works from the ward")
    factory.feedback(x1, e1, rating=4, learned="Prescribing decisions in acute care")
    factory.feedback(x4, e2, rating=2, for_coordinators="Travel took too long")

    # Another round: nothing here may show up in the hand-made round's figures.
    other = factory.matched(factory.leader(profession="nurse"), factory.mentor())
    factory.feedback(other.past, other.mentee, rating=1)
    db.flush()
    return SimpleNamespace(round=programme_round, m1=m1, m2=m2, e1=e1, e2=e2, e3=e3)
