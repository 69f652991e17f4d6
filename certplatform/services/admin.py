"""Administration: roles, account status, organizations and their members. Every change is audited."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from certplatform.extensions import db
from certplatform.models import (
    CompanyTier,
    Organization,
    OrganizationKind,
    OrganizationMembership,
    Role,
    User,
    UserRole,
)
from certplatform.services import audit
from certplatform.services.accounts import AccountError, find_by_email

PAGE_SIZE = 50


class AdminError(ValueError):
    """An administrative change that cannot be made; the message is safe to show."""


def search_users(query: str = "", role: Role | None = None, page: int = 1):
    stmt = sa.select(User).order_by(User.created_at.desc(), User.id.desc())
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(User.email).like(like),
                sa.func.lower(User.name_latin).like(like),
                User.name_zh.like(f"%{query.strip()}%"),
            )
        )
    if role is not None:
        stmt = stmt.where(User.roles.any(UserRole.role == role))
    return db.paginate(stmt, page=page, per_page=PAGE_SIZE, error_out=False)


def grant_role(actor: User, user: User, role: Role) -> None:
    if role in user.role_set:
        raise AdminError(_("%(user)s already holds the role %(role)s.", user=user.email, role=role.value))
    user.roles.append(UserRole(role=role))
    audit.record(actor, "role.grant", "user", user.id, role=role.value)
    db.session.commit()


def revoke_role(actor: User, user: User, role: Role) -> None:
    held = [r for r in user.roles if r.role == role]
    if not held:
        raise AdminError(_("%(user)s does not hold the role %(role)s.", user=user.email, role=role.value))
    if role == Role.ADMIN and user.id == actor.id:
        raise AdminError(_("You cannot remove your own administrator role."))
    if role == Role.ADMIN and _admin_count() <= 1:
        raise AdminError(_("The platform must keep at least one administrator."))
    user.roles.remove(held[0])
    audit.record(actor, "role.revoke", "user", user.id, role=role.value)
    db.session.commit()


def set_active(actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise AdminError(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    user.active = active
    audit.record(actor, "user.activate" if active else "user.deactivate", "user", user.id)
    db.session.commit()


def _admin_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(UserRole)
        .join(User)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True))
    )


_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


def create_organization(
    actor: User, name: str, slug: str, kind: OrganizationKind, tier: CompanyTier | None
) -> Organization:
    name, slug = name.strip(), slug.strip().lower()
    if not _SLUG_RE.match(slug):
        raise AdminError(_("The short name may use lower-case letters, digits and hyphens only."))
    if kind == OrganizationKind.COMPANY and tier is None:
        raise AdminError(_("A member company needs a membership tier."))
    if kind == OrganizationKind.UNIVERSITY:
        tier = None
    clash = db.session.scalar(
        sa.select(Organization.id).where(sa.or_(Organization.name == name, Organization.slug == slug))
    )
    if clash is not None:
        raise AdminError(_("An organization with this name or short name already exists."))
    org = Organization(name=name, slug=slug, kind=kind, tier=tier)
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "organization.create", "organization", org.id, slug=slug, kind=kind.value)
    db.session.commit()
    return org


def add_member(actor: User, org: Organization, email: str, manages: bool = False) -> OrganizationMembership:
    try:
        user = find_by_email(email)
    except AccountError:
        user = None
    if user is None:
        raise AdminError(_("No account uses the email %(email)s.", email=email))
    if any(m.organization_id == org.id for m in user.memberships):
        raise AdminError(_("%(user)s is already a member of %(org)s.", user=user.email, org=org.name))
    membership = OrganizationMembership(organization=org, user=user, manages=manages)
    db.session.add(membership)
    audit.record(actor, "organization.member_add", "organization", org.id, user_id=user.id, manages=manages)
    db.session.commit()
    return membership


def set_manages(actor: User, org: Organization, user: User, manages: bool) -> None:
    """Give a member the organization's managing role here, or take it away (the platform role is separate)."""
    membership = db.session.scalar(
        sa.select(OrganizationMembership).where(
            OrganizationMembership.organization_id == org.id, OrganizationMembership.user_id == user.id
        )
    )
    if membership is None:
        raise AdminError(_("%(user)s is not a member of %(org)s.", user=user.email, org=org.name))
    membership.manages = manages
    audit.record(actor, "organization.member_manages", "organization", org.id, user_id=user.id, manages=manages)
    db.session.commit()


def remove_member(actor: User, org: Organization, user: User) -> None:
    membership = db.session.scalar(
        sa.select(OrganizationMembership).where(
            OrganizationMembership.organization_id == org.id, OrganizationMembership.user_id == user.id
        )
    )
    if membership is None:
        raise AdminError(_("%(user)s is not a member of %(org)s.", user=user.email, org=org.name))
    db.session.delete(membership)
    audit.record(actor, "organization.member_remove", "organization", org.id, user_id=user.id)
    db.session.commit()
