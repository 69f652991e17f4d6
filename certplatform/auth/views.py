"""Register, log in, log out and reset a forgotten password."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from certplatform.auth import bp
from certplatform.auth.forms import LoginForm, RegisterForm, ResetPasswordForm, ResetRequestForm
from certplatform.authz import login_required, public
from certplatform.extensions import limiter
from certplatform.forms import ActionForm
from certplatform.i18n import SESSION_KEY, parse_locale
from certplatform.services import accounts, mailer, sessions
from certplatform.urls import public_url, safe_next


def _post_only_limit(setting: str):
    """A rate limit from configuration that counts form submissions, not page views."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        error_message=None,
    )


@bp.route("/register", methods=["GET", "POST"])
@public
@_post_only_limit("REGISTER_RATE_LIMIT")
def register():
    """Create a student account."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register(
                form.email.data,
                form.password.data,
                form.name_latin.data,
                form.name_zh.data,
                locale=parse_locale(session.get(SESSION_KEY)),
            )
        except accounts.AccountError as exc:
            form[exc.field or "email"].errors.append(str(exc))
        else:
            sessions.log_in(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.name_latin), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/register.html", form=form), 200 if not form.errors else 422


def _account_tried() -> str:
    """The account a login form names (normalised as accounts are stored), for the per-account limit."""
    email = (request.form.get("email") or "").strip()
    if not email:
        return ""  # nothing to count against (Flask-Limiter skips an empty key)
    try:
        return "account:" + accounts.normalise_email(email)
    except accounts.AccountError:
        return "account:" + email.lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@public
@_post_only_limit("LOGIN_RATE_LIMIT")
# Failed logins also count per account, from whatever address: spreading guesses over many hosts does not help.
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    key_func=_account_tried,
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 422,
    error_message=None,
)
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Email or password is not correct."))
        else:
            session.clear()  # a fresh session on privilege change (no fixation)
            sessions.log_in(user, remember=bool(form.remember.data))
            return redirect(safe_next(form.next.data) or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.post("/logout")
@login_required
def logout():
    """Sign out (POST with CSRF, so no page can log a user out by linking here)."""
    form = ActionForm()
    if form.validate_on_submit():
        locale = session.get(SESSION_KEY)
        sessions.end_current()  # copies of this session's cookies stop working too
        logout_user()
        session.clear()
        if locale:
            session[SESSION_KEY] = locale
        flash(_("You have been signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/reset", methods=["GET", "POST"])
@public
@_post_only_limit("RESET_RATE_LIMIT")
def reset_request():
    """Ask for a password-reset link by email."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = accounts.find_by_email(form.email.data)
        if user is not None and user.active:
            token = accounts.make_reset_token(user)
            mailer.send_password_reset(user, public_url("auth.reset_password", token=token))
        # The same answer whether or not the address has an account: nothing to enumerate.
        flash(_("If an account uses this address, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    """Choose a new password with a reset link."""
    try:
        accounts.user_for_reset_token(token)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.reset_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except accounts.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            flash(_("Your password has been changed. You can log in now."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
