"""Verification for employers: by ID (page), by QR code (the same page), or by uploading the PDF."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from certplatform.authz import public
from certplatform.services import certificate_status, verification
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
    found = certificate_status.find(cert_id)
    if found is None:
        return render_template("verify/not_found.html", cert_id=cert_id[:40]), 404
    cert, assessment = found
    return render_template("verify/page.html", cert=cert, found=assessment, keys=verification.published_keys())


@bp.post("/pdf")
@public
@verify_rate_limit()
def pdf():
    """Check an uploaded certificate PDF: signature intact, signed by the platform, and matching a live record."""
    form = PdfForm()
    if not form.validate_on_submit():
        return render_template("verify/index.html", form=LookupForm(), pdf_form=form), 422
    result = verification.check_uploaded_pdf(form.pdf.data.read(MAX_PDF + 1))
    return render_template("verify/pdf_result.html", result=result)
