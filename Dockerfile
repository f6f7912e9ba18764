# The leadership exchange as a container image: `docker build -t mentoring .`
# One image, two processes (docs/operations.md, "Container image"):
#   web:     docker run -p 8000:8000 --env-file mentoring.env mentoring
#   worker:  docker run --env-file mentoring.env mentoring mentoring worker   (exactly one)
#   schema:  docker run --env-file mentoring.env mentoring mentoring db upgrade  (before each release)

# 1. The NHS.UK frontend's assets and the app's stylesheet, built from npm (served by the app).
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY assets ./assets
RUN mkdir -p mentoring/static/vendor/nhsuk \
 && cp -r node_modules/nhsuk-frontend/dist/nhsuk/assets/. mentoring/static/vendor/nhsuk/ \
 && cp node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js mentoring/static/vendor/nhsuk/ \
 && npx sass --no-source-map --style=compressed --quiet-deps --load-path=node_modules \
      assets/app.scss mentoring/static/vendor/app.css

# 2. The wheel: the package with its templates, migrations and built assets.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY . .
COPY --from=assets /src/mentoring/static/vendor mentoring/static/vendor
RUN pip wheel --no-cache-dir --no-deps -w /dist .

# 3. What runs: the wheel and its runtime dependencies only (no compilers, no test tools), as a
# user that owns nothing but its own home.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MENTORING_ENV=production INSTANCE_PATH=/home/mentoring/instance
# DejaVu Sans: the reflection log's PDF has the letters of whatever script a leader writes in.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* && useradd --create-home --uid 10001 mentoring
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/*.whl && rm -rf /tmp/dist
USER mentoring
WORKDIR /home/mentoring
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c \
  "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
# Behind a proxy, set TRUSTED_PROXIES: the app (not gunicorn) decides whose X-Forwarded-* to trust.
# --timeout 60: a write that waits for SQLite's lock (up to its 30 s busy timeout) gets the
# "busy, try again" page rather than being killed at gunicorn's default 30 s.
CMD ["gunicorn", "--workers", "4", "--timeout", "60", "--bind", "0.0.0.0:8000", "mentoring.wsgi:app"]
