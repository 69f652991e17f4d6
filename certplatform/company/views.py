"""Member companies: verification API keys and their history, and the talent directory."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from certplatform.authz import role_required
from certplatform.company import bp
from certplatform.company.forms import ContactForm, KeyForm, SearchForm
from certplatform.extensions import db, limiter
from certplatform.forms import ActionForm
from certplatform.models import ApiKey, CertLevel, Organization, Role, User
from certplatform.services import companies, directory
from certplatform.urls import public_url

members = role_required(Role.COMPANY_MEMBER, Role.ADMIN)


def _company_or_404(org_id: int) -> Organization:
    org = next((o for o in companies.companies_of(current_user) if o.id == org_id), None)
    if org is None:
        abort(404)  # another organization's data is never revealed, not even its existence
    return org


@bp.get("/")
@members
def index():
    """The companies the user acts for."""
    orgs = companies.companies_of(current_user)
    if len(orgs) == 1:
        return redirect(url_for("company.keys", org_id=orgs[0].id))
    return render_template("company/index.html", organizations=orgs)


@bp.route("/<int:org_id>/keys", methods=["GET", "POST"])
@members
def keys(org_id: int):
    """API keys: create (the secret is shown once), revoke, and the verification history."""
    org = _company_or_404(org_id)
    form = KeyForm()
    new_secret = None
    if form.validate_on_submit():
        try:
            _key, new_secret = companies.create_key(current_user, org, form.name.data)
        except companies.CompanyError as exc:
            form.name.errors.append(str(exc))
        else:
            form.name.data = ""  # a second submit should not silently create a second key
    return render_template(
        "company/keys.html",
        org=org,
        keys=companies.keys_of(org),
        history=companies.history(org),
        usage=companies.usage(org),
        form=form,
        action_form=ActionForm(),
        new_secret=new_secret,
        api_url=public_url("api.verify_bulk"),
    )


@bp.post("/<int:org_id>/keys/<int:key_id>/revoke")
@members
def revoke(org_id: int, key_id: int):
    """Revoke a key at once."""
    org = _company_or_404(org_id)
    key = db.session.get(ApiKey, key_id)
    if key is None or key.organization_id != org.id:
        abort(404)
    if ActionForm().validate_on_submit():
        companies.revoke_key(current_user, key)
        flash(_("The key is revoked."), "success")
    return redirect(url_for("company.keys", org_id=org.id))


@bp.get("/<int:org_id>/directory")
@members
def talent(org_id: int):
    """Certified engineers who chose to be listed; gold and platinum members can search by level and skill."""
    org = _company_or_404(org_id)
    form = SearchForm(request.args)
    searchable = directory.can_search(org)
    level = skill = None
    if searchable and form.validate():
        level = CertLevel(form.level.data) if form.level.data else None
        skill = (form.skill.data or "").strip().lower() or None
    return render_template(
        "company/directory.html", org=org, form=form, searchable=searchable, listings=directory.listings(level, skill)
    )


@bp.route("/<int:org_id>/directory/<int:user_id>/contact", methods=["GET", "POST"])
@members
@limiter.limit(lambda: current_app.config["MESSAGE_RATE_LIMIT"], methods=["POST"])
def contact(org_id: int, user_id: int):
    """Write to a listed holder through the platform; their e-mail address is never shown."""
    org = _company_or_404(org_id)
    holder = db.session.get(User, user_id)
    if holder is None or not directory.is_listed(holder):
        abort(404)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            directory.send(current_user, org, holder, form.subject.data, form.body.data)
        except directory.DirectoryError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Your message is sent. The answer will arrive in your messages."), "success")
            return redirect(url_for("company.talent", org_id=org.id))
    return render_template("company/contact.html", org=org, holder=holder, form=form)
