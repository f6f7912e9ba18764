"""The `mentoring` console command (a Flask CLI group)."""

from __future__ import annotations

import signal
import subprocess
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command
from pydantic import ValidationError
from werkzeug.serving import run_simple

from mentoring import create_app, logs


def _create_app():
    app = create_app()
    settings = app.extensions["mentoring.settings"]
    # Commands (the worker above all) log like the web app: JSON lines in production.
    logs.configure(settings.log_format, settings.log_level)
    return app


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Leadership mentoring and exchange matcher."""


main.add_command(shell_command)
main.add_command(routes_command)


def _session_factory():
    return current_app.extensions["mentoring.session_factory"]


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from mentoring.migrate import upgrade

    upgrade(current_app.extensions["mentoring.engine"], revision)
    click.echo(f"Database at {revision}.")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION."""
    from mentoring.migrate import downgrade

    downgrade(current_app.extensions["mentoring.engine"], revision)
    click.echo(f"Database at {revision}.")


@db.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    from mentoring.migrate import current_revision

    click.echo(current_revision(current_app.extensions["mentoring.engine"]) or "empty")


@main.group("config")
def config_group() -> None:
    """The configuration (vocabularies, organisations, programme text) as one JSON file."""


@config_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def config_export(file: str) -> None:
    """Write the whole configuration to FILE ('-' for standard output)."""
    from mentoring.configuration import transfer
    from mentoring.db import session_scope

    with session_scope(_session_factory()) as session:
        text = transfer.dumps(transfer.export(session))
    with click.open_file(file, "w", encoding="utf-8") as out:
        out.write(text)
    if file != "-":
        click.echo(f"Wrote the configuration to {file}.")


@config_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--check", is_flag=True, help="Only check the file and say what would change.")
def config_import(file: str, check: bool) -> None:
    """Make the configuration FILE's: terms it leaves out are retired, never deleted."""
    from mentoring.configuration import transfer
    from mentoring.db import session_scope

    with click.open_file(file, "rb") as source:
        data = source.read()
    with session_scope(_session_factory()) as session:
        plan = transfer.plan_import(session, data)
        if not plan.ok:
            for where, message in plan.problems:
                click.echo(f"Error: {where}: {message}", err=True)
            click.echo(f"{len(plan.problems)} problem(s): nothing imported.", err=True)
            sys.exit(2)
        for what, count in plan.summary().items():
            click.echo(f"  {what.replace('_', ' ')}: {count}")
        if check:
            click.echo("Checked: nothing imported (--check).")
            return
        transfer.apply_import(session, plan, None)
    click.echo(f"Imported the configuration from {file}.")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 12 characters.")
@click.option(
    "--role", type=click.Choice(["leader", "coordinator", "admin"]), default="leader"
)
def create_user_command(email: str, password: str, role: str) -> None:
    """Create a verified account that can sign in at once."""
    from mentoring.auth.services import AccountError, create_user
    from mentoring.db import session_scope

    try:
        with session_scope(_session_factory()) as session:
            user = create_user(session, email, password, role, verified=True)
            email = user.email
    except ValidationError as exc:
        for error in exc.errors():
            click.echo(f"Error: {error['loc'][0]}: {error['msg']}", err=True)
        sys.exit(2)
    except AccountError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"Created {role} {email}.")


@main.command("demo")
@click.option("--seed", default=2021, show_default=True, help="Same seed, same data.")
@click.option("--leaders", default=180, show_default=True)
def demo_command(seed: int, leaders: int) -> None:
    """Load the demo data set (idempotent: running it twice changes nothing). Refused in
    production: its accounts share one published password."""
    from mentoring.db import session_scope
    from mentoring.demo import DEMO_PASSWORD, load_demo

    if current_app.extensions["mentoring.settings"].is_production:
        click.echo("Error: 'mentoring demo' does not run in production: its accounts share a "
                   "published password. Set MENTORING_ENV=development (or testing) on a "
                   "machine of its own to try the demo.", err=True)
        sys.exit(2)

    with session_scope(_session_factory()) as session:
        summary = load_demo(session, seed=seed, leaders=leaders)
    click.echo(summary.describe())
    click.echo("")
    click.echo("Demo sign-in (password for every demo account: " + DEMO_PASSWORD + ")")
    for role, email in summary.sign_ins:
        click.echo(f"  {role:<12} {email}")


@main.command("worker")
def worker_command() -> None:
    """Run the scheduler process: reminders and background jobs. Run exactly one."""
    from mentoring.worker import run_worker

    run_worker(current_app._get_current_object())  # type: ignore[attr-defined]


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Also start the reminder worker in its own process.")
def run_command(host: str, port: int, worker: bool) -> None:
    """Serve the app (development server) together with one worker process."""
    settings = current_app.extensions["mentoring.settings"]
    if settings.is_production:
        click.echo(
            "In production serve with gunicorn ('gunicorn mentoring.wsgi:app') and run one "
            "'mentoring worker'; see docs/operations.md.",
            err=True,
        )
    worker_process = None
    if worker:
        worker_process = subprocess.Popen([sys.executable, "-m", "mentoring", "worker"])
    click.echo(f"Serving on http://{host}:{port}  (Ctrl+C to stop)")
    try:
        # Flask's app.run() refuses to start inside a CLI command; serve with Werkzeug directly.
        run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
    finally:
        if worker_process is not None:
            worker_process.send_signal(signal.SIGTERM)
            worker_process.wait(timeout=15)
