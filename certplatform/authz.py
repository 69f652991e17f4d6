"""Who may open which route.

Every view declares its access with one of these decorators, so a test can walk the URL map and check
each route against each role: `public`, `login_required`, `role_required(*roles)`. Organization-scoped
pages look their organization up with `organization_for_member`, which answers 404 to outsiders so that
guessing a URL reveals nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from certplatform.extensions import db, login_manager
from certplatform.models import Organization, OrganizationKind, OrganizationMembership, Role

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    """The declared policy of a view: public, any signed-in user, or any of `roles`."""

    kind: str  # "public" | "login" | "roles"
    roles: frozenset[Role] = frozenset()

    def allows(self, roles: frozenset[Role] | None) -> bool:
        """Whether a visitor holding `roles` (None: anonymous) passes this policy."""
        if self.kind == "public":
            return True
        if roles is None:
            return False
        return self.kind == "login" or bool(self.roles & roles)


def _mark(view: F, access: Access) -> F:
    view.access = access  # type: ignore[attr-defined]
    return view


def public(view: F) -> F:
    return _mark(view, Access("public"))


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return _mark(wrapped, Access("login"))  # type: ignore[return-value]


def role_required(*roles: Role) -> Callable[[F], F]:
    """Allow users holding any of `roles`; anonymous visitors go to the login page, others get 403."""
    if not roles:
        raise ValueError("role_required needs at least one role")
    needed = frozenset(roles)

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not (current_user.role_set & needed):
                abort(403)
            return view(*args, **kwargs)

        return _mark(wrapped, Access("roles", needed))  # type: ignore[return-value]

    return decorator


def access_of(view: Callable[..., Any]) -> Access | None:
    return getattr(view, "access", None)


def is_member(user: Any, organization_id: int) -> bool:
    if not user.is_authenticated:
        return False
    return (
        db.session.scalar(
            sa.select(OrganizationMembership.id).where(
                OrganizationMembership.organization_id == organization_id,
                OrganizationMembership.user_id == user.id,
            )
        )
        is not None
    )


def organization_for_member(slug: str) -> Organization:
    """The organization `slug` if the current user belongs to it (or is an admin); 404 otherwise."""
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if org is None:
        abort(404)
    if current_user.has_role(Role.ADMIN) or is_member(current_user, org.id):
        return org
    abort(404)


# The role that manages an organization of each kind (besides platform admins, who manage every organization).
MANAGING_ROLE = {OrganizationKind.UNIVERSITY: Role.UNIVERSITY_ADMIN, OrganizationKind.COMPANY: Role.COMPANY_MEMBER}


def managed_ids(user: Any) -> sa.Select[tuple[int]]:
    """The ids of the organizations where `user` holds the managing role (a subquery; admins are not special here)."""
    return sa.select(OrganizationMembership.organization_id).where(
        OrganizationMembership.user_id == user.id, OrganizationMembership.manages.is_(True)
    )


def can_manage(user: Any, org: Organization) -> bool:
    """Whether `user` may manage `org`: admins always; otherwise the kind's managing role, held in `org` itself
    (a university administrator who is a plain member of another university manages only their own)."""
    if user.has_role(Role.ADMIN):
        return True
    if not user.has_role(MANAGING_ROLE[org.kind]):
        return False
    return db.session.scalar(managed_ids(user).where(OrganizationMembership.organization_id == org.id)) is not None


def managed_organizations(user: Any, kind: OrganizationKind) -> list[Organization]:
    """Organizations of `kind` that `user` manages: every one for admins, those where they hold the managing role."""
    stmt = sa.select(Organization).where(Organization.kind == kind).order_by(Organization.name)
    if user.has_role(Role.ADMIN):
        return list(db.session.scalars(stmt))
    if not user.has_role(MANAGING_ROLE[kind]):
        return []
    return list(db.session.scalars(stmt.where(Organization.id.in_(managed_ids(user)))))


def member_organizations_query(user: Any) -> sa.Select[tuple[Organization]]:
    """Organizations visible to `user` as a member: the base of every organization-scoped listing."""
    return (
        sa.select(Organization)
        .join(OrganizationMembership)
        .where(OrganizationMembership.user_id == user.id)
        .order_by(Organization.name)
    )
