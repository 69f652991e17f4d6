"""Landing page, dashboard, language switch and health check."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, session, url_for
from flask_login import current_user

from certplatform.authz import login_required, member_organizations_query, public
from certplatform.extensions import db
from certplatform.i18n import SESSION_KEY, parse_locale
from certplatform.main import bp
from certplatform.main.forms import LanguageForm
from certplatform.services import accounts, health
from certplatform.services import dashboard as dashboard_data
from certplatform.urls import safe_next


@bp.get("/")
@public
def index():
    """Public landing page: the certification path and its three levels."""
    return render_template("main/index.html")


@bp.get("/dashboard")
@login_required
def dashboard():
    """The signed-in user's home: where to continue, the next step, results, certificates, messages, roles."""
    orgs = db.session.scalars(member_organizations_query(current_user)).all()
    return render_template("main/dashboard.html", organizations=orgs, board=dashboard_data.for_user(current_user))


@bp.post("/language")
@public
def set_language():
    """Switch the interface language; remembered on the account when signed in."""
    form = LanguageForm()
    target = safe_next(form.next.data) or url_for("main.index")
    if form.validate_on_submit():
        locale = parse_locale(form.locale.data)
        if locale is not None:
            session[SESSION_KEY] = locale.value
            if current_user.is_authenticated:
                accounts.set_locale(current_user, locale)
    return redirect(target)


@bp.get("/livez")
@public
def livez():
    """Liveness only: the process answers (no database or broker check, unlike /healthz)."""
    return jsonify(status="alive")


@bp.get("/healthz")
@public
def healthz():
    """Liveness and readiness: database and broker must answer."""
    report = health.check()
    return jsonify(report.as_dict()), 200 if report.ok else 503
