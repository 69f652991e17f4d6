"""Readiness checks behind GET /healthz."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from certplatform.extensions import db
from certplatform.models import WorkerHeartbeat
from certplatform.models.types import utcnow
from certplatform.sandbox import build_status
from certplatform.sandbox.build_status import BuildStatus


@dataclass(frozen=True)
class HealthReport:
    db: str
    broker: str
    sandbox: str
    sandbox_build: dict[str, Any] | None = None  # the last image build: state, phase, percent (None: none here)
    # Warm containers per grading worker that has a pool: {worker: {runtime: {"warm", "importing", ...}}}.
    sandbox_pool: dict[str, Any] | None = None

    @property
    def failing(self) -> list[str]:
        """The parts reporting an error (a sandbox no worker has reported on yet is not one)."""
        return [name for name in ("db", "broker", "sandbox") if getattr(self, name).startswith("error")]

    @property
    def ok(self) -> bool:
        return not self.failing

    def as_dict(self) -> dict[str, Any]:
        status = "ok" if self.ok else "failing: " + ", ".join(self.failing)
        return {
            "status": status,
            "db": self.db,
            "broker": self.broker,
            "sandbox": self.sandbox,
            "sandbox_build": self.sandbox_build,
            "sandbox_pool": self.sandbox_pool,
        }


def _database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as exc:  # report, never raise: the point is to say what is down
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _broker() -> str:
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _sandbox(build: BuildStatus | None) -> str:
    """The sandbox as the grading workers last saw it (the web app itself has no Docker socket), corrected by the
    image build: one under way is `preparing`, and a missing image that a build made since the report is there."""
    if build is not None and build.building:
        return f"preparing: {build.percent}% ({build.phase})"
    try:
        beat = db.session.scalar(sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.checked_at.desc()).limit(1))
    except Exception as exc:
        db.session.rollback()
        return f"error: {type(exc).__name__}"
    if beat is None:
        return "unknown: no grading worker has reported yet"
    age = (utcnow() - beat.checked_at).total_seconds()
    if age > current_app.config["HEARTBEAT_STALE_S"]:
        return f"error: no grading worker has reported for {int(age)} s"
    if (
        build is not None
        and build.state == "ready"
        and beat.sandbox_status == build_status.image_missing(build.tag)
        and build.finished_after(beat.checked_at)
    ):
        return "ok"
    return beat.sandbox_status


def _pool() -> dict[str, Any] | None:
    """The warm-container pools of the workers that reported recently (None when no worker keeps one)."""
    since = utcnow() - timedelta(seconds=current_app.config["HEARTBEAT_STALE_S"])
    try:
        beats = db.session.scalars(sa.select(WorkerHeartbeat).where(WorkerHeartbeat.checked_at >= since)).all()
    except Exception:  # the database part reports the failure
        db.session.rollback()
        return None
    pools = {beat.worker: beat.sandbox_pool for beat in beats if beat.sandbox_pool}
    return pools or None


def check() -> HealthReport:
    from certplatform.services import sandbox_build

    build = sandbox_build.current()
    return HealthReport(
        db=_database(),
        broker=_broker(),
        sandbox=_sandbox(build),  # an image being built is not a failure: submissions wait for it
        sandbox_build=build.as_json() if build is not None else None,
        sandbox_pool=_pool(),
    )
