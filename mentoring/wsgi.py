"""WSGI entry point for production servers: `gunicorn mentoring.wsgi:app`."""

from mentoring import create_app

app = create_app()
