"""Messages between companies and certified holders, kept on the platform."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from certplatform.authz import login_required
from certplatform.company.forms import ContactForm
from certplatform.extensions import db, limiter
from certplatform.messages import bp
from certplatform.models import ContactMessage
from certplatform.services import directory


@bp.get("/")
@login_required
def inbox():
    """Messages received and sent."""
    return render_template("messages/inbox.html", messages=directory.mailbox(current_user))


@bp.route("/<int:message_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["MESSAGE_RATE_LIMIT"], methods=["POST"])
def thread(message_id: int):
    """One message, and the reply form when it was sent to you."""
    message = db.session.get(ContactMessage, message_id)
    if message is None or not directory.visible_to(current_user, message):
        abort(404)
    directory.mark_read(current_user, message)
    form = ContactForm(subject=message.subject if message.subject.startswith("Re: ") else f"Re: {message.subject}")
    if message.recipient_id == current_user.id and form.validate_on_submit():
        try:
            directory.send(
                current_user, message.organization, message.sender, form.subject.data, form.body.data, reply_to=message
            )
        except directory.DirectoryError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Your answer is sent."), "success")
            return redirect(url_for("messages.inbox"))
    return render_template("messages/thread.html", message=message, form=form)
