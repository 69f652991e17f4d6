"""The sweeper every worker runs in a thread of its own, so that no single worker (nor celery beat) is needed.

Every GRADING_SWEEP_INTERVAL_S each worker tries to take a short Redis lock; the one that holds it takes back
gradings whose lease expired (services/leases.py) and, when the broker's Redis restarted empty, sends every queued
submission's message again. The rest of the periodic sweep (outbox, expired attempts, sessions, rate-limit
windows) runs once per GRADING_PERIODIC_SWEEP_S for all workers together. Every worker reports its own sandbox
each period. Without Redis (the development setup's file broker, one host) the rounds run without a lock: every
step is safe to run twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import sqlalchemy as sa
from flask import Flask

log = logging.getLogger(__name__)

PREFIX = "certplatform:sweeper:"
EPOCH_KEY = PREFIX + "broker-epoch"  # absent: the broker's Redis has forgotten what it held
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def store_for(app: Flask) -> redis.Redis | None:
    """The broker's Redis (its restarts lose messages, so the epoch key must live there), else REDIS_URL."""
    broker = str(app.extensions["celery"].conf.broker_url or "")
    url = broker if broker.startswith(("redis://", "rediss://")) else app.config.get("REDIS_URL")
    if not url:
        return None
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@contextmanager
def turn(store: redis.Redis | None, name: str, ttl_s: float) -> Iterator[bool]:
    """Hold the sweeper's lock `name` for at most `ttl_s` (True when this worker has it)."""
    if store is None:
        yield True
        return
    token = uuid.uuid4().hex
    held = bool(store.set(PREFIX + name, token, nx=True, px=max(1, int(ttl_s * 1000))))
    try:
        yield held
    finally:
        if held:
            store.eval(_RELEASE, 1, PREFIX + name, token)


def once_per(store: redis.Redis | None, name: str, period_s: float) -> bool:
    """True for the first worker to ask in each period (the key is left to expire, never released)."""
    return store is None or bool(store.set(PREFIX + name, "1", nx=True, px=max(1, int(period_s * 1000))))


def broker_restarted(store: redis.Redis | None) -> bool:
    """True once after the broker's Redis lost its data (and at the very first sweep, which is harmless)."""
    return store is not None and bool(store.set(EPOCH_KEY, uuid.uuid4().hex, nx=True))


def lease_round(app: Flask, store: redis.Redis | None) -> None:
    from certplatform.services import grading

    interval = app.config["GRADING_SWEEP_INTERVAL_S"]
    # Long enough for a round; short, so that a worker killed while holding it delays the others little.
    with turn(store, "leases", ttl_s=max(10.0, 5 * interval)) as mine:
        if not mine:
            return
        if broker_restarted(store):
            resent = grading.redrive_queued()
            if resent:
                log.warning("the broker restarted empty: sent %d queued gradings again", len(resent))
        report = grading.expire_leases()
        if report.requeued or report.abandoned:
            log.warning("expired leases: re-queued %s, given up %s", report.requeued, report.abandoned)


def periodic() -> dict[str, object]:
    """The minute's sweep: re-queue what a dead worker left, close expired attempts, send what the outbox holds,
    forget long-ended sessions and rate-limit windows that have passed."""
    from certplatform import rate_limits
    from certplatform.extensions import db
    from certplatform.services import grading, outbox, sessions

    report = grading.sweep()
    sessions.purge()
    with db.engine.begin() as connection:
        rate_limits.purge(connection)
    return {
        "requeued": list(report.requeued),
        "abandoned": list(report.abandoned),
        "closed": report.closed_attempts,
        "sent": outbox.drain(),
    }


def sweep_once(app: Flask, store: redis.Redis | None, hostname: str, last_report: float) -> float:
    """One round of this worker's sweeper; returns when it last reported its sandbox."""
    from certplatform.extensions import db
    from certplatform.services import grading

    period = app.config["GRADING_PERIODIC_SWEEP_S"]
    with app.app_context():
        try:
            lease_round(app, store)
            if time.monotonic() - last_report >= period:
                grading.record_heartbeat(hostname)
                last_report = time.monotonic()
            if once_per(store, "periodic", period):
                periodic()
        except (redis.RedisError, sa.exc.SQLAlchemyError, OSError) as exc:  # the next round tries again
            log.warning("sweep skipped: %s", exc)
            db.session.rollback()
        finally:
            db.session.remove()
    return last_report


class Sweeper(threading.Thread):
    """A worker's sweeping thread; stop() ends it between rounds."""

    def __init__(self, app: Flask, hostname: str) -> None:
        super().__init__(name="certplatform-sweeper", daemon=True)
        self.app, self.hostname = app, hostname
        self.stopped = threading.Event()

    def run(self) -> None:
        store = store_for(self.app)
        last_report = time.monotonic()  # the worker reported once at start
        while not self.stopped.wait(self.app.config["GRADING_SWEEP_INTERVAL_S"]):
            try:
                last_report = sweep_once(self.app, store, self.hostname, last_report)
            except Exception:  # a sweeper that dies silently is worse than a logged error
                log.exception("sweep failed")

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)
