"""Universities and member companies, and who belongs to them."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.types import UTCDateTime, enum_type, utcnow
from certplatform.models.user import User


class OrganizationKind(enum.StrEnum):
    UNIVERSITY = "university"
    COMPANY = "company"


class CompanyTier(enum.StrEnum):
    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        # A company always has a membership tier; a university never has one.
        sa.CheckConstraint(
            "(kind = 'company' AND tier IS NOT NULL) OR (kind = 'university' AND tier IS NULL)",
            name="tier_matches_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(enum_type(OrganizationKind, "organization_kind"))
    tier: Mapped[CompanyTier | None] = mapped_column(enum_type(CompanyTier, "company_tier"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[OrganizationMembership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"


class OrganizationMembership(db.Model):
    __tablename__ = "organization_memberships"
    __table_args__ = (sa.UniqueConstraint("organization_id", "user_id", name="uq_membership_org_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Whether the member holds the organization's managing role here (university administrator of this
    # university, company member acting for this company); the platform role alone manages nothing.
    manages: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    organization: Mapped[Organization] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")
