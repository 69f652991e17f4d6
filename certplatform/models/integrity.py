"""Remembered similarity comparisons between two submissions of one task, keyed by what was compared."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from certplatform.extensions import db
from certplatform.models.types import UTCDateTime, utcnow


class SimilarityPair(db.Model):
    """The outcome of comparing two code texts; a page view or a report reads it instead of comparing again.

    `key` hashes the method and its parameters, the task's starter (left out as boilerplate) and both texts' SHA-256,
    so the same two texts are compared once however many submissions hold them, and a new starter or new parameters
    simply miss. Side "low" is the text whose SHA-256 sorts first.
    """

    __tablename__ = "similarity_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_tasks.id", ondelete="CASCADE"), index=True)
    low_sha256: Mapped[str] = mapped_column(sa.String(64))
    high_sha256: Mapped[str] = mapped_column(sa.String(64))
    # The share of each text's fingerprinted code found in the other one, in [0, 1].
    low_share: Mapped[float]
    high_share: Mapped[float]
    # The matching regions of each text as [start, end) character offsets.
    low_regions: Mapped[list[list[int]]] = mapped_column(sa.JSON, default=list)
    high_regions: Mapped[list[list[int]]] = mapped_column(sa.JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
