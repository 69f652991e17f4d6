"""Which real services the suite can reach, decided once per run.

With CERTPLATFORM_REQUIRE_SERVICES=1 (set by scripts/test when it found them, and always in CI) a missing
service fails the tests that need it instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from functools import cache

import pytest

BASE_POSTGRES_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/certplatform_test"
)
# Every test session gets databases of its own (dropped at the end), so that runs on one machine (a developer's,
# CI's, another checkout's) never see each other's tables or rows.
RUN_SUFFIX = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _run_url(base: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base)
    return url.set(database=f"{name}_{RUN_SUFFIX}").render_as_string(hide_password=False)


POSTGRES_URL = _run_url(BASE_POSTGRES_URL, "certplatform_test")


def _worker_redis_url(base: str) -> str:
    """Under pytest-xdist each worker process takes a database of its own, counting down from the one configured
    (gw0 the configured one, gw1 the one below), so that rate-limit counters and queues of parallel tests never mix."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return base
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base)
    db = int(parts.path.strip("/") or 0) - int(worker[2:])
    if db < 0:
        raise RuntimeError(f"{base}: too few Redis databases below it for pytest-xdist worker {worker}")
    return urlunsplit(parts._replace(path=f"/{db}"))


REDIS_URL = _worker_redis_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
REQUIRED = os.environ.get("CERTPLATFORM_REQUIRE_SERVICES") == "1"


def postgres_unreachable() -> str | None:
    """Why the server cannot be used (for scripts/test's report), without creating anything."""
    import psycopg

    try:
        with _admin_connection():
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {BASE_POSTGRES_URL} unreachable: {exc}"


def _admin_connection():
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(BASE_POSTGRES_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=3,
    )


def create_database(url: str) -> None:
    """(Re)create the database named in `url`, empty."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@cache
def postgres_problem() -> str | None:
    """None once this run's own database exists (created empty); otherwise why PostgreSQL cannot be used."""
    import psycopg

    try:
        _drop_abandoned()
        create_database(POSTGRES_URL)
    except psycopg.Error as exc:
        return f"PostgreSQL at {BASE_POSTGRES_URL} unreachable: {exc}"
    return None


def _drop_abandoned() -> None:
    """Drop per-run databases whose test process is gone (a run that was killed never reached its teardown)."""
    with _admin_connection() as admin:
        names = [
            row[0]
            for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname ~ '^certplatform_(test|migrations)_[0-9]+_[0-9a-f]{6}$'"
            )
        ]
        for name in names:
            pid = int(name.rsplit("_", 2)[1])
            if not os.path.exists(f"/proc/{pid}"):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@cache
def redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} unreachable: {exc}"
    return None


def need(problem: str | None) -> None:
    if problem is None:
        return
    if REQUIRED:
        pytest.fail(problem, pytrace=False)
    pytest.skip(problem)
