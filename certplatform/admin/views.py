"""Administration: users and their roles, organizations and their members, the audit log."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from certplatform.admin import bp
from certplatform.admin.forms import (
    ActiveForm,
    ManagesForm,
    MemberForm,
    OrganizationForm,
    RoleForm,
)
from certplatform.authz import role_required
from certplatform.content.sync import SyncError, sync_content
from certplatform.extensions import db
from certplatform.forms import ActionForm
from certplatform.models import (
    AttemptStatus,
    AuditEvent,
    CompanyTier,
    ContentSync,
    ExamAttempt,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from certplatform.request_guards import page_arg
from certplatform.services import admin as admin_service
from certplatform.services import companies

admin_only = role_required(Role.ADMIN)


def _parse_role(value: str | None) -> Role | None:
    try:
        return Role(value) if value else None
    except ValueError:
        return None


@bp.get("/")
@admin_only
def index():
    """Overview with counts and the latest audit events."""
    counts = {
        "users": db.session.scalar(sa.select(sa.func.count(User.id))),
        "organizations": db.session.scalar(sa.select(sa.func.count(Organization.id))),
    }
    recent = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(10)).all()
    waiting = db.session.scalars(
        sa.select(ExamAttempt)
        .where(ExamAttempt.status == AttemptStatus.AWAITING_REVIEW)
        .order_by(ExamAttempt.finished_at)
        .limit(20)
    ).all()
    return render_template("admin/index.html", counts=counts, recent=recent, waiting=waiting)


@bp.get("/users")
@admin_only
def users():
    """List and search accounts."""
    query = request.args.get("q", "")[:100]
    role = _parse_role(request.args.get("role"))
    pagination = admin_service.search_users(query, role, page_arg())
    return render_template("admin/users.html", pagination=pagination, query=query, role=role)


@bp.get("/users/<int:user_id>")
@admin_only
def user_detail(user_id: int):
    """One account: its roles, status, organizations and audit trail."""
    user = db.get_or_404(User, user_id)
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.target_type == "user", AuditEvent.target_id == str(user.id))
        .order_by(AuditEvent.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/user_detail.html",
        user=user,
        events=events,
        role_form=RoleForm(),
        active_form=ActiveForm(active="0" if user.active else "1"),
        action_form=ActionForm(),
    )


@bp.post("/users/<int:user_id>/roles")
@admin_only
def grant_role(user_id: int):
    """Grant a role."""
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        _apply(lambda: admin_service.grant_role(current_user, user, Role(form.role.data)), _("Role granted."))
    else:
        flash(_("Choose a valid role."), "error")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/roles/<role>/revoke")
@admin_only
def revoke_role(user_id: int, role: str):
    """Revoke a role."""
    user = db.get_or_404(User, user_id)
    parsed = _parse_role(role)
    if parsed is None:
        abort(404)
    if ActionForm().validate_on_submit():
        _apply(lambda: admin_service.revoke_role(current_user, user, parsed), _("Role revoked."))
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/active")
@admin_only
def set_active(user_id: int):
    """Activate or deactivate an account."""
    user = db.get_or_404(User, user_id)
    form = ActiveForm()
    if form.validate_on_submit() and form.active.data in {"0", "1"}:
        active = form.active.data == "1"
        message = _("Account activated.") if active else _("Account deactivated.")
        _apply(lambda: admin_service.set_active(current_user, user, active), message)
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/organizations", methods=["GET", "POST"])
@admin_only
def organizations():
    """List organizations and create new ones."""
    form = OrganizationForm()
    if form.validate_on_submit():
        tier = CompanyTier(form.tier.data) if form.tier.data else None
        try:
            org = admin_service.create_organization(
                current_user, form.name.data, form.slug.data, OrganizationKind(form.kind.data), tier
            )
        except admin_service.AdminError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(_("Organization %(name)s created.", name=org.name), "success")
            return redirect(url_for("admin.organization_detail", org_id=org.id))
    orgs = db.session.scalars(sa.select(Organization).order_by(Organization.name)).all()
    status = 422 if form.errors else 200
    return render_template("admin/organizations.html", organizations=orgs, form=form), status


@bp.get("/organizations/<int:org_id>")
@admin_only
def organization_detail(org_id: int):
    """One organization and its members."""
    org = db.get_or_404(Organization, org_id)
    keys = companies.keys_of(org) if org.kind == OrganizationKind.COMPANY else []
    return render_template(
        "admin/organization_detail.html",
        org=org,
        member_form=MemberForm(),
        action_form=ActionForm(),
        manages_form=ManagesForm(),
        keys=keys,
        usage=companies.usage(org) if keys else {},
    )


@bp.post("/organizations/<int:org_id>/members")
@admin_only
def add_member(org_id: int):
    """Add an existing account to an organization."""
    org = db.get_or_404(Organization, org_id)
    form = MemberForm()
    if form.validate_on_submit():
        _apply(
            lambda: admin_service.add_member(current_user, org, form.email.data, bool(form.manages.data)),
            _("Member added."),
        )
    else:
        flash(_("Enter the email of an existing account."), "error")
    return redirect(url_for("admin.organization_detail", org_id=org.id))


@bp.post("/organizations/<int:org_id>/members/<int:user_id>/manages")
@admin_only
def set_manages(org_id: int, user_id: int):
    """Let a member manage the organization (or stop them); their platform role alone does not."""
    org = db.get_or_404(Organization, org_id)
    user = db.get_or_404(User, user_id)
    form = ManagesForm()
    if form.validate_on_submit() and form.manages.data in {"0", "1"}:
        manages = form.manages.data == "1"
        message = _("%(user)s now manages %(org)s.") if manages else _("%(user)s no longer manages %(org)s.")
        _apply(
            lambda: admin_service.set_manages(current_user, org, user, manages),
            message % {"user": user.email, "org": org.name},
        )
    return redirect(url_for("admin.organization_detail", org_id=org.id))


@bp.post("/organizations/<int:org_id>/members/<int:user_id>/remove")
@admin_only
def remove_member(org_id: int, user_id: int):
    """Remove a member from an organization."""
    org = db.get_or_404(Organization, org_id)
    user = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        _apply(lambda: admin_service.remove_member(current_user, org, user), _("Member removed."))
    return redirect(url_for("admin.organization_detail", org_id=org.id))


@bp.route("/content", methods=["GET", "POST"])
@admin_only
def content():
    """Content syncs, applied or rejected with every error, and a button to sync the files now."""
    form = ActionForm()
    if form.validate_on_submit():
        try:
            report = sync_content(Path(current_app.config["CONTENT_ROOT"]), actor=current_user)
        except SyncError as exc:
            flash(_("The content has %(n)d error(s); nothing was changed.", n=len(exc.errors)), "error")
        else:
            flash(str(report), "success")
        return redirect(url_for("admin.content"))
    runs = db.session.scalars(sa.select(ContentSync).order_by(ContentSync.id.desc()).limit(20)).all()
    return render_template("admin/content.html", runs=runs, form=form, root=current_app.config["CONTENT_ROOT"])


@bp.get("/audit")
@admin_only
def audit_log():
    """The audit log, newest first."""
    page = page_arg()
    action = request.args.get("action", "")[:64]
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    pagination = db.paginate(stmt, page=page, per_page=100, error_out=False)
    return render_template("admin/audit.html", pagination=pagination, action=action)


def _apply(change, success: str) -> None:
    try:
        change()
    except admin_service.AdminError as exc:
        flash(str(exc), "error")
    else:
        flash(success, "success")
