"""Outgoing mail: messages are composed here, in the recipient's language, and sent by a Celery task."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from certplatform.i18n import current_locale
from certplatform.models import User


def _recipient_locale(user: User) -> str:
    return (user.locale or current_locale()).value


def send_password_reset(user: User, link: str) -> None:
    from certplatform.tasks import send_email

    with force_locale(_recipient_locale(user)):
        subject = _("Reset your FlagOS Certification password")
        body = render_template("email/password_reset.txt", user=user, link=link)
    send_email.delay(user.email, subject, body)
