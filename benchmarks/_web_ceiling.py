"""The ceiling for the web load benchmark: the smallest useful Flask app, one endpoint that
returns a short text. Served by the same gunicorn settings as the real app, it measures what the
server, the loopback and the load generator cost on their own."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello from the ceiling", 200, {"Content-Type": "text/plain; charset=utf-8"}
