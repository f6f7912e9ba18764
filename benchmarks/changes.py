"""The coordinator's "Offers and changes since approval" page in a round of 5,000 leaders.

    .venv/bin/python benchmarks/changes.py [--database-url URL] [--runs 20] [--before REV]

Loads the web benchmark's published round (benchmarks/_web_data.py: 5,000 leaders with ~20 free
half-days each, 2,000 approved or accepted pairs with 4,000 exchanges to come) into a scratch
PostgreSQL database, takes one free half-day away from 200 matched leaders (so 200 or so
exchanges no longer fit, as after a wave of availability edits), then times over --runs runs
after two warm-ups: (1) `pending_changes` alone, a fresh session each run, like a request, and
(2) the whole page through the Flask test client signed in as the coordinator. Prints median,
p95 and the number of SQL statements; the target (issue 17) is the page under 200 ms. Exits
non-zero when the median page misses it.

With ``--before REV`` the same database is also measured with the application of git revision
REV (its `mentoring`, `templates` and `optimiser`, exported to a temporary folder; the database
is migrated by this checkout, so REV's models must fit its schema), in turns
with this checkout's (before, after, before, after): figures before and after a change, taken
under the same load on a machine shared with other work. Each measurement runs in a child
process with one application or the other on its path.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The application measured: this checkout's, or (in a child process of --before) an exported
# revision's. This folder holds benchmarks/optimiser.py, which would shadow the optimiser
# package, so it goes after the application.
CODE = Path(os.environ.get("CHANGES_BENCH_CODE", HERE.parent))
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(CODE))
sys.path.insert(1, str(HERE))

import sqlalchemy as sa  # noqa: E402
from _scratch import scratch_database  # noqa: E402
from _web_data import load  # noqa: E402
from dashboard import QueryCounter, signed_in_client_as, summary, timed  # noqa: E402
from sqlmodel import Session  # noqa: E402

from mentoring.db import make_engine  # noqa: E402
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


def export(rev: str) -> Path:
    """The application (package, templates, migrations, optimiser) of git revision `rev`."""
    folder = Path(tempfile.mkdtemp(prefix="changes-before-"))
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "mentoring",
                              "templates", "migrations", "optimiser"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def measure(database_url: str, round_id: int, email: str, runs: int) -> dict:
    """In this process: pending_changes alone, then the whole page, `runs` times each."""
    engine = make_engine(database_url)

    def compute():
        with Session(engine) as session:
            return pending_changes(session, session.get(ProgrammeRound, round_id), utcnow())

    changes = compute()
    with QueryCounter(engine) as counter:
        compute()
    compute_queries = counter.count
    compute_times = timed(compute, runs)
    with tempfile.TemporaryDirectory() as folder:
        client = signed_in_client_as(engine, Path(folder), email, PASSWORD)
        url = f"/rounds/{round_id}/changes"

        def page():
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            return response

        with QueryCounter(engine) as counter:
            size = len(page().get_data())
        page_queries = counter.count
        page_times = timed(page, runs)
    engine.dispose()
    kinds: dict[str, int] = {}
    for change in changes:
        kinds[change.kind] = kinds.get(change.kind, 0) + 1
    return {"kinds": kinds, "compute_queries": compute_queries, "compute": compute_times,
            "page_queries": page_queries, "page": page_times, "bytes": size}


def measured_in_child(code: Path, database_url: str, round_id: int, email: str,
                      runs: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", database_url, "--round-id", str(round_id),
         "--email", email, "--runs", str(runs)],
        env={**os.environ, "CHANGES_BENCH_CODE": str(code)}, capture_output=True, text=True)
    if output.returncode:
        # Often a revision whose models need a schema this checkout's migrations do not make.
        raise SystemExit(f"measuring with {code} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--leaders", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--before", metavar="REV",
                        help="also measure git revision REV's application, in turns")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--round-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--email", help=argparse.SUPPRESS)
    args = parser.parse_args()
    use_fast_hashing_for_tests()
    if args.measure:  # the child process
        print(json.dumps(measure(args.measure, args.round_id, args.email, args.runs)))
        return 0

    with scratch_database(args.database_url, "changes_bench") as (engine, url):
        loaded = load(engine, leaders=args.leaders, pairs=args.pairs,
                      password_hash=hash_password(PASSWORD), coordinators=5)
        # Each measurement signs in as a coordinator of its own (a first sign-in sets up the
        # second factor; the next would be asked for it).
        emails = iter([loaded.coordinator_email, *loaded.other_coordinator_emails])
        removed = make_exchanges_unfit(engine, UNFIT_LEADERS)
        print(f"loaded in {loaded.seconds:.1f} s:",
              ", ".join(f"{key} {value:,}" for key, value in loaded.counts.items()),
              f"; {removed} free half-days under exchanges removed")
        codes = [("after (this checkout)", HERE.parent)]
        if args.before:
            codes = [(f"before ({args.before})", export(args.before)), *codes] * 2
        results: dict[str, list[dict]] = {}
        for label, code in codes:
            found = measured_in_child(code, url, loaded.round_id, next(emails), args.runs)
            results.setdefault(label, []).append(found)
            print(f"{label}: changes", ", ".join(f"{kind} {count}" for kind, count
                                                 in sorted(found["kinds"].items())),
                  f"| page median {sorted(found['page'])[len(found['page']) // 2] * 1000:.0f}"
                  " ms", flush=True)

    ok = True
    for label, found in results.items():
        compute = [seconds for one in found for seconds in one["compute"]]
        page = [seconds for one in found for seconds in one["page"]]
        print(f"{label}:")
        print(f"  pending_changes ({found[0]['compute_queries']} statements): "
              f"{summary(compute)}")
        print(f"  changes page ({found[0]['page_queries']} statements, "
              f"{found[0]['bytes']:,} bytes): {summary(page)}")
        if label.startswith("after"):
            median = sorted(page)[len(page) // 2]
            ok = median < TARGET_SECONDS
            print(f"target: changes page under {TARGET_SECONDS * 1000:.0f} ms: "
                  f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
