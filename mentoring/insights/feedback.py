"""What people said: a round's ratings, and its comments grouped by topic. No Flask here.

Names: a comment carries its author's name only when they agreed to be named (and still have
an account). The name is chosen in the query itself, so an unnamed author's name never leaves
the database; everyone else is described by the profession and sector kept on the feedback.

Topics: each comment goes under the development topic (`vocab.TOPICS`) whose words it uses
most, matched by keyword (words from the topic's label plus a short list per topic), or under
"Other" when none match. It is a rough sort to help reading, and the pages say so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session

from mentoring.configuration import vocabularies
from mentoring.insights.figures import Ratings, ratings, sector_label
from mentoring.models import Feedback, LeaderProfile

OTHER = "other"
OTHER_LABEL = "Other"

# The questions on the feedback form whose answers are summarised. `for_coordinators` is said to
# the coordinators only: it is shown on their feedback page, never in the board report.
QUESTIONS = {
    "learned": "What did you learn?",
    "will_do_differently": "What will you do differently?",
    "for_coordinators": "Anything the coordinators should know?",
}
SHARED_QUESTIONS = ("learned", "will_do_differently")

# Stems matched at the start of a word ("pharmac" finds pharmacy and pharmacist).
TOPIC_KEYWORDS: dict[str, tuple[str, ...]] = {
    "system_leadership": ("system", "boundar", "icb", "ics", "place-based", "strategy",
                          "collaborat"),
    "population_health": ("population", "inequalit", "deprivation", "prevent", "public health"),
    "quality_improvement": ("quality", "improvement", "qi", "pdsa", "audit", "safety"),
    "medicines_optimisation": ("medicine", "medication", "prescri", "pharmac", "polypharmacy",
                               "drug"),
    "integrated_care": ("integrat", "pathway", "referr", "discharge", "handover", "joined-up",
                        "joined up"),
    "partnership_working": ("vcse", "voluntary", "charit", "partnership", "social prescrib",
                            "community group"),
    "patient_voice": ("patient", "carer", "lived experience", "co-produc", "service user",
                      "resident"),
    "workforce": ("workforce", "team", "recruit", "retention", "staff", "rota"),
    "finance_contracts": ("financ", "budget", "contract", "funding", "money", "cost"),
    "digital_data": ("digital", "data", "analytic", "dashboard", "record", "software", "online"),
    "governance": ("governance", "decision", "board", "committee", "sign-off", "accountab"),
    "influencing": ("influenc", "negotiat", "persua", "stakeholder"),
    "change_management": ("change", "transformation", "new way"),
    # Not "mentor": nearly every comment about the programme mentions one.
    "coaching": ("coach", "supervis", "develop other"),
    "research_evidence": ("research", "evidence", "evaluat", "study", "studies"),
    "resilience": ("wellbeing", "well-being", "resilien", "burnout", "stress", "workload",
                   "self-care"),
}
# Words in topic labels too common to say anything about a comment on their own.
_LABEL_STOP_WORDS = {"across", "organisations", "others", "sector", "working", "leading",
                     "making", "developing", "development", "community", "voice", "leadership",
                     "health"}


def _pattern(topic: str, text: str) -> re.Pattern[str]:
    words = {word for word in re.findall(r"[a-z]+", text.lower())
             if len(word) >= 5 and word not in _LABEL_STOP_WORDS}
    stems = sorted(words | set(TOPIC_KEYWORDS.get(topic, ())), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in stems) + ")",
                      re.IGNORECASE)


@lru_cache(maxsize=8)
def _topic_patterns(topics: tuple[tuple[str, str], ...]) -> dict[str, re.Pattern[str]]:
    """A pattern per topic, from its label and hand-written keywords: built once per set of
    topics (an admin's new topic is found by the words of its label)."""
    return {topic: _pattern(topic, text) for topic, text in topics}


def topic_patterns() -> dict[str, re.Pattern[str]]:
    return _topic_patterns(tuple(vocabularies.current().offered("topic").items()))


def topics_of(text: str) -> list[str]:
    """Topic keys the text mentions, most mentioned first (vocabulary order breaks ties)."""
    hits = [(len(pattern.findall(text)), order, topic)
            for order, (topic, pattern) in enumerate(topic_patterns().items())]
    return [topic for count, _, topic in sorted(hits, key=lambda hit: (-hit[0], hit[1]))
            if count]


@dataclass(frozen=True)
class Comment:
    feedback_id: int
    question: str  # a key of QUESTIONS
    text: str
    rating: int
    author_name: str | None  # only when the author agreed to be named
    author_profession: str
    author_sector: str
    created_at: datetime
    topics: tuple[str, ...]

    @property
    def question_label(self) -> str:
        return QUESTIONS[self.question]

    @property
    def described_author(self) -> str:
        """Profession and sector: how an author is shown when they are not named."""
        parts = [vocabularies.current().label("profession", self.author_profession),
                 sector_label(self.author_sector)
                 if self.author_sector else ""]
        return ", ".join(part for part in parts if part) or "A participant"

    @property
    def attribution(self) -> str:
        if self.author_name:
            return f"{self.author_name} ({self.described_author})"
        return self.described_author

    @property
    def topic(self) -> str:
        return self.topics[0] if self.topics else OTHER

    @property
    def also_about(self) -> tuple[str, ...]:
        return tuple(vocabularies.current().label("topic", topic) for topic in self.topics[1:3])


@dataclass(frozen=True)
class TopicGroup:
    key: str
    label: str
    comments: tuple[Comment, ...]


@dataclass(frozen=True)
class FeedbackSummary:
    round_id: int
    ratings: Ratings
    responses: int  # feedback forms given
    named: int  # of which the author agreed to be named
    by_topic: tuple[TopicGroup, ...]  # shared answers, biggest group first, "Other" last
    for_coordinators: tuple[Comment, ...]

    @property
    def comment_count(self) -> int:
        return sum(len(group.comments) for group in self.by_topic)


def comments(session: Session, round_id: int) -> list[Comment]:
    """Every non-empty answer given in the round, newest first."""
    author_name = sa.case(
        (sa.and_(Feedback.agree_to_be_named, LeaderProfile.id.is_not(None)), LeaderProfile.name),
        else_=None,
    )
    rows = session.execute(
        sa.select(
            Feedback.id,
            Feedback.rating,
            Feedback.learned,
            Feedback.will_do_differently,
            Feedback.for_coordinators,
            author_name,
            Feedback.author_profession,
            Feedback.author_sector,
            Feedback.created_at,
        )
        # Joined only for named authors: other authors' names are never even read.
        .outerjoin(LeaderProfile, sa.and_(LeaderProfile.id == Feedback.leader_id,
                                          Feedback.agree_to_be_named))
        .where(Feedback.round_id == round_id)
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())  # type: ignore[union-attr]
    ).all()
    found = []
    for (feedback_id, rating, learned, different, for_coordinators, name, profession, sector,
         created_at) in rows:
        answers = {"learned": learned, "will_do_differently": different,
                   "for_coordinators": for_coordinators}
        for question, text in answers.items():
            text = (text or "").strip()
            if text:
                found.append(Comment(feedback_id, question, text, rating, name, profession or "",
                                     sector or "", created_at, tuple(topics_of(text))))
    return found


def summary(session: Session, round_id: int) -> FeedbackSummary:
    every = comments(session, round_id)
    shared = [comment for comment in every if comment.question in SHARED_QUESTIONS]
    grouped: dict[str, list[Comment]] = defaultdict(list)
    for comment in shared:
        grouped[comment.topic].append(comment)
    words = vocabularies.of(session)
    order = {topic: index for index, topic in enumerate(words.topics)}
    topics = sorted((topic for topic in grouped if topic != OTHER),
                    key=lambda topic: (-len(grouped[topic]), order.get(topic, len(order))))
    groups = [TopicGroup(topic, words.label("topic", topic), tuple(grouped[topic]))
              for topic in topics]
    if grouped.get(OTHER):
        groups.append(TopicGroup(OTHER, OTHER_LABEL, tuple(grouped[OTHER])))
    counts = session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.case((Feedback.agree_to_be_named, 1))))
        .where(Feedback.round_id == round_id)
    ).one()
    return FeedbackSummary(
        round_id=round_id,
        ratings=ratings(session, round_id),
        responses=counts[0],
        named=counts[1],
        by_topic=tuple(groups),
        for_coordinators=tuple(c for c in every if c.question == "for_coordinators"),
    )
