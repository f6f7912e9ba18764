"""The demo round's run, its approval (offers: introductions only, exchanges held) and both
leaders accepting every offer (booking: confirmations, reminders, checklists, line-manager
requests), on a scratch SQLite database. Run: `.venv/bin/python benchmarks/offers.py`.

Reference, same machine, before offers (docs/performance.md, "Coordinator journey"): approval
booked everything at once: 88 pairs, ~1,050 emails, 3.4 s on PostgreSQL, 6.4 s on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This folder has an `optimiser.py` (a benchmark) that would shadow the package.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    os.environ.setdefault("MENTORING_ENV", "development")
    os.environ["INSTANCE_PATH"] = tempfile.mkdtemp()
    import sqlalchemy as sa
    from sqlmodel import select

    from mentoring import create_app
    from mentoring.demo import load_demo
    from mentoring.matching.decisions import approve_run
    from mentoring.matching.runs import request_run, run_queued_optimisations
    from mentoring.models import LeaderProfile, Match, Notification, ProgrammeRound, User, utcnow
    from mentoring.offers.services import accept_offer
    from mentoring.worker_context import WorkerContext

    subprocess.run([sys.executable, "-m", "mentoring", "db", "upgrade"], check=True,
                   env=os.environ, capture_output=True)
    app = create_app()
    factory = app.extensions["mentoring.session_factory"]
    session = factory()
    load_demo(session)
    session.commit()

    def emails() -> int:
        return session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one()

    coordinator = session.exec(select(User).where(User.role == "coordinator")).first()
    programme_round = session.exec(select(ProgrammeRound)).first()
    started = time.perf_counter()
    run = request_run(session, programme_round, coordinator, time_limit=60)
    session.commit()
    run_queued_optimisations(WorkerContext(session_factory=factory,
                                           settings=app.extensions["mentoring.settings"]))
    session.refresh(run)
    assert run.status == "succeeded", run.error
    run_seconds = time.perf_counter() - started

    before = emails()
    started = time.perf_counter()
    result = approve_run(session, run, coordinator, utcnow())
    session.commit()
    approve_seconds = time.perf_counter() - started
    offered = emails() - before

    offers = session.exec(select(Match).where(Match.status == "offered",
                                              Match.run_id == run.id)).all()
    before = emails()
    started = time.perf_counter()
    for match in offers:
        for leader_id in (match.mentor_id, match.mentee_id):
            leader = session.get(LeaderProfile, leader_id)
            accept_offer(session, leader, leader.user, match.id, utcnow())
    session.commit()
    accept_seconds = time.perf_counter() - started
    print(f"run {run_seconds:.1f} s; approval of {result.pairs} pairs / {result.exchanges} "
          f"exchanges: {approve_seconds:.2f} s, {offered} emails queued; both leaders "
          f"accepting all {len(offers)} offers: {accept_seconds:.2f} s "
          f"({accept_seconds / max(len(offers), 1) * 1000:.0f} ms a pair), "
          f"{emails() - before} emails queued")


if __name__ == "__main__":
    main()
