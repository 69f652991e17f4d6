"""What workers report about themselves, so the web app can tell whether grading works without a Docker socket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from certplatform.extensions import db
from certplatform.models.types import UTCDateTime, utcnow


class WorkerHeartbeat(db.Model):
    __tablename__ = "worker_heartbeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(sa.String(200), unique=True)
    backend: Mapped[str] = mapped_column(sa.String(20))
    sandbox_status: Mapped[str] = mapped_column(sa.String(200))  # "ok" or "error: ..."
    # The worker's warm sandbox pool per runtime: {"triton-cpu": {"ready", "starting", "target", ...}}; None: no pool.
    sandbox_pool: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class RateLimitCounter(db.Model):
    """One fixed-window rate-limit counter, shared by every web process (see certplatform.rate_limits)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(sa.Float(precision=53))  # seconds since the epoch, as `limits` counts
