"""The signed-in user's own profile and password."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from certplatform.account import bp
from certplatform.account.forms import PasswordChangeForm, ProfileForm
from certplatform.authz import login_required
from certplatform.forms import ActionForm
from certplatform.i18n import SESSION_KEY, parse_locale
from certplatform.services import accounts, audit, sessions


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    """Names as printed on certificates, and the interface language."""
    form = ProfileForm(obj=current_user, locale=current_user.locale.value if current_user.locale else "")
    if form.validate_on_submit():
        locale = parse_locale(form.locale.data)
        accounts.update_profile(current_user, form.name_latin.data, form.name_zh.data, locale)
        if locale:
            session[SESSION_KEY] = locale.value
        else:
            session.pop(SESSION_KEY, None)
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password, given the current one."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current.data, form.password.data, keep=sessions.current())
        except accounts.AccountError as exc:
            form[exc.field or "password"].errors.append(str(exc))
        else:
            sessions.renew()
            flash(_("Your password has been changed. Every other session of your account has ended."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/password.html", form=form), 200 if not form.errors else 422


@bp.get("/sessions")
@login_required
def signed_in():
    """Where the account is signed in, with a button to end every session but this one."""
    return render_template(
        "account/sessions.html", sessions=sessions.live(current_user), this=sessions.current(), form=ActionForm()
    )


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    """Log out everywhere else: every other browser, and every copy of their cookies, is signed out."""
    if ActionForm().validate_on_submit():
        ended = sessions.end_others(current_user, keep=sessions.current())
        audit.record(current_user, "user.sessions_end", "user", current_user.id, ended=ended)
        sessions.renew()  # commits
        flash(_("You are signed out everywhere else (%(n)d session(s) ended).", n=ended), "success")
    return redirect(url_for("account.signed_in"))
