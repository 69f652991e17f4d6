"""Error pages in both languages; JSON errors under /api/ and for /healthz."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

HANDLED = (400, 403, 404, 405, 413, 429, 500)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        403: _("Access denied"),
        404: _("Page not found"),
        405: _("Method not allowed"),
        413: _("Upload too large"),
        429: _("Too many requests"),
        500: _("Something went wrong"),
    }


def _explanations() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Please go back and try again."),
        403: _("You do not have permission to open this page."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept that kind of request."),
        413: _("The file or form you sent is larger than this page accepts."),
        429: _("Too many attempts in a short time. Please wait a moment and try again."),
        500: _("An unexpected error happened on our side. It has been logged; please try again later."),
    }


_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
}


def render_error(code: int, detail: str | None = None):
    message = detail or _explanations()[code]
    if _wants_json():
        return jsonify(error=_CODES[code], message=message), code
    return (
        render_template("error.html", code=code, title=_titles()[code], message=message),
        code,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, _("The form expired or was not sent from this site. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code not in HANDLED:
            return exc
        return render_error(code)

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        return render_error(500)
