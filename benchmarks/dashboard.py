"""Dashboard speed: a round with 5,000 leaders and 20,000 exchanges in PostgreSQL.

    .venv/bin/python benchmarks/dashboard.py [--database-url URL] [--runs 20]

The URL names a PostgreSQL server (default: the test server,
postgresql+psycopg://postgres@127.0.0.1:5432/test); the benchmark creates a scratch database on
it, migrates it, bulk-loads the data with COPY and drops the database at the end. Loaded: 5,000
leaders in 300 organisations (large, medium and small), one 12-week round (4,800 joined, 100
invited, 100 withdrawn), 2,500 matches shown to leaders plus 300 proposals, 20,000 exchanges
(8 a pair: completed, scheduled and cancelled), feedback from both sides of most completed
exchanges, the audit log's acceptances and 20,000 unrelated audit events.

It then times, over --runs runs after two warm-up runs, (1) the dashboard's figures
(`mentoring.insights.figures.dashboard`, a fresh session each run, like a request) and (2) the
whole page through the Flask test client, signed in as a coordinator (figures, charts and the
template), and prints the median, the 95th percentile and the number of SQL statements. The
target is a page under 300 ms; the script exits non-zero when the median page misses it.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

import sqlalchemy as sa
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _scratch import copy_rows, scratch_database
from _scratch import organisations as scratch_organisations

# The models before the insights: imported first, insights meets an import cycle (models ->
# people -> configuration.vocabularies -> models).
from mentoring import create_app, models  # noqa: F401
from mentoring.config import Settings
from mentoring.insights import charts, figures
from mentoring.passwords import hash_password, use_fast_hashing_for_tests
from mentoring.vocab import PROFESSIONS, TOPICS

TARGET_SECONDS = 0.300
PASSWORD = "benchmark-password"  # noqa: S105 (a throwaway account in a scratch database)
COORDINATOR = "coordinator@bench.example"
ROUND_START = date(2027, 1, 4)
NOW = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)  # half way through the window


def load(engine: sa.Engine, leaders: int, pairs: int, exchanges_per_pair: int,
         seed: int = 7) -> dict:
    rng = Random(seed)
    started = time.perf_counter()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    organisations, org_weights = scratch_organisations(rng)
    users = [{"id": 1, "email": COORDINATOR, "role": "coordinator",
              "password_hash": hash_password(PASSWORD), "verified_at": now}]
    users += [{"id": i + 2, "email": f"leader{i}@bench.example", "role": "leader",
               "password_hash": None, "verified_at": now} for i in range(leaders)]
    professions = list(PROFESSIONS)
    profiles = []
    for i in range(leaders):
        org = rng.choices(organisations, org_weights)[0]
        mentor = i % 2 == 0
        profiles.append({
            "id": i + 1, "user_id": i + 2, "organisation_id": org["id"],
            "name": f"Leader {i}", "job_title": "Lead", "profession": rng.choice(professions),
            "sector": org["sector"], "borough": org["borough"],
            "career_stage": "experienced" if mentor else "emerging",
            "mentor_capacity": 2 if mentor else 0, "wants_mentor": not mentor,
            "can_host": True, "strengths": rng.sample(list(TOPICS), 2),
            "goals": rng.sample(list(TOPICS), 2),
            "protected_hours_per_month": rng.choice([None, 4.0, 8.0, 12.0, 16.0]),
            "consent_at": now, "created_at": now, "updated_at": now,
        })
    rounds = [{"id": 1, "name": "Benchmark round", "starts_on": ROUND_START,
               "ends_on": ROUND_START + timedelta(weeks=12, days=-1), "status": "published",
               "created_at": now}]
    statuses = ["joined"] * (leaders - 200) + ["invited"] * 100 + ["withdrawn"] * 100
    participants = [{"id": i + 1, "round_id": 1, "leader_id": i + 1, "status": status,
                     "joined_at": now} for i, status in enumerate(statuses)]

    mentors = [p["id"] for p in profiles if p["mentor_capacity"]]
    mentees = [p["id"] for p in profiles if p["wants_mentor"]]
    rng.shuffle(mentees)
    matches = []
    for i in range(pairs + 300):
        status = ("proposed" if i >= pairs else
                  rng.choices(["accepted", "offered", "declined"], [60, 30, 10])[0])
        mentee = mentees[i % len(mentees)]
        matches.append({"id": i + 1, "round_id": 1, "mentor_id": mentors[(i // 2) % len(mentors)],
                        "mentee_id": mentee, "status": status, "score": 7.0,
                        "reasons": ["Benchmark"], "created_at": now,
                        "decided_by_id": mentee + 1 if status == "declined" else None})
    user_of = {p["id"]: p["user_id"] for p in profiles}
    exchanges, feedback, events = [], [], []
    for match in matches[:pairs]:
        for k in range(exchanges_per_pair):
            starts = datetime.combine(ROUND_START + timedelta(days=rng.randrange(0, 82)),
                                      datetime.min.time(), tzinfo=UTC) + timedelta(
                hours=rng.choice([9, 13]))
            past = starts < NOW
            status = rng.choices(["completed", "scheduled", "cancelled"],
                                 [80, 12, 8] if past else [0, 92, 8])[0]
            host, visitor = ((match["mentor_id"], match["mentee_id"]) if k % 2 == 0
                             else (match["mentee_id"], match["mentor_id"]))
            exchange_id = len(exchanges) + 1
            exchanges.append({"id": exchange_id, "match_id": match["id"], "host_id": host,
                              "visitor_id": visitor, "starts_at": starts,
                              "ends_at": starts + timedelta(hours=4), "status": status,
                              "uid": f"bench-{exchange_id}@bench.example", "created_at": now,
                              "updated_at": now})
            if status == "completed":
                for leader in (host, visitor):
                    if rng.random() < 0.6:
                        feedback.append({
                            "id": len(feedback) + 1, "exchange_id": exchange_id,
                            "round_id": 1, "leader_id": leader, "rating": rng.randint(1, 5),
                            "learned": rng.choice(["How discharge works", "Medicines reviews",
                                                   "Team huddles", "Nothing new"]),
                            "agree_to_be_named": rng.random() < 0.3,
                            "author_profession": profiles[leader - 1]["profession"],
                            "author_sector": profiles[leader - 1]["sector"],
                            "created_at": starts})
        sides = {"accepted": 2, "offered": rng.choice([0, 1]), "declined": 0}[match["status"]]
        for leader in (match["mentor_id"], match["mentee_id"])[:sides]:
            events.append({"id": len(events) + 1, "at": now, "actor_id": user_of[leader],
                           "action": "match.accepted", "object_type": "Match",
                           "object_id": str(match["id"]), "detail": {"leader_id": leader}})
    for i in range(20_000):  # the rest of the audit log
        events.append({"id": len(events) + 1, "at": now, "actor_id": None,
                       "action": "exchange.reminder_sent", "object_type": "Exchange",
                       "object_id": str(i + 1), "detail": {}})

    raw = engine.raw_connection()
    try:
        for table, rows in (("organisation", organisations), ("app_user", users),
                            ("leader_profile", profiles), ("programme_round", rounds),
                            ("round_participant", participants), ("match", matches),
                            ("exchange", exchanges), ("feedback", feedback),
                            ("audit_event", events)):
            copy_rows(raw, table, rows)
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    return {"leaders": leaders, "organisations": len(organisations), "matches": len(matches),
            "exchanges": len(exchanges), "feedback": len(feedback), "audit events": len(events),
            "load seconds": round(time.perf_counter() - started, 1)}


# --- timing --------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.count = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args) -> None:
        self.count += 1


def timed(action, runs: int) -> list[float]:
    action()
    action()  # warm-up: connections, statement caches, templates
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"median {statistics.median(ordered) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms, "
            f"min {ordered[0] * 1000:6.1f} ms")


def signed_in_client(engine: sa.Engine, folder: Path):
    return signed_in_client_as(engine, folder, COORDINATOR, PASSWORD)


def signed_in_client_as(engine: sa.Engine, folder: Path, email: str, password: str):
    """A Flask test client of a fresh app on `engine`, signed in as `email`."""
    settings = Settings(
        environment="testing", secret_key=secrets.token_urlsafe(48),
        database_url=engine.url.render_as_string(hide_password=False), smtp_url=None,
        mail_from="Bench <bench@example.org>", base_url="http://localhost",
        instance_path=folder, mail_dir=folder / "mail",
    )
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/sign-in", data={"email": email, "password": password,
                                             "csrf_token": token})
    assert response.status_code == 302, f"could not sign in as {email}"
    if response.headers["Location"].endswith(SET_UP_SECOND_FACTOR):
        set_up_authenticator_app(client)
    return client


SET_UP_SECOND_FACTOR = "/account/second-factor/setup"


def set_up_authenticator_app(client) -> None:
    """A coordinator's first sign-in sets up their second factor, as a person would: the key
    read off the page into an "app" (pyotp), its code typed back."""
    import pyotp

    page = client.get(SET_UP_SECOND_FACTOR).get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(SET_UP_SECOND_FACTOR, data={"csrf_token": token,
                                                       "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, "could not set up the second factor"
    client.get(response.headers["Location"])  # the recovery codes, shown once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--leaders", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=2_500)
    parser.add_argument("--exchanges-per-pair", type=int, default=8)
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of every dashboard query")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("the benchmark needs a PostgreSQL server")
    use_fast_hashing_for_tests()  # only the benchmark's own coordinator signs in

    with scratch_database(args.database_url, "dashboard_bench") as (engine, _url), \
            tempfile.TemporaryDirectory() as folder:
        loaded = load(engine, args.leaders, args.pairs, args.exchanges_per_pair)
        print("loaded:", ", ".join(f"{key} {value:,}" if isinstance(value, int)
                                   else f"{key} {value}" for key, value in loaded.items()))

        def compute():
            with Session(engine) as session:
                return figures.dashboard(session, 1, NOW)

        found = compute()
        print(f"figures: {found.participation.joined:,} joined, "
              f"{found.timeline.total:,} exchanges in the window's weeks, "
              f"{found.ratings.count:,} ratings, {found.rates.answered:,} answers")
        if args.explain:
            explain(engine)

        with QueryCounter(engine) as counter:
            compute()
        figure_queries = counter.count
        figure_times = timed(compute, args.runs)
        chart_times = timed(lambda: charts.dashboard_charts(found), args.runs)

        client = signed_in_client(engine, Path(folder))

        def page(url: str):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        with QueryCounter(engine) as counter:
            size = len(page("/rounds/1/dashboard").get_data())
        page_queries = counter.count
        page_times = timed(lambda: page("/rounds/1/dashboard"), args.runs)
        report_times = timed(lambda: page("/rounds/1/report"), max(args.runs // 4, 3))
        csv_times = timed(lambda: page("/rounds/1/report.csv"), max(args.runs // 4, 3))

    print(f"figures (SQL, {figure_queries} statements):   {summary(figure_times)}")
    print(f"charts (9 SVGs):                   {summary(chart_times)}")
    print(f"dashboard page ({page_queries} statements, {size:,} bytes): "
          f"{summary(page_times)}")
    print(f"report page (with every comment):  {summary(report_times)}")
    print(f"CSV of every figure:               {summary(csv_times)}")
    median = statistics.median(page_times)
    ok = median < TARGET_SECONDS
    print(f"target: dashboard page under {TARGET_SECONDS * 1000:.0f} ms: "
          f"{'met' if ok else 'FAILED'} (median {median * 1000:.1f} ms)")
    return 0 if ok else 1


def explain(engine: sa.Engine) -> None:
    """EXPLAIN ANALYZE every statement the dashboard runs, slowest first."""
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", seen)
    with Session(engine) as session:
        figures.dashboard(session, 1, NOW)
    sa.event.remove(engine, "before_cursor_execute", seen)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            plans = []
            for statement, parameters in statements:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                took = float(re.search(r"Execution Time: ([\d.]+)", plan).group(1))
                plans.append((took, statement, plan))
        raw.rollback()
    finally:
        raw.close()
    for took, statement, plan in sorted(plans, reverse=True):
        print(f"--- {took:.1f} ms\n{statement}\n{plan}\n")


if __name__ == "__main__":
    sys.exit(main())
