"""The public verification API (stable for member companies): JSON only, rate limited, described by OpenAPI."""

from __future__ import annotations

from flask import current_app, jsonify

from certplatform.authz import public
from certplatform.errors import render_error
from certplatform.extensions import csrf, limiter
from certplatform.services import issuing, verification
from certplatform.verify import api_bp
from certplatform.verify.openapi import openapi_document

csrf.exempt(api_bp)


def _limit():
    return limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])


@api_bp.get("/certificates/<cert_id>")
@public
@_limit()
def certificate(cert_id: str):
    """One certificate's status; 404 {"error": "not_found"} for an unknown ID."""
    cert = issuing.lookup(cert_id)
    if cert is None:
        return render_error(404, "No certificate has this ID.")
    return jsonify(issuing.public_record(cert))


@api_bp.get("/issuer")
@public
def issuer():
    """The issuer profile of the Open Badges, with the public keys that sign them and the PDF signing certificates."""
    return jsonify(verification.issuer_profile())


@api_bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
