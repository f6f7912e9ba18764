"""What people said: ratings, comments grouped by topic, and names only for those who agreed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mentoring.insights import feedback
from mentoring.insights.feedback import topics_of
from mentoring.models import LeaderProfile


@pytest.mark.parametrize(("text", "expected"), [
    ("Community pharmacists manage repeat prescriptions and medicines reviews",
     ["medicines_optimisation"]),
    ("The discharge pathway, and how the team hands over", ["integrated_care", "workforce"]),
    ("Working with the voluntary sector and a local charity", ["partnership_working"]),
    ("Patients and carers on the board; better decisions",
     ["patient_voice", "governance"]),  # two hits each: vocabulary order decides
    ("Lovely day, thank you", []),
    ("An exchange of views", []),  # "change" only at the start of a word
])
def test_topics_are_found_by_keyword(text, expected):
    assert topics_of(text) == expected


@pytest.fixture
def said(factory):
    """One round, four feedback forms: named, unnamed, named but since deleted, empty."""
    round_pair = factory.matched(factory.leader(name="Una Named", profession="nurse",
                                                sector="mental_health"),
                                 factory.mentor(name="Quinn Hidden", profession="gp",
                                                sector="primary_care"))
    gone = factory.leader(name="Gone Leader", profession="social_worker", sector="social_care")
    factory.participant(round_pair.round, gone)
    when = datetime(2027, 1, 10, tzinfo=UTC)
    factory.feedback(round_pair.past, round_pair.mentee, rating=5, agree_to_be_named=True,
                     learned="Medicines reviews in a care home",
                     will_do_differently="Invite the VCSE partners earlier",
                     for_coordinators="More notice, please", created_at=when)
    factory.feedback(round_pair.past, round_pair.mentor, rating=3,
                     learned="How the mental-health team triages",
                     created_at=when + timedelta(hours=1))
    factory.feedback(round_pair.upcoming, gone, rating=4, agree_to_be_named=True,
                     learned="Nothing I expected at all", created_at=when + timedelta(hours=2))
    factory.feedback(round_pair.upcoming, round_pair.mentor, rating=2, learned="  ",
                     created_at=when + timedelta(hours=3))
    # The deleted account: its feedback stays, anonymised (leader_id set to NULL).
    factory.session.execute(sa.delete(LeaderProfile).where(LeaderProfile.id == gone.id))
    factory.session.expire_all()
    return round_pair


def test_names_only_for_authors_who_agreed(db, said):
    comments = feedback.comments(db, said.round.id)
    by_text = {comment.text: comment for comment in comments}
    named = by_text["Medicines reviews in a care home"]
    assert named.author_name == "Una Named"
    assert named.attribution == "Una Named (Nurse, Mental health)"
    unnamed = by_text["How the mental-health team triages"]
    assert unnamed.author_name is None and unnamed.attribution == "GP, Primary care"
    gone = by_text["Nothing I expected at all"]  # agreed, but the account is gone
    assert gone.author_name is None and gone.attribution == "Social worker, Social care"
    assert all("Quinn Hidden" not in repr(comment) for comment in comments)


def test_summary_groups_shared_answers_by_topic_and_keeps_coordinator_notes_apart(db, said):
    summary = feedback.summary(db, said.round.id)
    assert (summary.responses, summary.named) == (4, 2)
    assert summary.ratings.count == 4 and summary.ratings.average == pytest.approx(3.5)
    groups = [(group.label, [c.text for c in group.comments]) for group in summary.by_topic]
    assert groups == [
        # Equal groups in vocabulary order; newest first within a group; "Other" last.
        ("Medicines optimisation", ["Medicines reviews in a care home"]),
        ("Partnership working with the VCSE sector", ["Invite the VCSE partners earlier"]),
        ("Workforce and team development", ["How the mental-health team triages"]),
        ("Other", ["Nothing I expected at all"]),
    ]
    assert summary.comment_count == 4  # the blank answer is not a comment
    assert [c.text for c in summary.for_coordinators] == ["More notice, please"]
    assert summary.for_coordinators[0].question_label == "Anything the coordinators should know?"


def test_a_round_without_feedback(db, factory):
    summary = feedback.summary(db, factory.programme_round().id)
    assert summary.responses == 0 and summary.by_topic == ()
    assert summary.ratings.average is None
