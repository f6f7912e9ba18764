"""Web load: gunicorn and PostgreSQL holding 5,000 leaders and a published round, 50 signed-in
users on loopback, against a trivial Flask endpoint served the same way (the ceiling).

    .venv/bin/python benchmarks/web.py [--leaders 5000] [--pairs 2000] [--users 50]
        [--seconds 20] [--warmup 3] [--workers 4] [--threads 1] [--think-seconds 0]
        [--client-processes 2] [--only SCENARIO ...] [--database-url URL]

The URL names a PostgreSQL server (default: the test server,
postgresql+psycopg://postgres@127.0.0.1:5432/test); the benchmark creates a scratch database on
it, migrates it, bulk-loads a published round (see benchmarks/_web_data.py: the leaders, ~20
free half-days each, 2,000 approved or accepted pairs with 4,000 scheduled exchanges and their
bookings, the finished optimiser run that proposed them) and drops the database at the end.

The app runs under gunicorn exactly as in production (`mentoring.wsgi:app`,
MENTORING_ENV=production, a generated SECRET_KEY, JSON access logs, written to a file here),
bound to a free loopback port. Each scenario signs its users in through the sign-in form (CSRF
token and cookies), runs `--warmup` seconds unmeasured, then `--seconds` measured, each user
sending its next request as soon as the last one is answered:

* ceiling: GET / of a one-endpoint Flask app (benchmarks/_web_ceiling.py), same gunicorn
  settings: what the server, loopback and load generator cost on their own;
* leader home: GET /home as 50 different matched leaders;
* matches: GET /matches (the leader's matches and exchanges);
* availability save: POST /rounds/<id>/availability (the date form with its CSRF token, adding
  or removing one free half-day each time: a real write), then the page it redirects to;
* review: GET /rounds/<id>/runs/<run id>, the coordinator's review of the run's 2,000 pairs
  (100 a page), as 50 coordinators (an account each: a second factor's code works once).

A request is an error if it raises (or times out after 60 s), or its status is not the one the
page gives (200; the save's 302 back to the availability page; a redirect to the sign-in page is
an error). "alone" is the median time of the same request from one user afterwards, on the
warmed-up server. Prints a table and PASS/FAIL for each target (p95 under 200 ms for every
request, no errors, the heaviest page's throughput at least 25% of the ceiling's), and exits
non-zero if any target is missed. `--think-seconds` makes each user pause (0.5 to 1.5 times that)
between requests, like people; the default, no pause, is what the targets are judged by.

Open loop (`--open-loop RATE`, repeatable: `--open-loop 50 --open-loop 100`): instead of the
scenarios above, leader requests arrive at RATE a second in all, as a Poisson process, whatever
the response times (people do not wait for the server before clicking), each sent by the next
free one of `--open-leaders` signed-in leaders: 40% their home page, 30% their matches, 20% their
availability page, 10% a save of it (POST, answered by a 302). Alongside, `--reviewers`
coordinators (5) review the run as people do: a page of the proposal (a random one of its 20),
then a pause of one to three seconds. Each request's time counts from its arrival, so time
spent waiting for a free connection (the server falling behind) counts. Prints p50, p95 and
p99, the achieved rate and errors per request kind at each rate.

Sign-in throttling counts only failed attempts (mentoring/auth/throttle.py), so 50 successful
sign-ins from 127.0.0.1 are not throttled; nothing needs configuring.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first: benchmarks/optimiser.py must not hide the optimiser package. The
# benchmarks folder (for the _web_* helpers) comes next, as the script's own folder.
sys.path.insert(0, str(ROOT))

from _scratch import scratch_database  # noqa: E402
from _web_data import load  # noqa: E402
from _web_load import (  # noqa: E402
    Browser,
    Mix,
    Result,
    Scenario,
    csrf_token,
    ok_page,
    run,
    run_open_loop,
    timed,
)

from mentoring.passwords import hash_password  # noqa: E402

TARGET_P95_SECONDS = 0.200
TARGET_SHARE_OF_CEILING = 0.25
GUNICORN = Path(sys.executable).with_name("gunicorn")


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(app: str, *, workers: int, threads: int, env: dict[str, str], log: Path,
             pythonpath: Path | None = None):
    """gunicorn serving `app` on a free loopback port, until the block ends."""
    port = free_port()
    command = [str(GUNICORN), "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    if pythonpath:
        command += ["--pythonpath", str(pythonpath)]
    with log.open("a") as output:
        server = subprocess.Popen([*command, app], cwd=ROOT, stdout=output, stderr=output,
                                  env={**os.environ, **env, "BASE_URL": f"http://127.0.0.1:{port}"})
    try:
        _wait_until_up(server, port, log)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)  # a graceful stop of the server we started
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped ({server.returncode}):\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 60 s")


# --- what the users do ----------------------------------------------------------------------


def signed_in(browser: Browser, user: dict) -> None:
    browser.sign_in(user["email"], user["password"])


def get_scenario(name: str, label: str, path: str, prepare=signed_in) -> Scenario:
    def step(browser: Browser, user: dict):
        sample, _ = timed(browser, label, "GET", path, ok_page)
        return [sample]

    return Scenario(name, (label,), step, prepare)


SAVE, PAGE_AFTER_SAVE = "availability save (POST)", "availability page (after the save)"


def availability_scenario(round_id: int) -> Scenario:
    path = f"/rounds/{round_id}/availability"

    def prepare(browser: Browser, user: dict) -> None:
        signed_in(browser, user)
        user["csrf_token"] = csrf_token(browser.request("GET", path))

    def saved(response) -> bool:
        return response.status == 302 and response.headers.get("Location", "").endswith(path)

    def step(browser: Browser, user: dict):
        # Every other save adds a half-day that holds none of the leader's exchanges, and the
        # next takes it out again: each save changes one row (and writes its audit event).
        user["add"] = not user.get("add")
        free = user["free"] + ([user["spare"]] if user["add"] else [])
        form = [("csrf_token", user["csrf_token"]), ("action", "dates")]
        form += [("free", value) for value in free]
        save, response = timed(browser, SAVE, "POST", path, saved, form)
        if response is None or not save[2]:
            return [save]
        # Then the page the browser is sent back to (which also shows, and so clears, the
        # "Saved" message kept in the session cookie).
        page, _ = timed(browser, PAGE_AFTER_SAVE, "GET", path, ok_page)
        return [save, page]

    return Scenario("availability save", (SAVE, PAGE_AFTER_SAVE), step, prepare)


def scenarios(loaded, password: str, users: int) -> list[Scenario]:
    leaders = [{"email": email, "password": password, "free": loaded.free[email],
                "spare": loaded.spare[email]} for email in loaded.leader_emails[:users]]
    # One account each: a coordinator signs in with a second factor, whose code works once.
    coordinators = [{"email": email, "password": password} for email in
                    [loaded.coordinator_email, *loaded.other_coordinator_emails][:users]]
    review = f"/rounds/{loaded.round_id}/runs/{loaded.run_id}"
    found = [
        get_scenario("leader home", "leader home", "/home"),
        get_scenario("matches", "matches", "/matches"),
        availability_scenario(loaded.round_id),
        get_scenario("review", "review (coordinator)", review),
    ]
    for scenario in found:
        scenario.users = [dict(user) for user in
                          (coordinators if scenario.name == "review" else leaders)]
    return found


# The open loop's requests, by kind.
OPEN_HOME, OPEN_MATCHES, OPEN_PAGE, OPEN_SAVE = (
    "leader home", "matches", "availability page", "availability save (POST)")
OPEN_REVIEW = "review (coordinator)"


def open_loop_mix(loaded, password: str, leaders: int, reviewers: int) -> Mix:
    path = f"/rounds/{loaded.round_id}/availability"

    def prepare_leader(browser: Browser, user: dict) -> None:
        signed_in(browser, user)
        user["csrf_token"] = csrf_token(browser.request("GET", path))

    def get(label: str, url: str):
        def step(browser: Browser, user: dict):
            return [timed(browser, label, "GET", url, ok_page)[0]]
        return step

    def save(browser: Browser, user: dict):
        user["add"] = not user.get("add")
        free = user["free"] + ([user["spare"]] if user["add"] else [])
        form = [("csrf_token", user["csrf_token"]), ("action", "dates")]
        form += [("free", value) for value in free]
        return [timed(browser, OPEN_SAVE, "POST", path, lambda response: (
            response.status == 302 and response.headers.get("Location", "").endswith(path)),
            form)[0]]

    review = f"/rounds/{loaded.round_id}/runs/{loaded.run_id}"
    pages = random.Random(3)

    def review_page(browser: Browser, user: dict):
        return [timed(browser, OPEN_REVIEW, "GET", f"{review}?page={pages.randint(1, 20)}",
                      ok_page)[0]]

    return Mix(
        leader_steps=[(0.4, get(OPEN_HOME, "/home")), (0.3, get(OPEN_MATCHES, "/matches")),
                      (0.2, get(OPEN_PAGE, path)), (0.1, save)],
        leaders=[{"email": email, "password": password, "free": loaded.free[email],
                  "spare": loaded.spare[email]} for email in loaded.leader_emails[:leaders]],
        prepare_leader=prepare_leader, coordinator_step=review_page,
        coordinators=[{"email": email, "password": password} for email in
                      [loaded.coordinator_email, *loaded.other_coordinator_emails][:reviewers]],
        prepare_coordinator=signed_in)


def open_loop(args, loaded, password: str, server: dict) -> int:
    mix = open_loop_mix(loaded, password, args.open_leaders, args.reviewers)
    labels = (OPEN_HOME, OPEN_MATCHES, OPEN_PAGE, OPEN_SAVE, OPEN_REVIEW)
    rows = []
    with gunicorn("mentoring.wsgi:app", **server) as port:
        # gunicorn listens before its workers have imported the app (seconds on a busy
        # machine): wait for a page before anyone signs in.
        Browser(port, timeout=300).request("GET", "/sign-in")
        # Each coordinator signs in once here first: they set up their second factor, and
        # the forked generator processes inherit their "phone" (its secret).
        for user in mix.coordinators:
            browser = Browser(port)
            signed_in(browser, dict(user))
            browser.close()
        for rate in args.open_loop:
            load_average = os.getloadavg()[0]
            result = run_open_loop(mix, port, rate=rate, processes=args.client_processes,
                                   warmup=args.warmup, seconds=args.seconds)
            for error in result.errors[:5]:
                print(f"  at {rate:g}/s: {error}")
            found = figures(Scenario("open", labels, lambda b, u: []), result, args.seconds)
            # What the server got through: answers that came back within the measured window
            # (the rate of arrivals is the one asked for; a server falling behind answers
            # fewer, later).
            for label, row in found.items():
                row["answered"] = sum(1 for name, started, took, _ok in result.samples
                                      if name == label and started + took <= args.seconds
                                      ) / args.seconds
            everything = sorted(took for label, _s, took, _ok in result.samples
                                if label != OPEN_REVIEW)
            leaders = {"requests": len(everything), "rate": len(everything) / args.seconds,
                       "answered": sum(row["answered"] for label, row in found.items()
                                       if label != OPEN_REVIEW),
                       "errors": sum(row["errors"] for label, row in found.items()
                                     if label != OPEN_REVIEW),
                       "p50": percentile(everything, 0.5), "p95": percentile(everything, 0.95),
                       "p99": percentile(everything, 0.99)}
            for label, row in [("all leader requests", leaders), *found.items()]:
                rows.append((rate, label, row, load_average, result.cpu_seconds))
            print(f"  {rate:g}/s asked: leaders {leaders['rate']:.1f}/s arrived, "
                  f"{leaders['answered']:.1f}/s answered in the window, p95 "
                  f"{leaders['p95'] * 1000:.0f} ms, {leaders['errors']} errors; review p95 "
                  f"{found[OPEN_REVIEW]['p95'] * 1000:.0f} ms (load average before: "
                  f"{load_average:.1f})", flush=True)
    print()
    print("| arrival rate | request | arrived/s | answered/s | p50 ms | p95 ms | p99 ms | "
          "errors | load average before | generator CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, (rate, label, row, load_average, cpu) in enumerate(rows):
        first = n == 0 or rows[n - 1][0] != rate
        print(f"| {f'{rate:g}/s' if first else ''} | {label} | {row['rate']:.1f} | "
              f"{row['answered']:.1f} | "
              f"{row['p50'] * 1000:,.0f} | {row['p95'] * 1000:,.0f} | {row['p99'] * 1000:,.0f}"
              f" | {row['errors']} | {f'{load_average:.1f}' if first else ''} | "
              f"{f'{cpu:.1f}' if first else ''} |")
    errors = sum(row["errors"] for _rate, _label, row, _l, _c in rows)
    return 0 if errors == 0 else 1


def alone(scenario: Scenario, port: int, requests: int) -> dict[str, float]:
    """The median time of each of the scenario's requests with one user and no other load from
    the benchmark."""
    browser = Browser(port)
    user = dict(scenario.users[0])
    scenario.prepare(browser, user)
    seconds: dict[str, list[float]] = {}
    for _ in range(requests):
        for label, took, _ok in scenario.step(browser, user):
            seconds.setdefault(label, []).append(took)
    browser.close()
    return {label: statistics.median(values) for label, values in seconds.items()}


# --- figures --------------------------------------------------------------------------------


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def figures(scenario: Scenario, result: Result, seconds: float) -> dict[str, dict]:
    by_label: dict[str, list] = {label: [] for label in scenario.labels}
    for label, _started, took, ok in result.samples:
        by_label[label].append((took, ok))
    rows = {}
    for label, samples in by_label.items():
        ordered = sorted(took for took, _ in samples)
        rows[label] = {"requests": len(samples), "rate": len(samples) / seconds,
                       "errors": sum(1 for _, ok in samples if not ok),
                       "p50": percentile(ordered, 0.50), "p95": percentile(ordered, 0.95),
                       "p99": percentile(ordered, 0.99)}
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--leaders", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=50, help="concurrent virtual users")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured, per scenario")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--think-seconds", type=float, default=0.0,
                        help="each user's pause between requests (default 0: the next request "
                             "as soon as the last is answered, the strictest reading of "
                             "'50 concurrent users', and the one the targets are judged by)")
    parser.add_argument("--client-processes", type=int, default=2,
                        help="processes the virtual users are spread over")
    parser.add_argument("--only", action="append", default=[],
                        help="run only this scenario (repeatable): ceiling, leader home, "
                             "matches, availability save, review")
    parser.add_argument("--open-loop", type=float, action="append", default=[],
                        metavar="RATE", help="leader requests a second arriving as people's "
                        "do (repeatable); replaces the closed-loop scenarios")
    parser.add_argument("--open-leaders", type=int, default=100,
                        help="signed-in leaders the open loop's requests are spread over")
    parser.add_argument("--reviewers", type=int, default=5,
                        help="coordinators reviewing the run during the open loop")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("the benchmark needs a PostgreSQL server")

    password = secrets.token_urlsafe(16)
    # One real (production-cost) hash shared by every account: hashing 5,000 would take minutes.
    password_hash = hash_password(password)
    with scratch_database(args.database_url, "bench_web") as (engine, database_url), \
            tempfile.TemporaryDirectory() as folder:
        loaded = load(engine, leaders=args.leaders, pairs=args.pairs,
                      coordinators=max(args.users, args.reviewers),
                      password_hash=password_hash)
        print(f"loaded in {loaded.seconds:.1f} s: "
              + ", ".join(f"{key} {value:,}" for key, value in loaded.counts.items()))
        log = Path(folder) / "gunicorn.log"
        env = {"MENTORING_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
               "DATABASE_URL": database_url, "INSTANCE_PATH": folder}
        server = {"workers": args.workers, "threads": args.threads, "env": env, "log": log}
        if args.open_loop:
            print(f"gunicorn: {args.workers} workers x {args.threads} threads; open loop at "
                  f"{', '.join(f'{rate:g}' for rate in args.open_loop)} leader requests a "
                  f"second over {args.open_leaders} leaders, {args.reviewers} coordinators "
                  f"reviewing; {args.client_processes} generator processes; {args.warmup:g} s "
                  f"warm-up, {args.seconds:g} s measured per rate; {os.cpu_count()} CPUs")
            return open_loop(args, loaded, password, server)
        print(f"gunicorn: {args.workers} workers x {args.threads} threads; {args.users} users "
              f"in {args.client_processes} generator processes; {args.warmup:g} s warm-up, "
              f"{args.seconds:g} s measured per scenario; {os.cpu_count()} CPUs")

        wanted = set(args.only)
        results: dict[str, tuple[Result, dict]] = {}

        def measure(scenario: Scenario, port: int, alone_requests: int) -> None:
            # Each user signs in once here first: a coordinator sets up their second factor,
            # and the forked generator processes inherit their "phone" (its secret).
            for user in scenario.users:
                browser = Browser(port)
                scenario.prepare(browser, dict(user))
                browser.close()
            load_average = os.getloadavg()[0]
            result = run(scenario, port, processes=args.client_processes, warmup=args.warmup,
                         seconds=args.seconds, think=args.think_seconds)
            for error in result.errors[:5]:
                print(f"  {scenario.name}: {error}")
            rows = figures(scenario, result, args.seconds)
            # Then one user on its own, on the warmed-up server: the page's own time.
            for label, seconds in alone(scenario, port, alone_requests).items():
                rows[label]["alone"] = seconds
            for row in rows.values():
                row["load average"] = load_average
            results[scenario.name] = (result, rows)
            for label, row in rows.items():
                print(f"  {label}: {row['rate']:.0f}/s, p95 {row['p95'] * 1000:.0f} ms, "
                      f"{row['errors']} errors (load average before: {load_average:.1f})")

        if not wanted or "ceiling" in wanted:
            with gunicorn("_web_ceiling:app", pythonpath=ROOT / "benchmarks", **server) as port:
                ceiling = get_scenario("ceiling", "ceiling (trivial Flask endpoint)", "/",
                                       prepare=lambda browser, user: None)
                ceiling.users = [{} for _ in range(args.users)]
                measure(ceiling, port, 50)
        pages = [s for s in scenarios(loaded, password, args.users)
                 if not wanted or s.name in wanted]
        if pages:
            with gunicorn("mentoring.wsgi:app", **server) as port:
                for scenario in pages:
                    measure(scenario, port, 10)
    return report(results, args)


def report(results: dict[str, tuple[Result, dict]], args) -> int:
    print()
    print("| scenario | request | requests/s | p50 ms | p95 ms | p99 ms | errors | alone ms | "
          "load average before | generator CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (result, rows) in results.items():
        for n, (label, row) in enumerate(rows.items()):
            rate = f"{row['rate']:,.0f}" if row["rate"] >= 10 else f"{row['rate']:.1f}"
            print(f"| {name if n == 0 else ''} | {label} | {rate} | "
                  f"{row['p50'] * 1000:,.0f} | {row['p95'] * 1000:,.0f} | "
                  f"{row['p99'] * 1000:,.0f} | {row['errors']} | "
                  f"{row.get('alone', float('nan')) * 1000:,.1f} | {row['load average']:.1f} | "
                  f"{f'{result.cpu_seconds:.1f}' if n == 0 else ''} |")
    print()
    verdicts = []
    errors = sum(row["errors"] for _, rows in results.values() for row in rows.values())
    errors += sum(len(result.errors) for result, _ in results.values())
    verdicts.append((errors == 0, f"no errors: {errors} errors"))
    page_rows = {label: row for name, (_, rows) in results.items() if name != "ceiling"
                 for label, row in rows.items()}
    users = f"{args.users} users" + (f" pausing about {args.think_seconds:g} s"
                                      if args.think_seconds else "")
    for label, row in page_rows.items():
        verdicts.append((row["p95"] < TARGET_P95_SECONDS,
                         f"p95 under {TARGET_P95_SECONDS * 1000:.0f} ms at {users}: "
                         f"{label} {row['p95'] * 1000:,.0f} ms"))
    if args.think_seconds:
        print("(with a think time the throughputs are set by the users' pauses, so the "
              "heaviest page is not compared with the ceiling)")
    elif "ceiling" in results and page_rows:
        ceiling = next(iter(results["ceiling"][1].values()))["rate"]
        # The heaviest page: the main request of the scenario with the lowest throughput.
        label, row = min((next(iter(rows.items())) for name, (_, rows) in results.items()
                          if name != "ceiling"), key=lambda item: item[1]["rate"])
        share = row["rate"] / ceiling if ceiling else 0.0
        verdicts.append((share >= TARGET_SHARE_OF_CEILING,
                         f"heaviest page at least {TARGET_SHARE_OF_CEILING:.0%} of the ceiling's "
                         f"throughput: {label} {row['rate']:,.1f}/s against {ceiling:,.0f}/s "
                         f"= {share:.1%}"))
    for ok, text in verdicts:
        print(("PASS " if ok else "FAIL ") + text)
    return 0 if all(ok for ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
