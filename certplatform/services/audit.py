"""Writing audit events: every security-relevant change calls `record`."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from certplatform.extensions import db
from certplatform.models import AuditEvent, User


def record(actor: User | None, action: str, target_type: str, target_id: object = None, **details: Any) -> AuditEvent:
    """Add an audit event to the current transaction; the caller commits it with the change it describes."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
