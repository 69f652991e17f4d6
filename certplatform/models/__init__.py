"""Typed SQLAlchemy models, one module per aggregate."""

from certplatform.models.audit import AppendOnlyError, AuditEvent
from certplatform.models.organization import (
    CompanyTier,
    Organization,
    OrganizationKind,
    OrganizationMembership,
)
from certplatform.models.user import Locale, Role, User, UserRole

__all__ = [
    "AppendOnlyError",
    "AuditEvent",
    "CompanyTier",
    "Locale",
    "Organization",
    "OrganizationKind",
    "OrganizationMembership",
    "Role",
    "User",
    "UserRole",
]
