"""Where rate limits are counted: one store that every web process shares.

With Redis configured the limits count there. Without it (the embedded default of `scripts/run`: SQLite, two
gunicorn workers) they count in the application's own database, through `DatabaseStorage`, a storage backend for
the `limits` library: one row per counter, incremented by a single atomic upsert (INSERT ... ON CONFLICT DO UPDATE
... RETURNING) on SQLite and PostgreSQL alike, so concurrent processes never lose or double a hit. Memory storage
is used only for an in-memory SQLite database, which no second process could share anyway.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import sqlalchemy as sa
from flask import Flask
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite

from certplatform.models import RateLimitCounter

DATABASE_URI = "database://"  # RATELIMIT_STORAGE_URI meaning "the application's database"
SCHEME = "database+"  # the storage URI is this prefix and the database URL, e.g. database+sqlite:////srv/app.db
_table = RateLimitCounter.__table__
_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


def _engine(url: str) -> sa.Engine:
    """One engine per database and process, however many apps (tests make many) point at it."""
    with _engines_lock:
        if url not in _engines:
            # A writer waits for SQLite's lock instead of failing at once.
            args = {"timeout": 30} if url.startswith("sqlite") else {}
            _engines[url] = sa.create_engine(url, pool_pre_ping=True, connect_args=args)
        return _engines[url]


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limit_counters` table (the strategy Flask-Limiter uses by default)."""

    # `limits` picks a storage by the URI's exact scheme: one per database driver the platform supports.
    STORAGE_SCHEME = [f"{SCHEME}{driver}" for driver in ("sqlite", "postgresql", "postgresql+psycopg")]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        if not uri.startswith(SCHEME):
            raise ValueError(f"a database storage URI starts with {SCHEME!r}: {uri!r}")
        self.engine = _engine(uri[len(SCHEME) :])
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self._insert = insert
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        fresh = _table.c.expires_at <= now  # the stored window has passed: start a new one
        stmt = self._insert(_table).values(key=key, count=amount, expires_at=now + expiry)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "count": sa.case((fresh, amount), else_=_table.c.count + amount),
                "expires_at": sa.case((fresh, now + expiry), else_=_table.c.expires_at),
            },
        ).returning(_table.c.count)
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).scalar_one())

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(_table.c.count).where(_table.c.key == key, _table.c.expires_at > time.time())
            ).scalar()
        return int(value or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(_table.c.expires_at).where(_table.c.key == key)).scalar()
        return float(value) if value is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(_table.delete()).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_table.delete().where(_table.c.key == key))


def purge(connection: sa.Connection, now: float | None = None) -> int:
    """Delete counters whose window has passed (the periodic sweep keeps the table small)."""
    return connection.execute(_table.delete().where(_table.c.expires_at <= (now or time.time()))).rowcount


def configure(app: Flask) -> None:
    """Point Flask-Limiter at the shared store; call after the configuration is final, before `limiter.init_app`."""
    if app.config.get("RATELIMIT_STORAGE_URI") != DATABASE_URI:
        return
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            app.config["RATELIMIT_STORAGE_URI"] = "memory://"  # a private database: nothing to share with
            return
        if not os.path.isabs(url.database):  # relative paths live in the instance folder, as Flask-SQLAlchemy does
            url = url.set(database=os.path.join(app.instance_path, url.database))
    app.config["RATELIMIT_STORAGE_URI"] = SCHEME + url.render_as_string(hide_password=False)
