"""The leadership mentoring and exchange matcher: Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. `config` may hold `SETTINGS` (a Settings), `ENGINE`, and Flask config keys."""
    from mentoring import calendar_days, db, web
    from mentoring.config import load_settings
    from mentoring.notifications.outbox import set_base_url, set_programme_mailbox
    from mentoring.releases.services import set_link_secret

    config = dict(config or {})
    settings = config.pop("SETTINGS", None) or load_settings()
    engine = config.pop("ENGINE", None) or db.make_engine(settings.database_url)

    app = Flask(
        __name__,
        instance_path=str(settings.instance_path.resolve()),
        template_folder=str(web.TEMPLATES_DIR),
        static_folder="static",
    )
    app.config.update(web.flask_config(settings))
    app.config.update(config)
    app.extensions["mentoring.settings"] = settings
    set_base_url(settings.base_url)  # links in emails, from views, the worker and the CLI
    set_programme_mailbox(settings.programme_mailbox)  # when the configuration names none
    calendar_days.set_region(settings.bank_holiday_region)  # likewise: whose bank holidays
    set_link_secret(settings.secret_key)  # and the line managers' signed links among them

    db.init_app(app, engine)
    web.init_app(app)
    return app
