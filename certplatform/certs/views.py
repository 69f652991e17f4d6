"""A holder's certificates: the signed PDF, the Open Badge, LinkedIn, and an opt-in public profile; admin revocation."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from certplatform.authz import login_required, public, role_required
from certplatform.certs import bp
from certplatform.certs.forms import DirectoryForm, ProfileForm, RevokeForm
from certplatform.models import Certificate, Role
from certplatform.services import certificates, directory
from certplatform.services.certificates.page import linkedin_url


def _own_or_404(cert_id: str) -> Certificate:
    cert = certificates.issuing.lookup(cert_id)
    if cert is None or (cert.user_id != current_user.id and not current_user.has_role(Role.ADMIN)):
        abort(404)
    return cert


bp.add_app_template_global(linkedin_url)
bp.add_app_template_global(certificates.status.STATUS_LABELS, "cert_status_names")


@bp.route("/certificates/", methods=["GET", "POST"])
@login_required
def mine():
    """The signed-in user's certificates, and whether their public profile is on."""
    form = ProfileForm(public_profile=current_user.public_profile)
    if form.validate_on_submit():
        directory.set_public_profile(current_user, bool(form.public_profile.data))
        flash(_("Your profile setting is saved."), "success")
        return redirect(url_for("certs.mine"))
    certs = directory.certificates_of(current_user)
    directory_form = DirectoryForm(
        prefix="directory",
        listed=current_user.directory_opt_in_at is not None,
        skills=", ".join(current_user.skills or []),
    )
    return render_template(
        "certs/mine.html",
        certificates=certs,
        found=certificates.status.assess_many(certs),
        form=form,
        directory_form=directory_form,
    )


@bp.post("/certificates/directory")
@login_required
def directory_consent():
    """Consent to the talent directory (off by default), with skill tags; withdrawn the same way."""
    form = DirectoryForm(prefix="directory")
    if form.validate_on_submit():
        try:
            directory.set_consent(current_user, bool(form.listed.data), form.skills.data or "")
        except directory.DirectoryError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Your directory setting is saved."), "success")
    return redirect(url_for("certs.mine"))


@bp.get("/certificates/<cert_id>.pdf")
@login_required
def pdf(cert_id: str):
    """The PAdES-signed PDF, generated once at issue (and handed out only while it is the one the record signed)."""
    cert = _own_or_404(cert_id)
    if not certificates.issuing.issued_document(cert, certificates.status.assess(cert).facts, cert.pdf):
        flash(_("The stored PDF of this certificate fails its integrity check."), "error")
        return redirect(url_for("certs.mine"))
    return _attachment(cert.pdf, "application/pdf", f"{cert.id}.pdf")


@bp.get("/certificates/<cert_id>/open-badge.jwt")
@login_required
def badge(cert_id: str):
    """The certificate's Open Badges 3.0 credential: the JWT signed once, when the certificate was issued."""
    cert = _own_or_404(cert_id)
    return _download(lambda: certificates.issuing.open_badge(cert), "application/jwt", f"{cert.id}.jwt")


@bp.get("/certificates/<cert_id>/open-badge.png")
@login_required
def baked_badge(cert_id: str):
    """The level's badge picture with the certificate's Open Badge baked in (for badge wallets)."""
    cert = _own_or_404(cert_id)
    found = certificates.status.assess(cert)
    return _download(lambda: certificates.page.baked_badge(cert, found), "image/png", f"{cert.id}-open-badge.png")


def _download(make, mimetype: str, filename: str):
    """The file `make()` returns as an attachment; an issuing problem goes back to the holder's list, named."""
    try:
        data = make()
    except certificates.issuing.IssuingError as exc:
        flash(str(exc), "error")
        return redirect(url_for("certs.mine"))
    return _attachment(data, mimetype, filename)


def _attachment(data, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/holders/<slug>/")
@public
def profile(slug: str):
    """A holder's public profile, only while they opt in."""
    user = directory.public_profile(slug)
    if user is None:
        abort(404)
    certs = directory.certificates_of(user)
    found = certificates.status.assess_many(certs)
    shown = [cert for cert in certs if found[cert.id].status != certificates.issuing.REVOKED]
    return render_template("certs/profile.html", holder=user, certificates=shown, found=found)


@bp.route("/certificates/<cert_id>/revoke", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def revoke(cert_id: str):
    """Admins: revoke a certificate with a reason, which verification then shows."""
    cert = certificates.issuing.lookup(cert_id)
    if cert is None:
        abort(404)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            certificates.revocation.revoke(current_user, cert, form.reason.data)
        except certificates.issuing.IssuingError as exc:
            flash(str(exc), "error")
        else:
            flash(_("The certificate is revoked."), "success")
            return redirect(url_for("verify.page", cert_id=cert.id))
    return render_template("certs/revoke.html", cert=cert, form=form)
