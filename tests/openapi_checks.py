"""Validating API bodies against the platform's own OpenAPI document, with its references resolved."""

from __future__ import annotations

from typing import Any

import jsonschema
from flask.testing import FlaskClient


def spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json


def validate(body: Any, document: dict[str, Any], name: str) -> None:
    """Raise jsonschema.ValidationError unless `body` is a `name` of the document's components."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{name}",
        "components": document["components"],
    }
    jsonschema.Draft202012Validator(schema).validate(body)
