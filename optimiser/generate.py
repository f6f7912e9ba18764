"""Realistic random problems: south east London leaders, half-day slots, clustered diaries."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from .model import PROBLEM_FORMAT

BOROUGHS = ["Bexley", "Bromley", "Greenwich", "Lambeth", "Lewisham", "Southwark"]

PROFESSIONS = [
    "nursing", "medicine", "pharmacy", "general practice", "midwifery", "physiotherapy",
    "occupational therapy", "paramedicine", "psychology", "social work", "finance",
    "human resources", "digital and data", "estates and facilities", "operations management",
    "dietetics", "speech and language therapy", "public health",
]

# sector -> kinds of organisation in it (names are illustrative, not real bodies)
SECTORS = {
    "acute": ["{b} University Hospital", "{b} and District Hospitals"],
    "community": ["{b} Community Health Services"],
    "mental health": ["South London Mental Health Partnership ({b})"],
    "primary care": ["{b} Primary Care Network {n}", "{b} GP Federation"],
    "community pharmacy": ["{b} Community Pharmacy {n}"],
    "ambulance": ["London Ambulance Service ({b} sector)"],
    "social care": ["{b} Council Adult Social Care", "{b} Care Homes Partnership"],
    "integrated care board": ["South East London ICB ({b} place)"],
    "hospice": ["{b} Hospice"],
}
SECTOR_WEIGHTS = [30, 15, 10, 18, 8, 4, 8, 5, 2]

# professions more likely in each sector (real rotas are not uniform)
SECTOR_PROFESSIONS = {
    "acute": ["nursing", "medicine", "midwifery", "physiotherapy", "pharmacy",
              "operations management", "finance", "digital and data"],
    "community": ["nursing", "physiotherapy", "occupational therapy", "dietetics",
                  "speech and language therapy", "operations management"],
    "mental health": ["nursing", "psychology", "medicine", "social work", "occupational therapy"],
    "primary care": ["general practice", "nursing", "pharmacy", "operations management"],
    "community pharmacy": ["pharmacy"],
    "ambulance": ["paramedicine", "operations management"],
    "social care": ["social work", "occupational therapy", "operations management"],
    "integrated care board": ["public health", "finance", "human resources", "digital and data",
                              "estates and facilities"],
    "hospice": ["nursing", "medicine", "social work"],
}

TOPICS = [
    "quality improvement", "finance and budgets", "system working", "workforce planning",
    "digital transformation", "population health", "inclusive leadership", "coaching",
    "change management", "clinical governance", "stakeholder engagement", "strategy",
    "operational delivery", "patient safety", "estates", "health inequalities", "research",
    "negotiation", "board-level working", "resilience", "partnership with local authorities",
    "managing performance", "service redesign", "patient and public involvement",
]


def _monday_on_or_after(d: date) -> date:
    return d + timedelta(days=(7 - d.weekday()) % 7)


def generate(mentors: int, mentees: int, weeks: int, seed: int, *, exchanges: int = 2,
             min_days: int = 7, reciprocal: bool = True, start: date | None = None,
             both_share: float = 0.05) -> dict:
    """A ``mentoring-problem/1`` document with ``mentors`` mentors and ``mentees`` mentees
    over ``weeks`` weeks of half-day slots (Mon-Fri, 09:00-13:00 and 13:00-17:00).

    Diaries cluster: each leader has one or two usual days (often AM or PM only), keeps
    them free most weeks, is rarely free on other days and takes a week or two of leave.
    A few leaders (``both_share``) both mentor and want a mentor.
    """
    rng = random.Random(seed)
    first = _monday_on_or_after(start or date(2026, 1, 5))
    slots = []
    for w in range(weeks):
        for day in range(5):
            d = first + timedelta(weeks=w, days=day)
            for half, (a, b) in enumerate(((9, 13), (13, 17))):
                slots.append({
                    "id": f"{d.isoformat()}-{'AM' if half == 0 else 'PM'}",
                    "start": datetime.combine(d, time(a)).isoformat(timespec="minutes"),
                    "end": datetime.combine(d, time(b)).isoformat(timespec="minutes"),
                })
    sectors = list(SECTORS)
    leaders = []
    n_total = mentors + mentees
    for i in range(n_total):
        is_mentor = i < mentors
        sector = rng.choices(sectors, SECTOR_WEIGHTS)[0]
        borough = rng.choice(BOROUGHS)
        org = rng.choice(SECTORS[sector]).format(b=borough, n=rng.randint(1, 4))
        profession = rng.choice(SECTOR_PROFESSIONS[sector]) if rng.random() < 0.85 \
            else rng.choice(PROFESSIONS)
        usual = rng.sample(range(5), rng.choice([1, 2, 2, 3]))
        halves = rng.choice([(0,), (1,), (0, 1), (0, 1)])
        leave = set()
        if weeks >= 4:
            w0 = rng.randrange(weeks)
            leave = {w0, w0 + 1} if rng.random() < 0.4 else {w0}
        available = []
        for k, s in enumerate(slots):
            w, rest = divmod(k, 10)
            day, half = divmod(rest, 2)
            if w in leave:
                continue
            p = 0.75 if (day in usual and half in halves) else 0.25 if day in usual else 0.04
            if rng.random() < p:
                available.append(s["id"])
        both = rng.random() < both_share
        leader = {
            "id": f"L{i + 1:05d}",
            "profession": profession,
            "organisation": org,
            "sector": sector,
            "borough": borough,
            "mentor_capacity": rng.choice([1, 2, 2, 3]) if is_mentor else 0,
            "wants_mentor": (not is_mentor) or both,
            "priority": (not is_mentor) and rng.random() < 0.15,
            "strengths": rng.sample(TOPICS, rng.randint(3, 6)) if is_mentor else [],
            "goals": rng.sample(TOPICS, rng.randint(2, 4)) if (not is_mentor or both) else [],
            "available": available,
        }
        r = rng.random()
        if r < 0.5:
            leader["protected_hours_per_month"] = rng.choice([8, 12, 16])
        if rng.random() < 0.4:
            leader["max_hosted_per_week"] = rng.choice([1, 1, 2])
        leaders.append(leader)
    rng.shuffle(leaders)
    return {
        "format": PROBLEM_FORMAT,
        "slots": slots,
        "leaders": leaders,
        "rules": {
            "exchanges_per_pair": exchanges,
            "min_days_between_exchanges": min_days,
            "reciprocal": reciprocal,
            "allow_same_organisation": False,
            "match_bonus": 100,
            "priority_bonus": 50,
        },
        "pinned": [],
        "excluded": [],
    }
