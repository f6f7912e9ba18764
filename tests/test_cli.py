"""The `mentoring` console command, run as a real process where it matters."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import sqlalchemy as sa

# `cli_env` (a production environment on a scratch SQLite file) is in conftest.py: the
# configuration tests use it too.


def mentoring(env, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mentoring", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def test_db_upgrade_creates_the_schema_and_is_repeatable(cli_env, tmp_path):
    first = mentoring(cli_env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    again = mentoring(cli_env, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    tables = sa.inspect(sa.create_engine(cli_env["DATABASE_URL"])).get_table_names()
    assert {"app_user", "leader_profile", "match", "exchange", "notification"} <= set(tables)
    assert mentoring(cli_env, "db", "current").stdout.strip() != "empty"


def test_create_user_then_refuse_duplicates_and_weak_passwords(cli_env):
    assert mentoring(cli_env, "db", "upgrade").returncode == 0
    created = mentoring(cli_env, "create-user", "--email", "Coord@Example.org",
                        "--password", "a-long-enough-password", "--role", "coordinator")
    assert created.returncode == 0, created.stderr
    assert "Created coordinator coord@example.org" in created.stdout

    duplicate = mentoring(cli_env, "create-user", "--email", "coord@example.org",
                          "--password", "a-long-enough-password")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr

    weak = mentoring(cli_env, "create-user", "--email", "x@example.org", "--password", "short")
    assert weak.returncode == 2 and "password" in weak.stderr

    bad_email = mentoring(cli_env, "create-user", "--email", "not-an-email",
                          "--password", "a-long-enough-password")
    assert bad_email.returncode == 2 and "email" in bad_email.stderr


def test_the_app_refuses_to_start_in_production_without_a_secret(cli_env):
    cli_env.pop("SECRET_KEY")
    result = mentoring(cli_env, "db", "current")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_demo_refuses_to_run_in_production(cli_env):
    assert mentoring(cli_env, "db", "upgrade").returncode == 0
    refused = mentoring(cli_env, "demo")
    assert refused.returncode == 2
    assert "does not run in production" in refused.stderr
    engine = sa.create_engine(cli_env["DATABASE_URL"])
    assert table_counts(engine)["app_user"] == 0


def test_demo_loads_once_and_prints_sign_in_details(cli_env):
    cli_env["MENTORING_ENV"] = "development"
    assert mentoring(cli_env, "db", "upgrade").returncode == 0
    first = mentoring(cli_env, "demo", timeout=180)
    assert first.returncode == 0, first.stderr
    assert "coordinator@demo.example.nhs.uk" in first.stdout
    engine = sa.create_engine(cli_env["DATABASE_URL"])
    counts_before = table_counts(engine)
    second = mentoring(cli_env, "demo", timeout=180)
    assert second.returncode == 0, second.stderr
    assert table_counts(engine) == counts_before
    assert counts_before["leader_profile"] >= 150


def table_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()
            for table in sa.inspect(engine).get_table_names()
        }


def test_worker_starts_and_exits_cleanly_on_sigterm(cli_env):
    assert mentoring(cli_env, "db", "upgrade").returncode == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "mentoring", "worker"],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = worker.stdout.readline()
            lines.append(line)
            if "worker: started" in line:
                break
        assert any("worker: started" in line for line in lines), "".join(lines)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0  # a job under way finishes first
        rest = worker.stdout.read()
        assert "worker: stopped" in rest
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stdout.close()


def test_run_serves_the_app_with_a_worker_and_stops_both(cli_env):
    import socket
    import urllib.request

    assert mentoring(cli_env, "db", "upgrade").returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "mentoring", "run", "--port", str(port)],
        env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline, health = time.monotonic() + 30, None
        while time.monotonic() < deadline and health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = r.read().decode()
            except OSError:
                time.sleep(0.2)
        assert health is not None and '"status":"ok"' in health.replace(" ", "")
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) is not None
