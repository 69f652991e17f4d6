"""Rate limits count in one store shared by every web process, per address and, for failed logins, per account."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from certplatform import create_app
from certplatform.extensions import db
from certplatform.models import RateLimitCounter
from certplatform.rate_limits import SCHEME, DatabaseStorage, purge
from tests.conftest import csrf_token, post_form
from tests.exam_fixtures import REPO
from tests.factories import PASSWORD, make_user


@pytest.fixture
def storage(database_url: str):
    store = DatabaseStorage(SCHEME + database_url)
    store.reset()
    yield store
    store.reset()


def test_the_database_store_counts_windows(storage) -> None:
    assert storage.get("k") == 0 and storage.check()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") > time.time() + 55
    assert storage.incr("k", 60, amount=5) == 8
    storage.clear("k")
    assert storage.get("k") == 0
    # A window that has passed starts again from the increment.
    assert storage.incr("short", 1) == 1
    time.sleep(1.1)
    assert storage.get("short") == 0 and storage.incr("short", 60) == 1
    assert storage.reset() == 1 and storage.get("short") == 0


def test_concurrent_increments_are_never_lost(storage) -> None:
    def hammer() -> None:
        for _ in range(40):
            storage.incr("shared", 60)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert storage.get("shared") == 320


def test_expired_counters_are_purged(storage) -> None:
    storage.incr("old", 1)
    storage.incr("live", 60)
    with storage.engine.begin() as conn:
        assert purge(conn, now=time.time() + 2) == 1
    assert storage.get("live") == 1


def test_development_counts_in_the_application_database(tmp_path: Path) -> None:
    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": "sqlite:///relative.db"})
    assert app.config["RATELIMIT_STORAGE_URI"] == f"database+sqlite:///{app.instance_path}/relative.db"
    private = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert private.config["RATELIMIT_STORAGE_URI"] == "memory://", "an in-memory database has no one to share with"


# --- what the limits count -------------------------------------------------------------------------------


@pytest.fixture
def app_config():
    return {"API_RATE_LIMIT_UNKNOWN": "3 per minute", "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute"}


def test_invented_key_prefixes_share_the_keyless_limit(client) -> None:
    codes = [
        client.post(
            "/api/v1/certificates/verify",
            json={"ids": ["FLAGOS-L1-0000-0000"]},
            headers={"Authorization": f"Bearer fcv_{secrets.token_hex(6)}_{secrets.token_urlsafe(8)}"},
        ).status_code
        for _ in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]


def _login_from(client, address: str, email: str, password: str):
    token = csrf_token(client)
    return client.post(
        "/auth/login",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_logins_are_throttled_per_account_from_any_address(app, client) -> None:
    make_user(email="ada@example.com")
    make_user(email="grace@example.com")
    codes = [_login_from(client, f"10.0.0.{n}", "ADA@example.com", "Wrong-guess-1").status_code for n in range(3)]
    assert codes == [422, 422, 422]
    blocked = _login_from(app.test_client(), "10.0.0.99", "ada@example.com", PASSWORD)
    assert blocked.status_code == 429, "even the right password waits once the account is throttled"
    assert _login_from(app.test_client(), "10.0.0.99", "grace@example.com", PASSWORD).status_code == 302


def test_successful_logins_do_not_count_against_the_account(app) -> None:
    make_user(email="ada@example.com")
    for n in range(4):
        browser = app.test_client()
        assert _login_from(browser, f"10.0.1.{n}", "ada@example.com", PASSWORD).status_code == 302
        post_form(browser, "/auth/logout")


# --- two real gunicorn processes, one store --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(stack: ExitStack, env: dict[str, str], log: Path) -> str:
    port = _free_port()
    out = stack.enter_context(log.open("wb"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers=1", "certplatform:create_app()"],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def stop() -> None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    stack.callback(stop)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"{base}/livez", timeout=10).status_code == 200:
                return base
        except requests.RequestException:
            pass  # still booting
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"gunicorn did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def _login_attempt(base: str) -> int:
    browser = requests.Session()
    page = browser.get(f"{base}/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "email": "nobody@example.com", "password": "Wrong-guess-1"}
    return browser.post(f"{base}/auth/login", data=data, timeout=10).status_code


def test_two_gunicorn_processes_share_one_count(database_url: str, tmp_path: Path) -> None:
    """The embedded default of scripts/run (no Redis): the limits hold across processes, on SQLite and PostgreSQL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RATELIMIT_", "REDIS_", "CELERY"))}
    env.update(CERTPLATFORM_ENV="development", DATABASE_URL=database_url, SECRET_KEY="s" * 48)
    app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.session.execute(sa.delete(RateLimitCounter))
        db.session.commit()
    try:
        with ExitStack() as stack:
            servers = [_gunicorn(stack, env, tmp_path / f"gunicorn-{n}.log") for n in range(2)]
            logins = [_login_attempt(servers[n % 2]) for n in range(7)]
            assert sorted(logins) == [422] * 5 + [429] * 2, logins
            lookups = [
                requests.get(f"{servers[n % 2]}/api/v1/certificates/FLAGOS-L1-0000-0000", timeout=10).status_code
                for n in range(64)
            ]
            assert lookups.count(404) == 60 and lookups.count(429) == 4, lookups
    finally:
        with app.app_context():
            db.session.execute(sa.delete(RateLimitCounter))
            db.session.commit()
            db.engine.dispose()


def test_an_app_with_limits_off_does_not_switch_them_off_for_the_next() -> None:
    from certplatform.extensions import limiter

    create_app({"ENV_NAME": "test", "RATELIMIT_ENABLED": False})
    assert not limiter.enabled
    create_app({"ENV_NAME": "test"})
    assert limiter.enabled, "the limiter object is shared by every app of the process"
