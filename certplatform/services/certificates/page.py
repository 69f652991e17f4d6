"""What the public certificate page and the badges show: skills, exam evidence, share links, the live badge.

Everything about the certificate itself comes from status.py (signed data only); the skills are what the
level's course.yaml says a certificate of that level certifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from certplatform.config import PLATFORM_NAME
from certplatform.extensions import db
from certplatform.i18n import locale_for_tag
from certplatform.models import Certificate, CertLevel, Course
from certplatform.services.certificates import issuing
from certplatform.services.certificates.status import STATUS_LABELS, Assessment, SignedFacts, find
from certplatform.urls import public_url

BADGE_CACHE = "public, max-age=300, must-revalidate"  # a revocation shows on profiles within five minutes
NOT_FOUND = "unknown"


@dataclass(frozen=True)
class Snippets:
    """Copy-paste code that shows the live badge, linked to the verify page."""

    markdown: str
    html: str


@dataclass(frozen=True)
class CertificateView:
    public_url: str
    badge_url: str  # the live status badge (SVG)
    art_url: str | None  # the level's badge picture
    skills: list[dict[str, str]]
    score_percent: str | None
    linkedin_url: str | None  # offered only while the certificate is valid
    snippets: Snippets


def skills_of(level: str) -> list[dict[str, str]]:
    """The skills the live course of `level` certifies ({"zh", "en"} each)."""
    course = db.session.scalar(
        sa.select(Course).where(Course.level == CertLevel(level), Course.deleted_at.is_(None)).limit(1)
    )
    return list(course.skills or []) if course is not None else []


def linkedin_url(cert_id: str, facts: SignedFacts) -> str:
    """LinkedIn's documented "add a certification to your profile" link, from the signed facts."""
    return "https://www.linkedin.com/profile/add?" + urlencode(
        {
            "startTask": "CERTIFICATION_NAME",
            "name": facts.title_en,
            "organizationName": PLATFORM_NAME,
            "issueYear": facts.issued_at.year,
            "issueMonth": facts.issued_at.month,
            "expirationYear": facts.expires_at.year,
            "expirationMonth": facts.expires_at.month,
            "certUrl": issuing.verify_url(cert_id),
            "certId": cert_id,
        }
    )


def percent(basis_points: int | None) -> str | None:
    return None if basis_points is None else f"{basis_points / 100:.1f}%"


def snippets(cert_id: str, level: str | None) -> Snippets:
    """Markdown (model cards, profile READMEs, Spaces) and HTML that show the live badge, linked to the verify page."""
    page = issuing.verify_url(cert_id)
    badge = public_url("verify.status_badge", cert_id=cert_id)
    alt = f"FlagOS {level} certificate {cert_id}" if level else f"FlagOS certificate {cert_id}"
    return Snippets(
        markdown=f"[![{alt}]({badge})]({page})",
        html=f'<a href="{page}"><img src="{badge}" alt="{alt}" height="20"></a>',
    )


def view_of(cert: Certificate | sa.Row, found: Assessment) -> CertificateView:
    """What the verify page shows beside the status, for a Certificate or the record status.find reads."""
    facts = found.facts
    level = facts.level if facts else None
    return CertificateView(
        public_url=issuing.verify_url(cert.id),
        badge_url=public_url("verify.status_badge", cert_id=cert.id),
        art_url=public_url("verify.level_badge", level=level) if level else None,
        skills=skills_of(level) if level else [],
        score_percent=percent(facts.score_basis_points) if facts else None,
        linkedin_url=linkedin_url(cert.id, facts) if facts and found.status == issuing.VALID else None,
        snippets=snippets(cert.id, level),
    )


def status_badge(raw_id: str, lang: str | None) -> tuple[str, int]:
    """The live badge of a certificate as it stands now (SVG) and the HTTP status to send it with."""
    from certplatform.certificates.badge_images import status_badge_svg

    located = find(raw_id)
    with force_locale(locale_for_tag(lang).value):
        if located is None:
            text = _("not found")
            return status_badge_svg("FlagOS", text, NOT_FOUND, f"FlagOS: {text}"), 404
        cert, found = located
        level = found.facts.level if found.facts else None
        label = _("FlagOS %(level)s certified", level=level) if level else "FlagOS"
        text = str(STATUS_LABELS[found.status])
        return status_badge_svg(label, text, found.status, f"{label}: {text} ({cert.id})"), 200


def baked_badge(cert: Certificate, found: Assessment) -> bytes:
    """The level's badge PNG with the certificate's stored, signed Open Badge baked in."""
    from certplatform.certificates.badge_images import bake_png, level_badge_png

    token = issuing.open_badge(cert)  # IssuingError when the record or the stored badge fails its check
    return bake_png(level_badge_png(found.facts.level), token)
