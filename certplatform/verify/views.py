"""Verification for employers: by ID (page), by QR code (the same page), or by uploading the PDF."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from certplatform.authz import public
from certplatform.certificates.ids import TYPO, id_problem
from certplatform.services import certificates
from certplatform.verify import bp, verify_rate_limit

MAX_PDF = 5 * 1024 * 1024


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form that changes nothing

    certificate_id = StringField(_l("Certificate ID"), validators=[DataRequired(), Length(max=40)])


class PdfForm(FlaskForm):
    pdf = FileField(_l("Certificate PDF"), validators=[FileRequired(), FileSize(max_size=MAX_PDF)])


@bp.get("/")
@public
@verify_rate_limit()
def index():
    """Enter a certificate ID, or upload a certificate PDF."""
    form = LookupForm(request.args)
    if request.args.get("certificate_id") and form.validate():
        return redirect(url_for("verify.page", cert_id=form.certificate_id.data.strip()))
    return render_template("verify/index.html", form=form, pdf_form=PdfForm())


@bp.get("/<cert_id>")
@public
@verify_rate_limit()
def page(cert_id: str):
    """A certificate's status for anyone holding its ID; an unknown ID reveals nothing."""
    found = certificates.status.find(cert_id)
    if found is None:
        typo = id_problem(cert_id) == TYPO
        return render_template("verify/not_found.html", cert_id=cert_id[:40], typo=typo), 404
    cert, assessment = found
    return render_template(
        "verify/page.html",
        cert=cert,
        found=assessment,
        view=certificates.page.view_of(cert, assessment),
        keys=certificates.verification.published_keys(),
    )


@bp.get("/<cert_id>/badge.svg")
@public
@verify_rate_limit()
def status_badge(cert_id: str):
    """The live badge for profiles and model cards: the certificate's status as it is now, from signed data."""
    svg, code = certificates.page.status_badge(cert_id, request.args.get("lang"))
    return Response(svg, code, mimetype="image/svg+xml", headers={"Cache-Control": certificates.page.BADGE_CACHE})


@bp.get("/badges/<level>.png")
@public
@verify_rate_limit()
def level_badge(level: str):
    """The badge picture of a level (the same for every holder)."""
    from certplatform.certificates.badge_images import LEVEL_COLOURS, level_badge_png

    if level not in LEVEL_COLOURS:
        abort(404)
    return Response(level_badge_png(level), mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"})


@bp.post("/pdf")
@public
@verify_rate_limit()
def pdf():
    """Check an uploaded certificate PDF: signature intact, signed by the platform, and matching a live record."""
    form = PdfForm()
    if not form.validate_on_submit():
        return render_template("verify/index.html", form=LookupForm(), pdf_form=form), 422
    result = certificates.verification.check_uploaded_pdf(form.pdf.data.read(MAX_PDF + 1))
    return render_template("verify/pdf_result.html", result=result)
