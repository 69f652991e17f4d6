"""Which real services the suite can reach, decided once per run, and the one rule for a missing one.

A test says what it needs with a marker (`postgres`, `redis`, `docker`, `browser`, `gpu`; tests/conftest.py checks
them before its fixtures run). A missing service skips the test, or fails it where it is required:
CERTPLATFORM_REQUIRE_SERVICES=1 (.ci/run, and scripts/test once it found them) requires all but the GPU.

The GPU is required wherever a `gpu` test runs, and such a test runs only in a run that asks for it by its marker
(`-m gpu`, as scripts/test --gpu does; tests/conftest.py deselects it from every other run): on a host without a GPU
it fails, and it never ends as skipped, whatever the skip came from (gpu_outcome).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from functools import cache
from pathlib import Path

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


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def required_services(environ) -> frozenset[str]:
    every = {"postgres", "redis", "docker", "browser"} if environ.get("CERTPLATFORM_REQUIRE_SERVICES") == "1" else set()
    return frozenset(every | {"gpu"})


REQUIRED = required_services(os.environ)


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


@cache
def docker_problem() -> str | None:
    import docker

    try:
        client = docker.from_env(timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        return f"no Docker engine answers ({exc}); scripts/test starts one (scripts/lib/docker-engine.sh)"
    return None


@cache
def browser_problem() -> str | None:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return None
    return f"Chromium not found at {CHROMIUM}; scripts/test installs it"


GPU_RUNTIME = "triton-gpu"


@cache
def gpu_problem() -> str | None:
    """None when the Docker engine can give a container an NVIDIA GPU (its nvidia runtime is registered) and has
    the triton-gpu image that the `gpu` tests grade in (the host's own torch is the CPU build)."""
    problem = docker_problem()
    if problem:
        return f"needs an NVIDIA GPU through the Docker engine, and {problem}"
    import docker

    from certplatform.sandbox import images

    client = docker.from_env(timeout=10)
    try:
        if "nvidia" not in (client.info().get("Runtimes") or {}):
            return (
                "needs an NVIDIA GPU: the Docker engine has no NVIDIA runtime (a GPU and the NVIDIA container toolkit"
                " are needed; scripts/test --gpu runs these tests on such a host)"
            )
        tag = images.image_tag(Path(__file__).resolve().parents[1], GPU_RUNTIME)
        if not images.image_exists(client, tag):
            return f"needs the {GPU_RUNTIME} image {tag}, which this engine does not have: scripts/test --gpu builds it"
    finally:
        client.close()
    return None


PROBES = {
    "postgres": postgres_problem,
    "redis": redis_problem,
    "docker": docker_problem,
    "browser": browser_problem,
    "gpu": gpu_problem,
}


def need(problem: str | None, service: str = "postgres") -> None:
    """Skip the running test for `problem`, or fail it when `service` is required in this run."""
    if problem is None:
        return
    if service in REQUIRED:
        pytest.fail(problem, pytrace=False)
    pytest.skip(problem)


def require_marked(item: pytest.Item) -> None:
    """The one rule: every service the test is marked with must answer (see the module's docstring)."""
    for name, probe in PROBES.items():
        if item.get_closest_marker(name):
            need(probe(), name)


def gpu_asked_for(markexpr: str) -> bool:
    """Whether a run's `-m` expression names the `gpu` marker: only such a run keeps the `gpu` tests."""
    return re.search(r"\bgpu\b", markexpr or "") is not None


def gpu_outcome(item: pytest.Item, report: pytest.TestReport) -> None:
    """A `gpu` test that skipped (a skip or skipif of its own, a fixture's) has failed: a GPU run that skipped its
    GPU checks would look like one that passed them."""
    if report.skipped and item.get_closest_marker("gpu") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"a gpu test may not skip, and this one did: {reason}"
