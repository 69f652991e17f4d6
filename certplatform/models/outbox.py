"""Messages for the task queue, written in the transaction that needs them and sent once it has committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from certplatform.extensions import db
from certplatform.models.types import UTCDateTime, utcnow


class OutboxMessage(db.Model):
    """One Celery task call waiting to reach the broker; the row is deleted once the broker accepted it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(sa.String(100))  # the Celery task's registered name
    args: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # apply_async options (time limits)
    # What the message is about, e.g. "submission:42", so a caller can tell whether one is already waiting.
    ref: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When a sender may take it next: now for a new or failed message, later while one sender holds it.
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    tries: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
