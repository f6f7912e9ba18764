"""A round of 5,000 leaders on PostgreSQL: the coordinator's CSV import of 5,000 people (preview,
then import) and approval of a proposal of 2,000 pairs, through the web pages.

    .venv/bin/python benchmarks/big_rounds.py [--database-url URL] [--leaders 5000]
        [--pairs 2000] [--rows 5000]

Loads the web benchmark's round (benchmarks/_web_data.py) with its run not yet approved into a
scratch PostgreSQL database, signs in as the coordinator through the Flask test client, then
times each step as the coordinator meets it: the upload and its preview page, the confirm
(the web request, then the worker's job to its result when the import is long), the approve
page, and the approval (likewise). A web request must stay well inside gunicorn's 30 s worker
timeout (the target is under 2 s for the request itself); the worker's job may take longer,
the coordinator watches its progress. Exits non-zero when a web request takes 30 s or more.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tempfile
import time
from pathlib import Path

# This folder holds benchmarks/optimiser.py, which would shadow the optimiser package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from _scratch import scratch_database  # noqa: E402
from _web_data import load  # noqa: E402
from dashboard import signed_in_client_as  # noqa: E402
from sqlmodel import Session  # noqa: E402

from mentoring.config import Settings  # noqa: E402
from mentoring.passwords import hash_password, use_fast_hashing_for_tests  # noqa: E402
from mentoring.worker_context import WorkerContext  # noqa: E402

PASSWORD = "benchmark-password"  # noqa: S105 (throwaway accounts in a scratch database)
WEB_TIMEOUT_SECONDS = 30.0  # gunicorn's default worker timeout
PROFESSIONS = ["Community pharmacist", "Practice pharmacist", "PCN clinical director", "GP"]
BOROUGHS = ["Southwark", "Lambeth", "Lewisham", "Greenwich", "Bexley", "Bromley"]


def people_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "profession", "organisation", "borough", "career_stage",
                     "mentoring"])
    for i in range(rows):
        writer.writerow([f"new{i}@bench.example", f"New Leader {i}", PROFESSIONS[i % 4],
                         f"Organisation {i % 300 + 1}", BOROUGHS[i % 6],
                         "experienced" if i % 2 else "emerging", "mentor" if i % 2 else "mentee"])
    return out.getvalue().encode()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _field(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


class Clock:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def time(self, label: str, action, note: str = ""):
        started = time.perf_counter()
        result = action()
        self.rows.append((label, time.perf_counter() - started, note))
        print(f"  {label}: {self.rows[-1][1]:.2f} s {note}", flush=True)
        return result


def run_worker_jobs(engine: sa.Engine, folder: Path) -> int:
    """What `mentoring worker` does for queued jobs, here in-process (0 when no job queue)."""
    try:
        from mentoring.jobs import run_queued_jobs
    except ImportError:
        return 0
    settings = Settings(environment="testing", secret_key="x" * 48,
                        database_url=engine.url.render_as_string(hide_password=False),
                        smtp_url=None, mail_from="Bench <bench@example.org>",
                        base_url="http://localhost", instance_path=folder,
                        mail_dir=folder / "mail")
    return run_queued_jobs(WorkerContext(lambda: Session(engine, expire_on_commit=False),
                                         settings))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--leaders", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--rows", type=int, default=5_000)
    args = parser.parse_args()
    use_fast_hashing_for_tests()
    clock = Clock()
    with scratch_database(args.database_url, "big_rounds_bench") as (engine, _url), \
            tempfile.TemporaryDirectory() as folder:
        loaded = load(engine, leaders=args.leaders, pairs=args.pairs,
                      password_hash=hash_password(PASSWORD), approved=False)
        print(f"loaded in {loaded.seconds:.1f} s:",
              ", ".join(f"{key} {value:,}" for key, value in loaded.counts.items()))
        client = signed_in_client_as(engine, Path(folder), loaded.coordinator_email, PASSWORD)
        round_id, run_id = loaded.round_id, loaded.run_id

        print(f"CSV import of {args.rows:,} new people:")
        import_url = f"/rounds/{round_id}/participants/import"
        token = _token(client.get(import_url).get_data(as_text=True))
        data = people_csv(args.rows)
        preview = clock.time("upload and preview (web request)", lambda: client.post(
            import_url, data={"csrf_token": token, "file": (io.BytesIO(data), "people.csv")},
            content_type="multipart/form-data"), f"({len(data):,} bytes)")
        page = preview.get_data(as_text=True)
        assert preview.status_code == 200, preview.status_code
        confirmed = clock.time("confirm (web request)", lambda: client.post(
            f"{import_url}/confirm", data={"csrf_token": _token(page),
                                           "upload": _field(page, "upload"),
                                           "filename": "people.csv"}))
        assert confirmed.status_code in (200, 302), confirmed.status_code
        clock.time("import job in the worker", lambda: run_worker_jobs(engine, Path(folder)))
        with engine.connect() as connection:
            invited = connection.execute(sa.text(
                "SELECT count(*) FROM invitation WHERE round_id = :r"), {"r": round_id}).scalar()
        print(f"  invitations: {invited:,}")

        print(f"Approval of {args.pairs:,} pairs:")
        approve_url = f"/rounds/{round_id}/runs/{run_id}/approve"
        page = clock.time("approve page (web request)",
                          lambda: client.get(approve_url)).get_data(as_text=True)
        approved = clock.time("approve (web request)", lambda: client.post(
            approve_url, data={"csrf_token": _token(page), "reason": "benchmark"}))
        assert approved.status_code in (200, 302), (approved.status_code,
                                                    approved.get_data(as_text=True)[-3000:])
        clock.time("approval job in the worker",
                   lambda: run_worker_jobs(engine, Path(folder)))
        with engine.connect() as connection:
            offered = connection.execute(sa.text(
                "SELECT count(*) FROM match WHERE round_id = :r AND status = 'offered'"),
                {"r": round_id}).scalar()
            held = connection.execute(sa.text(
                "SELECT count(*) FROM exchange WHERE status = 'held'")).scalar()
        print(f"  offered matches: {offered:,}, held exchanges: {held:,}")

    slowest = max(seconds for label, seconds, _ in clock.rows if "web request" in label)
    ok = slowest < WEB_TIMEOUT_SECONDS
    print(f"slowest web request {slowest:.2f} s: "
          f"{'inside' if ok else 'OVER'} gunicorn's {WEB_TIMEOUT_SECONDS:.0f} s timeout")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
