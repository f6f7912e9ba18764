"""The web load benchmark's load generator: virtual users on loopback, each signed in through the
real sign-in form, sending one request after another (a closed loop). By default there is no
pause between a user's requests, so the number of users is the number of requests in flight;
a think time makes them behave more like people.

It is built on the standard library's `http.client` (keep-alive connections, cookies kept by
hand) rather than a richer client: on a 2-core machine the generator competes with the server
for the same cores, so the less it costs per request the fairer the measurement. Users run as
threads spread over a few processes, so that the generator is not held back by one GIL; each
process reports the CPU time it used, so a reader can see what the generator itself cost.
"""

from __future__ import annotations

import http.client
import multiprocessing
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# A reused keep-alive connection the server has already closed fails like this: send again on a
# fresh connection, as browsers do.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class UnexpectedResponse(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Browser:
    """One virtual user: a keep-alive connection to the server and the cookies it was given."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port, self.timeout = port, timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.used = False

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None
                ) -> Response:
        headers = {"User-Agent": "bench-web"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            reused = self.used
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except STALE_CONNECTION:
                self.connection.close()
                self.used = False
                if attempt == 2 or not reused:
                    raise
                continue
            self.used = not response.will_close
            if response.will_close:
                self.connection.close()
            self._keep_cookies(response.headers)
            return Response(response.status, response.headers, data)
        raise AssertionError("unreachable")

    def _keep_cookies(self, headers: http.client.HTTPMessage) -> None:
        for cookie in headers.get_all("Set-Cookie") or []:
            pair, _, attributes = cookie.partition(";")
            name, _, value = pair.strip().partition("=")
            if not value or "expires=thu, 01 jan 1970" in attributes.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def sign_in(self, email: str, password: str) -> None:
        token = csrf_token(self.request("GET", "/sign-in"))
        response = self.request("POST", "/sign-in", [("csrf_token", token), ("email", email),
                                                     ("password", password)])
        location = response.headers.get("Location", "")
        if location.endswith(SET_UP_SECOND_FACTOR):
            page = self.request("GET", SET_UP_SECOND_FACTOR)
            found = TOTP_SECRET.search(page.text)
            if found is None:
                raise UnexpectedResponse("the second-factor setup page shows no key")
            AUTHENTICATOR[email] = found.group(1).replace(" ", "")
            response = self.request("POST", SET_UP_SECOND_FACTOR, [
                ("csrf_token", csrf_token(page)), ("code", authenticator_code(email))])
            location = response.headers.get("Location", "")
            if "/recovery-codes" not in location:
                raise UnexpectedResponse(f"setting up {email}'s second factor failed")
            response = self.request("GET", location)  # the recovery codes, shown once
            location = response.headers.get("Location", "/home")
        elif location.endswith(SECOND_FACTOR):
            # A code works once: one another process used a moment ago is refused, and the
            # person waits for the next (twice at most).
            for _ in range(3):
                page = self.request("GET", SECOND_FACTOR)
                response = self.request("POST", SECOND_FACTOR, [
                    ("csrf_token", csrf_token(page)), ("code", authenticator_code(email))])
                location = response.headers.get("Location", "")
                if response.status == 302:
                    break
        if response.status not in (200, 302) or "/sign-in" in location:
            raise UnexpectedResponse(f"signing in {email} failed: {response.status}")

    def close(self) -> None:
        self.connection.close()


# Coordinators sign in with a second factor (issue 15): what each virtual user's phone holds,
# by email (the generator processes are forked, so they inherit what the parent set up).
SET_UP_SECOND_FACTOR = "/account/second-factor/setup"
SECOND_FACTOR = "/sign-in/second-factor"
TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
AUTHENTICATOR: dict[str, str] = {}
USED_STEP: dict[str, int] = {}


def authenticator_code(email: str) -> str:
    """The app's code now; a code works once, so one already used means waiting for the next
    (as a person does)."""
    import pyotp

    while (step := int(time.time()) // 30) <= USED_STEP.get(email, 0):
        time.sleep(1)
    USED_STEP[email] = step
    return pyotp.TOTP(AUTHENTICATOR[email]).at(step * 30)


def csrf_token(response: Response) -> str:
    found = CSRF_TOKEN.search(response.text)
    if found is None:
        raise UnexpectedResponse(f"no CSRF token in a {response.status} page")
    return found.group(1)


# A step sends a user's next request(s) and returns, for each, (label, seconds, ok).
Sample = tuple[str, float, bool]
Step = Callable[[Browser, dict], list[Sample]]


def timed(browser: Browser, label: str, method: str, path: str, expect: Callable[[Response], bool],
          form: list[tuple[str, str]] | None = None) -> tuple[Sample, Response | None]:
    started = time.perf_counter()
    try:
        response = browser.request(method, path, form)
    except (OSError, http.client.HTTPException):
        return (label, time.perf_counter() - started, False), None
    return (label, time.perf_counter() - started, expect(response)), response


def ok_page(response: Response) -> bool:
    return response.status == 200


@dataclass
class Scenario:
    """What each virtual user does over and over, after `prepare` (signing in, say)."""

    name: str
    labels: tuple[str, ...]  # what `step` measures; the first is the scenario's main request
    step: Step
    prepare: Callable[[Browser, dict], None] = lambda browser, user: None
    users: list[dict] = field(default_factory=list)  # one dict of facts per virtual user


@dataclass
class Result:
    samples: list[tuple[str, float, float, bool]]  # label, started (since the window), seconds, ok
    cpu_seconds: float
    errors: list[str]


def _user_loop(scenario: Scenario, user: dict, port: int, ready: threading.Barrier,
               start_at: list[float], window: tuple[float, float], think: float, out: list,
               errors: list) -> None:
    browser = Browser(port)
    pause = random.Random(id(user)).uniform  # each user's own, so their pauses drift apart
    try:
        scenario.prepare(browser, user)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        ready.abort()
        return
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        return
    begin, end = start_at[0] + window[0], start_at[0] + window[1]
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for label, seconds, ok in scenario.step(browser, user):
            if now >= begin:
                out.append((label, now - begin, seconds, ok))
            now += seconds
        if think:
            time.sleep(pause(0.5 * think, 1.5 * think))
    browser.close()


def _process(scenario: Scenario, port: int, warmup: float, seconds: float, think: float,
             queue, signed_in, go) -> None:
    """One generator process: its users sign in, then, once every process is ready, run their
    loop; the samples of requests that started within the measured window are sent back."""
    cpu = time.process_time()
    start_at = [0.0]
    samples: list = []
    errors: list[str] = []
    all_ready = threading.Barrier(len(scenario.users) + 1)
    threads = [threading.Thread(target=_user_loop, daemon=True,
                                args=(scenario, user, port, all_ready, start_at,
                                      (warmup, warmup + seconds), think, samples, errors))
               for user in scenario.users]
    for thread in threads:
        thread.start()
    try:
        # Wait for our users' sign-ins, tell the parent, wait for the common start.
        while all_ready.n_waiting < len(scenario.users) and not all_ready.broken:
            time.sleep(0.05)
        signed_in.put(not all_ready.broken)
        go.wait()
        start_at[0] = time.perf_counter()
        all_ready.wait()
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join()
    queue.put(Result(samples, time.process_time() - cpu, errors))


def run(scenario: Scenario, port: int, *, processes: int, warmup: float, seconds: float,
        think: float = 0.0) -> Result:
    """Run the scenario's users (spread over `processes` processes) against the server: sign-in
    and preparation first, then `warmup` seconds unmeasured, then `seconds` measured. With
    `think`, each user pauses about that long (0.5 to 1.5 times) between requests, as people
    do; without, each sends its next request at once."""
    context = multiprocessing.get_context("fork")
    queue, signed_in, go = context.Queue(), context.Queue(), context.Event()
    shares = [scenario.users[n::processes] for n in range(processes)]
    workers = [
        context.Process(target=_process, daemon=True,
                        args=(Scenario(scenario.name, scenario.labels, scenario.step,
                                       scenario.prepare, share),
                              port, warmup, seconds, think, queue, signed_in, go))
        for share in shares if share
    ]
    for worker in workers:
        worker.start()
    prepared = [signed_in.get(timeout=600) for _ in workers]
    go.set()
    results = [queue.get(timeout=warmup + seconds + 600) for _ in workers]
    for worker in workers:
        worker.join()
    errors = [error for result in results for error in result.errors]
    if not all(prepared) and not errors:
        errors.append("a virtual user could not prepare")
    return Result([sample for result in results for sample in result.samples],
                  sum(result.cpu_seconds for result in results), errors)


# --- the open loop --------------------------------------------------------------------------
#
# People do not wait for the server before clicking: requests arrive at their own rate whatever
# the response times. Here leader requests arrive as a Poisson process at a set rate, each taken
# by the next free signed-in leader, and the time of each is counted from its *arrival*, so a
# request that waited for a free connection (the server falling behind) is counted as late,
# not left out (no "coordinated omission"). Alongside, a few coordinators review the run as
# people do: a page, a pause of one to three seconds, the next page.


@dataclass
class Mix:
    """What arrives: leader requests by weight, and the coordinators' reviewing."""

    leader_steps: list[tuple[float, Step]]  # (weight, one request of a signed-in leader)
    leaders: list[dict]
    prepare_leader: Callable[[Browser, dict], None]
    coordinator_step: Step
    coordinators: list[dict]
    prepare_coordinator: Callable[[Browser, dict], None]
    coordinator_pause: tuple[float, float] = (1.0, 3.0)


def _open_process(mix: Mix, port: int, rate: float, warmup: float, seconds: float,
                  seed: int, with_coordinators: bool, queue, signed_in, go) -> None:
    import concurrent.futures
    import queue as queues

    cpu = time.process_time()
    samples: list = []
    errors: list[str] = []
    idle: queues.Queue = queues.Queue()
    try:
        for user in mix.leaders:
            browser = Browser(port)
            mix.prepare_leader(browser, user)
            idle.put((browser, user))
        coordinators = []
        for user in mix.coordinators if with_coordinators else []:
            browser = Browser(port)
            mix.prepare_coordinator(browser, user)
            coordinators.append((browser, user))
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        signed_in.put(False)
        queue.put(Result([], time.process_time() - cpu, errors))
        return
    signed_in.put(True)
    go.wait()
    start = time.perf_counter()
    begin, end = start + warmup, start + warmup + seconds
    rng = random.Random(seed)
    weights = [weight for weight, _ in mix.leader_steps]
    steps = [step for _, step in mix.leader_steps]
    late = [0]  # arrivals the generator itself could not send on time (its own lag)

    def serve(arrival: float, step: Step) -> None:
        browser, user = idle.get()  # waits while every leader's connection is busy
        try:
            for label, _took, ok in step(browser, user):
                finished = time.perf_counter()
                if arrival >= begin:
                    samples.append((label, arrival - begin, finished - arrival, ok))
        finally:
            idle.put((browser, user))

    def review(browser: Browser, user: dict) -> None:
        pause = random.Random(seed + id(user)).uniform
        time.sleep(pause(0, mix.coordinator_pause[1]))  # spread their first pages
        while (now := time.perf_counter()) < end:
            for label, took, ok in mix.coordinator_step(browser, user):
                if now >= begin:
                    samples.append((label, now - begin, took, ok))
            time.sleep(pause(*mix.coordinator_pause))

    reviewers = [threading.Thread(target=review, args=pair, daemon=True)
                 for pair in coordinators]
    for thread in reviewers:
        thread.start()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(mix.leaders)) as pool:
        arrival = start
        while True:
            arrival += rng.expovariate(rate)
            if arrival >= end:
                break
            delay = arrival - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.05:
                late[0] += 1
            pool.submit(serve, arrival, rng.choices(steps, weights)[0])
    for thread in reviewers:
        thread.join()
    while not idle.empty():
        idle.get()[0].close()
    if late[0]:
        errors.append(f"note: the generator sent {late[0]} arrivals over 50 ms late")
    queue.put(Result(samples, time.process_time() - cpu, errors))


def run_open_loop(mix: Mix, port: int, *, rate: float, processes: int, warmup: float,
                  seconds: float, seed: int = 17) -> Result:
    """Leader requests arriving at `rate` a second in all (spread over `processes` generator
    processes, each a Poisson process of its share), plus the mix's coordinators reviewing
    (in the first process), for `warmup` unmeasured then `seconds` measured seconds."""
    context = multiprocessing.get_context("fork")
    queue, signed_in, go = context.Queue(), context.Queue(), context.Event()
    shares = [mix.leaders[n::processes] for n in range(processes)]
    workers = [
        context.Process(target=_open_process, daemon=True, args=(
            Mix(mix.leader_steps, share, mix.prepare_leader, mix.coordinator_step,
                mix.coordinators, mix.prepare_coordinator, mix.coordinator_pause),
            port, rate / processes, warmup, seconds, seed + n, n == 0, queue, signed_in, go))
        for n, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    prepared = [signed_in.get(timeout=900) for _ in workers]
    go.set()
    results = [queue.get(timeout=warmup + seconds + 600) for _ in workers]
    for worker in workers:
        worker.join()
    errors = [error for result in results for error in result.errors]
    if not all(prepared) and not errors:
        errors.append("a virtual user could not prepare")
    return Result([sample for result in results for sample in result.samples],
                  sum(result.cpu_seconds for result in results), errors)
