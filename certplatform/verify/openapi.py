"""The OpenAPI document of the public API, kept next to the routes it describes; its schemas are generated from the
models that build the responses (services/api_bodies.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from certplatform.services.api_bodies import component_schemas

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
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkRequest"}}},
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
            "schemas": component_schemas(),
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A key created on the company page, sent as a Bearer token",
                }
            },
        },
    }
