"""WSGI entry point for production servers: `gunicorn mentoring.wsgi:app`."""

from mentoring import create_app, logs

app = create_app()
_settings = app.extensions["mentoring.settings"]
logs.configure(_settings.log_format, _settings.log_level)
