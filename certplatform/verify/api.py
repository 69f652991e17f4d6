"""The public verification API (stable for member companies): JSON only, rate limited, described by OpenAPI."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from certplatform.authz import public
from certplatform.certificates.ids import TYPO, id_problem
from certplatform.errors import render_error
from certplatform.extensions import csrf, limiter
from certplatform.models import ApiKey
from certplatform.services import api_bodies, certificates, companies
from certplatform.verify import api_bp, verify_rate_limit
from certplatform.verify.openapi import openapi_document

csrf.exempt(api_bp)


@api_bp.get("/certificates/<cert_id>")
@public
@verify_rate_limit()
def certificate(cert_id: str):
    """One certificate's status; 404 {"error": "not_found"} for an unknown ID."""
    found = certificates.status.lookup(cert_id)
    if found is None:
        if id_problem(cert_id) == TYPO:  # the contract's error code stays; the message says what is wrong
            return render_error(404, _("This ID contains a typo: its check character does not match."))
        return render_error(404, _("No certificate has this ID."))
    provider = current_app.json
    body = api_bodies.certificate_json(found, provider, current_app.debug)
    return current_app.response_class(body, mimetype=provider.mimetype)


@api_bp.get("/certificates/status-list")
@public
@verify_rate_limit()
def status_list():
    """The signed revocation status list (W3C Bitstring Status List, as a JWT) the Open Badges point to."""
    try:
        token = certificates.revocation.status_list_token()
    except certificates.issuing.IssuingError as exc:
        return jsonify(error="unavailable", message=str(exc)), 503
    return Response(token, mimetype="application/jwt")


def _api_key() -> ApiKey | None:
    """The live key this request presents, looked up once per request."""
    if "api_key" not in g:
        g.api_key = companies.authenticate(companies.presented_key(request.headers))
    return g.api_key


def _caller() -> str:
    # Only a valid key gets a bucket of its own; anything else counts against the address, so inventing key
    # prefixes does not reset the keyless limit.
    key = _api_key()
    return f"key:{key.prefix}" if key is not None else f"address:{get_remote_address()}"


@api_bp.post("/certificates/verify")
@public
@limiter.limit(lambda: companies.rate_limit_for(_api_key()), key_func=_caller)
def verify_bulk():
    """Bulk verification for member companies: up to 100 IDs per call, with an API key."""
    key = _api_key()
    if key is None:
        revoked = companies.revoked_key(companies.presented_key(request.headers))
        if revoked is not None:
            message = _(
                "This API key was revoked on %(date)s. Ask your company's administrator for a new key.",
                date=revoked.revoked_at.strftime("%Y-%m-%d"),
            )
            response = jsonify(error="key_revoked", message=message)
            return response, 401, {"WWW-Authenticate": 'Bearer realm="certplatform", error="invalid_token"'}
        response = jsonify(error="unauthorized", message=_("Send a valid API key: Authorization: Bearer <key>."))
        return response, 401, {"WWW-Authenticate": 'Bearer realm="certplatform"'}
    payload = request.get_json(force=True)  # a body that is not JSON, too large or too deep: a clear 400
    try:
        results = companies.verify_bulk(key, payload.get("ids") if isinstance(payload, dict) else None)
    except companies.CompanyError as exc:
        return jsonify(error="bad_request", message=str(exc)), 400
    return jsonify(results=results)


@api_bp.get("/issuer")
@public
def issuer():
    """The issuer profile of the Open Badges, with the public keys that sign them and the PDF signing certificates."""
    return jsonify(certificates.verification.issuer_profile())


@api_bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
