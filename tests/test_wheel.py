"""The built wheel is the product (issue 19, item 4): installed into an empty virtual environment
outside the checkout, without the development dependencies, `mentoring db upgrade` and
`gunicorn mentoring.wsgi:app` serve the app with its stylesheet.

Slow (it installs the runtime dependencies from the package index, or pip's cache): one test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STYLESHEET = ROOT / "mentoring" / "static" / "vendor" / "app.css"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status, response.headers.get("Content-Type", ""), response.read()


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn stopped:\n{server.stderr.read().decode()}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not STYLESHEET.exists():
        pytest.fail("Build the assets first (make setup): the wheel must carry them")
    out = tmp_path_factory.mktemp("dist")
    # A copy of the checkout, so the build leaves nothing behind in it.
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "instance", "build", "*.egg-info", "__pycache__",
        "test-results"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
                    str(source)], check=True)
    [built] = out.glob("*.whl")
    return built


def test_the_wheel_carries_templates_migrations_and_built_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("mentoring/bundled/templates/layout.html",
                     "mentoring/bundled/migrations/env.py",
                     "mentoring/static/vendor/app.css",
                     "mentoring/static/vendor/nhsuk/nhsuk-frontend.min.js"):
        assert expected in names, expected
    versions = {path.name for path in (ROOT / "migrations" / "versions").glob("*.py")}
    assert versions <= {Path(name).name for name in names
                        if name.startswith("mentoring/bundled/migrations/versions/")}
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)


def test_the_wheel_installed_alone_upgrades_a_database_and_serves_the_app(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    subprocess.run([str(bin_dir / "pip"), "install", "--quiet", "--disable-pip-version-check",
                    str(wheel)], check=True, timeout=600)
    installed = subprocess.run([str(bin_dir / "pip"), "list", "--format=freeze"], check=True,
                               capture_output=True, text=True).stdout.lower()
    for development_only in ("pytest", "playwright", "ruff", "aiosmtpd"):
        assert f"{development_only}==" not in installed, development_only

    # Emails render from the installed templates too (not from a checkout that is not there).
    subprocess.run([str(bin_dir / "python"), "-c",
                    "from mentoring.notifications.outbox import render; "
                    "print(render('you_left', {'base_url': 'x', 'contact': None, 'name': 'A', "
                    "'round_name': 'r', 'ended_matches': 0, 'can_rejoin': False})[0])"],
                   check=True, cwd=tmp_path, capture_output=True)
    port = _free_port()
    workdir = tmp_path / "elsewhere"  # not the checkout: nothing may be found through it
    workdir.mkdir()
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "MENTORING_ENV": "production",
        "SECRET_KEY": "a-production-secret-for-this-test-only-0123456789",
        "DATABASE_URL": f"sqlite:///{workdir / 'mentoring.db'}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "INSTANCE_PATH": str(workdir / "instance"),
    }
    subprocess.run([str(bin_dir / "mentoring"), "db", "upgrade"], cwd=workdir, env=env,
                   check=True, timeout=120, capture_output=True)
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "mentoring.wsgi:app"],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", server)
        status, _, body = _get(f"{base}/readyz")
        assert status == 200, body
        status, _, page = _get(f"{base}/sign-in")
        assert status == 200 and b"Sign in" in page
        assert b"/static/vendor/app.css" in page
        status, content_type, css = _get(f"{base}/static/vendor/app.css")
        assert status == 200 and content_type.startswith("text/css")
        assert css == STYLESHEET.read_bytes()
        status, _, script = _get(f"{base}/assets/nhsuk-frontend.min.js")
        assert status == 200 and len(script) > 10_000
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()
