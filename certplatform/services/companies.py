"""Member companies: verification API keys (shown once, stored hashed), bulk verification, and its history."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certplatform.authz import managed_organizations
from certplatform.extensions import db
from certplatform.models import ApiKey, CompanyTier, Organization, OrganizationKind, User, VerificationCall
from certplatform.models.types import utcnow
from certplatform.services import api_bodies, audit, certificates

KEY_PREFIX = "fcv"  # FlagOS certificate verification


class CompanyError(ValueError):
    """A request about a company's keys or directory that cannot be honoured; the message is safe to show."""


def companies_of(user: User) -> list[Organization]:
    """Company organizations `user` acts for."""
    return managed_organizations(user, OrganizationKind.COMPANY)


def _hash(secret: str) -> str:
    # Keys are 256-bit random strings: a fast hash is enough (nothing to brute-force), and lookups stay cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(user: User, org: Organization, name: str) -> tuple[ApiKey, str]:
    """A new key for `org`; the plaintext is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise CompanyError(_("Name the key, e.g. after the script that uses it."))
    if org not in companies_of(user):
        raise CompanyError(_("You do not manage this company."))
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        organization_id=org.id, name=name[:100], prefix=prefix, secret_hash=_hash(plaintext), created_by_id=user.id
    )
    db.session.add(key)
    db.session.flush()
    audit.record(user, "api_key.create", "organization", org.id, key=prefix, name=key.name)
    db.session.commit()
    return key, plaintext


def revoke_key(user: User, key: ApiKey) -> None:
    if key.organization not in companies_of(user):
        raise CompanyError(_("You do not manage this company."))
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(user, "api_key.revoke", "organization", key.organization_id, key=key.prefix)
        db.session.commit()


def keys_of(org: Organization) -> list[ApiKey]:
    return list(
        db.session.scalars(sa.select(ApiKey).where(ApiKey.organization_id == org.id).order_by(ApiKey.created_at.desc()))
    )


def presented_key(headers: Any) -> str | None:
    """The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return (headers.get("X-API-Key") or "").strip() or None


_PREFIX_RE = re.compile(r"[0-9a-f]{12}")


def prefix_of(plaintext: str | None) -> str | None:
    """The key's public prefix (12 hex digits, as `create_key` makes them), or None for anything else."""
    parts = (plaintext or "").split("_", 2)  # the random part may itself contain "_"
    if len(parts) == 3 and parts[0] == KEY_PREFIX and _PREFIX_RE.fullmatch(parts[1]):
        return parts[1]
    return None


def _holder_key(plaintext: str | None) -> ApiKey | None:
    """The key, live or revoked, whose full secret `plaintext` is (compared in constant time), or None."""
    prefix = prefix_of(plaintext)
    if prefix is None:
        return None
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(plaintext)):
        return None
    return key


def authenticate(plaintext: str | None) -> ApiKey | None:
    """The live key matching `plaintext`, or None."""
    key = _holder_key(plaintext)
    if key is None or key.revoked_at is not None or "verify" not in key.scopes:
        return None
    if key.organization.kind != OrganizationKind.COMPANY:
        return None
    return key


def revoked_key(plaintext: str | None) -> ApiKey | None:
    """The revoked key `plaintext` is, only when the caller holds its full secret (a guessed prefix learns nothing)."""
    key = _holder_key(plaintext)
    return key if key is not None and key.revoked_at is not None else None


def rate_limit_for(key: ApiKey | None) -> str:
    """The per-key limit of a valid key's company tier; callers without one get the strict per-address default."""
    if key is None or key.organization.tier is None:
        return current_app.config["API_RATE_LIMIT_UNKNOWN"]
    return current_app.config["API_RATE_LIMITS"][CompanyTier(key.organization.tier).value]


def verify_bulk(key: ApiKey, ids: Any) -> list[dict[str, Any]]:
    """Look up to BULK_VERIFY_MAX_IDS certificate IDs; every call is logged in the key's history."""
    limit = current_app.config["BULK_VERIFY_MAX_IDS"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise CompanyError(_('Send {"ids": ["FLAGOS-L1-...", ...]} with at least one ID.'))
    if len(ids) > limit:
        raise CompanyError(_("At most %(max)d IDs per call; this call has %(n)d.", max=limit, n=len(ids)))
    results: list[dict[str, Any]] = []
    summary: dict[str, int] = {}
    certs = [certificates.issuing.lookup(raw) for raw in ids]
    found = certificates.status.assess_many(cert for cert in certs if cert is not None)
    for raw, cert in zip(ids, certs, strict=True):
        if cert is None:
            results.append(api_bodies.not_found(raw))
            summary["not_found"] = summary.get("not_found", 0) + 1
        else:
            assessment = found[cert.id]
            results.append(api_bodies.found(assessment))
            summary[assessment.status] = summary.get(assessment.status, 0) + 1
    key.last_used_at = utcnow()
    db.session.add(VerificationCall(api_key_id=key.id, ids=[r[:64] for r in ids], summary=summary))
    db.session.commit()
    return results


def history(org: Organization, limit: int = 100) -> list[VerificationCall]:
    return list(
        db.session.scalars(
            sa.select(VerificationCall)
            .join(ApiKey)
            .where(ApiKey.organization_id == org.id)
            .order_by(VerificationCall.created_at.desc(), VerificationCall.id.desc())
            .limit(limit)
        )
    )


def usage(org: Organization, days: int = 30) -> dict[int, int]:
    """Calls per key over the last `days` days (for the organization's page)."""
    since = utcnow() - timedelta(days=days)
    return dict(
        db.session.execute(
            sa.select(VerificationCall.api_key_id, sa.func.count(VerificationCall.id))
            .join(ApiKey)
            .where(ApiKey.organization_id == org.id, VerificationCall.created_at >= since)
            .group_by(VerificationCall.api_key_id)
        ).all()
    )
