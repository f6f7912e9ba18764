"""The web load benchmark's data: a scratch PostgreSQL database holding a published round with
thousands of leaders, bulk-loaded with COPY (the ORM one row at a time would take minutes).

Loaded: organisations (large, medium and small), a coordinator and `leaders` leaders with
complete profiles and consent, all joined to one published 12-week round that starts next
week, about 20 free half-days each, `pairs` approved or accepted matches with two scheduled
exchanges each (with their `ExchangeBooking` rows), the audit log's acceptances plus unrelated
events, and the finished, approved optimiser run that proposed those pairs (its problem and
solution documents built from the same rows, as the worker would have stored them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from random import Random

import sqlalchemy as sa
from _scratch import copy_rows
from _scratch import organisations as scratch_organisations

from mentoring.calendar_days import bank_holidays
from mentoring.matching.problem import PROBLEM_FORMAT, slot_id
from mentoring.matching.runs import CONTEXT_KEY
from mentoring.models import DEFAULT_WEIGHTS
from mentoring.slots import bounds, half_days, local_bounds
from mentoring.vocab import DEFAULT_PRIORITY_PROFESSIONS, PROFESSIONS, TOPICS

FREE_HALF_DAYS = 20  # per leader
ROUND_ID = RUN_ID = COORDINATOR_USER_ID = 1


@dataclass
class Loaded:
    """What the load generator needs to know about the data."""

    round_id: int
    run_id: int
    coordinator_email: str
    leader_emails: list[str]  # matched leaders first: their pages show matches and exchanges
    # Per leader email: their free half-days ("YYYY-MM-DD:am", the availability form's values)
    # and a half-day of the window with no exchange of theirs, to toggle when saving.
    free: dict[str, list[str]] = field(default_factory=dict)
    spare: dict[str, str] = field(default_factory=dict)
    # More coordinators, so that each virtual coordinator signs in with an account (and a
    # second factor) of their own: one authenticator code works once.
    other_coordinator_emails: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def load(engine: sa.Engine, *, leaders: int, pairs: int, password_hash: str,
         seed: int = 8, coordinators: int = 1, approved: bool = True) -> Loaded:
    """Fill the migrated database; every account's password hash is `password_hash`. With
    `approved=False` the run's proposal waits for approval: the run is stored, its pairs and
    exchanges are not (no matches, exchanges, bookings or acceptances yet)."""
    started = time.perf_counter()
    rng = Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    starts_on = next_monday(now.date()) + timedelta(days=7)  # every exchange is still to come
    ends_on = starts_on + timedelta(weeks=12, days=-3)  # a Friday
    window = half_days(starts_on, ends_on)
    if not approved:
        # A proposal to approve keeps off bank holidays, as the optimiser's would (approval
        # refuses an exchange on a closed day). The approved round keeps them: the changes
        # benchmark counts its exchanges on closed days among the changes.
        closed = bank_holidays(starts_on, ends_on)
        window = [half_day for half_day in window if half_day[0] not in closed]
    # The first `doubles` mentors take two mentees each, the others one (see the pairing below).
    doubles = pairs // 4
    if (leaders + 1) // 2 < doubles + (pairs - 2 * doubles) or leaders // 2 < pairs:
        raise ValueError(f"{leaders} leaders are too few for {pairs} pairs")

    organisations, org_weights = scratch_organisations(rng)
    coordinator_email = "coordinator@bench.example"
    users = [{"id": COORDINATOR_USER_ID, "email": coordinator_email, "role": "coordinator",
              "password_hash": password_hash, "verified_at": now}]
    users += [{"id": i + 2, "email": f"leader{i}@bench.example", "role": "leader",
               "password_hash": password_hash, "verified_at": now} for i in range(leaders)]
    others = [{"id": leaders + 2 + i, "email": f"coordinator{i + 2}@bench.example",
               "role": "coordinator", "password_hash": password_hash, "verified_at": now}
              for i in range(coordinators - 1)]
    professions = [key for key in PROFESSIONS if key != "other"]
    priority = set(DEFAULT_PRIORITY_PROFESSIONS)
    # Even profiles are experienced mentors, odd ones emerging leaders who want a mentor.
    profiles = []
    for i in range(leaders):
        org = rng.choices(organisations, org_weights)[0]
        mentor = i % 2 == 0
        profession = rng.choice(professions)
        profiles.append({
            "id": i + 1, "user_id": i + 2, "organisation_id": org["id"],
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {i}",
            "job_title": rng.choice(JOB_TITLES), "profession": profession,
            "sector": org["sector"], "borough": org["borough"],
            "career_stage": "experienced" if mentor else "emerging",
            "mentor_capacity": (2 if i // 2 < doubles else rng.choice([1, 2])) if mentor else 0,
            "wants_mentor": not mentor, "can_host": True,
            "max_hosted_per_week": rng.choice([None, 1, 2]),
            "strengths": rng.sample(list(TOPICS), 3), "goals": rng.sample(list(TOPICS), 2),
            "protected_hours_per_month": rng.choice([None, 8.0, 12.0, 16.0]),
            "priority_group": profession in priority,
            "consent_at": now, "created_at": now, "updated_at": now,
        })
    mentors = [p for p in profiles if p["mentor_capacity"]]
    mentees = [p for p in profiles if p["wants_mentor"]]

    # Each pair meets twice, two weeks or more apart, each hosting once, in half-days neither
    # leader has used yet.
    busy: dict[int, set[tuple[date, str]]] = {p["id"]: set() for p in profiles}
    matches, exchanges, bookings, events = [], [], [], []
    solution_pairs, solution_exchanges = [], []
    for k in range(pairs):
        mentor = mentors[k // 2] if k < 2 * doubles else mentors[k - doubles]
        mentee = mentees[k]
        slots = _two_slots(rng, window, busy[mentor["id"]] | busy[mentee["id"]])
        status = "accepted" if rng.random() < 0.6 else "offered"
        score = round(rng.uniform(4, 9.5), 2)
        reasons = [f"{mentor['strengths'][0]}: a strength of the mentor, a goal of the mentee +3",
                   f"crosses sectors: {mentor['sector']} and {mentee['sector']} +2"]
        match_id = k + 1
        matches.append({"id": match_id, "round_id": ROUND_ID, "run_id": RUN_ID,
                        "mentor_id": mentor["id"], "mentee_id": mentee["id"], "score": score,
                        "reasons": reasons, "status": status, "created_at": now,
                        "decided_at": now, "decided_by_id": COORDINATOR_USER_ID})
        solution_pairs.append({"mentor": str(mentor["id"]), "mentee": str(mentee["id"]),
                               "score": score, "reasons": reasons})
        accepted_by = ([mentor, mentee] if status == "accepted"
                       else rng.choice([[], [mentor], [mentee]]))
        for person in accepted_by:
            events.append({"id": len(events) + 1, "at": now, "actor_id": person["user_id"],
                           "action": "match.accepted", "object_type": "Match",
                           "object_id": str(match_id), "detail": {"leader_id": person["id"]}})
        for n, (day, period) in enumerate(slots):
            host, visitor = (mentor, mentee) if n == 0 else (mentee, mentor)
            starts_at, ends_at = bounds(day, period)
            exchange_id = len(exchanges) + 1
            exchanges.append({"id": exchange_id, "match_id": match_id, "host_id": host["id"],
                              "visitor_id": visitor["id"], "starts_at": starts_at,
                              "ends_at": ends_at, "location": f"Organisation {host['id']}",
                              "preparation": "", "status": "scheduled",
                              "uid": f"bench-{exchange_id}@bench.example", "created_at": now,
                              "updated_at": now})
            for person in (host, visitor):
                busy[person["id"]].add((day, period))
                bookings.append({"id": len(bookings) + 1, "exchange_id": exchange_id,
                                 "leader_id": person["id"], "starts_at": starts_at})
            solution_exchanges.append({"host": str(host["id"]), "visitor": str(visitor["id"]),
                                       "slot": slot_id(day, period)})
    for i in range(20_000):  # the rest of the audit log
        events.append({"id": len(events) + 1, "at": now, "actor_id": None,
                       "action": "sign_in.succeeded", "object_type": "User",
                       "object_id": str(i % leaders + 2), "detail": {}})

    # Availability: the half-days of each leader's exchanges, then random others up to 20.
    availability, free_of = [], {}
    for profile in profiles:
        free = set(busy[profile["id"]])
        while len(free) < FREE_HALF_DAYS:
            free.add(rng.choice(window))
        free_of[profile["id"]] = sorted(free)
        availability += [{"id": len(availability) + n + 1, "round_id": ROUND_ID,
                          "leader_id": profile["id"], "day": day, "period": period}
                         for n, (day, period) in enumerate(sorted(free))]

    rounds = [{"id": ROUND_ID, "name": "South east London exchange, benchmark round",
               "starts_on": starts_on, "ends_on": ends_on, "status": "published",
               "created_at": now, "created_by_id": COORDINATOR_USER_ID}]
    participants = [{"id": p["id"], "round_id": ROUND_ID, "leader_id": p["id"],
                     "status": "joined", "joined_at": now} for p in profiles]
    matched = {p for m in matches for p in (m["mentor_id"], m["mentee_id"])}
    unmatched = [{"id": str(p["id"]), "reason": "no mentor with a common free half-day left"}
                 for p in mentees if p["id"] not in matched]
    problem = _problem(window, profiles, organisations, free_of)
    solution = {"format": "mentoring-solution/1", "status": "optimal",
                "objective": float(sum(p["score"] + 100 for p in solution_pairs)),
                "bound": float(sum(p["score"] + 100 for p in solution_pairs)),
                "pairs": solution_pairs, "exchanges": solution_exchanges,
                "unmatched": unmatched,
                "stats": {"variables": 0, "constraints": 0, "build_seconds": 2.0,
                          "solve_seconds": 8.0, "solver": "highs"}}
    runs = [{"id": RUN_ID, "round_id": ROUND_ID, "status": "succeeded", "kind": "full",
             "stage": "succeeded", "progress": 1.0, "requested_by_id": COORDINATOR_USER_ID,
             "created_at": now, "started_at": now, "finished_at": now, "build_seconds": 2.0,
             "solve_seconds": 8.0, "objective": solution["objective"],
             "bound": solution["bound"], "solution_status": "optimal", "problem": problem,
             "solution": solution, "approved_at": now if approved else None,
             "approved_by_id": COORDINATOR_USER_ID if approved else None}]
    if not approved:
        matches, exchanges, bookings = [], [], []
        events = [event for event in events if event["action"] != "match.accepted"]

    raw = engine.raw_connection()
    try:
        for table, rows in (("organisation", organisations), ("app_user", users + others),
                            ("leader_profile", profiles), ("programme_round", rounds),
                            ("round_participant", participants),
                            ("availability", availability), ("optimiser_run", runs),
                            ("match", matches), ("exchange", exchanges),
                            ("exchange_booking", bookings), ("audit_event", events)):
            if rows:
                copy_rows(raw, table, rows)
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))

    email_of = {p["id"]: users[p["user_id"] - 1]["email"] for p in profiles}
    order = sorted(profiles, key=lambda p: (p["id"] not in matched, p["id"]))
    loaded = Loaded(round_id=ROUND_ID, run_id=RUN_ID, coordinator_email=coordinator_email,
                    leader_emails=[email_of[p["id"]] for p in order],
                    other_coordinator_emails=[user["email"] for user in others])
    for profile in profiles:
        email = email_of[profile["id"]]
        loaded.free[email] = [f"{day.isoformat()}:{period}" for day, period in
                              free_of[profile["id"]]]
        spare = next(half_day for half_day in window if half_day not in busy[profile["id"]])
        loaded.spare[email] = f"{spare[0].isoformat()}:{spare[1]}"
    loaded.counts = {"leaders": leaders, "organisations": len(organisations),
                     "free half-days": len(availability), "matches": len(matches),
                     "exchanges": len(exchanges), "bookings": len(bookings),
                     "audit events": len(events), "unmatched mentees": len(unmatched)}
    loaded.seconds = time.perf_counter() - started
    return loaded


def _two_slots(rng: Random, window, taken) -> list[tuple[date, str]]:
    """Two free half-days of the window at least 14 days apart, neither in `taken`."""
    while True:
        first, second = rng.sample(window, 2)
        if abs((first[0] - second[0]).days) >= 14 and first not in taken and second not in taken:
            return sorted([first, second])


def _problem(window, profiles, organisations, free_of) -> dict:
    """The run's mentoring-problem/1 document, as `matching.problem.build_problem` writes it,
    plus the context a first run records (nothing was approved when it started)."""
    org_name = {org["id"]: org["name"] for org in organisations}
    slots = [{"id": slot_id(day, period), "start": start.isoformat(timespec="minutes"),
              "end": end.isoformat(timespec="minutes")}
             for day, period in window for start, end in [local_bounds(day, period)]]
    leaders = [{
        "id": str(p["id"]), "profession": p["profession"],
        "organisation": org_name[p["organisation_id"]], "sector": p["sector"],
        "borough": p["borough"], "mentor_capacity": p["mentor_capacity"],
        "wants_mentor": p["wants_mentor"], "priority": p["priority_group"],
        "strengths": p["strengths"], "goals": p["goals"],
        "available": [slot_id(day, period) for day, period in free_of[p["id"]]],
        "protected_hours_per_month": p["protected_hours_per_month"],
        "max_hosted_per_week": p["max_hosted_per_week"],
    } for p in profiles]
    return {"format": PROBLEM_FORMAT, "slots": slots, "leaders": leaders,
            "rules": {"exchanges_per_pair": 2, "min_days_between_exchanges": 14,
                      "reciprocal": True, "allow_same_organisation": False,
                      "weights": dict(DEFAULT_WEIGHTS)},
            "pinned": [], "excluded": [],
            CONTEXT_KEY: {"fixed": {"pairs": [], "exchanges": []}, "state": []}}


FIRST_NAMES = ["Ada", "Ben", "Chidi", "Dana", "Efua", "Farah", "Gita", "Hugh", "Ifeoma", "Jon",
               "Kemi", "Liam", "Maya", "Nadia", "Omar", "Priya", "Rhys", "Sade", "Tom", "Una"]
LAST_NAMES = ["Adeyemi", "Brown", "Clarke", "Davies", "Evans", "Fofana", "Green", "Hughes",
              "Iqbal", "Jones", "Khan", "Lewis", "Mensah", "Nowak", "Okafor", "Patel"]
JOB_TITLES = ["Clinical director", "Lead pharmacist", "Practice nurse", "Head of service",
              "Social work team manager", "Community lead", "Deputy director of nursing"]
