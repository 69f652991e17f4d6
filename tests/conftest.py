"""Fixtures in the flaskr style (app, client, runner, auth); database tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from certplatform import create_app
from certplatform.extensions import db, limiter
from tests import services
from tests.factories import PASSWORD

pytest_plugins = ["tests.exam_fixtures", "tests.review_fixtures"]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that grades as a candidate user (uid 10001, in a container too: the same uid seen from the host)
    is `host_candidate`: the kernel counts that user's processes across all its gradings, so scripts/test never runs
    two of them side by side as one user. Those that may grade as a user of their own (`own_candidate`: the harness
    tests and the process-backend pipeline tests) run, one after another, as such a user, beside the others."""
    if not services.gpu_asked_for(config.getoption("markexpr")):
        # Without a GPU they fail (tests/services.py): they run where a run asks for them, scripts/test --gpu.
        _deselect(config, items, [item for item in items if item.get_closest_marker("gpu")])
    for item in items:
        if item.get_closest_marker("docker") or item.nodeid.startswith("tests/harness/"):
            item.add_marker(pytest.mark.host_candidate)
        if item.nodeid.startswith("tests/harness/"):
            item.add_marker(pytest.mark.own_candidate)
    # A grade costs seconds of CPU and the database decides nothing in how it runs: the tests that grade run on
    # PostgreSQL, the production database, unless their grading path itself differs between the two.
    sqlite_only_copies = [
        item
        for item in items
        if item.get_closest_marker("host_candidate")
        and not item.get_closest_marker("both_databases")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url") == "sqlite"
    ]
    _deselect(config, items, sqlite_only_copies)


def _deselect(config: pytest.Config, items: list[pytest.Item], chosen: list[pytest.Item]) -> None:
    if chosen:
        config.hook.pytest_deselected(items=chosen)
        ids = set(map(id, chosen))
        items[:] = [item for item in items if id(item) not in ids]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    services.require_marked(item)  # before any fixture of the test is set up


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    services.gpu_outcome(item, report)
    return report


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per backend for the whole run, its schema built from the models."""
    if request.param == "postgresql":
        url = services.POSTGRES_URL
        services.create_database(url)  # again after a teardown: pytest may set a parametrized session fixture up twice
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    yield url
    if request.param == "postgresql":
        services.drop_database(url)


def _test_config(database_url: str, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {
        "ENV_NAME": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
    }
    if services.redis_problem() is None:
        config["RATELIMIT_STORAGE_URI"] = services.REDIS_URL
        config["CELERY"] = {"broker_url": services.REDIS_URL}
    config.update(extra)
    return config


def _empty_tables() -> None:
    """Every table emptied, dependents first, and on PostgreSQL every sequence back at 1. DELETE rather than
    TRUNCATE: the tables hold a test's few rows, and TRUNCATE gives each table new files (over a second for all
    of them, on every test)."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))


@pytest.fixture
def app_config() -> dict[str, object]:
    """Per-test overrides of the configuration; a test or module may override this fixture."""
    return {}


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test's application context.

    Flask reuses an already-pushed app context for a request, so `g` (Flask-WTF's CSRF token cache,
    Flask-Login's user) would leak from one request into the next. Each request here runs in an empty
    context, like a real request in a server; afterwards the test's session forgets what it had loaded.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        response.get_data()  # buffer the body and release files a streamed response holds open
        response.close()
        if has_app_context():  # not inside a redirect that the client follows
            db.session.expire_all()
        return response


@pytest.fixture
def app(database_url: str, app_config: dict[str, object]) -> Iterator[Flask]:
    app = create_app(_test_config(database_url, **app_config))
    app.test_client_class = IsolatedClient
    with app.app_context():
        limiter.reset()  # the limiter is process-wide: start every test with no attempts counted
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def post_form(client: FlaskClient, path: str, data: dict[str, object] | None = None, **kwargs):
    """POST a form with the session's CSRF token, as a browser submitting the page would."""
    payload = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(path, data=payload, **kwargs)


def outbox(app: Flask) -> list:
    """Mail sent through the locmem backend (the list exists once the backend has sent something)."""
    return getattr(app.extensions["mailman"], "outbox", [])


def live_config(tmp_path, content_root, **extra: object) -> dict[str, object]:
    """The configuration of an app a real browser visits: its own SQLite file, content and keys, no rate limits."""
    return {
        "ENV_NAME": "test",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
        "RATELIMIT_ENABLED": False,
        "CONTENT_ROOT": str(content_root),
        "CERT_KEYS_DIR": str(tmp_path / "keys"),
        **extra,
    }


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread, for a real browser; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        return post_form(self._client, "/auth/login", {"email": email, "password": password})

    def logout(self):
        return post_form(self._client, "/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
