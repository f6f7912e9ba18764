"""Where the templates and migrations are: beside the package in a checkout, inside it once
installed from a wheel (setup.py copies them to `mentoring/bundled/`)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_folder(name: str) -> Path:
    """The installed copy when there is one; otherwise the checkout's folder. The installed copy
    comes first because beside an installed package is site-packages, where any other
    distribution could have put a folder of the same name."""
    bundled = PACKAGE_DIR / "bundled" / name
    return bundled if bundled.is_dir() else PACKAGE_DIR.parent / name
