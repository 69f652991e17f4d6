# The application image: web (gunicorn) and worker (celery) run from it; docker-compose.yml wires them up.
# Where no registry is reachable, build FROM an imported Debian base with Python 3.11 instead:
#   docker build --build-arg BASE=certplatform/sandbox-base:bookworm --network host .
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CERTPLATFORM_ENV=production \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app
RUN python3 -m venv /opt/venv

# Dependencies first, at the versions of the lock file (scripts/lock regenerates it), so code changes do not
# reinstall them and every build installs the same versions.
COPY requirements/app.lock requirements/app.lock
RUN pip install --no-cache-dir --no-deps -r requirements/app.lock

COPY pyproject.toml README.md ./
COPY certplatform ./certplatform
COPY migrations ./migrations
COPY courses ./courses
COPY exams ./exams
COPY sandboxes ./sandboxes
RUN pip install --no-cache-dir --no-deps -e . \
    && python -m babel.messages.frontend compile -d certplatform/translations \
    && useradd --system --uid 10000 --home-dir /app certplatform \
    && mkdir -p /app/instance && chown certplatform /app/instance

USER certplatform
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-", "certplatform:create_app()"]
