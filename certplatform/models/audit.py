"""The append-only record of security-relevant changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.types import UTCDateTime, utcnow
from certplatform.models.user import User


class AuditEvent(db.Model):
    """Who did what to which target, and when. Rows are never updated or deleted.

    The ORM refuses updates and deletes here; the migration adds database triggers that refuse them too,
    so raw SQL cannot rewrite history either.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))

    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_audit_events_target", "target_type", "target_id"),)


class AppendOnlyError(RuntimeError):
    """An attempt to change or remove an audit event."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AppendOnlyError("audit events are append-only")
