"""Outgoing mail: composed here, in the recipient's language, staged in the outbox and sent by a Celery task.

A mail is staged in the transaction that causes it (an enrolment, a message), so it is stored with that change or
not at all; once committed it is handed to the broker, or, while the broker is down, sent by the sweeper later.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from certplatform.extensions import db
from certplatform.i18n import current_locale
from certplatform.models import User
from certplatform.services import outbox


def recipient_locale(user: User) -> str:
    return (user.locale or current_locale()).value


def stage_mail(to: str, subject: str, body: str) -> None:
    """Add one plain-text mail to the current transaction (sent after its commit by `outbox.flush`)."""
    outbox.stage("certplatform.send_email", [to, subject, body])


def send_password_reset(user: User, link: str) -> None:
    with force_locale(recipient_locale(user)):
        subject = _("Reset your FlagOS Certification password")
        body = render_template("email/password_reset.txt", user=user, link=link)
    stage_mail(user.email, subject, body)
    db.session.commit()
    outbox.flush()
