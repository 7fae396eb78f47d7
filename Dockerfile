# The web app and scheduler image (one image, two commands):
#   docker build -t petri-web:0.1.0 .
# Runs daphne by default; the scheduler Deployment runs `python manage.py scheduler`.

# The single-page web app, built with Node; only its dist/ goes on.
FROM node:22.20.0-bookworm-slim AS frontend
WORKDIR /src/webapp/frontend
COPY webapp/frontend/package.json webapp/frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY webapp/frontend/ ./
RUN npm run build

# Python dependencies in a virtualenv: every group of requirements.txt but the algorithms'
# (they run in the runner image) and the tests', each version pinned by the whole file.
FROM python:3.11.14-slim-bookworm AS python-deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN sed -e '/^# algorithms/,/^$/d' -e '/^# tests and lint/,/^$/d' -e '/^# pulled in by/,$d' \
        /tmp/requirements.txt > /tmp/app.txt \
    && python -m venv /venv \
    && /venv/bin/pip install -r /tmp/app.txt -c /tmp/requirements.txt

FROM python:3.11.14-slim-bookworm
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PETRI_VAR_DIR=/app/var
RUN groupadd --system --gid 10001 petri \
    && useradd --system --uid 10001 --gid petri --home-dir /app --shell /usr/sbin/nologin petri
COPY --from=python-deps /venv /venv
WORKDIR /app
COPY manage.py ./
COPY webapp/ webapp/
COPY jobs/ jobs/
COPY scheduler/ scheduler/
COPY algorithms/ algorithms/
COPY base-image/runner/ base-image/runner/
# jobs/graphs.py imports the algorithm kit; beside jobs/ it is importable as they are.
COPY base-image/runner/petri_kit/ petri_kit/
COPY --from=frontend /src/webapp/frontend/dist webapp/frontend/dist
# Static files are collected at build time into /app/var/static: the root filesystem is
# read-only in the cluster, and /app/var must exist before settings are read.
RUN PETRI_SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && chown -R petri:petri /app/var
USER 10001:10001
EXPOSE 8000
CMD ["daphne", "--bind=0.0.0.0", "--port=8000", "--proxy-headers", "webapp.asgi:application"]
