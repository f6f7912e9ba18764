"""WSGI entry point for production servers: `gunicorn mentoring.wsgi:app`."""

import gc

from mentoring import create_app, logs

app = create_app()
_settings = app.extensions["mentoring.settings"]
logs.configure(_settings.log_format, _settings.log_level)

# The app's objects live as long as the process: move them out of the garbage collector's
# reach. Otherwise every full collection walks them all (about 170,000 objects, 60-70 ms),
# which heavy pages trigger several times over (about 9 ms of the review page's 50).
gc.freeze()
