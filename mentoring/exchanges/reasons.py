"""Why two leaders were matched, written to one of them.

Coordinators see the optimiser's reasons and score (optimiser/scoring.py): terse, in the third
person, with points, so they can compare pairs. A leader's pages say the same facts to the
reader instead: "Grace's strengths cover 2 of your 3 goals: ...", using the other leader's
first name and no score. Pure functions over profile-like objects and the vocabularies in use
(`mentoring.configuration.vocabularies`); no Flask, no database. A sector's words come from its
hand-written phrase ("acute care"), or else its label: a term an admin adds reads well enough.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mentoring.configuration.vocabularies import Vocabularies, current
from mentoring.vocab import ProfessionPreference

TITLES = frozenset({"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor"})



def first_name(name: str) -> str:
    """The first word of a name that is not a title ("Dr Grace Hopper" is "Grace")."""
    words = (name or "").split()
    for word in words:
        if word.rstrip(".").casefold() not in TITLES:
            return word
    return (name or "").strip()


def join_words(items: Iterable[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _lower_first(text: str) -> str:
    # Keep acronyms: "GP", "PCN clinical director".
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _known(words: Vocabularies, kind: str, key: str | None) -> str | None:
    """The label of a key in running text, or None when it says nothing ("other", empty)."""
    if not key or key == "other":
        return None
    return _lower_first(words.label(kind, key))


def _topics(words: Vocabularies, keys: Iterable[str]) -> str:
    return join_words(_lower_first(words.label("topic", key)) for key in keys)


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _how_many(covered: int, total: int, owner: str, noun: str) -> str:
    """ "your goal", "both of your goals", "all 3 of your goals", "1 of your 2 goals"."""
    if covered == total == 1:
        return f"{owner} {noun}"
    if covered == total == 2:
        return f"both of {owner} {noun}s"
    if covered == total:
        return f"all {total} of {owner} {noun}s"
    return f"{covered} of {owner} {total} {noun}s"


def _none_of(total: int, owner: str, noun: str) -> str:
    """ "Your goal is not", "Neither of your goals is", "None of your 3 goals is"."""
    if total == 1:
        return f"{owner[:1].upper()}{owner[1:]} {noun} is not"
    if total == 2:
        return f"Neither of {owner} {noun}s is"
    return f"None of {owner} {total} {noun}s is"


def _sector(words: Vocabularies, leader: Any, organisation: Any) -> str | None:
    key = getattr(leader, "sector", None) or getattr(organisation, "sector", None)
    if not key or key == "other":
        return None
    return words.phrase("sector", key) or _known(words, "sector", key)


def _goals_sentence(words: Vocabularies, me: Any, other: Any, name: str, i_am_mentor: bool,
                    differs: list[str]) -> str:
    mentor, mentee = (me, other) if i_am_mentor else (other, me)
    goals = list(dict.fromkeys(getattr(mentee, "goals", None) or []))
    strengths = list(dict.fromkeys(getattr(mentor, "strengths", None) or []))
    covered = [goal for goal in goals if goal in strengths]
    if i_am_mentor:
        owner, noun, offered = f"{name}'s", "development goal", "Your strengths"
    else:
        owner, noun, offered = "your", "goal", f"{name}'s strengths"

    if not goals:
        if i_am_mentor:
            return (f"{name} has not listed any development goals yet, so you could ask what "
                    f"{name} hopes to work on.")
        if strengths:
            return (f"You have not listed any development goals yet; {name} can offer "
                    f"{_topics(words, strengths[:3])}.")
        return ("You have not listed any development goals yet, so share what you hope to "
                "work on when you meet.")

    if covered:
        counted = _how_many(len(covered), len(goals), owner, noun)
        return f"{offered} cover {counted}: {_topics(words, covered)}."

    # Nothing overlaps: say so kindly, then what the match offers instead.
    among = "your listed strengths" if i_am_mentor else f"{name}'s listed strengths"
    if differs:
        view = f"a view from a different {join_words(differs)}"
        offer = f"you can offer {name} {view}" if i_am_mentor else f"{name} brings {view}"
    elif i_am_mentor:
        offer = f"{name} wants to develop {_topics(words, goals)}, which you can explore together"
    elif strengths:
        offer = f"{name} can offer {_topics(words, strengths[:3])}"
    else:
        offer = "you can explore your goals together"
    return f"{_none_of(len(goals), owner, noun)} among {among}, but {offer}."


def _sector_sentence(words: Vocabularies, me: Any, other: Any, name: str, mine_org: Any,
                     theirs_org: Any) -> str | None:
    mine, theirs = _sector(words, me, mine_org), _sector(words, other, theirs_org)
    at = f" at {theirs_org.name}" if getattr(theirs_org, "name", None) else ""
    if theirs is None:
        return f"{name} works{at}." if at else None
    if mine is None:
        return f"{name} works in {theirs}{at}."
    if mine != theirs:
        return (f"{name} works in {theirs}{at}; you work in {mine}, so you will see a "
                "different setting.")
    my_org_name = getattr(mine_org, "name", None) or ""
    if at and my_org_name.casefold() == theirs_org.name.casefold():
        return f"You both work in {mine}{at}."
    where = f" ({name}{at})" if at else ""
    return (f"You both work in {mine}{where}, so you will understand each other's "
            "day-to-day work.")


def _profession_sentence(words: Vocabularies, me: Any, other: Any, name: str) -> str | None:
    my_key, their_key = getattr(me, "profession", None), getattr(other, "profession", None)
    mine, theirs = _known(words, "profession", my_key), _known(words, "profession", their_key)
    if my_key == their_key:
        asked = getattr(me, "profession_preference", None) == ProfessionPreference.SAME
        return f"You are both {mine}s, as you asked." if asked and mine else None
    if not (my_key and their_key):
        return None
    lesson = "so you will see how another profession leads"
    if mine and theirs:
        return f"{name} is {_a(theirs)} and you are {_a(mine)}, {lesson}."
    if theirs:
        return f"{name} is {_a(theirs)}, {lesson}."
    return f"{name} works outside your profession, {lesson}."


def _borough_sentence(words: Vocabularies, me: Any, other: Any, name: str) -> str | None:
    mine, theirs = getattr(me, "borough", None), getattr(other, "borough", None)
    if not theirs:
        return None
    if mine == theirs:
        return f"You both work in {words.label('place', theirs)}."
    if theirs in (getattr(me, "travel_boroughs", None) or []):
        return (f"{name} is based in {words.label('place', theirs)}, which you said you can "
                "travel to.")
    return None


def reasons_for_reader(me: Any, other: Any, *, i_am_mentor: bool, my_organisation: Any = None,
                       other_organisation: Any = None,
                       vocabularies: Vocabularies | None = None) -> list[str]:
    """Two to five short sentences telling `me` why they were matched with `other`.

    `me` and `other` have the LeaderProfile fields; organisations have `.name` and `.sector`.
    Labels come from `vocabularies` (the ones bound to the running context if not given).
    """
    words = vocabularies or current()
    name = first_name(getattr(other, "name", ""))
    sectors = (_sector(words, me, my_organisation),
               _sector(words, other, other_organisation))
    professions = getattr(me, "profession", None), getattr(other, "profession", None)
    differs = [what for what, (mine, theirs) in (("sector", sectors), ("profession", professions))
               if mine and theirs and mine != theirs]
    sentences = [
        _goals_sentence(words, me, other, name, i_am_mentor, differs),
        _sector_sentence(words, me, other, name, my_organisation, other_organisation),
        _profession_sentence(words, me, other, name),
        _borough_sentence(words, me, other, name),
    ]
    reasons = [sentence for sentence in sentences if sentence]
    if len(reasons) < 2:
        reasons.append(f"Use your first exchange to find out what you and {name} can learn "
                       "from each other.")
    return reasons
