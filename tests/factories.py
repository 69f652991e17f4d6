"""Factories for test data, in the style of CTFd's gen_* helpers."""

from __future__ import annotations

import itertools

from certplatform.authz import MANAGING_ROLE
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
from certplatform.services.accounts import hash_password

PASSWORD = "Correct-Horse-42"
_seq = itertools.count(1)
# Hashing with the library default costs ~50 ms; tests make many users, so hash once.
_HASH_CACHE: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


def make_user(
    *roles: Role,
    email: str | None = None,
    password: str = PASSWORD,
    name: str | None = None,
    name_zh: str | None = None,
    active: bool = True,
) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.com",
        name_latin=name or f"Test User {n}",
        name_zh=name_zh,
        password_hash=_hash(password),
        active=active,
    )
    for role in roles or (Role.STUDENT,):
        user.roles.append(UserRole(role=role))
    db.session.add(user)
    db.session.commit()
    return user


def make_org(
    kind: OrganizationKind = OrganizationKind.UNIVERSITY,
    tier: CompanyTier | None = None,
    members: tuple[User, ...] = (),
    name: str | None = None,
    managers: tuple[User, ...] | None = None,
) -> Organization:
    """An organization with `members`; `managers` (default: the members holding the kind's managing role) manage it."""
    n = next(_seq)
    if kind == OrganizationKind.COMPANY and tier is None:
        tier = CompanyTier.GOLD
    org = Organization(name=name or f"Org {n}", slug=f"org-{n}", kind=kind, tier=tier)
    db.session.add(org)
    if managers is None:
        managers = tuple(u for u in members if u.has_role(MANAGING_ROLE[kind]))
    for user in members:
        db.session.add(OrganizationMembership(organization=org, user=user, manages=user in managers))
    db.session.commit()
    return org
