"""Who may open a cohort: its university's administrators (and platform admins) manage it, its instructors view it.

Everyone else gets 404, exactly as for a cohort that does not exist, so guessing ids reveals nothing.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from certplatform import authz
from certplatform.extensions import db
from certplatform.models import Cohort, User


def can_manage(user: User, cohort: Cohort) -> bool:
    """Platform admins, and the administrators of the cohort's own university."""
    return authz.can_manage(user, cohort.organization)


def can_view(user: User, cohort: Cohort) -> bool:
    """Managers, and the cohort's instructors (read-only)."""
    return any(i.id == user.id for i in cohort.instructors) or can_manage(user, cohort)


def cohort_to_manage(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not can_manage(current_user, cohort):
        abort(404)
    return cohort


def cohort_to_view(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not can_view(current_user, cohort):
        abort(404)
    return cohort
