"""University cohorts: who may manage or view them, creating them, their members (class lists: class_lists.py)."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from certplatform import authz
from certplatform.extensions import db
from certplatform.models import (
    CertLevel,
    Cohort,
    CohortMember,
    CohortUpload,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from certplatform.services import audit
from certplatform.services.accounts import AccountError, normalise_email


class CohortError(ValueError):
    """A cohort request that cannot be honoured; the message is safe to show. `field` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- who may do what -----------------------------------------------------------------------------------


def managed_organizations(user: User) -> list[Organization]:
    """The universities whose cohorts `user` manages."""
    return authz.managed_organizations(user, OrganizationKind.UNIVERSITY)


def managed_cohorts(user: User) -> list[tuple[Cohort, int]]:
    """Cohorts of the organizations `user` manages, newest first, each with its number of students."""
    counts = (
        sa.select(CohortMember.cohort_id, sa.func.count(CohortMember.id).label("n"))
        .group_by(CohortMember.cohort_id)
        .subquery()
    )
    stmt = (
        sa.select(Cohort, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.cohort_id == Cohort.id)
        .order_by(Cohort.starts_on.desc(), Cohort.id.desc())
    )
    if not user.has_role(Role.ADMIN):
        if not user.has_role(Role.UNIVERSITY_ADMIN):
            return []
        stmt = stmt.where(Cohort.organization_id.in_(authz.managed_ids(user)))
    return [(c, n) for c, n in db.session.execute(stmt)]


def taught_cohorts(user: User) -> list[Cohort]:
    return list(
        db.session.scalars(
            sa.select(Cohort)
            .where(Cohort.instructors.any(User.id == user.id))
            .order_by(Cohort.starts_on.desc(), Cohort.id.desc())
        )
    )


def memberships_of(user: User) -> list[CohortMember]:
    """The cohorts `user` is enrolled in, as their memberships."""
    return list(
        db.session.scalars(
            sa.select(CohortMember)
            .join(Cohort)
            .where(CohortMember.user_id == user.id)
            .order_by(Cohort.starts_on.desc(), Cohort.id.desc())
        )
    )


def membership(user: User, cohort_id: int) -> CohortMember | None:
    return db.session.scalar(
        sa.select(CohortMember).where(CohortMember.cohort_id == cohort_id, CohortMember.user_id == user.id)
    )


def uploads_of(cohort: Cohort, limit: int = 20) -> list[CohortUpload]:
    return list(
        db.session.scalars(
            sa.select(CohortUpload)
            .where(CohortUpload.cohort_id == cohort.id)
            .order_by(CohortUpload.id.desc())
            .limit(limit)
        )
    )


# --- creating cohorts and changing membership ------------------------------------------------------------


def _instructors(emails: str) -> list[User]:
    wanted: list[str] = []
    for raw in re.split(r"[\s,;]+", emails or ""):
        if not raw:
            continue
        try:
            email = normalise_email(raw)
        except AccountError as exc:
            raise CohortError(str(exc), "instructors") from exc
        if email not in wanted:
            wanted.append(email)
    if not wanted:
        return []
    found = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(wanted)))}
    unknown = [e for e in wanted if e not in found]
    if unknown:
        raise CohortError(_("No account uses these addresses: %(emails)s.", emails=", ".join(unknown)), "instructors")
    return [found[e] for e in wanted]


def create_cohort(
    actor: User,
    organization_id: int,
    name: str,
    term: str,
    levels: list[str],
    starts_on: date,
    ends_on: date,
    instructor_emails: str = "",
) -> Cohort:
    """Create a cohort in one of the organizations `actor` manages; raises CohortError."""
    if organization_id not in {o.id for o in managed_organizations(actor)}:
        raise CohortError(_("Choose one of your universities."), "organization")
    chosen = [level.value for level in CertLevel if level.value in set(levels)]
    if not chosen:
        raise CohortError(_("Choose at least one level."), "levels")
    if ends_on < starts_on:
        raise CohortError(_("The cohort cannot end before it starts."), "ends_on")
    cohort = Cohort(
        organization_id=organization_id,
        name=name.strip(),
        term=term.strip(),
        target_levels=chosen,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=actor.id,
        instructors=_instructors(instructor_emails),
    )
    db.session.add(cohort)
    db.session.flush()
    audit.record(actor, "cohort.create", "cohort", cohort.id, organization_id=organization_id, name=cohort.name)
    db.session.commit()
    return cohort


def remove_member(actor: User, cohort: Cohort, user_id: int) -> bool:
    """Take a student out of the cohort (their account and learning stay); False if they were not in it."""
    member = db.session.scalar(
        sa.select(CohortMember).where(CohortMember.cohort_id == cohort.id, CohortMember.user_id == user_id)
    )
    if member is None:
        return False
    db.session.delete(member)
    action = "cohort.leave" if actor.id == user_id else "cohort.member_remove"
    audit.record(actor, action, "cohort", cohort.id, user_id=user_id)
    db.session.commit()
    return True
