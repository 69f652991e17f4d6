"""Readiness checks behind GET /healthz."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from certplatform.extensions import db


@dataclass(frozen=True)
class HealthReport:
    db: str
    broker: str
    sandbox: str

    @property
    def ok(self) -> bool:
        return self.db == "ok" and self.broker == "ok" and self.sandbox in {"ok", "not_configured"}

    def as_dict(self) -> dict[str, str]:
        failing = [name for name in ("db", "broker", "sandbox") if getattr(self, name) not in {"ok", "not_configured"}]
        status = "ok" if self.ok else "failing: " + ", ".join(failing)
        return {"status": status, "db": self.db, "broker": self.broker, "sandbox": self.sandbox}


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


def _sandbox() -> str:
    # The grading sandbox registers its own check when it is configured.
    check = current_app.extensions.get("sandbox_health")
    return check() if check else "not_configured"


def check() -> HealthReport:
    return HealthReport(db=_database(), broker=_broker(), sandbox=_sandbox())
