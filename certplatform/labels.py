"""Translated names of the enums users see."""

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
