"""The OpenAPI document of the public API, kept next to the routes it describes."""

from __future__ import annotations

from typing import Any

from flask import url_for

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
        "revocation_reason",
    ],
    "properties": {
        "certificate_id": {"type": "string", "pattern": "^FLAGOS-L[123]-[0-9A-Z]{4}-[0-9A-Z*~$=]{4}$"},
        "status": {"type": "string", "enum": ["valid", "revoked", "expired"]},
        "holder_name": {"type": "string"},
        "level": {"type": "string", "enum": ["L1", "L2", "L3"]},
        "title": {"type": "string"},
        "issued_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
        "revocation_reason": {"type": ["string", "null"]},
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


def openapi_document() -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "FlagOS Certification verification API",
            "version": "1.0.0",
            "description": "Check FlagOS certificates by ID. Every error is JSON with an error code and a message.",
        },
        "servers": [{"url": url_for("main.index", _external=True).rstrip("/")}],
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
                        "401": {"description": "Missing or invalid API key", **error},
                        "429": {
                            "description": "Over the key's rate limit (set by the company's membership tier)",
                            **error,
                        },
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
