"""The coordinator's "Offers and changes since approval" page in a round of 5,000 leaders.

    .venv/bin/python benchmarks/changes.py [--database-url URL] [--runs 20]

Loads the web benchmark's published round (benchmarks/_web_data.py: 5,000 leaders with ~20 free
half-days each, 2,000 approved or accepted pairs with 4,000 exchanges to come) into a scratch
PostgreSQL database, takes one free half-day away from 200 matched leaders (so 200 or so
exchanges no longer fit, as after a wave of availability edits), then times over --runs runs
after two warm-ups: (1) `pending_changes` alone, a fresh session each run, like a request, and
(2) the whole page through the Flask test client signed in as the coordinator. Prints median,
p95 and the number of SQL statements; the target (issue 17) is the page under 200 ms. Exits
non-zero when the median page misses it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

# This folder holds benchmarks/optimiser.py, which would shadow the optimiser package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from _scratch import scratch_database  # noqa: E402
from _web_data import load  # noqa: E402
from dashboard import QueryCounter, signed_in_client_as, summary, timed  # noqa: E402
from sqlmodel import Session  # noqa: E402

from mentoring.matching.changes import pending_changes  # noqa: E402
from mentoring.models import ProgrammeRound, utcnow  # noqa: E402
from mentoring.passwords import hash_password, use_fast_hashing_for_tests  # noqa: E402

TARGET_SECONDS = 0.200
PASSWORD = "benchmark-password"  # noqa: S105 (throwaway accounts in a scratch database)
UNFIT_LEADERS = 200


def make_exchanges_unfit(engine: sa.Engine, leaders: int) -> int:
    """Delete the free half-day under one exchange of each of `leaders` matched leaders."""
    with engine.begin() as connection:
        return connection.execute(sa.text("""
            DELETE FROM availability a USING (
                SELECT DISTINCT ON (e.host_id) e.host_id AS leader_id, e.starts_at
                FROM exchange e ORDER BY e.host_id, e.starts_at LIMIT :leaders
            ) x
            WHERE a.leader_id = x.leader_id
              AND a.day = (x.starts_at AT TIME ZONE 'Europe/London')::date
              AND a.period = CASE WHEN extract(hour FROM x.starts_at AT TIME ZONE
                                               'Europe/London') < 12 THEN 'am' ELSE 'pm' END
        """), {"leaders": leaders}).rowcount


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--leaders", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    args = parser.parse_args()
    use_fast_hashing_for_tests()

    with scratch_database(args.database_url, "changes_bench") as (engine, _url), \
            tempfile.TemporaryDirectory() as folder:
        loaded = load(engine, leaders=args.leaders, pairs=args.pairs,
                      password_hash=hash_password(PASSWORD))
        removed = make_exchanges_unfit(engine, UNFIT_LEADERS)
        print(f"loaded in {loaded.seconds:.1f} s:",
              ", ".join(f"{key} {value:,}" for key, value in loaded.counts.items()),
              f"; {removed} free half-days under exchanges removed")

        def compute():
            with Session(engine) as session:
                return pending_changes(session, session.get(ProgrammeRound, loaded.round_id),
                                       utcnow())

        changes = compute()
        kinds: dict[str, int] = {}
        for change in changes:
            kinds[change.kind] = kinds.get(change.kind, 0) + 1
        print("changes:", ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
        with QueryCounter(engine) as counter:
            compute()
        compute_queries = counter.count
        compute_times = timed(compute, args.runs)

        client = signed_in_client_as(engine, Path(folder), loaded.coordinator_email, PASSWORD)
        url = f"/rounds/{loaded.round_id}/changes"

        def page():
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            return response

        with QueryCounter(engine) as counter:
            size = len(page().get_data())
        page_queries = counter.count
        page_times = timed(page, args.runs)

    print(f"pending_changes ({compute_queries} statements): {summary(compute_times)}")
    print(f"changes page ({page_queries} statements, {size:,} bytes): {summary(page_times)}")
    median = sorted(page_times)[len(page_times) // 2]
    ok = median < TARGET_SECONDS
    print(f"target: changes page under {TARGET_SECONDS * 1000:.0f} ms: "
          f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
