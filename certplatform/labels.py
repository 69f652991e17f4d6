"""Translated names of the enums users see.

They are lazy strings, registered as template globals, so every template sees them, macros imported without
context included, and each renders in the reader's language.
"""

from flask_babel import lazy_gettext as _l

from certplatform.models import CompanyTier, OrganizationKind, Role

ROLE_LABELS = {
    Role.STUDENT: _l("Student"),
    Role.MENTOR: _l("Mentor"),
    Role.UNIVERSITY_ADMIN: _l("University administrator"),
    Role.COMPANY_MEMBER: _l("Company member"),
    Role.ADMIN: _l("Platform administrator"),
}
KIND_LABELS = {OrganizationKind.UNIVERSITY: _l("University"), OrganizationKind.COMPANY: _l("Member company")}
TIER_LABELS = {
    CompanyTier.PLATINUM: _l("Platinum"),
    CompanyTier.GOLD: _l("Gold"),
    CompanyTier.SILVER: _l("Silver"),
}

DECISION_LABELS = {
    "approve": _l("approved"),
    "request_changes": _l("changes requested"),
    "reject": _l("rejected"),
}
REVIEW_STATE_LABELS = {
    "claimed": _l("in progress"),
    "decided": _l("decided"),
    "released": _l("returned to the queue"),
}
# Submission and attempt states, as the candidate and the mentor read them.
STATUS_LABELS = {
    "queued": _l("queued"),
    "running": _l("grading…"),
    "passed": _l("passed"),
    "failed": _l("failed"),
    "rejected": _l("rejected"),
    "timeout": _l("time limit"),
    "error": _l("error"),
    "not_gradable": _l("not gradable (not counted)"),
    "superseded": _l("replaced by a newer submission"),
    "in_progress": _l("in progress"),
    "grading": _l("being graded"),
    "awaiting_review": _l("passed: awaiting mentor review"),
    "approved": _l("approved: certificate issued"),
    "void": _l("void (not counted)"),
}
