"""Why we matched you, written to the leader reading it (mentoring/exchanges/reasons.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from mentoring.exchanges.reasons import first_name, join_words, reasons_for_reader


def leader(name="Ada Lovelace", **fields):
    defaults = dict(job_title="", profession="gp", sector="primary_care", borough="lewisham",
                    career_stage="emerging", strengths=[], goals=[], strengths_other="",
                    goals_other="", travel_boroughs=[], profession_preference="any",
                    can_host=False)
    return SimpleNamespace(name=name, **{**defaults, **fields})


def org(name, sector):
    return SimpleNamespace(name=name, sector=sector)


GUYS = org("Guy's and St Thomas'", "acute")
PCN = org("Lewisham North PCN", "primary_care")
GOALS = ["quality_improvement", "change_management", "finance_contracts"]


def mentee_view(mentee, mentor, **orgs):
    return reasons_for_reader(mentee, mentor, i_am_mentor=False, **orgs)


def mentor_view(mentor, mentee, **orgs):
    return reasons_for_reader(mentor, mentee, i_am_mentor=True, **orgs)


# --- Goals: the first sentence -----------------------------------------------------------------

@pytest.mark.parametrize(("goals", "expected"), [
    (["quality_improvement"],
     "Grace's strengths cover your goal: quality improvement."),
    (["quality_improvement", "change_management"],
     "Grace's strengths cover both of your goals: quality improvement and leading change."),
    ([*GOALS[:2], "coaching"],
     "Grace's strengths cover all 3 of your goals: quality improvement, leading change and "
     "coaching and developing others."),
    (GOALS,
     "Grace's strengths cover 2 of your 3 goals: quality improvement and leading change."),
    (["quality_improvement", "resilience"],
     "Grace's strengths cover 1 of your 2 goals: quality improvement."),
])
def test_mentee_reads_how_many_of_their_goals_are_covered(goals, expected):
    mentor = leader("Grace Hopper", strengths=["quality_improvement", "change_management",
                                               "coaching"])
    assert mentee_view(leader(goals=goals), mentor)[0] == expected


@pytest.mark.parametrize(("goals", "expected"), [
    (["quality_improvement"],
     "Your strengths cover Ada's development goal: quality improvement."),
    (["quality_improvement", "change_management"],
     "Your strengths cover both of Ada's development goals: quality improvement and "
     "leading change."),
    (GOALS,
     "Your strengths cover 2 of Ada's 3 development goals: quality improvement and "
     "leading change."),
    (["quality_improvement", "resilience"],
     "Your strengths cover 1 of Ada's 2 development goals: quality improvement."),
])
def test_mentor_reads_how_many_of_the_mentees_goals_they_cover(goals, expected):
    mentor = leader("Grace Hopper", strengths=["quality_improvement", "change_management"])
    assert mentor_view(mentor, leader(goals=goals))[0] == expected


def test_goals_listed_twice_count_once_and_keep_the_mentees_order():
    mentor = leader("Grace", strengths=["change_management", "quality_improvement"])
    mentee = leader(goals=["quality_improvement", "change_management", "quality_improvement"])
    assert mentee_view(mentee, mentor)[0] == (
        "Grace's strengths cover both of your goals: quality improvement and leading change.")


def test_no_overlap_is_said_kindly_with_what_the_match_offers_instead():
    mentor = leader("Grace Hopper", strengths=["digital_data"], sector="acute",
                    profession="hospital_pharmacist")
    mentee = leader(goals=GOALS)
    assert mentee_view(mentee, mentor)[0] == (
        "None of your 3 goals is among Grace's listed strengths, but Grace brings a view from "
        "a different sector and profession.")
    assert mentor_view(mentor, mentee)[0] == (
        "None of Ada's 3 development goals is among your listed strengths, but you can offer "
        "Ada a view from a different sector and profession.")


def test_no_overlap_with_one_or_two_goals_reads_naturally():
    mentor = leader("Grace", strengths=["digital_data"], profession="nurse")
    assert mentee_view(leader(goals=["resilience"]), mentor)[0] == (
        "Your goal is not among Grace's listed strengths, but Grace brings a view from a "
        "different profession.")
    assert mentee_view(leader(goals=["resilience", "governance"]), mentor)[0].startswith(
        "Neither of your goals is among Grace's listed strengths")


def test_no_overlap_and_nothing_different_still_offers_something():
    mentor = leader("Grace", strengths=["digital_data", "workforce"])
    mentee = leader(goals=["resilience"])
    assert mentee_view(mentee, mentor)[0] == (
        "Your goal is not among Grace's listed strengths, but Grace can offer digital, data "
        "and analytics and workforce and team development.")
    assert mentor_view(mentor, mentee)[0] == (
        "Ada's development goal is not among your listed strengths, but Ada wants to develop "
        "wellbeing and resilience, which you can explore together.")


def test_no_goals_listed():
    mentor = leader("Grace", strengths=["coaching"])
    assert mentee_view(leader(), mentor)[0] == (
        "You have not listed any development goals yet; Grace can offer coaching and "
        "developing others.")
    assert mentor_view(mentor, leader())[0] == (
        "Ada has not listed any development goals yet, so you could ask what Ada hopes to work "
        "on.")


# --- Sector, organisation, profession, borough -------------------------------------------------

def test_different_sector_names_the_other_organisation():
    mentor = leader("Grace Hopper", sector="acute", borough="southwark")
    reasons = mentee_view(leader(), mentor, my_organisation=PCN, other_organisation=GUYS)
    assert ("Grace works in acute care at Guy's and St Thomas'; you work in primary care, so "
            "you will see a different setting.") in reasons


def test_same_sector():
    mentor = leader("Grace Hopper", borough="southwark")
    reasons = mentee_view(leader(), mentor, my_organisation=None,
                          other_organisation=org("Southwark Central PCN", "primary_care"))
    assert ("You both work in primary care (Grace at Southwark Central PCN), so you will "
            "understand each other's day-to-day work.") in reasons


def test_same_organisation():
    reasons = mentee_view(leader(), leader("Grace"), my_organisation=PCN, other_organisation=PCN)
    assert "You both work in primary care at Lewisham North PCN." in reasons


def test_missing_organisation_leaves_it_out():
    mentor = leader("Grace", sector="mental_health")
    assert ("Grace works in mental health; you work in primary care, so you will see a "
            "different setting.") in mentee_view(leader(), mentor)
    same = mentee_view(leader(), leader("Grace"))
    assert ("You both work in primary care, so you will understand each other's day-to-day "
            "work.") in same


def test_sector_falls_back_to_the_organisations():
    mentor = leader("Grace", sector="")
    reasons = mentee_view(leader(), mentor, other_organisation=GUYS)
    assert reasons[1].startswith("Grace works in acute care at Guy's and St Thomas'; you work")


def test_vcse_and_icb_read_as_places():
    mentor = leader("Grace", sector="vcse", profession="vcse_representative")
    mentee = leader(sector="icb", profession="manager")
    reasons = mentee_view(mentee, mentor)
    assert reasons[1] == (
        "Grace works in the voluntary, community and social enterprise (VCSE) sector; you work "
        "in an integrated care board (ICB), so you will see a different setting.")
    assert reasons[2] == ("Grace is a VCSE representative and you are a manager, so you will "
                          "see how another profession leads.")


def test_different_profession_with_the_right_article():
    mentor = leader("Grace", profession="allied_health_professional")
    assert ("Grace is an allied health professional and you are a GP, so you will see how "
            "another profession leads.") in mentee_view(leader(), mentor)


def test_same_profession_is_only_mentioned_when_asked_for():
    assert not any("You are both" in r for r in mentee_view(leader(), leader("Grace")))
    assert "You are both GPs, as you asked." in mentee_view(
        leader(profession_preference="same"), leader("Grace"))


def test_same_borough_and_a_borough_you_can_travel_to():
    assert "You both work in Lewisham." in mentee_view(leader(), leader("Grace"))
    mentor = leader("Grace", borough="greenwich")
    mentee = leader(travel_boroughs=["greenwich"])
    assert "Grace is based in Greenwich, which you said you can travel to." in mentee_view(
        mentee, mentor)
    assert not any("Greenwich" in r for r in mentee_view(leader(), mentor))


# --- Names, grammar, length --------------------------------------------------------------------

@pytest.mark.parametrize(("name", "first"), [
    ("Grace Hopper", "Grace"),
    ("Dr Grace Hopper", "Grace"),
    ("Dr. Grace Hopper", "Grace"),
    ("Prof Dame Grace Hopper", "Dame"),
    ("Professor Grace Hopper", "Grace"),
    ("Mrs Grace Hopper", "Grace"),
    ("Mr Alan Turing", "Alan"),
    ("Ms Ada Lovelace", "Ada"),
    ("Miss Ada Lovelace", "Ada"),
    ("Grace", "Grace"),
    ("  Grace   Hopper ", "Grace"),
    ("Dr", "Dr"),
])
def test_first_name_skips_titles(name, first):
    assert first_name(name) == first


def test_titled_name_reads_as_first_name():
    mentor = leader("Dr Grace Hopper", strengths=["quality_improvement"])
    reasons = mentee_view(leader(goals=["quality_improvement"]), mentor)
    assert reasons[0].startswith("Grace's strengths")
    assert not any("Dr" in r or "Hopper" in r for r in reasons)


def test_join_words():
    assert join_words([]) == ""
    assert join_words(["a"]) == "a"
    assert join_words(["a", "b"]) == "a and b"
    assert join_words(["a", "b", "c"]) == "a, b and c"


PAIRS = [
    (leader(), leader("Grace")),
    (leader(goals=GOALS), leader("Dr Grace Hopper", sector="acute", profession="nurse",
                                 strengths=GOALS, borough="bexley")),
    (leader(sector="other", profession="other", borough="bromley"),
     leader("Grace", sector="other", profession="other", borough="bexley")),
    (leader(goals=["resilience"], travel_boroughs=["lambeth"]),
     leader("Grace", strengths=["coaching"], borough="lambeth", sector="acute",
            profession="nurse")),
]


@pytest.mark.parametrize(("me", "other"), PAIRS)
@pytest.mark.parametrize("i_am_mentor", [False, True])
def test_two_to_five_sentences_in_second_person_without_scores(me, other, i_am_mentor):
    reasons = reasons_for_reader(me, other, i_am_mentor=i_am_mentor, other_organisation=GUYS)
    assert 2 <= len(reasons) <= 5
    for reason in reasons:
        assert reason[0].isupper() and reason.endswith(".")
        assert "  " not in reason and " ," not in reason
        assert not re.search(r"score|points|\+\d|/ ?10|mentee|mentor's", reason, re.I)
        assert "_" not in reason  # vocabulary keys never leak
    assert any(re.search(r"\byou(r)?\b", reason, re.I) for reason in reasons)


def test_nothing_known_still_gives_two_sentences():
    me = leader(sector="other", profession="other", borough="bromley")
    other = leader("Grace", sector="other", profession="other", borough="bexley")
    assert mentee_view(me, other) == [
        "You have not listed any development goals yet, so share what you hope to work on "
        "when you meet.",
        "Use your first exchange to find out what you and Grace can learn from each other.",
    ]
