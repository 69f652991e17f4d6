"""The public API's bodies as models: the responses are built from them and the OpenAPI document is generated from
them, so the document cannot drift from what the API sends."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, Literal

from flask.json.provider import JSONProvider
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import models_json_schema

from certplatform.services.certificates.status import PROBLEMS, Assessment

Moment = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Problem = Literal[PROBLEMS]  # type: ignore[valid-type]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Integrity(_Body):
    """Whether the platform's stored record matches what it signed. record_signature: the snapshot does not verify;
    record_mismatch: a stored column disagrees with the signed snapshot; revocation_signature: a revocation record was
    altered or copied from another certificate; revocation_missing: the signed status list marks the certificate
    revoked but its record is gone; status_list: the signed status list cannot be verified."""

    intact: bool
    problems: list[Problem]


class Certificate(_Body):
    """One certificate's status, computed only from signed data."""

    certificate_id: str = Field(
        pattern=r"^FLAGOS-L[123]-[0-9A-Z]{4}-[0-9A-Z*~$=]{4}$",
        description="New IDs hold only letters and digits; IDs issued first may end in one of * ~ $ =",
    )
    status: Literal["valid", "revoked", "expired", "invalid"] = Field(
        description=(
            "Computed only from signed data: expiry from the signed snapshot, revocation from a signed revocation "
            "record and the signed status list. `invalid`: the record failed its integrity check (see `integrity`); "
            "treat it as not valid."
        )
    )
    holder_name: str | None = Field(description="From the signed snapshot; null when it fails to verify")
    level: Literal["L1", "L2", "L3"] | None
    title: str | None
    issued_at: Moment | None
    expires_at: Moment | None
    revoked_at: Moment | None
    revocation_reason: str | None
    integrity: Integrity


class FoundCertificate(Certificate):
    """A bulk result for an ID that names a certificate."""

    found: Literal[True]


class NotFound(_Body):
    """A bulk result for an ID that names no certificate."""

    certificate_id: str
    found: Literal[False]
    error: Literal["not_found"]


class BulkResult(_Body):
    """One result per ID, in the order sent."""

    results: list[FoundCertificate | NotFound]


class BulkRequest(_Body):
    """Up to 100 certificate IDs (the platform's configured limit)."""

    ids: list[str] = Field(min_length=1, max_length=100)


class Error(BaseModel):
    """Every error of the API: a stable code and a message for people."""

    error: str
    message: str


SCHEMAS = (Certificate, Error, BulkResult, BulkRequest)


def _moment(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _fields(found: Assessment) -> dict[str, Any]:
    """A certificate body's fields: holder and dates from the signed snapshot only (null when its signature fails)."""
    facts, revocation = found.facts, found.revocation
    return {
        "certificate_id": found.certificate_id,
        "status": found.status,
        "holder_name": facts.holder_name_latin if facts else None,
        "level": facts.level if facts else None,
        "title": facts.title_en if facts else None,
        "issued_at": _moment(facts.issued_at) if facts else None,
        "expires_at": _moment(facts.expires_at) if facts else None,
        "revoked_at": _moment(revocation.revoked_at) if revocation else None,
        "revocation_reason": revocation.reason if revocation else None,
        "integrity": Integrity(intact=found.intact, problems=list(found.problems)),
    }


def certificate(found: Assessment) -> Certificate:
    """The body for one assessed certificate (GET /api/v1/certificates/<id>)."""
    return Certificate(**_fields(found))


# The body is a function of the assessment alone (a frozen value holding everything it shows), so the bytes made once
# for an assessment are those of every equal one: a revocation or an expiry is a different assessment, a new entry.
@functools.lru_cache(maxsize=2048)
def certificate_json(found: Assessment, provider: JSONProvider, debug: bool) -> bytes:
    """The JSON bytes of `certificate(found)` exactly as `provider.response` (jsonify) sends them. `debug` is only
    part of the cache key: the provider pretty-prints in debug mode, so the app's mode picks the bytes."""
    return provider.response(certificate(found).model_dump()).get_data()


def found(assessment: Assessment) -> dict[str, Any]:
    """A bulk result for an ID that names a certificate."""
    return FoundCertificate(**_fields(assessment), found=True).model_dump()


def not_found(raw_id: str) -> dict[str, Any]:
    """A bulk result for an ID that names none (the ID as sent, shortened to 64 characters)."""
    return NotFound(certificate_id=raw_id[:64], found=False, error="not_found").model_dump()


def component_schemas() -> dict[str, Any]:
    """`components.schemas` of the OpenAPI document, with every model each of them refers to."""
    _, document = models_json_schema(
        [(model, "serialization") for model in SCHEMAS], ref_template="#/components/schemas/{model}"
    )
    return document["$defs"]
