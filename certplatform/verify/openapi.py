"""The OpenAPI document of the public API, kept next to the routes it describes."""

from __future__ import annotations

from typing import Any

from flask import current_app

from certplatform.services.certificate_status import PROBLEMS

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_MOMENT = {"type": ["string", "null"], "format": "date-time"}
CERTIFICATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "certificate_id",
        "status",
        "holder_name",
        "level",
        "title",
        "issued_at",
        "expires_at",
        "revoked_at",
        "revocation_reason",
        "integrity",
    ],
    "properties": {
        "certificate_id": {
            "type": "string",
            "pattern": "^FLAGOS-L[123]-[0-9A-Z]{4}-[0-9A-Z*~$=]{4}$",
            "description": "New IDs hold only letters and digits; IDs issued first may end in one of * ~ $ =",
        },
        "status": {
            "type": "string",
            "enum": ["valid", "revoked", "expired", "invalid"],
            "description": (
                "Computed only from signed data: expiry from the signed snapshot, revocation from a signed "
                "revocation record and the signed status list. `invalid`: the record failed its integrity check "
                "(see `integrity`); treat it as not valid."
            ),
        },
        "holder_name": {**_NULLABLE_STRING, "description": "From the signed snapshot; null when it fails to verify"},
        "level": {"type": ["string", "null"], "enum": ["L1", "L2", "L3", None]},
        "title": _NULLABLE_STRING,
        "issued_at": _NULLABLE_MOMENT,
        "expires_at": _NULLABLE_MOMENT,
        "revoked_at": _NULLABLE_MOMENT,
        "revocation_reason": _NULLABLE_STRING,
        "integrity": {
            "type": "object",
            "additionalProperties": False,
            "required": ["intact", "problems"],
            "description": (
                "Whether the platform's stored record matches what it signed. record_signature: the snapshot "
                "does not verify; record_mismatch: a stored column disagrees with the signed snapshot; "
                "revocation_signature: a revocation record was altered or copied from another certificate; "
                "revocation_missing: the signed status list marks the certificate revoked but its record is "
                "gone; status_list: the signed status list cannot be verified."
            ),
            "properties": {
                "intact": {"type": "boolean"},
                "problems": {"type": "array", "items": {"type": "string", "enum": list(PROBLEMS)}},
            },
        },
    },
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}


BULK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "oneOf": [
                    {
                        **CERTIFICATE_SCHEMA,
                        "required": [*CERTIFICATE_SCHEMA["required"], "found"],
                        "properties": {**CERTIFICATE_SCHEMA["properties"], "found": {"const": True}},
                    },
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["certificate_id", "found", "error"],
                        "properties": {
                            "certificate_id": {"type": "string"},
                            "found": {"const": False},
                            "error": {"const": "not_found"},
                        },
                    },
                ]
            },
        }
    },
}


STATUS_LIST_DESCRIPTION = (
    "A W3C Bitstring Status List v1.0 credential secured as a JWT signed with EdDSA, in the same form as the Open "
    "Badges: the payload's `vc` claim is a `BitstringStatusListCredential` whose `credentialSubject.encodedList` is "
    "the multibase (prefix `u`) base64url, GZIP-compressed bitstring of at least 131,072 bits, with index 0 the "
    "left-most bit of the first byte; a set bit means revoked (`statusPurpose: revocation`). Each Open Badge carries "
    "`credentialStatus` {type: BitstringStatusListEntry, statusPurpose: revocation, statusListIndex, "
    "statusListCredential: this URL}: verify this JWT against the issuer's JWKS (`kid` in its header), decode the "
    "list and read the bit at statusListIndex. Bits are only ever set, never cleared."
)


def openapi_document() -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "FlagOS Certification verification API",
            "version": "1.0.0",
            "description": "Check FlagOS certificates by ID. Every error is JSON with an error code and a message.",
        },
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"]}],
        "paths": {
            "/api/v1/certificates/{certificate_id}": {
                "get": {
                    "summary": "Status of one certificate",
                    "parameters": [
                        {
                            "name": "certificate_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "example": "FLAGOS-L1-7K2M-QX4P",
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The certificate",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Certificate"}}},
                        },
                        "404": {"description": "No certificate has this ID", **error},
                        "429": {"description": "Too many requests", **error},
                    },
                }
            },
            "/api/v1/certificates/verify": {
                "post": {
                    "summary": "Bulk verification for member companies (up to 100 IDs per call)",
                    "security": [{"apiKey": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["ids"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "ids": {
                                            "type": "array",
                                            "minItems": 1,
                                            "maxItems": 100,
                                            "items": {"type": "string"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One result per ID, in order",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkResult"}}},
                        },
                        "400": {"description": "Malformed request or too many IDs", **error},
                        "401": {
                            "description": (
                                "Missing or invalid API key (error `unauthorized`), or a revoked one (error "
                                "`key_revoked`, with the date of revocation in the message)"
                            ),
                            **error,
                        },
                        "429": {
                            "description": "Over the key's rate limit (set by the company's membership tier)",
                            **error,
                        },
                    },
                }
            },
            "/api/v1/certificates/status-list": {
                "get": {
                    "summary": "The signed revocation status list that Open Badges point to",
                    "description": STATUS_LIST_DESCRIPTION,
                    "responses": {
                        "200": {
                            "description": "A compact JWS (EdDSA; key in the issuer's JWKS by `kid`)",
                            "content": {"application/jwt": {"schema": {"type": "string"}}},
                        },
                        "429": {"description": "Too many requests", **error},
                        "503": {"description": "The platform has no signing keys yet", **error},
                    },
                }
            },
            "/api/v1/issuer": {
                "get": {
                    "summary": "Issuer profile and public keys (JWKS)",
                    "responses": {"200": {"description": "Issuer profile"}},
                }
            },
        },
        "components": {
            "schemas": {"Certificate": CERTIFICATE_SCHEMA, "Error": ERROR_SCHEMA, "BulkResult": BULK_SCHEMA},
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A key created on the company page, sent as a Bearer token",
                }
            },
        },
    }
