"""Demo data for trying the platform: one account per role, a university and a member company."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    Certificate,
    CertLevel,
    CompanyTier,
    Course,
    Exam,
    ExamAttempt,
    Organization,
    OrganizationKind,
    OrganizationMembership,
    Role,
    User,
    UserRole,
)
from certplatform.models.types import utcnow
from certplatform.services import accounts, learning

DEMO_DOMAIN = "demo.flagos.example"
DEMO_ACCOUNTS: list[tuple[Role, str, str, str | None]] = [
    (Role.STUDENT, "student", "Li Wei", "李伟"),
    (Role.MENTOR, "mentor", "Chen Jing", "陈静"),
    (Role.UNIVERSITY_ADMIN, "university", "Wang Fang", "王芳"),
    (Role.COMPANY_MEMBER, "company", "Alex Morgan", None),
    (Role.ADMIN, "admin", "Zhang Min", "张敏"),
]
DEMO_ORGS = [
    ("Demo University", "demo-university", OrganizationKind.UNIVERSITY, None),
    ("Demo Chip Co.", "demo-chip", OrganizationKind.COMPANY, CompanyTier.GOLD),
]


def _organization(name: str, slug: str, kind: OrganizationKind, tier: CompanyTier | None) -> Organization:
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == slug))
    if org is None:
        org = Organization(name=name, slug=slug, kind=kind, tier=tier)
        db.session.add(org)
        db.session.flush()
    return org


def load_demo_data(password: str) -> dict[str, Any]:
    """Create or refresh the demo accounts (password reset to `password`) and return them by role."""
    orgs = {slug: _organization(name, slug, kind, tier) for name, slug, kind, tier in DEMO_ORGS}
    result: dict[str, Any] = {"accounts": {}, "organizations": sorted(orgs)}
    for role, local, name, name_zh in DEMO_ACCOUNTS:
        email = f"{local}@{DEMO_DOMAIN}"
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name_latin=name, name_zh=name_zh, password_hash="")
            db.session.add(user)
        user.password_hash = accounts.hash_password(password)
        user.active = True
        for needed in {Role.STUDENT, role}:
            if needed not in user.role_set:
                user.roles.append(UserRole(role=needed))
        db.session.flush()
        org_slug = {
            Role.UNIVERSITY_ADMIN: "demo-university",
            Role.STUDENT: "demo-university",
            Role.COMPANY_MEMBER: "demo-chip",
        }.get(role)
        if org_slug and not any(m.organization_id == orgs[org_slug].id for m in user.memberships):
            # The demo university administrator and company member manage their organizations; the student is a member.
            manages = role in {Role.UNIVERSITY_ADMIN, Role.COMPANY_MEMBER}
            db.session.add(OrganizationMembership(organization=orgs[org_slug], user=user, manages=manages))
        result["accounts"][role.value] = {"email": email, "password": password}
    db.session.commit()
    # With courses synced, the demo student is enrolled in L1 and has read its first lesson.
    student = db.session.scalar(sa.select(User).where(User.email == f"student@{DEMO_DOMAIN}"))
    l1 = db.session.scalar(sa.select(Course).where(Course.level == CertLevel.L1, Course.deleted_at.is_(None)))
    if student is not None and l1 is not None:
        learning.enroll(student, l1)
        first = next((x for m in learning.live_modules(l1) for x in learning.live_lessons(m)), None)
        if first is not None:
            learning.record_view(student, first)
        result["enrolled"] = {"student": l1.slug}
    result["certificates"] = demo_certificates(password)
    return result


DEMO_HOLDERS = [
    ("valid", "holder.valid", "Zhou Yang", "周阳", 0),
    ("revoked", "holder.revoked", "Sun Li", "孙丽", 0),
    ("expired", "holder.expired", "Maria Rossi", None, 800),  # issued 800 days ago: past its 730 days
]


def demo_certificates(password: str) -> dict[str, Any] | None:
    """One valid, one revoked and one expired L1 certificate, with signing keys created if missing."""
    from certplatform.services import certificates

    exam = db.session.scalar(sa.select(Exam).where(Exam.level == CertLevel.L1, Exam.deleted_at.is_(None)))
    if exam is None:
        return None  # content not synced yet: `certplatform content sync` first
    store = certificates.issuing.keystore()
    if not store.exists():
        store.init()
    admin = db.session.scalar(sa.select(User).where(User.email == f"admin@{DEMO_DOMAIN}"))
    found: dict[str, Any] = {}
    for kind, local, name, name_zh, age_days in DEMO_HOLDERS:
        email = f"{local}@{DEMO_DOMAIN}"
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name_latin=name, name_zh=name_zh, password_hash=accounts.hash_password(password))
            user.roles.append(UserRole(role=Role.STUDENT))
            db.session.add(user)
            db.session.flush()
        cert = db.session.scalar(sa.select(Certificate).where(Certificate.user_id == user.id))
        if cert is None:
            issued = utcnow() - timedelta(days=age_days)
            attempt = ExamAttempt(
                user_id=user.id,
                exam_id=exam.id,
                status=AttemptStatus.APPROVED,
                started_at=issued,
                deadline_at=issued,
                finished_at=issued,
                score=0.92,
                content_version=exam.content_version,
            )
            db.session.add(attempt)
            db.session.flush()
            cert = certificates.issuing.issue(attempt, issued_at=issued)
            db.session.commit()
            if kind == "revoked":
                certificates.revocation.revoke(admin, cert, "Demo: revoked after a plagiarism report")
        found[kind] = cert.id
    db.session.commit()
    valid = db.session.get(Certificate, found["valid"])
    pdf_path = Path(current_app.instance_path) / "demo-certificate-valid.pdf"
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    pdf_path.write_bytes(valid.pdf)
    found["valid_pdf"] = str(pdf_path)
    return found
