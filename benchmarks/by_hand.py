"""Moving an exchange by hand in a round of 5,000 leaders: the page that lists the pair's common
free half-days, each checked by the optimiser's independent checker.

    .venv/bin/python benchmarks/by_hand.py [--database-url URL] [--runs 10]

Loads the web benchmark's published round (benchmarks/_web_data.py: 5,000 leaders, 2,000
approved or accepted pairs with 4,000 exchanges to come) into a scratch PostgreSQL database,
then times, after two warm-ups: (1) the reference, `build_problem` for the whole round (what a
run starts from); (2) `RoundCheck` (the problem cut down to the pair, and the approved state
checked) plus the checked half-days of the next twelve weeks; (3) the whole "Move this exchange"
page through the Flask test client, signed in as the coordinator. Prints median, p95 and min.
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
from dashboard import signed_in_client_as, summary, timed  # noqa: E402
from sqlmodel import Session  # noqa: E402

from mentoring.matching import by_hand  # noqa: E402
from mentoring.matching.half_day_filter import HalfDayFilter  # noqa: E402
from mentoring.matching.problem import build_problem  # noqa: E402
from mentoring.models import Exchange, Match, ProgrammeRound, utcnow  # noqa: E402
from mentoring.passwords import hash_password, use_fast_hashing_for_tests  # noqa: E402

PASSWORD = "benchmark-password"  # noqa: S105 (throwaway accounts in a scratch database)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--leaders", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    args = parser.parse_args()
    use_fast_hashing_for_tests()

    with scratch_database(args.database_url, "by_hand_bench") as (engine, _url), \
            tempfile.TemporaryDirectory() as folder:
        loaded = load(engine, leaders=args.leaders, pairs=args.pairs,
                      password_hash=hash_password(PASSWORD))
        print(f"loaded in {loaded.seconds:.1f} s:",
              ", ".join(f"{key} {value:,}" for key, value in loaded.counts.items()))
        with Session(engine) as session:
            exchange_id = session.exec(
                sa.select(Exchange.id).join(Match, Match.id == Exchange.match_id)
                .where(Match.round_id == loaded.round_id, Exchange.starts_at > utcnow())
                .order_by(Exchange.starts_at.desc())).first()[0]

        def whole_problem():
            with Session(engine) as session:
                build_problem(session, session.get(ProgrammeRound, loaded.round_id))

        def checked_half_days():
            with Session(engine) as session:
                programme_round = session.get(ProgrammeRound, loaded.round_id)
                exchange = session.get(Exchange, exchange_id)
                match = session.get(Match, exchange.match_id)
                check = by_hand.RoundCheck(session, programme_round,
                                           by_hand.Pair(match.mentor_id, match.mentee_id),
                                           utcnow())
                return by_hand.half_days_for(check, HalfDayFilter(), utcnow(), moving=exchange)

        weeks = checked_half_days()
        listed = sum(len(week.half_days) for week in weeks)
        fitting = sum(week.fitting for week in weeks)
        reference = timed(whole_problem, args.runs)
        checks = timed(checked_half_days, args.runs)

        client = signed_in_client_as(engine, Path(folder), loaded.coordinator_email, PASSWORD)
        url = f"/rounds/{loaded.round_id}/by-hand/exchanges/{exchange_id}/move"

        def page():
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        pages = timed(page, args.runs)

    print(f"build_problem, whole round (reference): {summary(reference)}")
    print(f"RoundCheck + {listed} half-days checked ({fitting} fit): {summary(checks)}")
    print(f"'Move this exchange' page: {summary(pages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
