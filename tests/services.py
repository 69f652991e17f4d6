"""Which real services the suite can reach, decided once per run.

With CERTPLATFORM_REQUIRE_SERVICES=1 (set by scripts/test when it found them, and always in CI) a missing
service fails the tests that need it instead of skipping them.
"""

from __future__ import annotations

import os
from functools import cache

import pytest

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/certplatform_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRED = os.environ.get("CERTPLATFORM_REQUIRE_SERVICES") == "1"


@cache
def postgres_problem() -> str | None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    try:
        admin = psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            dbname="postgres",
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.Error as exc:
        return f"PostgreSQL at {url.host}:{url.port} unreachable: {exc}"
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{url.database}"')
    return None


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
