"""Member companies: API keys for verification and their history, and messages to certified holders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.organization import Organization
from certplatform.models.types import UTCDateTime, utcnow
from certplatform.models.user import User


class ApiKey(db.Model):
    """A verification key: shown once, stored as a SHA-256 of its (high-entropy) secret, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)  # shown in lists; identifies the key
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: ["verify"])
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()


class VerificationCall(db.Model):
    """One use of an API key: when, how many IDs, and what was found."""

    __tablename__ = "verification_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # {"valid": n, "revoked": n, ...}

    api_key: Mapped[ApiKey] = relationship()


class ContactMessage(db.Model):
    """A message between a company member and a certified holder; e-mail addresses are never shown."""

    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id"))
    reply_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_messages.id"))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sender: Mapped[User] = relationship(foreign_keys=[sender_id])
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id])
    organization: Mapped[Organization | None] = relationship()
